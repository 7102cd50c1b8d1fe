// cowrite.mjs: the embeddable editor as an ES module, for bundlers and
// <script type="module">: import { mount } from "https://HOST/cowrite.mjs".

import { mount as mountEditor } from './mount.js';
import type { CowriteHandle, MountOptions } from './types.js';

export type {
  ChangeEvent, CowriteHandle, Delta, DeltaOp, ErrorEvent, EventMap, EventName, FrameMessage, MountOptions,
  PresenceEvent, PresenceUser, ReadyEvent, State, StatusEvent, TokenProvider, TokenReply, TokenRequest, User,
} from './types.js';

/**
 * mount puts a live editor of options.doc into element and returns its
 * handle. options.server is the Cowrite server's base URL; its origin must
 * be one of the server's --allowed-origins unless it is this page's own.
 */
export function mount(element: HTMLElement, options: MountOptions): CowriteHandle {
  return mountEditor(element, options);
}
