// embed.js: <script src="https://HOST/embed.js"></script> defines
// window.Cowrite; Cowrite.mount(element, options) puts a live editor in
// element. The server defaults to the one the script came from.

import { mount } from './mount.js';
import type { CowriteHandle, MountOptions } from './types.js';

const script = document.currentScript as HTMLScriptElement | null;
const scriptOrigin = script?.src ? new URL(script.src).origin : undefined;

interface CowriteGlobal {
  mount(element: HTMLElement, options: MountOptions): CowriteHandle;
  readonly version: 1;
}

const api: CowriteGlobal = Object.freeze({
  mount: (element: HTMLElement, options: MountOptions) => mount(element, { ...options, defaultServer: scriptOrigin }),
  version: 1 as const,
});

(window as unknown as { Cowrite: CowriteGlobal }).Cowrite = api;
