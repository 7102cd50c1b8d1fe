// The iframe embed, /embed/DOC: a bare editor that tells its host page
// what happens in it with postMessage, addressed to the host's origin
// only. Options come from the query string: name, color, toolbar=0,
// readOnly=1, placeholder, tokens=host.
//
// Tokens: a token in the fragment (/embed/DOC#token=JWT, which is never
// sent to the server) is used as it is and not refreshed. With
// tokens=host, the frame asks its host page for the current token
// (TokenRequest, answered with a TokenReply) before every connection and
// before the token expires, so that the host can keep it signed in.

import { loadIdentity } from '../editor/identity.js';
import { linkToken } from '../editor/link.js';
import { mount } from './mount.js';
import type { EventName, FrameMessage, TokenReply, TokenRequest } from './types.js';

/** HOST_WAIT is how long the frame waits for its host's TokenReply. */
const HOST_WAIT = 10_000;

/**
 * hostTokens returns a token provider that asks the host page (at origin
 * target) for the current token. Without an answer in HOST_WAIT it fails,
 * and the editor goes on with the last token it had.
 */
function hostTokens(doc: string, target: string, first: string): () => Promise<string> {
  let current = first;
  let next = 0;
  const waiting = new Map<number, (token: string) => void>();
  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== window.parent || e.origin !== target) return;
    const m = e.data as Partial<TokenReply> | null;
    if (!m || m.source !== 'cowrite-host' || m.type !== 'token' || typeof m.id !== 'number' || typeof m.token !== 'string') return;
    waiting.get(m.id)?.(m.token);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        if (current) resolve(current);
        else reject(new Error('the host page sent no token'));
      }, HOST_WAIT);
      waiting.set(id, (token) => {
        clearTimeout(timer);
        waiting.delete(id);
        current = token;
        resolve(token);
      });
      const req: TokenRequest = { source: 'cowrite', doc, type: 'token-request', id };
      window.parent.postMessage(req, target);
    });
}

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
  const token = linkToken() ?? '';
  const fromHost = q.get('tokens') === 'host' && target !== null;
  const handle = mount(el, {
    server: location.origin,
    doc,
    user: { name: q.get('name') ?? stored?.name ?? 'Guest', color: q.get('color') ?? stored?.color ?? undefined },
    readOnly: document.body.dataset.readonly === '1',
    token: fromHost ? hostTokens(doc, target, token) : token || undefined,
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
