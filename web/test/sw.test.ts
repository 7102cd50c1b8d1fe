// What the service worker answers from its caches (src/swroute.ts): never
// an answer to a request with credentials.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { route } from '../src/swroute.js';

const origin = 'https://cowrite.test';

function req(path: string, opts: { method?: string; mode?: string; auth?: boolean } = {}) {
  const headers = new Headers(opts.auth ? { Authorization: 'Bearer x.y.z' } : {});
  return { method: opts.method ?? 'GET', url: origin + path, mode: opts.mode ?? 'cors', headers };
}

describe('service worker routes', () => {
  it('keeps the shell: assets, pages, and the document list of open mode', () => {
    assert.equal(route(req('/assets/editor-ABC.js'), origin), 'asset');
    assert.equal(route(req('/d/notes', { mode: 'navigate' }), origin), 'page');
    assert.equal(route(req('/', { mode: 'navigate' }), origin), 'page');
    assert.equal(route(req('/v1/docs'), origin), 'kept');
    assert.equal(route(req('/favicon.svg'), origin), 'kept');
  });

  it('never keeps nor answers from the cache a request with credentials', () => {
    assert.equal(route(req('/v1/docs', { auth: true }), origin), null);
    assert.equal(route(req('/v1/docs?x=1', { auth: true }), origin), null);
    assert.equal(route(req('/v1/docs/notes', { auth: true }), origin), null);
    assert.equal(route(req('/assets/editor-ABC.js', { auth: true }), origin), null);
  });

  it('leaves the rest of the API, other methods and other origins to the network', () => {
    assert.equal(route(req('/v1/docs/notes'), origin), null);
    assert.equal(route(req('/v1/info'), origin), null);
    assert.equal(route(req('/v1/docs', { method: 'POST' }), origin), null);
    assert.equal(route({ ...req('/v1/docs'), url: 'https://elsewhere.test/v1/docs' }, origin), null);
    assert.equal(route(req('/d/notes'), origin), null, 'a page fetched, not navigated to');
  });
});
