// The journal and exactly-once delivery across page loads and tabs: a page
// closes with unsent edits, the next one (and only one) delivers them.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { IDBFactory } from 'fake-indexeddb';
import Delta from 'quill-delta';

import { CowriteClient, MemoryJournal } from '../src/client/index.js';
import type { Journal, JournalRecord, JournalWrite } from '../src/client/index.js';
import { leaseClaims, lockClaims } from '../src/client/claim.js';
import { DocState } from '../src/client/state.js';
import {
  closeTab as close, count, destroyClients, FakeLocks, idb, ins, MiniServer, openTab as tab, pageIndexedDB, profiles, saved, seeded,
  textOf, tick, until,
} from './fakes.js';
import type { Profile } from './fakes.js';

afterEach(destroyClients);

/** SCOPE is the journal scope of the tabs' document (openTab), in open mode. */
const SCOPE = 'https://cowrite.test notes';

for (const [name, profile] of profiles) {
  describe(`journal (${name})`, () => {
    /** firstTab opens a tab of a new server in a new profile, and waits for the document. */
    const firstTab = async () => {
      const server = new MiniServer();
      const p = profile();
      const a = tab(server, p);
      await a.start();
      return { server, p, a };
    };

    it('a page closed offline with unsent edits: the next one shows them offline and delivers them once', async () => {
      const { server, p, a } = await firstTab();
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
      const { server, p, a } = await firstTab();
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
      const { server, p, a } = await firstTab();
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
      const { server, p, a } = await firstTab();
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
      const { server, p, a } = await firstTab();
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
      await until(hasRecords(p, 1));
    });

    it('offers journalled edits back when the server now allows only reading', async () => {
      const { server, p, a } = await firstTab();
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
      const { server, p, a } = await firstTab();
      server.manual = true;
      a.submit(ins(0, 'x'));
      await until(() => server.sockets[0].ops().length === 1);
      const rec = await p.journal.get(SCOPE, a.clientId);
      assert.ok(rec);
      assert.equal(rec.inflight?.seq, 1);
      assert.deepEqual(rec.inflight?.sent, [{ insert: 'x' }]);
      assert.equal(rec.seq, 1);
    });
  });
}

/** typeEach submits text one character at a time from at, as fast as keys come, and returns where it ended. */
function typeEach(c: CowriteClient, at: number, text: string): number {
  for (const ch of text) c.submit(ins(at++, ch));
  return at;
}

describe('journal: a page closed at once', () => {
  // The page dies right after the last keystroke: its script runs no more
  // (kill), only the IndexedDB transactions it started go on. Every edit
  // must be in the journal all the same, and the next page delivers each
  // exactly once.
  for (const online of [false, true]) {
    it(`a burst of edits ${online ? 'online, ops in flight,' : 'offline'} then the page gone: every edit is restored and delivered once`, async () => {
      const server = new MiniServer();
      const profile = new IDBFactory();
      const locks = new FakeLocks();
      const page = pageIndexedDB(profile);
      const a = tab(server, { journal: idb(page.factory), locks });
      await a.start();
      a.submit(ins(0, 'Notes.\n'));
      await until(() => saved(a));
      let at = 6;
      let want = 'Notes.';
      if (online) {
        // Some ops acknowledged, one in flight, more buffered behind it.
        for (const word of [' one', ' two', ' three']) {
          at = typeEach(a, at, word);
          want += word;
          await tick();
        }
      } else {
        server.offline = true;
        server.disconnect();
      }
      const burst = ' typed in a hurry, then closed';
      at = typeEach(a, at, burst);
      want += burst + '\n';
      page.kill(); // no await: the page is gone now
      a.destroy(); // (its socket and timers: a dead page has none; it can write nothing more)
      locks.drop();
      server.offline = false;
      server.disconnect();

      const b = tab(server, { journal: idb(profile), locks });
      const doc = await b.start();
      assert.equal(textOf(doc), want, 'shown from the journal, before the server answers');
      await until(() => saved(b) && textOf(b.document) === want, `b shows ${JSON.stringify(want)}`);
      assert.equal(server.text(), want, 'every keystroke once');
      assert.deepEqual(b.document, server.content);
    });
  }

  it('the journal never goes back to an older state', async () => {
    const j = idb();
    const rec = (seq: number): JournalRecord => ({
      scope: SCOPE, client: 'c', seq, rev: 0, epoch: 'e', confirmed: [{ insert: 'x\n' }], inflight: null, buffer: [], bufferCount: 0, updated: seq,
    });
    const head = (seq: number): JournalWrite => ({
      scope: SCOPE, client: 'c', updated: seq, ops: [], edits: [],
      head: { seq, rev: 0, epoch: 'e', inflight: null, buffer: [{ insert: String(seq % 10) }], bufferCount: 1 },
    });
    // Before the database is open: they wait for it, in order.
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) writes.push(j.put(rec(i)));
    await writes[0];
    // Open: each starts at once, and they land in the order made.
    for (let i = 21; i <= 59; i++) writes.push(i % 3 === 0 ? j.put(rec(i)) : j.write(head(i)));
    writes.push(j.write({ scope: SCOPE, client: 'c', updated: 61, ops: [], edits: [{ n: 0, delta: [{ retain: 1 }, { insert: '!' }] }] }));
    await Promise.all(writes);
    const got = await j.get(SCOPE, 'c');
    assert.equal(got?.seq, 59);
    assert.deepEqual(got?.buffer, [{ insert: '9!' }]);
    assert.equal(got?.bufferCount, 2);
    assert.equal(got?.updated, 61);
  });

  it('a client\'s record after a run of edits, acks and remote ops is its state, never an older one', async () => {
    const server = new MiniServer();
    const j = idb();
    const locks = new FakeLocks();
    const a = tab(server, { journal: j, locks });
    const other = tab(server, { journal: null, locks: null });
    await a.start();
    await other.start();
    let at = 0;
    for (let i = 0; i < 40; i++) {
      at = typeEach(a, at, 'ab');
      if (i % 3 === 0) other.submit(ins(0, 'o'));
      if (i % 5 === 0) await tick();
    }
    await until(() => saved(a) && saved(other) && a.document.length() === server.content.length());
    a.destroy(); // writes what waited
    await tick(5);
    const rec = await j.get(SCOPE, a.clientId);
    assert.ok(rec);
    assert.equal(rec.rev, server.rev);
    assert.deepEqual(new Delta(rec.confirmed), server.content);
    assert.equal(rec.inflight, null);
    assert.equal(rec.bufferCount, 0);
  });
});

describe('journal writes', () => {
  // DocState.journalWrite: what a change costs, and that the parts add up.

  const remoteOp = (s: DocState, delta: Delta) => ({ rev: s.rev + 1, delta, client: 'other', seq: s.rev + 1, author: 'O' });

  it('a keystroke in a large document writes the keystroke, not the document', () => {
    const s = new DocState('me');
    s.load(new Delta().insert('x'.repeat(1_000_000) + '\n'), 7, 'e');
    const first = s.journalWrite(SCOPE, 1)!;
    assert.equal(first.doc?.rev, 7, 'the first write has the document');
    assert.ok(first.head);
    const size = (w: JournalWrite | null) => JSON.stringify(w).length;

    s.local(ins(10, 'a'));
    const edit = s.journalWrite(SCOPE, 2)!;
    assert.equal(edit.doc, undefined);
    assert.equal(edit.head, undefined);
    assert.deepEqual(edit.edits, [{ n: 0, delta: [{ retain: 10 }, { insert: 'a' }] }]);
    s.takeOp();
    s.local(ins(11, 'b'));
    assert.ok(size(s.journalWrite(SCOPE, 3)) < 500, 'the op made');
    s.local(ins(12, 'c'));
    assert.ok(size(s.journalWrite(SCOPE, 4)) < 500, 'an edit behind the op');
    assert.equal(s.ack(1, 8), 'ok');
    assert.ok(size(s.journalWrite(SCOPE, 5)) < 500, 'the ack');
    s.remote(remoteOp(s, new Delta().retain(5).insert('r')));
    assert.ok(size(s.journalWrite(SCOPE, 6)) < 500, 'a remote op');
    assert.equal(s.journalWrite(SCOPE, 7), null, 'nothing changed');
  });

  it('the document is written again once the ops logged after it weigh about as much', () => {
    const s = new DocState('me');
    s.load(new Delta().insert('small\n'), 0, 'e');
    s.journalWrite(SCOPE, 0);
    let docs = 0;
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      s.remote(remoteOp(s, new Delta().insert('0123456789')));
      const w = s.journalWrite(SCOPE, i)!;
      if (w.doc) {
        docs++;
        assert.equal(w.ops.length, 0);
      } else n += w.ops.length;
    }
    assert.ok(docs >= 2 && docs <= 10, `${docs} documents written`);
    assert.equal(n + docs, 2000);
  });

  it('without writes (no journal), what a write would carry does not pile up', () => {
    const s = new DocState('me');
    const notes = () => (s as unknown as { j: { ops: unknown[]; edits: unknown[] } }).j;
    s.load(new Delta().insert('\n'), 0, 'e');
    s.journalWrite(SCOPE, 0);
    for (let i = 0; i < 3000; i++) s.remote(remoteOp(s, new Delta().insert('r')));
    assert.ok(notes().ops.length <= 500, `${notes().ops.length} ops kept`);
    const w = s.journalWrite(SCOPE, 1)!;
    assert.equal(w.doc?.rev, 3000);
    assert.equal(w.ops.length, 0);
    for (let i = 0; i < 3000; i++) s.local(new Delta().insert('l'));
    assert.ok(notes().edits.length <= 200, `${notes().edits.length} edits kept`);
    const v = s.journalWrite(SCOPE, 2)!;
    assert.equal(v.head?.bufferCount, 3000);
    assert.equal(v.edits.length, 0);
  });

  for (const [name, make] of [['IndexedDB', () => idb()], ['memory', () => new MemoryJournal()]] as [string, () => Journal][]) {
    it(`random changes, written in parts, read back whole (${name})`, async () => {
      for (const seed of [1, 2, 3]) {
        const random = seeded(seed);
        const j = make();
        const s = new DocState('me');
        s.load(new Delta().insert('Start.\n'), 3, 'e1');
        const pos = (len: number) => Math.floor(random() * len);
        let written = 0;
        const pending: Promise<void>[] = [];
        const write = () => {
          const w = s.journalWrite(SCOPE, ++written);
          if (w) pending.push(j.write(w));
        };
        for (let step = 0; step < 1500; step++) {
          const r = random();
          if (r < 0.45) {
            s.local(random() < 0.8 || s.length < 3 ? ins(pos(s.length), 'abc'[pos(3)]) : new Delta().retain(pos(s.length - 2)).delete(1));
          } else if (r < 0.55) {
            s.takeOp();
          } else if (r < 0.65) {
            if (s.inflight) s.ack(s.inflight.seq, s.rev + 1);
          } else if (r < 0.85) {
            const len = s.confirmed.length();
            s.remote(remoteOp(s, random() < 0.8 || len < 3 ? ins(pos(len), 'XYZ'[pos(3)]) : new Delta().retain(pos(len - 2)).delete(1)));
          } else if (r < 0.87) {
            s.renewInflight();
          } else if (r < 0.88) {
            s.setAside();
          } else if (r < 0.885) {
            s.load(new Delta().insert(`Epoch ${step}.\n`), s.rev, `e${step}`);
          }
          if (random() < 0.5) write();
          if (random() < 0.05) {
            write();
            await Promise.all(pending);
            const rec = await j.get(SCOPE, 'me');
            assert.ok(rec, `seed ${seed} step ${step}: a record`);
            const f = s.inflight;
            assert.deepEqual(
              { ...rec, confirmed: new Delta(rec.confirmed), buffer: new Delta(rec.buffer), updated: 0 },
              {
                scope: SCOPE, client: 'me', seq: s.seq, rev: s.rev, epoch: s.epoch, confirmed: s.confirmed,
                inflight: f && { seq: f.seq, base: f.base, sent: f.sent.ops, delta: f.delta.ops, count: f.count },
                buffer: s.buffer, bufferCount: s.bufferCount, updated: 0,
              },
              `seed ${seed} step ${step}`,
            );
            // Carried on by another page, the state writes on from there.
            if (random() < 0.3) {
              const t = DocState.fromRecord(rec);
              assert.deepEqual(t.document, s.document);
            }
          }
        }
      }
    });
  }

  it('upgrades a version 1 database, keeping its records', async () => {
    const factory = new IDBFactory();
    const old: JournalRecord = {
      scope: SCOPE, client: 'c1', seq: 2, rev: 5, epoch: 'e', confirmed: [{ insert: 'old page\n' }],
      inflight: { seq: 2, base: 5, sent: [{ insert: 'x' }], delta: [{ insert: 'x' }], count: 1 }, buffer: [{ retain: 1 }, { insert: 'y' }], bufferCount: 1, updated: 9,
    };
    await new Promise<void>((resolve, reject) => {
      const req = factory.open('cowrite', 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        const records = db.createObjectStore('records', { keyPath: ['scope', 'client'] });
        records.createIndex('scope', 'scope');
        db.createObjectStore('leases', { keyPath: ['scope', 'client'] });
        records.put(old);
      };
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    const j = idb(factory);
    assert.deepEqual(await j.list(SCOPE), [old]);
    await j.write({ scope: SCOPE, client: 'c1', updated: 10, ops: [], edits: [{ n: 0, delta: [{ retain: 2 }, { insert: 'z' }] }] });
    const rec = await j.get(SCOPE, 'c1');
    assert.deepEqual(rec?.buffer, [{ retain: 1 }, { insert: 'yz' }]);
    assert.equal(rec?.bufferCount, 2);
  });

  it('writes what waited (remote ops) when the page is hidden or goes away', async () => {
    const target = new EventTarget();
    const g = globalThis as unknown as Record<string, unknown>;
    g.addEventListener = target.addEventListener.bind(target);
    g.removeEventListener = target.removeEventListener.bind(target);
    try {
      const server = new MiniServer();
      const j = idb();
      const a = tab(server, { journal: j, locks: new FakeLocks() });
      const other = tab(server, { journal: null, locks: null });
      await a.start();
      await other.start();
      const rev = () => j.get(SCOPE, a.clientId).then((r) => r?.rev);
      const before = await rev();
      other.submit(ins(0, 'remote'));
      await until(() => a.document.length() === 6);
      await tick(5);
      assert.equal(await rev(), before, 'a remote op may wait');
      target.dispatchEvent(new Event('pagehide'));
      await tick(5);
      assert.equal(await rev(), server.rev);
      other.submit(ins(0, 'more '));
      await until(() => a.document.length() === 11);
      target.dispatchEvent(new Event('visibilitychange'));
      await tick(5);
      assert.equal(await rev(), server.rev);
      other.submit(ins(0, 'later '));
      let r: number | undefined;
      await until(() => {
        void rev().then((x) => (r = x));
        return r === server.rev;
      }, 'the journal to catch up on its own');
      a.destroy();
      other.destroy();
    } finally {
      delete g.addEventListener;
      delete g.removeEventListener;
    }
  });

  it('a journal that fails is let go: its lagging record is deleted, the edits are sent as usual', async () => {
    class Failing extends MemoryJournal {
      fail = false;
      override write(w: JournalWrite): Promise<void> {
        return this.fail ? Promise.reject(new Error('quota')) : super.write(w);
      }
    }
    const server = new MiniServer();
    const j = new Failing();
    const a = tab(server, { journal: j, locks: new FakeLocks() });
    const errors: string[] = [];
    a.on('error', (e) => errors.push(e.code));
    await a.start();
    a.submit(ins(0, 'kept'));
    await until(() => saved(a));
    assert.ok(await j.get(SCOPE, a.clientId));
    j.fail = true;
    a.submit(ins(4, ' and sent'));
    await until(() => saved(a));
    assert.deepEqual(errors, ['journal']);
    assert.equal(server.text(), 'kept and sent');
    assert.equal(await j.get(SCOPE, a.clientId), undefined);
  });
});

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
    const j = idb();
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
    const j = idb();
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

/** hasRecords is a condition for until: p's journal holds n records of the document (asked again once it answered). */
function hasRecords(p: Profile, n: number): () => boolean {
  let held = -1;
  let asked = false;
  return () => {
    if (!asked) {
      asked = true;
      p.journal!.list(SCOPE).then((rs) => {
        held = rs.length;
        asked = false;
      });
    }
    return held === n;
  };
}
