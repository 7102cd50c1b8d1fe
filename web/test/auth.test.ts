// Tokens: the provider asked for every hello, the in-band refresh (auth,
// authed) before a token's exp, and what the client does when the server
// ends a connection for an expired (4011), refused (4001) or revoked
// (4012) token. Unsent edits stay in the journal through all of it.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { MemoryJournal, tokenClaims, tokenExpiry } from '../src/client/index.js';
import type { ErrorEvent } from '../src/client/index.js';
import { pendingOf } from '../src/client/state.js';
import { destroyClients, fakeJWT, FakeLocks, ins, MiniServer, saved, testClient as client, tick, until } from './fakes.js';

afterEach(destroyClients);

/** jwt makes a token that looks like a JWT whose payload holds exp (Unix seconds); its signature is junk. */
function jwt(exp: number, jti = 'a'): string {
  return fakeJWT({ sub: 'ann', exp, jti });
}

const nowSec = () => Math.floor(Date.now() / 1000);
const hellos = (s: MiniServer) => s.received.filter((m) => m.t === 'hello');

/** expire ends a connection as the server does at a token's exp. */
function expire(server: MiniServer, i = -1): void {
  const sock = server.sockets.at(i)!;
  sock.deliver({ t: 'error', code: 'token_expired', msg: 'the token expired' });
  sock.serverClose(4011);
}

describe('tokens', () => {
  it('reads exp from a JWT for timing, and nothing from garbage', () => {
    assert.equal(tokenExpiry(jwt(1_900_000_000)), 1_900_000_000_000);
    for (const bad of ['', 'abc', 'a.b.c', 'a.!!!.c', `x.${btoa('[1]')}.y`, `x.${btoa('{"exp":"soon"}')}.y`, 'a.b.c.d']) {
      assert.equal(tokenExpiry(bad), null, bad);
    }
  });

  it('reads a JWT payload in UTF-8, and only objects', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ sub: 'zoe', name: 'Zoë 文' }));
    const payload = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    assert.deepEqual(tokenClaims(`x.${payload}.y`), { sub: 'zoe', name: 'Zoë 文' });
    assert.equal(tokenClaims(`x.${btoa('"text"')}.y`), null);
    assert.equal(tokenClaims(`x.${btoa('null')}.y`), null);
  });

  it('asks the provider for every hello', async () => {
    const server = new MiniServer();
    let n = 0;
    const c = client(server, { token: async () => `token-${++n}` });
    await c.start();
    assert.equal(hellos(server)[0].token, 'token-1');
    server.sockets[0].serverClose(1006);
    await until(() => saved(c) && hellos(server).length === 2);
    assert.equal(hellos(server)[1].token, 'token-2');
  });

  it('sends the provider\'s newer token in band before exp, and times the next refresh from it', async () => {
    const server = new MiniServer();
    const exp = nowSec() + 3600;
    // The clock says the first token has 500 ms left: it is refreshed at
    // four fifths of that, 100 ms before exp.
    const offset = exp * 1000 - 500 - Date.now();
    const first = jwt(exp, 'first');
    const second = jwt(exp + 3600, 'second');
    let calls = 0;
    const provider = () => (++calls === 1 ? first : second);
    server.authed = (t) => (tokenExpiry(t) ?? 0) / 1000 + 30;
    const c = client(server, { token: provider, now: () => Date.now() + offset });
    await c.start();
    assert.equal(hellos(server)[0].token, first);
    const auths = () => server.received.filter((m) => m.t === 'auth');
    await until(() => auths().length === 1, 'an auth', 2000);
    assert.deepEqual(auths()[0], { t: 'auth', token: second });
    await tick(50);
    assert.equal(auths().length, 1, 'the second token has an hour left: no refresh yet');
    assert.equal(calls, 2);
    c.submit(ins(0, 'still here'));
    await until(() => saved(c));
    assert.equal(server.sockets.length, 1, 'the connection went on');
    assert.equal(server.text(), 'still here');
  });

  it('does not refresh a plain token, and stops at its expiry with token_expired', async () => {
    const server = new MiniServer();
    const token = jwt(nowSec() + 1);
    const c = client(server, { token, now: () => Date.now() + 3_600_000 });
    const errors: ErrorEvent[] = [];
    c.on('error', (e) => errors.push(e));
    await c.start();
    await tick(20);
    assert.equal(server.received.filter((m) => m.t === 'auth').length, 0);
    expire(server);
    await tick(20);
    assert.equal(c.status.state, 'error');
    assert.equal(c.status.code, 'token_expired');
    assert.deepEqual(errors.map((e) => e.code), ['token_expired']);
    assert.equal(server.sockets.length, 1, 'no reconnect');
  });

  it('reconnects after 4011 with the provider\'s newer token, and delivers what was pending', async () => {
    const server = new MiniServer();
    let current = 'old-token';
    const c = client(server, { token: () => current });
    const errors: ErrorEvent[] = [];
    c.on('error', (e) => errors.push(e));
    await c.start();
    server.blackhole = true; // the op is lost with the connection
    c.submit(ins(0, 'typed before expiry'));
    server.blackhole = false;
    current = 'new-token';
    expire(server);
    await until(() => saved(c), 'saved after the reconnect');
    assert.equal(server.sockets.length, 2);
    assert.equal(hellos(server)[1].token, 'new-token');
    assert.equal(server.text(), 'typed before expiry');
    assert.deepEqual(errors, [], 'a refreshed sign-in is not an error');
  });

  it('stops after 4011 when the provider has no newer token, keeping unsent edits in the journal', async () => {
    const server = new MiniServer();
    const journal = new MemoryJournal();
    const locks = new FakeLocks();
    const c = client(server, { token: () => 'only-token', journal, locks: locks.asLockManager });
    await c.start();
    server.blackhole = true;
    c.submit(ins(0, 'unsent'));
    expire(server);
    await until(() => c.status.state === 'error');
    assert.equal(c.status.code, 'token_expired');
    assert.equal(c.status.pending, 1);
    c.submit(ins(6, ' and more')); // typed after the stop: kept too
    await tick(20);
    assert.equal(server.sockets.length, 1, 'no reconnect');
    const recs = await journal.list('http://cowrite.test doc-1');
    assert.equal(recs.length, 1);
    assert.equal(pendingOf(recs[0]), 2);

    // The next page, signed in again, delivers them.
    c.destroy();
    await tick(5);
    locks.drop();
    server.blackhole = false;
    const next = client(server, { token: () => 'fresh-token', journal, locks: locks.asLockManager });
    await next.start();
    await until(() => saved(next));
    assert.equal(server.text(), 'unsent and more');
    assert.equal(hellos(server).at(-1)!.token, 'fresh-token');
  });

  it('stops after 4012 (revoked) without asking for a token or reconnecting', async () => {
    const server = new MiniServer();
    let calls = 0;
    const c = client(server, { token: () => `token-${++calls}` });
    const errors: ErrorEvent[] = [];
    c.on('error', (e) => errors.push(e));
    await c.start();
    c.submit(ins(0, 'saved'));
    await until(() => saved(c));
    server.sockets[0].deliver({ t: 'error', code: 'revoked', msg: 'revoked' });
    server.sockets[0].serverClose(4012);
    await tick(20);
    assert.equal(c.status.state, 'error');
    assert.equal(c.status.code, 'revoked');
    assert.deepEqual(errors.map((e) => e.code), ['revoked']);
    assert.equal(calls, 1);
    assert.equal(server.sockets.length, 1);
  });

  it('retries a refused token (4001) once with a newer one, then stops', async () => {
    const server = new MiniServer();
    server.offline = true;
    let calls = 0;
    const c = client(server, { token: () => `token-${++calls}` });
    const started = c.start();
    for (let i = 1; i <= 2; i++) {
      await until(() => server.sockets.length === i, `connection ${i}`);
      server.sockets[i - 1].serverClose(4001);
    }
    await assert.rejects(started);
    assert.equal(c.status.code, 'unauthorized');
    await tick(20);
    assert.equal(server.sockets.length, 2);
  });

  it('reconnects with the provider\'s token after access_changed (4009)', async () => {
    const server = new MiniServer();
    let current = 'edit-token';
    const c = client(server, { token: () => current });
    const errors: ErrorEvent[] = [];
    c.on('error', (e) => errors.push(e));
    await c.start();
    current = 'view-token';
    server.access = 'view';
    server.sockets[0].deliver({ t: 'error', code: 'access_changed' });
    server.sockets[0].serverClose(4009);
    await until(() => c.status.state === 'read-only');
    assert.equal(hellos(server)[1].token, 'view-token');
    assert.deepEqual(errors, []);
  });

  it('retries later when the provider fails before the first hello', async () => {
    const server = new MiniServer();
    let calls = 0;
    const c = client(server, {
      token: () => {
        if (++calls === 1) throw new Error('offline');
        return 'late-token';
      },
    });
    const errors: ErrorEvent[] = [];
    c.on('error', (e) => errors.push(e));
    await c.start();
    assert.equal(errors[0]?.code, 'token_provider');
    assert.equal(hellos(server)[0].token, 'late-token');
  });
});
