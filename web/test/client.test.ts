// The client state machine against an in-process server (fakes.ts):
// transforms, acks, reconnect and resend, dedupe, reset and rebase, epoch
// changes, refused ops, statuses.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import Delta from 'quill-delta';

import { CowriteClient, installBeforeUnloadGuard } from '../src/client/index.js';
import type { ErrorEvent, ResetEvent, Status } from '../src/client/index.js';
import { destroyClients, ins, MiniServer, saved, testClient as client, textOf, tick, until } from './fakes.js';

afterEach(destroyClients);

/** record collects a client's events. */
function record(c: CowriteClient) {
  const r = { statuses: [] as Status[], resets: [] as ResetEvent[], errors: [] as ErrorEvent[], remotes: [] as Delta[] };
  c.on('status', (s) => r.statuses.push(s));
  c.on('reset', (e) => r.resets.push(e));
  c.on('error', (e) => r.errors.push(e));
  c.on('remote', (d) => r.remotes.push(d));
  return r;
}

/** mirror keeps an editor's copy of the document, as Quill would, from the events. */
function mirror(c: CowriteClient) {
  const m = { doc: new Delta() };
  c.on('ready', (d) => (m.doc = d));
  c.on('reset', (e) => (m.doc = e.doc));
  c.on('remote', (d) => (m.doc = m.doc.compose(d)));
  return {
    get doc() {
      return m.doc;
    },
    type(change: Delta) {
      m.doc = m.doc.compose(change);
      c.submit(change);
    },
  };
}

describe('CowriteClient', () => {
  it('loads the document, sends an edit and is acknowledged', async () => {
    const server = new MiniServer();
    server.content = new Delta().insert('hello\n');
    server.log = [{ rev: 1, delta: server.content, client: '', seq: 0, author: '' }];
    const c = client(server);
    const ev = record(c);
    const ready: Delta[] = [];
    c.on('ready', (d) => ready.push(d));
    const doc = await c.start();
    assert.equal(textOf(doc), 'hello\n');
    assert.equal(ready.length, 1);
    assert.equal(c.status.state, 'saved');
    server.manual = true;
    c.submit(ins(5, ' world'));
    assert.equal(c.status.state, 'saving');
    server.flush();
    assert.equal(server.text(), 'hello world\n');
    assert.equal(textOf(c.document), 'hello world\n');
    assert.deepEqual(server.sockets[0].ops()[0], { seq: 1, rev: 1, delta: ins(5, ' world') });
    assert.equal(c.status.state, 'saved');
    assert.deepEqual(
      ev.statuses.map((s) => s.state),
      ['saved', 'saving', 'saved'],
    );
    const hello = server.sockets[0].sent[0];
    assert.deepEqual(hello, { t: 'hello', v: 1, client: c.clientId, name: 'Ann', color: '#e91e63' });
    assert.equal(server.sockets[0].url, 'ws://cowrite.test/v1/docs/doc-1/ws');
  });

  it('keeps one op in flight and composes later edits into the next one', async () => {
    const server = new MiniServer();
    const c = client(server);
    await c.start();
    server.manual = true;
    c.submit(ins(0, 'a'));
    c.submit(ins(1, 'b'));
    c.submit(ins(2, 'c', { bold: true }));
    const sock = server.sockets[0];
    assert.equal(sock.ops().length, 1);
    assert.equal(c.status.state, 'saving');
    assert.equal(c.status.pending, 3);
    server.deliverNext(c.clientId); // the ack of seq 1 lets seq 2 go, with both later edits
    assert.equal(sock.ops().length, 2);
    assert.deepEqual(sock.ops()[1], { seq: 2, rev: 1, delta: new Delta().retain(1).insert('b').insert('c', { bold: true }) });
    assert.equal(c.status.pending, 2);
    server.flush();
    assert.equal(c.status.state, 'saved');
    assert.deepEqual(server.content, new Delta().insert('ab').insert('c', { bold: true }));
  });

  it('transforms incoming ops over the in-flight op and the buffer; the server wins ties', async () => {
    const server = new MiniServer();
    const a = client(server, { name: 'A' });
    const b = client(server, { name: 'B' });
    const ma = mirror(a);
    const mb = mirror(b);
    await a.start();
    await b.start();
    ma.type(ins(0, 'xy'));
    await until(() => saved(a) && textOf(mb.doc) === 'xy', 'both to see xy');
    server.manual = true;
    // A: one op in flight, one buffered. B: the same at the same places.
    ma.type(ins(1, 'A1'));
    ma.type(ins(0, 'A2'));
    mb.type(ins(1, 'B1'));
    mb.type(new Delta().retain(2, { bold: true }));
    server.flush();
    server.flush();
    server.flush();
    assert.ok(saved(a) && saved(b));
    assert.deepEqual(ma.doc, server.content);
    assert.deepEqual(mb.doc, server.content);
    assert.deepEqual(a.document, server.content);
    assert.deepEqual(b.document, server.content);
    // A's op was sequenced first: at the shared position its text comes first.
    assert.equal(textOf(server.content), 'A2xA1B1y');
  });

  it('moves others\' selections through pending edits and remote ops', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server, { name: 'Bob', color: '#00ff00' });
    const ma = mirror(a);
    await a.start();
    ma.type(ins(0, 'abcdef'));
    await b.start();
    const seen: { client: string; name: string; sel: unknown }[] = [];
    a.on('presence', (p) => seen.push(p));
    server.blackhole = true;
    ma.type(ins(0, '12')); // in flight at A, not at the server yet
    server.blackhole = false;
    b.setPresence({ index: 3, length: 2 });
    const p = seen.at(-1)!;
    assert.equal(p.name, 'Bob');
    assert.deepEqual(p.sel, { index: 5, length: 2 });
    assert.deepEqual(a.peers.find((x) => x.client === b.clientId)?.sel, { index: 5, length: 2 });
  });

  it('resends the in-flight op exactly as first sent after a reconnect', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    const ma = mirror(a);
    const mb = mirror(b);
    await a.start();
    await b.start();
    server.blackhole = true; // A's op is lost on the way
    ma.type(ins(0, 'mine'));
    server.blackhole = false;
    mb.type(ins(0, 'theirs')); // arrives at A and transforms its in-flight op
    await until(() => textOf(ma.doc) === 'theirsmine' || textOf(ma.doc) === 'minetheirs', 'A to get B\'s op');
    const first = server.sockets[0].ops()[0];
    server.sockets[0].serverClose(1006);
    await until(() => saved(a), 'A to reconnect and save');
    const sock = server.sockets.at(-1)!;
    const hello = sock.sent[0];
    assert.equal(hello.pending, 1);
    assert.equal(hello.rev, 1);
    assert.deepEqual(sock.ops(), [first]);
    await until(() => saved(b));
    assert.deepEqual(ma.doc, server.content);
    assert.deepEqual(mb.doc, server.content);
    assert.equal(textOf(server.content), 'theirsmine');
  });

  it('does not resend an op the server applied when the ack was lost (welcome.ops)', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ma = mirror(a);
    await a.start();
    server.swallowAcks = true;
    ma.type(ins(0, 'once'));
    ma.type(ins(4, '!')); // buffered behind it
    server.swallowAcks = false;
    server.sockets[0].serverClose(1006);
    await until(() => saved(a));
    const sock = server.sockets.at(-1)!;
    assert.deepEqual(sock.ops().map((o) => o.seq), [2]);
    assert.equal(server.text(), 'once!');
    assert.deepEqual(ma.doc, server.content);
  });

  it('drops an op the server applied when a snapshot replaces the catch-up (welcome.seq)', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    const ma = mirror(a);
    const ev = record(a);
    await a.start();
    await b.start();
    server.swallowAcks = true;
    ma.type(ins(0, 'once'));
    server.swallowAcks = false;
    server.sockets[0].serverClose(1006);
    server.offline = true;
    b.submit(ins(0, '>'));
    ma.type(ins(4, '?')); // offline, on top of the unacknowledged op
    server.keep = 0; // A is too far behind: it gets a snapshot and reset
    server.offline = false;
    await until(() => saved(a) && saved(b));
    assert.equal(server.text(), '>once?');
    assert.deepEqual(ma.doc, server.content);
    assert.equal(ev.resets.length, 1);
    assert.equal(ev.resets[0].offered, undefined);
    const last = server.sockets.filter((s) => s.sent[0]?.client === a.clientId).at(-1)!;
    assert.deepEqual(last.ops().map((o) => o.seq), [2]);
  });

  it('rebases unsent edits onto a snapshot of the same history', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    const ma = mirror(a);
    const mb = mirror(b);
    await a.start();
    ma.type(ins(0, 'The cat sat.'));
    await b.start();
    server.offline = true;
    server.sockets[0].serverClose(1006);
    ma.type(ins(12, '!'));
    ma.type(ins(0, '> '));
    mb.type(new Delta().retain(4).delete(3).insert('dog'));
    server.keep = 0;
    server.offline = false;
    await until(() => saved(a) && saved(b), 'both saved');
    await until(() => textOf(mb.doc) === textOf(server.content));
    assert.equal(server.text(), '> The dog sat.!');
    assert.deepEqual(ma.doc, server.content);
    assert.deepEqual(mb.doc, server.content);
  });

  it('offers unsent edits back when the document\'s history was replaced (epoch change)', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ma = mirror(a);
    const ev = record(a);
    await a.start();
    ma.type(ins(0, 'old text\n'));
    await until(() => saved(a));
    server.offline = true;
    server.sockets[0].serverClose(1006);
    ma.type(ins(0, 'unsent '));
    assert.deepEqual(a.status, { state: 'offline', pending: 1, access: 'edit' });
    server.replace(new Delta().insert('restored\n'), 'e2');
    server.offline = false;
    await until(() => saved(a));
    assert.equal(ev.resets.length, 1);
    const r = ev.resets[0];
    assert.equal(textOf(r.doc), 'restored\n');
    assert.equal(r.offered?.text, 'unsent ');
    assert.equal(r.offered?.edits.length, 1);
    assert.equal(server.text(), 'restored\n');
    assert.deepEqual(ma.doc, server.content);
    // Editing goes on in the new history.
    ma.type(ins(0, 'new '));
    await until(() => saved(a));
    assert.equal(server.text(), 'new restored\n');
  });

  it('catches up after a gap in live ops by reconnecting', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    const ma = mirror(a);
    await a.start();
    await b.start();
    server.manual = true;
    b.submit(ins(0, 'one'));
    b.submit(ins(3, 'two')); // held: seq 1 not acknowledged
    server.flush();
    server.flush();
    // Lose the op message for revision 1 on A's connection, deliver revision 2.
    const aMember = server.members.find((m) => m.client === a.clientId)!;
    assert.equal(aMember.queue.length, 0);
    server.manual = false;
    const sockA = server.sockets[0];
    assert.equal(textOf(ma.doc), 'onetwo');
    sockA.deliver({ t: 'op', rev: 9, delta: { ops: [{ insert: 'zzz' }] }, client: b.clientId, seq: 7 });
    await until(() => server.sockets.filter((s) => s.sent[0]?.client === a.clientId).length === 2, 'A to reconnect');
    await until(() => saved(a));
    assert.deepEqual(ma.doc, server.content);
  });

  it('reports read-only access and offers edits back on read_only', async () => {
    const server = new MiniServer();
    server.access = 'view';
    const a = client(server);
    const ev = record(a);
    await a.start();
    assert.deepEqual(a.status, { state: 'read-only', pending: 0, access: 'view' });
    a.submit(ins(0, 'nope'));
    await tick();
    assert.equal(ev.resets.at(-1)?.offered?.text, 'nope');
    assert.equal(server.received.filter((m) => m.t === 'op').length, 0);
    assert.equal(a.status.pending, 0);
  });

  it('offers a refused op and the edits on it back (bad_delta, does_not_fit, too_large)', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ma = mirror(a);
    const ev = record(a);
    await a.start();
    server.manual = true;
    server.refuse = (m) => (m.seq === 1 ? 'too_large' : null);
    ma.type(ins(0, 'huge'));
    ma.type(ins(4, '+more'));
    server.flush();
    assert.equal(ev.errors.at(-1)?.code, 'too_large');
    assert.equal(ev.resets.at(-1)?.offered?.text, 'huge+more');
    assert.equal(textOf(a.document), '');
    assert.equal(a.status.state, 'saved');
    ma.type(ins(0, 'ok'));
    server.flush();
    assert.equal(server.text(), 'ok');
    assert.deepEqual(server.sockets[0].ops().map((o) => o.seq), [1, 2]);
  });

  it('resends an op refused with internal after a backoff, same seq and delta', async () => {
    const server = new MiniServer();
    const a = client(server);
    await a.start();
    let refusals = 0;
    server.refuse = () => (refusals++ < 2 ? 'internal' : null);
    a.submit(ins(0, 'retry'));
    await until(() => saved(a));
    const ops = server.sockets[0].ops();
    assert.equal(ops.length, 3);
    assert.ok(ops.every((o) => o.seq === 1 && o.rev === 0));
    assert.equal(server.text(), 'retry');
  });

  it('resends after internal on the current revision when others edited meanwhile', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    const ma = mirror(a);
    await a.start();
    await b.start();
    server.manual = true;
    let n = 0;
    server.refuse = () => (n++ === 0 ? 'internal' : null); // A's first try
    ma.type(ins(0, 'A'));
    b.submit(ins(0, 'B')); // sequenced while A waits to resend
    server.flush();
    server.flush();
    server.manual = false;
    server.flush();
    await until(() => saved(a) && saved(b));
    const ops = server.sockets[0].ops();
    assert.deepEqual(ops.map((o) => [o.seq, o.rev]), [[1, 0], [1, 1]]);
    assert.deepEqual(ops[1].delta, ins(1, 'A'));
    assert.deepEqual(ma.doc, server.content);
  });

  it('sets the in-flight op aside after close 1009 and never resends it', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ev = record(a);
    await a.start();
    server.blackhole = true;
    a.submit(ins(0, 'too big'));
    server.blackhole = false;
    server.sockets[0].serverClose(1009);
    await until(() => saved(a));
    assert.equal(ev.resets.at(-1)?.offered?.text, 'too big');
    assert.equal(server.sockets.at(-1)!.ops().length, 0);
    assert.equal(server.text(), '');
  });

  it('reloads from a fresh snapshot after seq_conflict, offering the edit back', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ev = record(a);
    await a.start();
    server.applied.set(a.clientId, { seq: 1, digest: 'other', rev: 0 });
    a.submit(ins(0, 'x'));
    await until(() => server.sockets.length === 2 && saved(a));
    assert.equal(ev.errors.at(-1)?.code, 'seq_conflict');
    assert.equal(ev.resets[0].offered?.text, 'x');
    assert.equal(ev.resets.length, 1, 'the fresh snapshot changed nothing: no second reset');
    assert.equal(server.sockets[1].sent[0].rev, undefined); // asked for a snapshot
  });

  it('reports offline with the number of unsaved edits, and reconnects on its own', async () => {
    const server = new MiniServer();
    const a = client(server);
    await a.start();
    server.offline = true;
    server.sockets[0].serverClose(1006);
    a.submit(ins(0, 'a'));
    a.submit(ins(1, 'b'));
    assert.deepEqual(a.status, { state: 'offline', pending: 2, access: 'edit' });
    await tick(20);
    assert.ok(server.sockets.length > 2, 'it keeps trying');
    server.offline = false;
    await until(() => saved(a));
    assert.equal(server.text(), 'ab');
  });

  it('stops with an error on 4004, 4001 and a takeover, and start rejects before a load', async () => {
    for (const code of [4004, 4001]) {
      const server = new MiniServer();
      server.offline = true;
      const a = client(server);
      const ev = record(a);
      const started = a.start();
      await until(() => server.sockets.length === 1);
      server.sockets[0].serverClose(code);
      await assert.rejects(started);
      assert.equal(a.status.state, 'error');
      assert.equal(ev.errors.length, 1);
      await tick(20);
      assert.equal(server.sockets.length, 1, 'no reconnect');
    }
    const server = new MiniServer();
    const a = client(server);
    await a.start();
    server.sockets[0].serverClose(1000);
    assert.equal(a.status.state, 'error');
  });

  it('drops a connection that sends garbage, and reconnects', async () => {
    const server = new MiniServer();
    const a = client(server);
    const ev = record(a);
    await a.start();
    server.sockets[0].deliverRaw(new Uint8Array([0x81, 0xa1, 0x74, 0xc1]));
    assert.equal(ev.errors.at(-1)?.code, 'bad_frame');
    await until(() => server.sockets.length === 2 && saved(a));
    server.sockets[1].deliverRaw('text frame');
    assert.equal(ev.errors.at(-1)?.code, 'bad_frame');
    await until(() => server.sockets.length === 3 && saved(a));
  });

  it('leaves its own selection and everyone\'s cursors to the welcome after a reconnect', async () => {
    const server = new MiniServer();
    const a = client(server);
    const b = client(server);
    await a.start();
    a.submit(ins(0, 'abc'));
    await b.start();
    const left: string[] = [];
    a.on('leave', (id) => left.push(id));
    a.setPresence({ index: 1, length: 1 });
    server.sockets[0].serverClose(1006);
    assert.deepEqual(left, [b.clientId]);
    await until(() => saved(a));
    const sent = server.sockets.at(-1)!.sent;
    assert.deepEqual(sent.find((m) => m.t === 'presence'), { t: 'presence', sel: { index: 1, length: 1 } });
  });

  it('refuses an edit that does not fit the document', async () => {
    const server = new MiniServer();
    const a = client(server);
    await a.start();
    assert.throws(() => a.submit(new Delta().retain(5).insert('x')), RangeError);
    assert.equal(server.received.filter((m) => m.t === 'op').length, 0);
  });

  it('rejects an invalid document id without connecting', async () => {
    const server = new MiniServer();
    const a = client(server, { doc: '../etc' });
    await assert.rejects(a.start());
    assert.equal(a.status.state, 'error');
    assert.equal(server.sockets.length, 0);
  });

  it('guards page unload while edits are unsaved', async () => {
    const server = new MiniServer();
    const a = client(server);
    await a.start();
    const page = new EventTarget();
    const remove = installBeforeUnloadGuard(a, page);
    const unload = () => {
      const e = new Event('beforeunload', { cancelable: true });
      page.dispatchEvent(e);
      return e.defaultPrevented;
    };
    assert.equal(unload(), false);
    server.offline = true;
    server.disconnect();
    a.submit(ins(0, 'unsaved'));
    assert.equal(unload(), true);
    remove();
    assert.equal(unload(), false);
  });
});
