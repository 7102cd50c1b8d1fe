// The iframe embed, /embed/DOC: a bare editor that tells its host page
// what happens in it with postMessage, addressed to the host's origin
// only. Options come from the query string: name, color, toolbar=0,
// readOnly=1, placeholder.

import { loadIdentity } from '../editor/identity.js';
import { mount } from './mount.js';
import type { EventName, FrameMessage } from './types.js';

/**
 * hostOrigin returns the origin of the page that frames this one, or null
 * when there is none or it cannot be known. Messages go to that origin
 * only, never to "*".
 */
export function hostOrigin(): string | null {
  if (window.parent === window) return null;
  const ancestors = location.ancestorOrigins;
  let origin: string | null = null;
  if (ancestors && ancestors.length > 0) origin = ancestors[0];
  else if (document.referrer) {
    try {
      origin = new URL(document.referrer).origin;
    } catch {
      origin = null;
    }
  }
  return origin && origin !== 'null' ? origin : null;
}

function main(): void {
  const el = document.getElementById('mount') as HTMLElement;
  const doc = document.body.dataset.doc ?? '';
  const q = new URLSearchParams(location.search);
  const stored = loadIdentity();
  const target = hostOrigin();
  const handle = mount(el, {
    server: location.origin,
    doc,
    user: { name: q.get('name') ?? stored?.name ?? 'Guest', color: q.get('color') ?? stored?.color ?? undefined },
    readOnly: document.body.dataset.readonly === '1',
    toolbar: q.get('toolbar') !== '0',
    placeholder: q.get('placeholder') ?? undefined,
    css: false, // the page links it
  });
  const events: EventName[] = ['ready', 'change', 'status', 'presence', 'error'];
  for (const type of events) {
    handle.on(type, (detail) => {
      if (!target) return;
      const msg: FrameMessage = { source: 'cowrite', doc, type, detail };
      window.parent.postMessage(msg, target);
    });
  }
}

main();
