// The journal: a client's unacknowledged edits and the document they were
// made on, kept across page loads so that closing a tab, or the browser,
// loses nothing.
//
// One record per (scope, client id): scope names the server, the document
// and the user (a token's sub; none in open mode), so that one user's
// unsent edits are never read, nor sent, by a page signed in as another;
// client id is the session that made the edits. A record holds everything
// needed to carry on as that session: the last seq used, the confirmed
// document with its revision and epoch, the in-flight op exactly as it was
// sent, and the buffer. The client sends an op only once the record holding
// it is stored, so the journal never lags behind the server.
//
// Writes. The client writes what changed (a JournalWrite) at the moment it
// changes, and a journal starts storing it before write returns: an
// IndexedDB transaction is created, filled and committed in the caller's
// own task. The browser runs readwrite transactions over the same stores
// one after the other in the order they were created, even when the page
// is going away, so the latest write always wins and a page closed right
// after a keystroke still has the keystroke stored. (Queueing writes in
// JavaScript, behind a promise, loses those still queued when the page
// goes.)
//
// Cost. A write carries only what changed, so that a keystroke in a large
// document costs what the keystroke does, not the document:
//   - the confirmed document is written whole only when it is replaced (a
//     snapshot, another epoch) or when the changes logged since it add up
//     to about its size; otherwise each op that changes it (a remote op,
//     an ack of the client's own) is logged as it comes;
//   - the head (seq, revision, in-flight op, buffer) is rewritten when one
//     of them changes otherwise than by a local edit; a local edit on its
//     own is logged, to be composed onto the stored buffer.
// Reading a record composes it from these parts (assemble).
//
// Leases are the fallback lock for browsers without navigator.locks (see
// claim.ts): a lease on (scope, client) is taken and renewed atomically.

import Delta from 'quill-delta';
import type { Op } from 'quill-delta';

/** JournalInflight is the op in flight: sent as (seq, base, sent); delta is sent transformed over later ops. */
export interface JournalInflight {
  seq: number;
  base: number;
  sent: Op[];
  delta: Op[];
  /** count is the number of local edits it holds. */
  count: number;
}

/** JournalRecord is one session's state for one document. */
export interface JournalRecord {
  /** scope is the server's origin, the document id and the user: "https://host doc @ann" ("https://host doc" with no user). */
  scope: string;
  client: string;
  /** seq is the last seq used; the next op gets seq + 1. */
  seq: number;
  rev: number;
  epoch: string;
  /** confirmed is the document at rev. */
  confirmed: Op[];
  inflight: JournalInflight | null;
  buffer: Op[];
  bufferCount: number;
  /** updated is when the record was written, in ms since 1970. */
  updated: number;
}

/** JournalHead is a record's part that a local edit alone does not change. */
export interface JournalHead {
  seq: number;
  rev: number;
  epoch: string;
  inflight: JournalInflight | null;
  buffer: Op[];
  bufferCount: number;
}

/**
 * JournalWrite is what changed in a session's record since the write
 * before it. Applied in order:
 *  1. doc, when set, replaces the confirmed document (and the ops logged
 *     since the one it replaces);
 *  2. ops are applied to the confirmed document, each making revision rev;
 *  3. head, when set, replaces seq, rev, epoch, the in-flight op and the
 *     buffer (and the edits logged since the head it replaces);
 *  4. edits are composed onto the buffer, each counting as one edit. They
 *     are numbered from 0 after the last head.
 * The first write of a session has doc and head. After every write the
 * confirmed document is at the head's rev and epoch.
 */
export interface JournalWrite {
  scope: string;
  client: string;
  /** updated is when it was written, in ms since 1970. */
  updated: number;
  doc?: { rev: number; epoch: string; confirmed: Op[] };
  ops: { rev: number; delta: Op[] }[];
  head?: JournalHead;
  edits: { n: number; delta: Op[] }[];
}

/**
 * Journal stores records. Every method may fail (quota, a browser that
 * refuses storage); the client then goes on without one.
 */
export interface Journal {
  /**
   * scopes returns every scope that holds a record, in no particular
   * order. Optional: without it, unsent edits are not counted across
   * documents (unsentEdits).
   */
  scopes?(): Promise<string[]>;
  /** list returns the records of scope, in no particular order. */
  list(scope: string): Promise<JournalRecord[]>;
  get(scope: string, client: string): Promise<JournalRecord | undefined>;
  /**
   * write stores a change to a record. It starts before it returns
   * wherever the store allows (so that a page closed at once keeps it),
   * writes are applied in the order they were called, each whole or not
   * at all, and the promise resolves once the write is stored.
   */
  write(w: JournalWrite): Promise<void>;
  /** put stores rec whole, replacing the record. */
  put(rec: JournalRecord): Promise<void>;
  remove(scope: string, client: string): Promise<void>;
  /**
   * lease gives (scope, client) to holder until now + ttl ms and reports
   * true, unless another holder's lease is still running: then false. It is
   * atomic, so two tabs cannot both win.
   */
  lease(scope: string, client: string, holder: string, ttl: number): Promise<boolean>;
  /** unlease ends holder's lease, if it is still holder's. */
  unlease(scope: string, client: string, holder: string): Promise<void>;
}

/** wholeWrite is the write that stores rec whole. */
export function wholeWrite(rec: JournalRecord): JournalWrite {
  return {
    scope: rec.scope,
    client: rec.client,
    updated: rec.updated,
    doc: { rev: rec.rev, epoch: rec.epoch, confirmed: rec.confirmed },
    ops: [],
    head: { seq: rec.seq, rev: rec.rev, epoch: rec.epoch, inflight: rec.inflight, buffer: rec.buffer, bufferCount: rec.bufferCount },
    edits: [],
  };
}

// The stored parts of a record: its head (with scope, client and updated),
// its confirmed document, and its log: ops ('o', k = the revision each
// makes) and local edits ('e', k = their number after the head).

type StoredHead = JournalHead & { scope: string; client: string; updated: number };

interface StoredDoc {
  scope: string;
  client: string;
  rev: number;
  epoch: string;
  confirmed: Op[];
}

interface LogEntry {
  scope: string;
  client: string;
  kind: 'o' | 'e';
  k: number;
  delta: Op[];
  updated: number;
}

/**
 * assemble composes a record from its stored parts, or returns undefined
 * when they do not make one (a part missing, a gap in the log).
 */
function assemble(head: StoredHead | undefined, doc: StoredDoc | undefined, log: LogEntry[]): JournalRecord | undefined {
  if (!head || !doc || doc.epoch !== head.epoch) return undefined;
  const ops = log.filter((e) => e.kind === 'o').sort((a, b) => a.k - b.k);
  const edits = log.filter((e) => e.kind === 'e').sort((a, b) => a.k - b.k);
  let rev = doc.rev;
  let change = new Delta();
  for (const o of ops) {
    if (o.k <= doc.rev) continue; // folded into the document already
    if (o.k !== rev + 1) return undefined;
    change = change.compose(new Delta(o.delta));
    rev = o.k;
  }
  if (rev !== head.rev) return undefined;
  let added = new Delta();
  let updated = head.updated;
  for (let i = 0; i < edits.length; i++) {
    if (edits[i].k !== i) return undefined;
    added = added.compose(new Delta(edits[i].delta));
    updated = Math.max(updated, edits[i].updated);
  }
  return {
    scope: head.scope,
    client: head.client,
    seq: head.seq,
    rev: head.rev,
    epoch: head.epoch,
    confirmed: change.ops.length > 0 ? new Delta(doc.confirmed).compose(change).ops : doc.confirmed,
    inflight: head.inflight,
    buffer: edits.length > 0 ? new Delta(head.buffer).compose(added).ops : head.buffer,
    bufferCount: head.bufferCount + edits.length,
    updated,
  };
}

interface Lease {
  scope: string;
  client: string;
  holder: string;
  until: number;
}

/** MemoryJournal keeps records in memory: for tests, and where IndexedDB is missing. */
export class MemoryJournal implements Journal {
  private readonly heads = new Map<string, StoredHead>();
  private readonly docs = new Map<string, StoredDoc>();
  /** logs holds each record's log entries by kind and k. */
  private readonly logs = new Map<string, Map<string, LogEntry>>();
  private readonly leases = new Map<string, Lease>();

  async list(scope: string): Promise<JournalRecord[]> {
    const out: JournalRecord[] = [];
    for (const h of this.heads.values()) {
      if (h.scope !== scope) continue;
      const r = this.read(h.scope, h.client);
      if (r) out.push(r);
    }
    return out;
  }

  async get(scope: string, client: string): Promise<JournalRecord | undefined> {
    return this.read(scope, client);
  }

  async scopes(): Promise<string[]> {
    return [...new Set([...this.heads.values()].map((h) => h.scope))];
  }

  write(w: JournalWrite): Promise<void> {
    // Applied at once, before write returns.
    try {
      w = structuredClone(w);
      const k = key(w.scope, w.client);
      const ids = { scope: w.scope, client: w.client };
      const log = this.logs.get(k) ?? new Map<string, LogEntry>();
      const drop = (kind: 'o' | 'e') => {
        for (const [n, e] of log) if (e.kind === kind) log.delete(n);
      };
      const add = (e: LogEntry) => log.set(e.kind + e.k, e);
      if (w.doc) {
        this.docs.set(k, { ...ids, ...w.doc });
        drop('o');
      }
      for (const o of w.ops) add({ ...ids, kind: 'o', k: o.rev, delta: o.delta, updated: w.updated });
      if (w.head) {
        this.heads.set(k, { ...ids, ...w.head, updated: w.updated });
        drop('e');
      }
      for (const e of w.edits) add({ ...ids, kind: 'e', k: e.n, delta: e.delta, updated: w.updated });
      this.logs.set(k, log);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  put(rec: JournalRecord): Promise<void> {
    return this.write(wholeWrite(rec));
  }

  async remove(scope: string, client: string): Promise<void> {
    const k = key(scope, client);
    this.heads.delete(k);
    this.docs.delete(k);
    this.logs.delete(k);
  }

  async lease(scope: string, client: string, holder: string, ttl: number): Promise<boolean> {
    const l = this.leases.get(key(scope, client));
    const now = Date.now();
    if (l && l.holder !== holder && l.until > now) return false;
    this.leases.set(key(scope, client), { scope, client, holder, until: now + ttl });
    return true;
  }

  async unlease(scope: string, client: string, holder: string): Promise<void> {
    const k = key(scope, client);
    if (this.leases.get(k)?.holder === holder) this.leases.delete(k);
  }

  private read(scope: string, client: string): JournalRecord | undefined {
    const k = key(scope, client);
    const r = assemble(this.heads.get(k), this.docs.get(k), [...(this.logs.get(k)?.values() ?? [])]);
    return r && structuredClone(r);
  }
}

function key(scope: string, client: string): string {
  return scope + '\n' + client;
}

const VERSION = 2;
const RECORDS = 'records'; // heads (before version 2, whole records)
const DOCS = 'docs';
const LOG = 'log';
const LEASES = 'leases';
const WRITE_STORES = [RECORDS, DOCS, LOG];

/**
 * IndexedDBJournal keeps records in the browser's IndexedDB, database
 * "cowrite": heads in "records", confirmed documents in "docs", logged ops
 * and edits in "log", leases in "leases".
 */
export class IndexedDBJournal implements Journal {
  private db: Promise<IDBDatabase> | null = null;
  /** conn is the open database, once it is: writes start on it at once. */
  private conn: IDBDatabase | null = null;
  /** queued counts the transactions waiting for the database to open: later ones wait behind them, to start in order. */
  private queued = 0;
  private readonly factory: IDBFactory;
  private readonly name: string;
  private readonly keyRange: typeof IDBKeyRange;

  /**
   * factory defaults to globalThis.indexedDB; name to "cowrite"; keyRange
   * to globalThis.IDBKeyRange (tests pass fake-indexeddb's).
   */
  constructor(factory?: IDBFactory, name = 'cowrite', keyRange?: typeof IDBKeyRange) {
    const g = globalThis as { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange };
    const f = factory ?? g.indexedDB;
    const r = keyRange ?? g.IDBKeyRange;
    if (!f || !r) throw new Error('journal: IndexedDB is not available');
    this.factory = f;
    this.name = name;
    this.keyRange = r;
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      const opening = new Promise<IDBDatabase>((resolve, reject) => {
        const req = this.factory.open(this.name, VERSION);
        req.onupgradeneeded = (ev) => upgrade(req.result, req.transaction!, ev.oldVersion);
        req.onsuccess = () => {
          const db = req.result;
          // Another tab upgrading the schema: step aside, reopen next time.
          db.onversionchange = () => {
            db.close();
            if (this.conn === db) this.conn = null;
            if (this.db === opening) this.db = null;
          };
          if (this.db === opening) this.conn = db;
          resolve(db);
        };
        req.onerror = () => reject(req.error ?? new Error('journal: open failed'));
        req.onblocked = () => reject(new Error('journal: open blocked by another tab'));
      });
      this.db = opening;
      opening.catch(() => {
        if (this.db === opening) this.db = null;
      });
    }
    return this.db;
  }

  /** tx runs fn in one transaction and resolves with its result once the transaction committed. */
  private async tx<T>(stores: string[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => Promise<T> | T): Promise<T> {
    let db: IDBDatabase;
    if (this.conn && this.queued === 0) {
      db = this.conn; // started now, in order with the writes
    } else {
      this.queued++;
      try {
        db = await this.open();
      } finally {
        this.queued--;
      }
    }
    const t = db.transaction(stores, mode);
    const done = finished(t);
    let result: T;
    try {
      result = await fn(t);
    } catch (err) {
      try {
        t.abort();
      } catch {
        // already finished
      }
      await done.catch(() => {});
      throw err;
    }
    await done;
    return result;
  }

  /** session is the key range of (scope, client)'s log entries of kind, or of all its entries. */
  private session(scope: string, client: string, kind?: 'o' | 'e'): IDBKeyRange {
    // Array keys order element by element, a prefix first, and any array
    // after any string or number: [s, c, kind, []] is above every k.
    return kind
      ? this.keyRange.bound([scope, client, kind], [scope, client, kind, []])
      : this.keyRange.bound([scope, client], [scope, client, []]);
  }

  list(scope: string): Promise<JournalRecord[]> {
    return this.tx([RECORDS, DOCS, LOG], 'readonly', async (t) => {
      const heads = await request<StoredHead[]>(t.objectStore(RECORDS).index('scope').getAll(scope));
      const recs = await Promise.all(heads.map((h) => this.read(t, h)));
      return recs.filter((r): r is JournalRecord => r !== undefined);
    });
  }

  scopes(): Promise<string[]> {
    return this.tx([RECORDS], 'readonly', async (t) => {
      // The scope index's keys, each once.
      const out: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = t.objectStore(RECORDS).index('scope').openKeyCursor(null, 'nextunique');
        req.onsuccess = () => {
          const c = req.result;
          if (!c) return resolve();
          out.push(c.key as string);
          c.continue();
        };
        req.onerror = () => reject(req.error ?? new Error('journal: request failed'));
      });
      return out;
    });
  }

  get(scope: string, client: string): Promise<JournalRecord | undefined> {
    return this.tx([RECORDS, DOCS, LOG], 'readonly', async (t) => {
      const h = await request<StoredHead | undefined>(t.objectStore(RECORDS).get([scope, client]));
      return h && this.read(t, h);
    });
  }

  private async read(t: IDBTransaction, h: StoredHead): Promise<JournalRecord | undefined> {
    const [doc, log] = await Promise.all([
      request<StoredDoc | undefined>(t.objectStore(DOCS).get([h.scope, h.client])),
      request<LogEntry[]>(t.objectStore(LOG).getAll(this.session(h.scope, h.client))),
    ]);
    return assemble(h, doc, log);
  }

  write(w: JournalWrite): Promise<void> {
    // Start the transaction now when the database is open: the browser
    // then stores it even if this page is closed before the next task.
    if (this.conn && this.queued === 0) return this.store(this.conn, w);
    this.queued++;
    return this.open().then(
      (db) => {
        this.queued--;
        return this.store(db, w);
      },
      (err: unknown) => {
        this.queued--;
        throw err;
      },
    );
  }

  /** store writes w in a transaction it creates, fills and commits at once. */
  private store(db: IDBDatabase, w: JournalWrite): Promise<void> {
    let t: IDBTransaction;
    try {
      t = db.transaction(WRITE_STORES, 'readwrite');
    } catch (err) {
      return Promise.reject(err);
    }
    const done = finished(t);
    try {
      const ids = { scope: w.scope, client: w.client };
      const log = t.objectStore(LOG);
      if (w.doc) {
        t.objectStore(DOCS).put({ ...ids, ...w.doc } satisfies StoredDoc);
        log.delete(this.session(w.scope, w.client, 'o'));
      }
      for (const o of w.ops) log.put({ ...ids, kind: 'o', k: o.rev, delta: o.delta, updated: w.updated } satisfies LogEntry);
      if (w.head) {
        t.objectStore(RECORDS).put({ ...ids, ...w.head, updated: w.updated } satisfies StoredHead);
        log.delete(this.session(w.scope, w.client, 'e'));
      }
      for (const e of w.edits) log.put({ ...ids, kind: 'e', k: e.n, delta: e.delta, updated: w.updated } satisfies LogEntry);
      // Nothing more comes: let it commit now rather than at the end of the task.
      if (typeof t.commit === 'function') t.commit();
    } catch (err) {
      try {
        t.abort();
      } catch {
        // already finished
      }
      return done.then(() => Promise.reject(err), () => Promise.reject(err));
    }
    return done;
  }

  put(rec: JournalRecord): Promise<void> {
    return this.write(wholeWrite(rec));
  }

  remove(scope: string, client: string): Promise<void> {
    return this.tx(WRITE_STORES, 'readwrite', async (t) => {
      await Promise.all([
        request(t.objectStore(RECORDS).delete([scope, client])),
        request(t.objectStore(DOCS).delete([scope, client])),
        request(t.objectStore(LOG).delete(this.session(scope, client))),
      ]);
    });
  }

  lease(scope: string, client: string, holder: string, ttl: number): Promise<boolean> {
    // Read and write in one readwrite transaction: IndexedDB runs
    // overlapping readwrite transactions one at a time, so this is atomic.
    return this.tx([LEASES], 'readwrite', async (t) => {
      const store = t.objectStore(LEASES);
      const l = await request<Lease | undefined>(store.get([scope, client]));
      const now = Date.now();
      if (l && l.holder !== holder && l.until > now) return false;
      await request(store.put({ scope, client, holder, until: now + ttl } satisfies Lease));
      return true;
    });
  }

  unlease(scope: string, client: string, holder: string): Promise<void> {
    return this.tx([LEASES], 'readwrite', async (t) => {
      const store = t.objectStore(LEASES);
      const l = await request<Lease | undefined>(store.get([scope, client]));
      if (l?.holder === holder) await request(store.delete([scope, client]));
    });
  }
}

/**
 * upgrade makes the schema of VERSION from oldVersion's. Version 1 kept
 * whole records in "records": each is split into its head and its
 * document, so that edits journalled by an older page are kept.
 */
function upgrade(db: IDBDatabase, t: IDBTransaction, oldVersion: number): void {
  if (oldVersion < 1) {
    const records = db.createObjectStore(RECORDS, { keyPath: ['scope', 'client'] });
    records.createIndex('scope', 'scope');
    db.createObjectStore(LEASES, { keyPath: ['scope', 'client'] });
  }
  if (oldVersion < 2) {
    const docs = db.createObjectStore(DOCS, { keyPath: ['scope', 'client'] });
    db.createObjectStore(LOG, { keyPath: ['scope', 'client', 'kind', 'k'] });
    if (oldVersion < 1) return;
    const records = t.objectStore(RECORDS);
    const cursor = records.openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) return;
      const { confirmed, ...head } = c.value as JournalRecord;
      if (Array.isArray(confirmed)) {
        docs.put({ scope: head.scope, client: head.client, rev: head.rev, epoch: head.epoch, confirmed } satisfies StoredDoc);
        c.update(head);
      }
      c.continue();
    };
  }
}

/** finished resolves when t commits and rejects when it fails. */
function finished(t: IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error ?? new Error('journal: transaction failed'));
    t.onabort = () => reject(t.error ?? new Error('journal: transaction aborted'));
  });
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('journal: request failed'));
  });
}
