// Which requests Cowrite's service worker (sw.ts) answers, and how. Kept
// apart from the worker, which runs only in a browser, so that the rules
// can be tested.

/** Route is how the service worker answers a request; null: it does not (the network alone). */
export type Route = 'asset' | 'page' | 'kept' | null;

/** RouteRequest is the part of a Request that route reads. */
export interface RouteRequest {
  method: string;
  url: string;
  mode: string;
  headers: { has(name: string): boolean };
}

/**
 * route decides how the service worker answers req, on a site at origin:
 *   'asset'  /assets/*: cache first (names carry a content hash)
 *   'page'   a page navigated to: network first, kept by URL; offline, the
 *            kept copy or the editor's shell
 *   'kept'   GET /v1/docs and the icon: network first, the last answer kept
 *            by URL for the offline home page
 *   null     everything else: the API, WebSockets, other origins.
 * A request with credentials (an Authorization header: every API call of a
 * page signed in with a token) is never answered from the cache, nor kept
 * in it: its answer is one user's, and a cache kept by URL would show it to
 * whoever next opens the page on this browser. Only answers anyone could
 * have asked for are kept.
 */
export function route(req: RouteRequest, origin: string): Route {
  if (req.method !== 'GET' || req.headers.has('Authorization')) return null;
  const url = new URL(req.url);
  if (url.origin !== origin) return null;
  const p = url.pathname;
  if (p.startsWith('/assets/')) return 'asset';
  if (req.mode === 'navigate' && isPage(p)) return 'page';
  if (p === '/v1/docs' || p === '/favicon.svg') return 'kept';
  return null;
}

function isPage(p: string): boolean {
  return p === '/' || p === '/app-shell' || p === '/embed-demo' || p.startsWith('/d/') || p.startsWith('/embed/');
}
