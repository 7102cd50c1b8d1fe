// Test doubles: an in-process WebSocket pair and a small Cowrite server that
// follows PROTOCOL.md (sequencing with quill-delta transforms, dedupe of
// (client, seq), catch-up, snapshots, takeover), a Web Locks stand-in, and
// helpers to wait for asynchronous work.

import { decode, encode } from '@msgpack/msgpack';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import Delta from 'quill-delta';
import type { Op } from 'quill-delta';

import { CowriteClient, IndexedDBJournal, MemoryJournal } from '../src/client/index.js';
import type { ClientOptions, Journal } from '../src/client/index.js';

type Msg = Record<string, unknown>;

/** FakeSocket is the browser side of one connection; the server side is its peer. */
export class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  readonly url: string;
  readyState = 0;
  binaryType = 'blob';
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** sent holds every frame the client sent, decoded. */
  readonly sent: Msg[] = [];
  closedBy: 'client' | 'server' | null = null;
  closeCode = 0;
  /** peer receives the client's frames (the server's connection). */
  peer: ((m: Msg) => void) | null = null;

  constructor(url: string) {
    this.url = url;
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const m = decode(data) as Msg;
    this.sent.push(m);
    this.peer?.(m);
  }

  close(code = 1005): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedBy = 'client';
    this.closeCode = code;
    // Browsers report the close later, asynchronously.
    setTimeout(() => this.onclose?.({ code, reason: '' }), 0);
  }

  // The server's side.

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(m: Msg): void {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: encode(m) });
  }

  deliverRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  serverClose(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedBy = 'server';
    this.closeCode = code;
    this.onclose?.({ code, reason: '' });
  }

  /** ops returns the op frames sent, as {seq, rev, delta}. */
  ops(): { seq: number; rev: number; delta: Delta }[] {
    return this.sent.filter((m) => m.t === 'op').map((m) => ({
      seq: m.seq as number,
      rev: m.rev as number,
      delta: new Delta((m.delta as { ops: Op[] }).ops),
    }));
  }
}

/**
 * socketFactory returns a WebSocket constructor whose sockets are recorded
 * in list and handed to onNew (which may open them).
 */
export function socketFactory(list: FakeSocket[], onNew?: (s: FakeSocket) => void): typeof WebSocket {
  class S extends FakeSocket {
    constructor(url: string) {
      super(url);
      list.push(this);
      onNew?.(this);
    }
  }
  return S as unknown as typeof WebSocket;
}

interface Logged {
  rev: number;
  delta: Delta;
  client: string;
  seq: number;
  author: string;
}

interface Member {
  sock: FakeSocket;
  client: string;
  name: string;
  color: string;
  queue: Msg[];
}

/**
 * MiniServer is one document on a Cowrite server, in process. By default
 * it delivers messages at once; with manual set, they wait in each
 * connection's queue until flush or step (to interleave clients).
 */
export class MiniServer {
  epoch = 'e1';
  content = new Delta();
  log: Logged[] = [];
  /** keep is how many ops back a client can be caught up; older revisions get a snapshot with reset. */
  keep = Infinity;
  applied = new Map<string, { seq: number; digest: string; rev: number }>();
  members: Member[] = [];
  sockets: FakeSocket[] = [];
  manual = false;
  /** offline: new connections fail (close 1006) instead of opening. */
  offline = false;
  /** refuse, when set, answers an op with an error code instead of applying it. */
  refuse: ((m: Msg) => string | null) | null = null;
  /** swallowAcks: apply ops but do not acknowledge them (the ack is lost with the connection). */
  swallowAcks = false;
  /** blackhole: ops from clients are lost on the way (the network ate them). */
  blackhole = false;
  access = 'edit';
  received: Msg[] = [];
  /** authed answers an auth: the exp to report (0, as in open mode, by default). */
  authed: (token: string) => number = () => 0;

  get rev(): number {
    return this.log.length;
  }

  /** WebSocket is the constructor clients use to reach this server. */
  get WebSocket(): typeof WebSocket {
    return socketFactory(this.sockets, (s) => {
      setTimeout(() => {
        if (s.readyState !== 0) return;
        if (this.offline) {
          s.serverClose(1006);
          return;
        }
        s.peer = (m) => this.receive(s, m);
        s.open();
      }, 0);
    });
  }

  /** replace gives the document a new history (a restore): new epoch and content. */
  replace(content: Delta, epoch: string): void {
    this.epoch = epoch;
    this.content = content;
    this.log = [];
    // A restored document keeps its revision count going, as a fresh log would not: model a reset to rev 1.
    this.log.push({ rev: 1, delta: content, client: '', seq: 0, author: 'restore' });
  }

  /** disconnect closes every connection with code. */
  disconnect(code = 1006): void {
    for (const m of [...this.members]) m.sock.serverClose(code);
    this.members = [];
  }

  private send(mem: Member, m: Msg): void {
    if (this.manual) mem.queue.push(m);
    else mem.sock.deliver(m);
  }

  /** flush delivers every queued message. */
  flush(): void {
    for (const m of this.members) while (m.queue.length) m.sock.deliver(m.queue.shift()!);
  }

  /** deliverNext delivers the next message queued for client; false when none is. */
  deliverNext(client: string): boolean {
    const m = this.members.find((x) => x.client === client);
    if (!m || m.queue.length === 0) return false;
    m.sock.deliver(m.queue.shift()!);
    return true;
  }

  /** step delivers the next queued message of a random member; false when none is queued. */
  step(random: () => number): boolean {
    const busy = this.members.filter((m) => m.queue.length > 0);
    if (busy.length === 0) return false;
    const m = busy[Math.floor(random() * busy.length)];
    m.sock.deliver(m.queue.shift()!);
    return true;
  }

  private receive(sock: FakeSocket, m: Msg): void {
    this.received.push(m);
    const mem = this.members.find((x) => x.sock === sock);
    if (m.t === 'hello') {
      if (mem) return sock.serverClose(4000);
      this.hello(sock, m);
      return;
    }
    if (!mem) return sock.serverClose(4000);
    if (m.t === 'auth') {
      this.send(mem, { t: 'authed', exp: this.authed(m.token as string) });
      return;
    }
    if (m.t === 'op' && this.blackhole) return;
    if (m.t === 'op') this.op(mem, m);
    else if (m.t === 'presence') {
      for (const o of this.members) {
        if (o !== mem) this.send(o, { t: 'presence', client: mem.client, name: mem.name, color: mem.color, sel: m.sel ?? null });
      }
    }
  }

  private hello(sock: FakeSocket, h: Msg): void {
    const client = h.client as string;
    for (const old of this.members.filter((x) => x.client === client)) {
      this.members = this.members.filter((x) => x !== old);
      old.sock.serverClose(1000);
    }
    const mem: Member = { sock, client, name: (h.name as string) ?? '', color: (h.color as string) ?? '', queue: [] };
    const rev = (h.rev as number | undefined) ?? -1;
    const w: Msg = { t: 'welcome', epoch: this.epoch, rev: this.rev, access: this.access, seq: this.applied.get(client)?.seq ?? 0 };
    if (rev < 0 || h.epoch !== this.epoch || rev > this.rev || this.rev - rev > this.keep) {
      w.snapshot = { ops: this.content.ops };
      if (rev >= 0) w.reset = true;
    } else if (rev < this.rev) {
      w.ops = this.log.slice(rev).map((l) => ({ rev: l.rev, delta: { ops: l.delta.ops }, client: l.client || undefined, seq: l.seq || undefined, author: l.author || undefined }));
    }
    w.presence = this.members.map((o) => ({ client: o.client, name: o.name, color: o.color, sel: null }));
    this.members.push(mem);
    this.send(mem, w);
    for (const o of this.members) if (o !== mem) this.send(o, { t: 'presence', client, name: mem.name, color: mem.color, sel: null });
  }

  private op(mem: Member, m: Msg): void {
    const seq = m.seq as number;
    const base = m.rev as number;
    const delta = new Delta((m.delta as { ops: Op[] }).ops);
    const digest = JSON.stringify(delta.ops);
    const prev = this.applied.get(mem.client);
    if (this.access !== 'edit') return this.send(mem, { t: 'error', code: 'read_only', seq });
    const refused = this.refuse?.(m);
    if (refused) return this.send(mem, { t: 'error', code: refused, msg: 'refused by the test', seq });
    if (prev && seq === prev.seq) {
      if (prev.digest !== digest) return this.send(mem, { t: 'error', code: 'seq_conflict', seq });
      return this.send(mem, { t: 'ack', seq, rev: prev.rev });
    }
    if (prev && seq < prev.seq) return this.send(mem, { t: 'error', code: 'seq_old', seq });
    if (base > this.rev) return this.send(mem, { t: 'error', code: 'future_rev', seq });
    let d = delta;
    for (const l of this.log.slice(base)) d = l.delta.transform(d, true);
    if (baseLen(d) > this.content.length()) return this.send(mem, { t: 'error', code: 'does_not_fit', seq });
    this.content = this.content.compose(d);
    const rev = this.rev + 1;
    this.log.push({ rev, delta: d, client: mem.client, seq, author: mem.name });
    this.applied.set(mem.client, { seq, digest, rev });
    if (!this.swallowAcks) this.send(mem, { t: 'ack', seq, rev });
    for (const o of this.members) {
      if (o !== mem) this.send(o, { t: 'op', rev, delta: { ops: d.ops }, client: mem.client, seq, author: mem.name });
    }
  }

  /** text is the document's plain text. */
  text(): string {
    return textOf(this.content);
  }
}

function baseLen(d: Delta): number {
  let n = 0;
  for (const op of d.ops) n += typeof op.retain === 'number' ? op.retain : op.delete ?? 0;
  return n;
}

export function textOf(d: Delta): string {
  return d.ops.map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
}

/** ins is the edit that inserts text at index at. */
export function ins(at: number, text: string, attrs?: Record<string, unknown>): Delta {
  return new Delta().retain(at).insert(text, attrs);
}

/** saved reports whether c has every edit saved. */
export function saved(c: CowriteClient): boolean {
  return c.status.state === 'saved';
}

/** count is how many times s occurs in text. */
export function count(text: string, s: string): number {
  return text.split(s).length - 1;
}

/**
 * FakeLocks is navigator.locks for the tests: exclusive locks with
 * ifAvailable, shared by every client given the same instance (one
 * browser profile), released when the holder's promise settles.
 */
export class FakeLocks {
  private readonly held = new Set<string>();

  request(name: string, opts: { ifAvailable?: boolean }, cb: (lock: { name: string } | null) => unknown): Promise<unknown> {
    if (!opts.ifAvailable) throw new Error('FakeLocks supports ifAvailable only');
    if (this.held.has(name)) return Promise.resolve(cb(null));
    this.held.add(name);
    return Promise.resolve(cb({ name })).finally(() => this.held.delete(name));
  }

  /** drop forgets every lock, as a browser does for a page that went away. */
  drop(): void {
    this.held.clear();
  }

  isHeld(name: string): boolean {
    return this.held.has(name);
  }

  get asLockManager(): LockManager {
    return this as unknown as LockManager;
  }
}

/** tick waits for timers of 0 ms and the promises they resolve. */
export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** until waits until cond holds, failing after timeout ms. */
export async function until(cond: () => boolean, what = 'condition', timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(1);
  }
}

/** seeded returns a deterministic random source in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * pageIndexedDB is one page's view of a browser profile's IndexedDB
 * (factory). kill ends the page: its script can start no more
 * transactions (nor open the database), while those it started run on,
 * as a browser runs them for a page that was closed.
 */
export function pageIndexedDB(factory: IDBFactory): { factory: IDBFactory; kill(): void } {
  let dead = false;
  const gone = () => new DOMException('the page is gone', 'InvalidStateError');
  const forward = <T extends object>(target: T, get: (t: T, p: string | symbol) => unknown): T =>
    new Proxy(target, {
      get(t, p) {
        const v = get(t, p);
        if (v !== undefined) return v;
        const x = Reflect.get(t, p, t) as unknown;
        return typeof x === 'function' ? (x as (...a: unknown[]) => unknown).bind(t) : x;
      },
      set: (t, p, v) => Reflect.set(t, p, v, t),
    });
  const database = (db: IDBDatabase) =>
    forward(db, (t, p) =>
      p === 'transaction'
        ? (stores: string | string[], mode?: IDBTransactionMode) => {
            if (dead) throw gone();
            return t.transaction(stores, mode);
          }
        : undefined,
    );
  const page = forward(factory, (t, p) =>
    p === 'open'
      ? (name: string, version?: number) => {
          if (dead) throw gone();
          return forward(t.open(name, version), (req, q) => (q === 'result' ? database(req.result) : undefined));
        }
      : undefined,
  );
  return { factory: page, kill: () => (dead = true) };
}

const live: CowriteClient[] = [];

/**
 * testClient makes a client of server with the tests' defaults: no
 * journal, fixed randomness, a short backoff. Call destroyClients after
 * each test (afterEach) to end every client made.
 */
export function testClient(server: MiniServer, opts: Partial<ClientOptions> = {}): CowriteClient {
  const c = new CowriteClient({
    server: 'http://cowrite.test',
    doc: 'doc-1',
    name: 'Ann',
    color: '#e91e63',
    journal: null,
    WebSocket: server.WebSocket,
    random: () => 0.5,
    backoff: { base: 2, cap: 8 },
    ...opts,
  });
  live.push(c);
  return c;
}

/** destroyClients ends every client testClient made. */
export function destroyClients(): void {
  for (const c of live.splice(0)) c.destroy();
}

/** A browser profile: one journal and one lock manager, shared by its tabs. */
export interface Profile {
  journal: Journal | null;
  locks: FakeLocks | null;
}

/** idb is a journal in a new, empty fake IndexedDB, or in factory's. */
export function idb(factory: IDBFactory = new IDBFactory()): IndexedDBJournal {
  return new IndexedDBJournal(factory, 'cowrite', IDBKeyRange);
}

/** profiles are the kinds of browser profile the journal is tested in, by name. */
export const profiles: [string, () => Profile & { journal: Journal }][] = [
  ['IndexedDB and Web Locks', () => ({ journal: idb(), locks: new FakeLocks() })],
  ['IndexedDB and leases', () => ({ journal: idb(), locks: null })],
  ['memory and Web Locks', () => ({ journal: new MemoryJournal(), locks: new FakeLocks() })],
];

/** openTab opens a page of document "notes" in profile p. */
export function openTab(server: MiniServer, p: Profile, opts: Partial<ClientOptions> = {}): CowriteClient {
  return testClient(server, {
    server: 'https://cowrite.test',
    doc: 'notes',
    journal: p.journal,
    locks: p.locks?.asLockManager ?? null,
    ...opts,
  });
}

/** closeTab ends a tab as closing it would: the page stops, its locks go. */
export async function closeTab(c: CowriteClient, p: Profile): Promise<void> {
  c.destroy();
  await tick(5); // the last journal write settles, then the claim is released
  if (p.locks) p.locks.drop();
}

/** fakeJWT makes a token shaped like a JWT with these claims; its signature is junk (clients do not check it). */
export function fakeJWT(claims: Record<string, unknown>): string {
  const b64url = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}.c2lnbmF0dXJl`;
}
