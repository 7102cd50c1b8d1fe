// The journal and exactly-once delivery across page loads and tabs: a page
// closes with unsent edits, the next one (and only one) delivers them.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { IDBFactory } from 'fake-indexeddb';
import Delta from 'quill-delta';

import { CowriteClient, IndexedDBJournal, MemoryJournal } from '../src/client/index.js';
import type { ClientOptions, Journal, JournalRecord } from '../src/client/index.js';
import { leaseClaims, lockClaims } from '../src/client/claim.js';
import { FakeLocks, MiniServer, textOf, tick, until } from './fakes.js';

const live: CowriteClient[] = [];

afterEach(() => {
  for (const c of live.splice(0)) c.destroy();
});

const ins = (at: number, text: string) => new Delta().retain(at).insert(text);
const saved = (c: CowriteClient) => c.status.state === 'saved';

/** A browser profile: one journal and one lock manager, shared by its tabs. */
interface Profile {
  journal: Journal;
  locks: FakeLocks | null;
}

function tab(server: MiniServer, p: Profile, opts: Partial<ClientOptions> = {}): CowriteClient {
  const c = new CowriteClient({
    server: 'https://cowrite.test',
    doc: 'notes',
    name: 'Ann',
    color: '#e91e63',
    journal: p.journal,
    locks: p.locks?.asLockManager ?? null,
    WebSocket: server.WebSocket,
    random: () => 0.5,
    backoff: { base: 2, cap: 8 },
    ...opts,
  });
  live.push(c);
  return c;
}

/** close ends a tab as closing it would: the page stops, its locks go. */
async function close(c: CowriteClient, p: Profile): Promise<void> {
  c.destroy();
  await tick(5); // the last journal write settles, then the claim is released
  if (p.locks) p.locks.drop();
}

/** count is how many times s occurs in text. */
function count(text: string, s: string): number {
  return text.split(s).length - 1;
}

const profiles: [string, () => Profile][] = [
  ['IndexedDB and Web Locks', () => ({ journal: new IndexedDBJournal(new IDBFactory()), locks: new FakeLocks() })],
  ['IndexedDB and leases', () => ({ journal: new IndexedDBJournal(new IDBFactory()), locks: null })],
  ['memory and Web Locks', () => ({ journal: new MemoryJournal(), locks: new FakeLocks() })],
];

for (const [name, profile] of profiles) {
  describe(`journal (${name})`, () => {
    it('a page closed offline with unsent edits: the next one shows them offline and delivers them once', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      a.submit(ins(0, 'saved.\n'));
      await until(() => saved(a));
      server.offline = true;
      server.disconnect();
      a.submit(ins(5, ' unsent'));
      a.submit(ins(0, '>'));
      const id = a.clientId;
      await close(a, p);

      // Reopened without a network: the document and its edits are there.
      const b = tab(server, p);
      const doc = await b.start();
      assert.equal(textOf(doc), '>saved unsent.\n');
      assert.equal(b.clientId, id, 'the session carries on');
      await until(() => b.status.state === 'offline');
      assert.deepEqual(b.status, { state: 'offline', pending: 2, access: 'edit' });

      server.offline = false;
      await until(() => saved(b), 'b saved');
      assert.equal(server.text(), '>saved unsent.\n');
      assert.deepEqual(b.document, server.content);
    });

    it('an op applied whose ack was lost with the page is not applied again', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.swallowAcks = true;
      a.submit(ins(0, 'once'));
      await until(() => server.text() === 'once', 'the op applied');
      a.submit(ins(4, '!')); // buffered behind the unacknowledged op
      await close(a, p);
      server.swallowAcks = false;
      server.disconnect();

      const b = tab(server, p);
      assert.equal(textOf(await b.start()), 'once!');
      await until(() => saved(b));
      assert.equal(server.text(), 'once!');
      // The resumed session sent only the new op, as seq 2.
      const sock = server.sockets.at(-1)!;
      assert.equal(sock.sent[0].pending, 1);
      assert.deepEqual(sock.ops().map((o) => o.seq), [2]);
    });

    it('an op lost on the way before the page closed is sent again, exactly as first sent', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.blackhole = true;
      a.submit(ins(0, 'lost'));
      await until(() => server.sockets[0].ops().length === 1, 'the op sent');
      const first = server.sockets[0].ops()[0];
      await close(a, p);
      server.blackhole = false;
      server.disconnect();
      const other = tab(server, { journal: new MemoryJournal(), locks: null });
      await other.start();
      other.submit(ins(0, 'meanwhile '));

      const b = tab(server, p);
      await b.start();
      await until(() => saved(b) && b.document.length() === server.content.length());
      assert.deepEqual(server.sockets.at(-1)!.ops(), [first]);
      assert.equal(count(server.text(), 'lost'), 1);
      assert.deepEqual(b.document, server.content);
    });

    it('a live tab keeps its session: a second tab starts its own', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.offline = true;
      server.disconnect();
      a.submit(ins(0, 'mine'));
      await tick(5);

      const b = tab(server, p);
      const started = b.start(); // resolves with the first welcome: b has nothing journalled
      await until(() => b.clientId !== '');
      assert.notEqual(b.clientId, a.clientId);
      assert.equal(b.status.pending, 0, 'the second tab does not take the first one\'s edits');

      server.offline = false;
      await started;
      await until(() => saved(a) && saved(b));
      assert.equal(server.text(), 'mine');
    });

    it('two tabs opened at once after a close: exactly one delivers the journal', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.offline = true;
      server.disconnect();
      a.submit(ins(0, 'exactly once'));
      const id = a.clientId;
      await close(a, p);
      server.offline = false;

      const b = tab(server, p);
      const c = tab(server, p);
      await Promise.all([b.start(), c.start()]);
      assert.equal([b.clientId, c.clientId].filter((x) => x === id).length, 1);
      await until(() => saved(b) && saved(c));
      await until(() => textOf(b.document) === textOf(c.document));
      assert.equal(server.text(), 'exactly once');
      assert.equal(server.received.filter((m) => m.t === 'op').length, 1);
    });

    it('sessions of several closed tabs: one carries on, the others drain in the background', async () => {
      const server = new MiniServer();
      const p = profile();
      const a1 = tab(server, p);
      const a2 = tab(server, p);
      await a1.start();
      await a2.start();
      server.offline = true;
      server.disconnect();
      a1.submit(ins(0, 'one '));
      a2.submit(ins(0, 'two '));
      const ids = [a1.clientId, a2.clientId];
      await close(a1, p);
      await close(a2, p);

      const b = tab(server, p);
      await b.start();
      assert.ok(ids.includes(b.clientId));
      await tick(5);
      assert.equal(b.status.pending, 2, 'both sessions\' edits count as unsaved');
      server.offline = false;
      await until(() => saved(b) && server.text().length === 8 && b.document.length() === 8);
      assert.equal(count(server.text(), 'one '), 1);
      assert.equal(count(server.text(), 'two '), 1);
      assert.deepEqual(b.document, server.content);
      // The drained session's record is gone; the carried-on one stays.
      await until(async_records(p, 1));
    });

    it('offers journalled edits back when the server now allows only reading', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.offline = true;
      server.disconnect();
      a.submit(ins(0, 'draft'));
      await close(a, p);
      server.access = 'view';
      server.offline = false;
      const b = tab(server, p);
      const resets: string[] = [];
      b.on('reset', (e) => resets.push(e.offered?.text ?? ''));
      await b.start();
      await until(() => b.status.state === 'read-only');
      assert.deepEqual(resets, ['draft']);
      assert.equal(b.status.pending, 0);
      assert.equal(server.text(), '');
    });

    it('keeps the in-flight op in the journal before it is sent', async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      server.manual = true;
      a.submit(ins(0, 'x'));
      await until(() => server.sockets[0].ops().length === 1);
      const rec = await p.journal.get('https://cowrite.test notes', a.clientId);
      assert.ok(rec);
      assert.equal(rec.inflight?.seq, 1);
      assert.deepEqual(rec.inflight?.sent, [{ insert: 'x' }]);
      assert.equal(rec.seq, 1);
    });
  });
}

describe('journal', () => {
  it('a lease that cannot be renewed is reported lost', async () => {
    // A journal where another page takes the lease as soon as allowed.
    class Taken extends MemoryJournal {
      taken = false;
      override async lease(scope: string, client: string, holder: string, ttl: number): Promise<boolean> {
        return !this.taken && super.lease(scope, client, holder, ttl);
      }
    }
    const journal = new Taken();
    const claim = await leaseClaims(journal, 30).claim('s', 'c');
    assert.ok(claim);
    let lost = false;
    claim.onLost(() => (lost = true));
    await tick(25);
    assert.equal(lost, false, 'renewed while nobody else has it');
    journal.taken = true;
    await until(() => lost, 'the loss to be noticed');
    claim.release();
  });

  it('Web Locks claims exclude each other until released', async () => {
    const locks = new FakeLocks();
    const claims = lockClaims(locks.asLockManager);
    const first = await claims.claim('s', 'c');
    assert.ok(first);
    assert.equal(await claims.claim('s', 'c'), null);
    assert.ok(await claims.claim('s', 'd'));
    first.release();
    await tick();
    assert.ok(await claims.claim('s', 'c'));
  });

  it('IndexedDB leases are exclusive while they run, and can be taken once they ran out', async () => {
    const j = new IndexedDBJournal(new IDBFactory());
    const results = await Promise.all([j.lease('s', 'c', 'h1', 1000), j.lease('s', 'c', 'h2', 1000), j.lease('s', 'c', 'h3', 1000)]);
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await j.lease('s', 'c', 'h4', 1000), false);
    const winner = ['h1', 'h2', 'h3'][results.indexOf(true)];
    assert.equal(await j.lease('s', 'c', winner, 1000), true, 'the holder renews');
    await j.unlease('s', 'c', winner);
    assert.equal(await j.lease('s', 'c', 'h4', 1), true);
    await tick(5);
    assert.equal(await j.lease('s', 'c', 'h5', 1000), true, 'an expired lease is taken');
  });

  it('IndexedDB keeps records per scope and client', async () => {
    const j = new IndexedDBJournal(new IDBFactory());
    const rec = (scope: string, client: string, seq: number): JournalRecord => ({
      scope, client, seq, rev: 3, epoch: 'e', confirmed: [{ insert: 'abc' }], inflight: null, buffer: [{ retain: 1 }, { insert: 'x' }], bufferCount: 1, updated: 1,
    });
    await j.put(rec('a', '1', 1));
    await j.put(rec('a', '2', 2));
    await j.put(rec('b', '1', 3));
    await j.put(rec('a', '1', 4));
    assert.deepEqual((await j.list('a')).map((r) => r.seq).sort(), [2, 4]);
    assert.deepEqual(await j.get('a', '1'), rec('a', '1', 4));
    await j.remove('a', '1');
    assert.equal(await j.get('a', '1'), undefined);
    assert.deepEqual((await j.list('a')).map((r) => r.client), ['2']);
  });
});

function async_records(p: Profile, n: number): () => boolean {
  let count = -1;
  let asked = false;
  return () => {
    if (!asked) {
      asked = true;
      p.journal.list('https://cowrite.test notes').then((rs) => {
        count = rs.length;
        asked = false;
      });
    }
    return count === n;
  };
}
