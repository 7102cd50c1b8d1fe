// Cowrite's service worker, served at /sw.js with scope /. It keeps the
// editor's shell (pages, scripts, styles) loadable while offline, so that
// reloading a document without a network still shows it: the page then
// opens the document from the client library's IndexedDB journal, with
// its unsent edits.
//
// Strategy:
//   /assets/*       cache first (names carry a content hash); precached at install
//   pages           network first, each page kept by URL; offline, the kept copy,
//                   or the generic editor shell (/app-shell) for /d/{id}
//   GET /v1/docs    network first, the last list kept for the offline home page,
//                   unless the request carries credentials (Authorization):
//                   one user's answers are never kept nor answered from the cache
//   everything else (the API, WebSockets) untouched
// route (swroute.ts) decides which is which.
//
// Each build has its own caches (__VERSION__); activating a new worker
// drops the old ones, so a kept page never points at scripts that are gone.

import { route } from './swroute.js';

declare const __PRECACHE__: string[];
declare const __VERSION__: string;

// The parts of the service worker scope used here. They are declared
// rather than taken from TypeScript's "webworker" lib, which cannot share
// a program with the pages' "dom" lib.
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface WorkerScope {
  readonly location: Location;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', f: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', f: (e: FetchEvent) => void): void;
}

const sw = self as unknown as WorkerScope;

const shellCache = `cowrite-shell-${__VERSION__}`;
const pageCache = `cowrite-pages-${__VERSION__}`;
const ours = (name: string) => name.startsWith('cowrite-');

/** networkWait is how long a page waits for the network before the kept copy is used. */
const networkWait = 4000;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(shellCache);
      await cache.addAll(__PRECACHE__.map((url) => new Request(url, { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (ours(name) && name !== shellCache && name !== pageCache) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  switch (route(req, sw.location.origin)) {
    case 'asset':
      event.respondWith(cacheFirst(req));
      return;
    case 'page':
      event.respondWith(page(req, new URL(req.url).pathname));
      return;
    case 'kept':
      event.respondWith(networkFirst(req, pageCache, () => Promise.resolve(undefined)));
      return;
  }
});

async function cacheFirst(req: Request): Promise<Response> {
  const hit = await caches.match(req);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) {
    const copy = res.clone();
    void caches.open(shellCache).then((c) => c.put(req, copy));
  }
  return res;
}

async function page(req: Request, path: string): Promise<Response> {
  return networkFirst(req, pageCache, async () => {
    // Never opened here before: the generic shell still opens the
    // document from its journal, if this browser has one.
    if (path.startsWith('/d/')) return caches.match('/app-shell');
    if (path === '/') return caches.match('/');
    return undefined;
  });
}

/**
 * networkFirst answers from the network, keeping a copy of good answers
 * in cacheName; when the network fails or takes longer than networkWait,
 * it answers with the kept copy, else with fallback(), else with the
 * network's error.
 */
async function networkFirst(
  req: Request,
  cacheName: string,
  fallback: () => Promise<Response | undefined>,
): Promise<Response> {
  const network = fetch(req).then(async (res) => {
    if (res.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(req, res.clone());
    }
    return res;
  });
  const kept = async () => (await caches.match(req, { cacheName })) ?? (await fallback());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), networkWait)));
  try {
    const first = await Promise.race([network, slow]);
    if (first !== 'slow') return first;
    const copy = await kept();
    return copy ?? (await network);
  } catch (err) {
    const copy = await kept();
    if (copy) return copy;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
