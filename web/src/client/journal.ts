// The journal: a client's unacknowledged edits and the document they were
// made on, kept across page loads so that closing a tab, or the browser,
// loses nothing.
//
// One record per (scope, client id): scope names the server and document,
// client id is the session that made the edits. A record holds everything
// needed to carry on as that session: the last seq used, the confirmed
// document with its revision and epoch, the in-flight op exactly as it was
// sent, and the buffer. The client writes it after every change, and sends
// an op only once the record holding it is stored, so the journal never
// lags behind the server.
//
// Leases are the fallback lock for browsers without navigator.locks (see
// claim.ts): a lease on (scope, client) is taken and renewed atomically.

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
  /** scope is the server's origin and the document id: "https://host doc". */
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

/**
 * Journal stores records. Every method may fail (quota, a browser that
 * refuses storage); the client then goes on without one.
 */
export interface Journal {
  /** list returns the records of scope, in no particular order. */
  list(scope: string): Promise<JournalRecord[]>;
  get(scope: string, client: string): Promise<JournalRecord | undefined>;
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

interface Lease {
  scope: string;
  client: string;
  holder: string;
  until: number;
}

/** MemoryJournal keeps records in memory: for tests, and where IndexedDB is missing. */
export class MemoryJournal implements Journal {
  private readonly records = new Map<string, JournalRecord>();
  private readonly leases = new Map<string, Lease>();

  async list(scope: string): Promise<JournalRecord[]> {
    return [...this.records.values()].filter((r) => r.scope === scope).map((r) => structuredClone(r));
  }

  async get(scope: string, client: string): Promise<JournalRecord | undefined> {
    const r = this.records.get(key(scope, client));
    return r && structuredClone(r);
  }

  async put(rec: JournalRecord): Promise<void> {
    this.records.set(key(rec.scope, rec.client), structuredClone(rec));
  }

  async remove(scope: string, client: string): Promise<void> {
    this.records.delete(key(scope, client));
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
}

function key(scope: string, client: string): string {
  return scope + '\n' + client;
}

const RECORDS = 'records';
const LEASES = 'leases';

/** IndexedDBJournal keeps records in the browser's IndexedDB, database "cowrite". */
export class IndexedDBJournal implements Journal {
  private db: Promise<IDBDatabase> | null = null;
  private readonly factory: IDBFactory;
  private readonly name: string;

  /** factory defaults to globalThis.indexedDB; name to "cowrite". */
  constructor(factory?: IDBFactory, name = 'cowrite') {
    const f = factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!f) throw new Error('journal: IndexedDB is not available');
    this.factory = f;
    this.name = name;
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      this.db = new Promise<IDBDatabase>((resolve, reject) => {
        const req = this.factory.open(this.name, 1);
        req.onupgradeneeded = () => {
          const db = req.result;
          const records = db.createObjectStore(RECORDS, { keyPath: ['scope', 'client'] });
          records.createIndex('scope', 'scope');
          db.createObjectStore(LEASES, { keyPath: ['scope', 'client'] });
        };
        req.onsuccess = () => {
          const db = req.result;
          // Another tab upgrading the schema: step aside, reopen next time.
          db.onversionchange = () => {
            db.close();
            this.db = null;
          };
          resolve(db);
        };
        req.onerror = () => reject(req.error ?? new Error('journal: open failed'));
        req.onblocked = () => reject(new Error('journal: open blocked by another tab'));
      });
      this.db.catch(() => {
        this.db = null;
      });
    }
    return this.db;
  }

  /** tx runs fn in one transaction and resolves with its result once the transaction committed. */
  private async tx<T>(stores: string[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => Promise<T> | T): Promise<T> {
    const db = await this.open();
    const t = db.transaction(stores, mode);
    const done = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error ?? new Error('journal: transaction failed'));
      t.onabort = () => reject(t.error ?? new Error('journal: transaction aborted'));
    });
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

  list(scope: string): Promise<JournalRecord[]> {
    return this.tx([RECORDS], 'readonly', (t) =>
      request<JournalRecord[]>(t.objectStore(RECORDS).index('scope').getAll(scope)),
    );
  }

  get(scope: string, client: string): Promise<JournalRecord | undefined> {
    return this.tx([RECORDS], 'readonly', (t) =>
      request<JournalRecord | undefined>(t.objectStore(RECORDS).get([scope, client])),
    );
  }

  put(rec: JournalRecord): Promise<void> {
    return this.tx([RECORDS], 'readwrite', async (t) => {
      await request(t.objectStore(RECORDS).put(rec));
    });
  }

  remove(scope: string, client: string): Promise<void> {
    return this.tx([RECORDS], 'readwrite', async (t) => {
      await request(t.objectStore(RECORDS).delete([scope, client]));
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

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('journal: request failed'));
  });
}
