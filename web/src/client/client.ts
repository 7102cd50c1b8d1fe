// CowriteClient: one document, live. It runs the state machine of
// state.ts over a WebSocket, reconnects with backoff, journals every change
// before sending it, and tells the editor what to show through events.

import Delta from 'quill-delta';

import { defaultBackoff, delay } from './backoff.js';
import type { Backoff } from './backoff.js';
import { freeClaims, leaseClaims, lockClaims, randomId } from './claim.js';
import type { Claim, Claims } from './claim.js';
import { CodecError, decodeServer, encodeClient } from './codec.js';
import type { ClientMessage, PresenceInfo, Selection, ServerMessage, Welcome } from './codec.js';
import { IndexedDBJournal } from './journal.js';
import type { Journal, JournalRecord } from './journal.js';
import { DocState, insertedText, pendingOf } from './state.js';

/** State is what the status indicator shows. */
export type State = 'connecting' | 'saved' | 'saving' | 'offline' | 'read-only' | 'error';

/** Access is what the server lets this connection do. */
export type Access = 'edit' | 'view';

/**
 * Status is where the client stands. pending counts the local edits
 * (submit calls) the server has not acknowledged yet, journalled ones from
 * an earlier page load included. message explains an 'error' state, and
 * code names it, as the 'error' event did: 'token_expired' (the sign-in
 * expired and no newer token was to be had), 'revoked', 'unauthorized',
 * 'not_found', 'replaced', and so on. In every error state the client has
 * stopped; unsent edits stay in the journal for the next page.
 */
export interface Status {
  state: State;
  pending: number;
  access: Access;
  message?: string;
  code?: string;
}

/**
 * TokenProvider returns the current token. The client calls it before
 * every hello, shortly before the token in use expires (to refresh the
 * connection in band), and when the server ends a connection because its
 * token expired or was refused. It should return a cached token while that
 * one is still good: the client only acts on a token that differs.
 */
export type TokenProvider = () => string | Promise<string>;

export type { Selection };

/** Peer is someone else in the document. name and color are untrusted data: render them as text. */
export type Peer = PresenceInfo;

/** Author says who made a remote op; both fields may be empty (REST API ops). */
export interface Author {
  client: string;
  name: string;
}

/**
 * Offered holds edits the client could not deliver and set aside: the
 * caller shows them to the user to re-apply or discard. text is what they
 * inserted, as plain text; edits are the deltas themselves, each made on
 * the document as it was before the set-aside.
 */
export interface Offered {
  reason: string;
  text: string;
  edits: Delta[];
}

/** ResetEvent: the document was replaced; the editor must load client.document (doc). */
export interface ResetEvent {
  doc: Delta;
  reason: string;
  /** offered is set when unsent edits could not be kept in the document. */
  offered?: Offered;
}

/** ErrorEvent is a refusal or failure, for logs and for the user. */
export interface ErrorEvent {
  code: string;
  message: string;
  /** offered is set when edits of an earlier session, delivered in the background, were set aside. */
  offered?: Offered;
}

/** ClientEvents are the listeners on() takes, by event name. */
export interface ClientEvents {
  /** ready: the document is loaded (from the server, or from the journal while offline). Once. */
  ready: (doc: Delta) => void;
  /** remote: apply delta to the editor (updateContents(delta, 'api')). */
  remote: (delta: Delta, author: Author) => void;
  /** reset: replace the editor's content with e.doc (setContents). */
  reset: (e: ResetEvent) => void;
  status: (s: Status) => void;
  /** presence: someone's selection, already moved onto the local document. */
  presence: (p: Peer) => void;
  /** leave: forget that client's cursor. */
  leave: (client: string) => void;
  error: (e: ErrorEvent) => void;
}

/** ClientOptions configure a CowriteClient. */
export interface ClientOptions {
  /** server is the http(s) base URL of the Cowrite server; '' means this page's origin. */
  server: string;
  /** doc is the document id. */
  doc: string;
  /** name and color describe the user to the others (color "#rrggbb"). */
  name: string;
  color: string;
  /**
   * token is the credentials sent in hello: a token, or a TokenProvider.
   * With a provider the connection is refreshed in band (auth) about a
   * minute before the token's exp, and a connection closed for an
   * expired token reconnects with a newer one. A plain string is never
   * refreshed: at its expiry the client stops with code 'token_expired'.
   */
  token?: string | TokenProvider;
  /** now is the clock in ms since 1970, used to time token refreshes (tests). Default Date.now. */
  now?: () => number;
  /** readOnly: never send edits, whatever the server allows. */
  readOnly?: boolean;
  /** journal keeps unsent edits across page loads. Default: IndexedDB when available; null: none. */
  journal?: Journal | null;
  /** WebSocket is the constructor to use (tests). Default: globalThis.WebSocket. */
  WebSocket?: typeof WebSocket;
  /** random draws the reconnect jitter in [0, 1). Default Math.random. */
  random?: () => number;
  /** locks serialises tabs over the journal. Default navigator.locks; null: IndexedDB leases. */
  locks?: LockManager | null;
  /** backoff bounds the reconnect delays in ms. Defaults base 250, cap 15000. */
  backoff?: { base?: number; cap?: number };
}

/** Adoption is a journalled session that a drain client carries on for its parent. */
interface Adoption {
  rec: JournalRecord;
  /** user is the parent's user, whose journal the record is in. */
  user: string;
  claim: Claim;
  parent: CowriteClient;
}

interface Found {
  rec: JournalRecord;
  claim: Claim;
}

/** DOC_ID is what a document id may be: 1 to 128 of A-Z a-z 0-9 . _ -, not starting with a dot. */
export const DOC_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** WELCOME_TIMEOUT is how long a connection may go without a welcome before it is dropped and retried. */
const WELCOME_TIMEOUT = 20_000;

/**
 * ACK_TIMEOUT is how long an op may wait for its ack before the connection
 * is taken for dead (a browser can keep a dead socket open for minutes).
 * Reconnecting is safe: the op is resent, and the server answers once.
 */
const ACK_TIMEOUT = 30_000;

/**
 * JOURNAL_DELAY is how long the journal may lag behind remote ops and acks
 * (local edits and ops to send are written at once). A journal that lags
 * loses nothing: the next page catches up from the server as this one did.
 */
const JOURNAL_DELAY = 1000;

/** REFRESH_LEAD is how long before a token's exp the client asks for a new one (at most a fifth of the time left). */
const REFRESH_LEAD = 60_000;

/** REFRESH_RETRY bounds how often the provider is asked again when it has nothing newer yet. */
const REFRESH_RETRY = { min: 5_000, max: 30_000 };

/** TOKEN_WAIT is how long a token provider may take to answer before it counts as failed. */
const TOKEN_WAIT = 15_000;

/** MAX_TIMER is the longest delay setTimeout takes. */
const MAX_TIMER = 2 ** 31 - 1;

/** AUTH_CODES are error codes the server sends just before a close code that says what to do. */
const AUTH_CODES = new Set(['token_expired', 'revoked', 'access_changed', 'unauthorized']);

/** unavailableBackoff is for close 4010 (the store cannot be read): retry, but not in a loop. */
const unavailableBackoff: Backoff = { base: 10_000, cap: 120_000 };

type Listeners = { [K in keyof ClientEvents]: Set<ClientEvents[K]> };
type Timer = ReturnType<typeof setTimeout>;

/**
 * CowriteClient edits one document live (PROTOCOL.md §5-6).
 *
 * The editor shows `document` once 'ready' fired, sends every user edit to
 * submit() after applying it, applies 'remote' deltas, and replaces its
 * content on 'reset'. All events are delivered synchronously from the
 * client's own callbacks; listeners must not call destroy() re-entrantly
 * from 'remote'. Nothing here touches the DOM.
 *
 * Exactly once: every op carries (client id, seq); an op is sent only after
 * the journal holds it; the in-flight op is resent exactly as first sent,
 * which the server acknowledges without applying twice. A tab carries on a
 * journalled session only under that session's claim (claim.ts), so no two
 * tabs ever send for one client id.
 */
export class CowriteClient {
  private readonly listeners: Listeners = {
    ready: new Set(), remote: new Set(), reset: new Set(), status: new Set(),
    presence: new Set(), leave: new Set(), error: new Set(),
  };
  private readonly opts: ClientOptions;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  /** base is the journal scope of the document on its server, before the user (journalScope). */
  private readonly base: string;
  /**
   * user is whom the journal is kept for: a token's sub, '' with no
   * token (open mode). null until start has a token from the provider.
   * The client never sends a token of another user (sameUser).
   */
  private user: string | null;
  private readonly url: string;
  private readonly drain: Adoption | null;
  private readonly now: () => number;

  private journal: Journal | null;
  private claims: Claims;
  private claim: Claim | null = null;
  private s: DocState | null = null;

  private ws: WebSocket | null = null;
  private welcomed = false;
  /** down: a connection failed since the last welcome. */
  private down = false;
  private failure: ErrorEvent | null = null;
  private destroyed = false;
  private access: Access;
  private attempt = 0;
  private retries = 0;
  /** fresh: the next hello asks for a snapshot (rev -1). */
  private fresh = false;
  /** sent: the in-flight op went out on this connection. */
  private sent = false;
  /** hold: the in-flight op waits for a backoff before it is resent. */
  private hold = false;
  private reconnectTimer: Timer | null = null;
  private welcomeTimer: Timer | null = null;
  private holdTimer: Timer | null = null;
  private ackTimer: Timer | null = null;
  private offPage: (() => void) | null = null;

  // Tokens. token is what the next hello carries; fresh: it just came
  // from the provider, and the next connect uses it without asking again.
  // asking: a call to the provider is under way (connect waits for it).
  // authing: the token of an auth sent on this connection, not yet
  // answered. retried: after a 4001, a newer token from the provider was
  // tried once since the last welcome.
  private token: string | undefined;
  private tokenFresh = false;
  private asking = false;
  private authing: string | null = null;
  private retried = false;
  private refreshTimer: Timer | null = null;

  // Journal writes: version counts changes, saved is the version the
  // journal holds, opVersion the version that made the in-flight op.
  // writes counts the writes under way, tail is the last one's end, and
  // covered the version the writes started so far hold.
  private version = 0;
  private saved = 0;
  private opVersion = 0;
  private writes = 0;
  private tail: Promise<void> = Promise.resolve();
  private covered = 0;
  private journalTimer: Timer | null = null;

  private starting: Promise<Delta> | null = null;
  private waiter: { resolve: (d: Delta) => void; reject: (e: Error) => void } | null = null;
  private readySent = false;
  private last: Status;
  private readonly drains = new Set<CowriteClient>();

  /** The second argument is internal: a drain client carrying on a journalled session. */
  constructor(opts: ClientOptions, adopt?: Adoption) {
    this.opts = opts;
    this.drain = adopt ?? null;
    this.backoff = {
      base: positive(opts.backoff?.base, defaultBackoff.base),
      cap: positive(opts.backoff?.cap, defaultBackoff.cap),
    };
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.token = typeof opts.token === 'string' ? opts.token : undefined;
    this.access = opts.readOnly ? 'view' : 'edit';
    const [base, url] = endpoint(opts.server, opts.doc);
    this.base = base;
    this.url = url;
    this.user = typeof opts.token === 'function' ? null : userOf(opts.token ?? '');
    this.journal = opts.journal === undefined ? defaultJournal() : opts.journal;
    const locks = opts.locks === undefined ? (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks : opts.locks;
    this.claims = !this.journal ? freeClaims : locks ? lockClaims(locks) : leaseClaims(this.journal);
    this.last = this.computeStatus();
  }

  /** scope is the journal scope: the server, the document and the user. */
  private get scope(): string {
    return journalScope(this.base, this.user ?? '');
  }

  /** document is the local document: the server's with the unacknowledged edits on top. */
  get document(): Delta {
    return this.s?.document ?? new Delta();
  }

  /** status is where the client stands now; 'status' events report its changes. */
  get status(): Status {
    return this.computeStatus();
  }

  /** clientId is this session's client id ('' until start has read the journal). */
  get clientId(): string {
    return this.s?.clientId ?? '';
  }

  /** peers is everyone else here, with selections on the local document. */
  get peers(): Peer[] {
    return this.s ? [...this.s.others.values()].map((p) => ({ ...p, sel: p.sel && { ...p.sel } })) : [];
  }

  /**
   * start reads the journal and connects. It resolves with the document
   * once it is loaded: at once from the journal (offline too), or with the
   * first welcome. It rejects when the document cannot be opened (not
   * found, not authorised) or destroy is called first. Calling it again
   * returns the same promise.
   */
  start(): Promise<Delta> {
    if (!this.starting) {
      this.starting = this.boot();
      this.starting.catch(() => {}); // callers that do not wait still see 'error'
    }
    return this.starting;
  }

  /**
   * submit takes a local edit, already applied by the editor to document.
   * It throws if the edit does not fit the document, or before 'ready'.
   */
  submit(change: Delta): void {
    const s = this.s;
    if (!s || !s.loaded) throw new Error('cowrite: submit before the document is loaded');
    if (this.destroyed) throw new Error('cowrite: submit after destroy');
    if (change.ops.length === 0) return;
    s.local(change);
    if (this.access === 'view' && (this.welcomed || this.opts.readOnly)) {
      // Not here (the editor should be read-only): give it back, after
      // the editor's own change handler has returned.
      queueMicrotask(() => {
        if (this.destroyed) return;
        this.reset('This document is read-only here; the edit was not saved.', s.setAside(), true);
        this.changed();
      });
    }
    this.changed();
  }

  /** setPresence sets this user's selection, or null when the editor lost focus. */
  setPresence(sel: Selection | null): void {
    const s = this.s;
    if (!s || this.destroyed) return;
    if (sel) {
      const index = clamp(sel.index, 0, s.length);
      sel = { index, length: clamp(sel.length, 0, s.length - index) };
    }
    s.sel = sel;
    if (this.welcomed && !this.drain) this.send({ t: 'presence', sel });
  }

  /** on adds a listener and returns a function that removes it. */
  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void {
    const set = this.listeners[event] as Set<ClientEvents[K]>;
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * destroy disconnects for good. Unsent edits stay in the journal, and
   * the next page to open the document delivers them.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.flush(); // what waited (remote ops) goes now
    this.stopTimers();
    this.offPage?.();
    this.closeSocket();
    for (const d of this.drains) d.destroy();
    this.drains.clear();
    this.waiter?.reject(new Error('cowrite: destroyed'));
    this.waiter = null;
    // Let the claim go once the last journal write is done, so that a
    // page taking over reads the final record.
    const claim = this.claim;
    this.claim = null;
    void this.idle().then(() => claim?.release());
  }

  /** stop is destroy. */
  stop(): void {
    this.destroy();
  }

  // Starting.

  private async boot(): Promise<Delta> {
    if (!this.url) {
      this.fail('bad_doc_id', `"${this.opts.doc.slice(0, 140)}" is not a document id, or the server address is not valid.`);
      throw new Error('cowrite: bad document id or server');
    }
    if (this.drain) {
      this.user = this.drain.user;
      this.s = DocState.fromRecord(this.drain.rec);
      this.claim = this.drain.claim;
      this.connect();
      return this.s.document;
    }
    if (this.user === null) {
      // Whose journal to read is the token's to say.
      await this.firstToken();
      if (this.destroyed) throw new Error('cowrite: destroyed');
    }
    const { mine, others } = await this.adoptJournal();
    let claim = mine?.claim ?? null;
    const s = mine ? DocState.fromRecord(mine.rec) : new DocState(randomId());
    if (!mine && this.journal) {
      claim = await this.claims.claim(this.scope, s.clientId).catch(() => null);
      if (!claim) this.journal = null; // journalling without a claim could mislead another tab
    }
    if (this.destroyed) {
      claim?.release();
      for (const o of others) o.claim.release();
      throw new Error('cowrite: destroyed');
    }
    this.s = s;
    this.claim = claim;
    claim?.onLost(() => this.fail('claim_lost', 'Another tab took over this editing session. Reload to go on.'));
    for (const o of others) this.addDrain(o);
    this.listenPage();
    this.emitStatus();
    if (s.loaded) this.ready();
    this.connect();
    if (s.loaded) return s.document;
    return new Promise<Delta>((resolve, reject) => {
      if (this.failure) reject(new Error(this.failure.message));
      else this.waiter = { resolve, reject };
    });
  }

  /**
   * adoptJournal finds the journalled sessions of this document that no
   * live page holds, and claims them: the one to carry on (the one with
   * unsent edits, else the newest), and the others with unsent edits, to
   * drain in the background. Sessions with nothing unsent are deleted.
   */
  private async adoptJournal(): Promise<{ mine: Found | null; others: Found[] }> {
    const journal = this.journal;
    const found: { mine: Found | null; others: Found[] } = { mine: null, others: [] };
    if (!journal) return found;
    let recs: JournalRecord[];
    try {
      recs = (await journal.list(this.scope)).filter(validRecord);
    } catch (err) {
      this.journalFailed(err);
      return found;
    }
    recs.sort((a, b) => Number(pendingOf(b) > 0) - Number(pendingOf(a) > 0) || b.updated - a.updated);
    for (const r of recs) {
      const claim = await this.claims.claim(this.scope, r.client).catch(() => null);
      if (!claim) continue; // a live page has it
      // Read it again under the claim: a page may have finished with it meanwhile.
      const cur = await journal.get(this.scope, r.client).catch(() => undefined);
      if (!cur || !validRecord(cur)) {
        claim.release();
      } else if (!found.mine) {
        found.mine = { rec: cur, claim };
      } else if (pendingOf(cur) > 0) {
        found.others.push({ rec: cur, claim });
      } else {
        await journal.remove(this.scope, cur.client).catch(() => {});
        claim.release();
      }
    }
    return found;
  }

  /**
   * firstToken asks the provider for the token that says whose journal
   * this is, again and again with backoff until it has one, and keeps it
   * for the first hello.
   */
  private async firstToken(): Promise<void> {
    for (let attempt = 0; !this.destroyed; attempt++) {
      const t = await this.askToken();
      if (this.destroyed) return;
      if (t !== null) {
        this.token = t;
        this.tokenFresh = true;
        this.user = userOf(t);
        return;
      }
      this.down = true;
      this.emitStatus();
      await new Promise((resolve) => setTimeout(resolve, delay(this.backoff, attempt, this.random)));
    }
  }

  /**
   * sameUser reports whether token t may go out on this session: a token
   * of the journal's user, or none at all (the server refuses that). A
   * token of someone else (another tab signed in as another user) would
   * have the server stamp this user's unsent edits with their name: the
   * client stops instead, and the edits stay in this user's journal.
   */
  private sameUser(t: string): boolean {
    if (t === '' || this.user === null || userOf(t) === this.user) return true;
    this.fail('user_changed', 'This browser is now signed in as someone else. Edits not yet saved are kept until you sign in again.');
    return false;
  }

  private addDrain(f: Found): void {
    const d = new CowriteClient(
      { ...this.opts, journal: this.journal, locks: null },
      { rec: f.rec, user: this.user ?? '', claim: f.claim, parent: this },
    );
    this.drains.add(d);
    void d.start();
  }

  private ready(): void {
    if (this.readySent || !this.s) return;
    this.readySent = true;
    const doc = this.s.document;
    if (!this.drain) this.emit('ready', doc);
    this.waiter?.resolve(doc);
    this.waiter = null;
  }

  /**
   * listenPage follows the browser's online and offline events, and
   * writes what the journal lacks when the page is hidden or goes away
   * (pagehide, visibilitychange): a page may be discarded after either.
   */
  private listenPage(): void {
    const t = globalThis as Partial<EventTarget> & { document?: { visibilityState?: string } };
    if (!t.addEventListener || !t.removeEventListener) return;
    const onOnline = () => {
      if (this.reconnectTimer === null) return;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.connect();
    };
    // Going offline: the socket is dead even if the browser has not noticed.
    const onOffline = () => this.drop();
    const onHide = () => {
      this.flush();
      for (const d of this.drains) d.flush();
    };
    const onVisibility = () => {
      if (t.document?.visibilityState !== 'visible') onHide();
    };
    t.addEventListener('online', onOnline);
    t.addEventListener('offline', onOffline);
    t.addEventListener('pagehide', onHide);
    t.addEventListener('visibilitychange', onVisibility);
    this.offPage = () => {
      t.removeEventListener!('online', onOnline);
      t.removeEventListener!('offline', onOffline);
      t.removeEventListener!('pagehide', onHide);
      t.removeEventListener!('visibilitychange', onVisibility);
    };
  }

  // The connection.

  private connect(): void {
    this.reconnectTimer = null;
    if (this.destroyed || this.failure || !this.s || this.asking) return;
    if (typeof this.opts.token === 'function' && !this.tokenFresh) {
      // Every hello carries the provider's current token.
      this.asking = true;
      void this.askToken().then((t) => {
        this.asking = false;
        if (t === null && this.token === undefined) {
          // No token at all yet: try again later.
          this.down = true;
          this.reconnectLater();
          return;
        }
        if (t !== null && !this.sameUser(t)) return;
        if (t !== null) this.token = t; // else the last one it gave
        this.tokenFresh = true;
        this.connect();
      });
      return;
    }
    this.tokenFresh = false;
    const WS = this.opts.WebSocket ?? (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
    if (!WS) {
      this.fail('no_websocket', 'This browser cannot open a WebSocket.');
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WS(this.url);
    } catch {
      this.down = true;
      this.reconnectLater();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.welcomed = false;
    this.sent = false;
    this.welcomeTimer = setTimeout(() => {
      this.welcomeTimer = null;
      if (this.ws === ws && !this.welcomed) this.drop();
    }, WELCOME_TIMEOUT);
    ws.onopen = () => {
      if (this.ws === ws) this.send(this.hello());
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws === ws) this.onFrame(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws === ws) this.onClose(ev.code);
    };
    ws.onerror = () => {}; // a close event follows
    this.emitStatus();
  }

  private hello(): ClientMessage {
    const s = this.s!;
    const fresh = this.fresh || !s.loaded;
    return {
      t: 'hello',
      client: s.clientId,
      rev: fresh ? -1 : s.rev,
      epoch: fresh ? undefined : s.epoch,
      pending: s.inflight?.seq ?? 0,
      token: this.token,
      name: this.opts.name,
      color: this.opts.color,
    };
  }

  private send(m: ClientMessage): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return;
    try {
      ws.send(encodeClient(m));
    } catch {
      this.drop(); // the socket is broken; the close handling retries
    }
  }

  /** drop closes the connection from this side and reconnects. */
  private drop(): void {
    if (!this.ws) return;
    this.closeSocket();
    this.reconnectLater();
  }

  /** closeSocket closes the connection; its close event is ignored. */
  private closeSocket(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(1000);
    } catch {
      // closed already
    }
    this.disconnected();
  }

  private disconnected(): void {
    this.welcomed = false;
    this.sent = false;
    this.hold = false;
    this.down = true;
    this.authing = null;
    for (const t of [this.welcomeTimer, this.holdTimer, this.ackTimer, this.refreshTimer]) if (t !== null) clearTimeout(t);
    this.welcomeTimer = this.holdTimer = this.ackTimer = this.refreshTimer = null;
    // The welcome brings everyone back.
    const s = this.s;
    if (s && s.others.size > 0) {
      const gone = [...s.others.keys()];
      s.others.clear();
      if (!this.drain) for (const id of gone) this.emit('leave', id);
    }
    this.emitStatus();
  }

  private onClose(code: number): void {
    this.ws = null;
    this.disconnected();
    if (this.destroyed) return;
    const s = this.s!;
    switch (code) {
      case 1000: // a newer connection of this client id took over
        this.fail('replaced', 'This editing session was opened again elsewhere.');
        return;
      case 4000:
        this.reset('The server refused a message from this editor; the unsaved edits could not be sent.', s.setAside(), true);
        this.changed();
        this.fail('protocol', 'The server refused a message from this editor. Reload the page.');
        return;
      case 4001:
      case 4011:
        this.signInAgain(code);
        return;
      case 4012:
        this.fail('revoked', 'Your access was revoked. Unsaved edits stay on this device.');
        return;
      case 4004:
        this.fail('not_found', 'This document does not exist, or was deleted.');
        return;
      case 1009: // the in-flight op was over the server's limit: never resend it
        this.reset('An edit was too large to save.', s.setAside(), true);
        this.changed();
        break;
      case 4010:
        this.reconnectLater(unavailableBackoff);
        return;
    }
    this.reconnectLater();
  }

  /**
   * signInAgain follows a close for a refused (4001) or expired (4011)
   * token: with a provider that has a newer token, reconnect with it (after
   * a 4001, once per welcome); else stop. The journal keeps unsent edits
   * either way.
   */
  private signInAgain(code: 4001 | 4011): void {
    const used = this.token;
    const stop = () => {
      if (code === 4011) this.fail('token_expired', 'Your sign-in expired. Sign in again to go on; unsaved edits stay on this device.');
      else this.fail('unauthorized', 'You are not allowed to open this document.');
    };
    if (typeof this.opts.token !== 'function' || (code === 4001 && this.retried)) {
      stop();
      return;
    }
    this.asking = true;
    void this.askToken().then((t) => {
      this.asking = false;
      if (this.destroyed || this.failure) return;
      if (!t || t === used) {
        stop();
        return;
      }
      if (!this.sameUser(t)) return;
      if (code === 4001) this.retried = true;
      this.token = t;
      this.tokenFresh = true;
      this.reconnectLater();
    });
  }

  /**
   * askToken calls the token provider (or returns the token option). It
   * resolves with null when the provider failed, gave no string, or took
   * longer than TOKEN_WAIT; the failure is reported as 'token_provider'.
   */
  private async askToken(): Promise<string | null> {
    const p = this.opts.token;
    if (typeof p !== 'function') return p ?? '';
    let timer: Timer | undefined;
    try {
      const t = await Promise.race([
        Promise.resolve().then(() => p()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${TOKEN_WAIT / 1000} s`)), TOKEN_WAIT);
        }),
      ]);
      if (typeof t !== 'string') throw new Error(`it gave ${t === null ? 'null' : typeof t}, not a string`);
      return t;
    } catch (err) {
      this.emit('error', { code: 'token_provider', message: `The token provider failed: ${(err as Error)?.message ?? String(err)}` });
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * scheduleRefresh sets the timer that asks the provider for a newer
   * token: REFRESH_LEAD before the current token's exp, or when four
   * fifths of the time left have passed if that is later. A token whose
   * exp cannot be read (it is not a JWT, say) is never refreshed.
   */
  private scheduleRefresh(retry = false): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (typeof this.opts.token !== 'function' || !this.token || this.drain) return;
    const exp = tokenExpiry(this.token);
    if (exp === null) return;
    const left = exp - this.now();
    let wait: number;
    if (retry) wait = Math.min(REFRESH_RETRY.max, Math.max(REFRESH_RETRY.min, left / 2));
    else wait = left - Math.min(REFRESH_LEAD, Math.max(0, left) / 5);
    const due = this.now() + Math.max(0, wait);
    const arm = () => {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        if (this.now() < due - 1000) arm(); // a timer over MAX_TIMER, in steps
        else void this.refresh();
      }, Math.min(Math.max(0, due - this.now()), MAX_TIMER));
    };
    arm();
  }

  /** refresh asks the provider for a newer token and sends it in band (auth); with nothing newer, it asks again later. */
  private async refresh(): Promise<void> {
    const ws = this.ws;
    if (!ws || !this.welcomed || this.authing !== null) return;
    const t = await this.askToken();
    if (this.ws !== ws || !this.welcomed || this.destroyed || this.authing !== null) return;
    if (t && t !== this.token) {
      if (!this.sameUser(t)) return;
      this.authing = t;
      this.send({ t: 'auth', token: t });
      return;
    }
    // Nothing newer yet: ask again, until the server ends the connection (4011).
    this.scheduleRefresh(true);
  }

  /** onAuthed: the token sent in auth is in force; its own exp times the next refresh. */
  private onAuthed(exp: number): void {
    if (this.authing !== null) this.token = this.authing;
    this.authing = null;
    if (exp === 0) return; // open mode: nothing expires
    this.scheduleRefresh();
  }

  private reconnectLater(b: Backoff = this.backoff): void {
    if (this.destroyed || this.failure || this.asking || this.reconnectTimer !== null) return;
    this.reconnectTimer = setTimeout(() => this.connect(), delay(b, this.attempt++, this.random));
    this.emitStatus();
  }

  private fail(code: string, message: string): void {
    if (this.failure) return;
    this.failure = { code, message };
    this.stopTimers();
    this.closeSocket();
    this.emit('error', { code, message });
    this.waiter?.reject(new Error(message));
    this.waiter = null;
    this.emitStatus();
  }

  private stopTimers(): void {
    for (const t of [this.reconnectTimer, this.welcomeTimer, this.holdTimer, this.ackTimer, this.refreshTimer]) if (t !== null) clearTimeout(t);
    this.reconnectTimer = this.welcomeTimer = this.holdTimer = this.ackTimer = this.refreshTimer = null;
  }

  // Messages.

  private onFrame(data: unknown): void {
    let m: ServerMessage;
    try {
      if (data instanceof ArrayBuffer) m = decodeServer(data);
      else if (ArrayBuffer.isView(data)) m = decodeServer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else throw new CodecError('bad_frame', 'a text frame');
    } catch (err) {
      const code = err instanceof CodecError ? err.code : 'bad_frame';
      this.emit('error', { code, message: `Unreadable message from the server: ${(err as Error).message}` });
      this.drop();
      return;
    }
    if ((m.t === 'welcome') === this.welcomed && m.t !== 'error') {
      this.emit('error', { code: 'bad_message', message: `The server sent ${m.t} ${this.welcomed ? 'after' : 'before'} its welcome.` });
      this.drop();
      return;
    }
    const s = this.s!;
    switch (m.t) {
      case 'welcome':
        this.onWelcome(m);
        return;
      case 'ack': {
        const r = s.ack(m.seq, m.rev);
        if (r === 'gap') this.resync(true);
        else if (r === 'ok') this.acked();
        return;
      }
      case 'op': {
        const r = s.remote(m);
        if (r === 'gap') this.resync(false);
        else if (r === 'bad') this.resync(true);
        else if (r === 'own') this.acked();
        else if (r !== 'old') {
          this.emit('remote', r.delta, r.author);
          this.changed(true);
        }
        return;
      }
      case 'presence':
        if (m.client !== s.clientId && !this.drain) this.emit('presence', s.setOther(m));
        return;
      case 'leave':
        s.others.delete(m.client);
        if (!this.drain) this.emit('leave', m.client);
        return;
      case 'authed':
        this.onAuthed(m.exp);
        return;
      case 'error':
        this.onError(m);
        return;
    }
  }

  private onWelcome(w: Welcome): void {
    const s = this.s!;
    if (this.welcomeTimer !== null) clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    this.welcomed = true;
    this.down = false;
    this.access = this.opts.readOnly || w.access !== 'edit' ? 'view' : 'edit';
    this.fresh = false;
    this.retried = false;
    this.scheduleRefresh();
    const r = s.welcome(w);
    switch (r.kind) {
      case 'fresh':
        this.ready();
        break;
      case 'epoch':
        this.reset('The document was replaced by another version of it (restored or reset).', r.unsent, false);
        break;
      case 'rebase':
        if (r.changed) this.reset('The document was reloaded from the server.', [], false);
        break;
      case 'catchup':
        for (const a of r.applied) this.emit('remote', a.delta, a.author);
        if (r.resync) {
          this.changed();
          this.resync(true);
          return;
        }
    }
    this.attempt = 0;
    if (this.access === 'view' && s.pending > 0) {
      // Edits from before (the journal, or offline) that this connection may not send.
      this.reset('You can only read this document here; the unsaved edits could not be sent.', s.setAside(), true);
    }
    if (!this.drain) {
      for (const p of w.presence) if (p.client !== s.clientId) this.emit('presence', s.setOther(p));
      if (s.sel) this.send({ t: 'presence', sel: s.sel });
    }
    this.changed();
  }

  private acked(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.sent = false;
    this.retries = 0;
    this.changed(true);
  }

  /** resync reconnects to catch up, or with fresh for a snapshot. */
  private resync(fresh: boolean): void {
    if (fresh) this.fresh = true;
    this.drop();
  }

  /** onError handles an error message (§6.7). */
  private onError(e: { code: string; msg: string; seq: number }): void {
    const s = this.s!;
    const message = e.msg || e.code;
    const f = s.inflight;
    if (!this.welcomed) return; // the close code that follows says what to do
    if (e.seq === 0 && AUTH_CODES.has(e.code)) return; // so does it here
    if (e.seq === 0 || !f || e.seq !== f.seq) {
      this.emit('error', { code: e.code, message });
      return;
    }
    // The in-flight op was not applied.
    switch (e.code) {
      case 'internal':
      case 'rate_limited':
        // The op was fine: after a while, resend it with the same seq, in
        // its current form on the current revision (journalled first).
        this.sent = false;
        this.hold = true;
        this.holdTimer = setTimeout(() => {
          this.holdTimer = null;
          this.hold = false;
          s.renewInflight();
          this.opVersion = this.version + 1;
          this.changed();
        }, delay(this.backoff, this.retries++, this.random));
        this.emit('error', { code: e.code, message });
        return;
      case 'read_only':
        this.access = 'view';
        this.emit('error', { code: e.code, message });
        this.reset('You can only read this document; the edits were not saved.', s.setAside(), true);
        break;
      case 'future_rev':
      case 'seq_conflict':
      case 'seq_old':
        // The bookkeeping is off: set the edits aside and reload.
        this.emit('error', { code: e.code, message });
        this.reset(`The server refused an edit (${e.code}).`, s.setAside(), true);
        this.changed();
        this.resync(true);
        return;
      default: // bad_delta, does_not_fit, too_large, and codes yet unknown
        this.emit('error', { code: e.code, message });
        this.reset(`The server refused an edit (${e.code}): ${message}`, s.setAside(), true);
    }
    this.changed();
  }

  /**
   * reset tells the editor that the document was replaced, offering back
   * unsent edits it holds no more. setAside: the document went back to
   * confirmed (nothing to say when nothing was set aside). A drain has no
   * editor: its parent offers the edits through 'error'.
   */
  private reset(reason: string, unsent: Delta[], setAside: boolean): void {
    if (setAside && unsent.length === 0) return;
    const offered: Offered | undefined = unsent.length > 0 ? { reason, text: insertedText(unsent), edits: unsent } : undefined;
    if (this.drain) {
      if (offered) this.drain.parent.emit('error', { code: 'edits_offered_back', message: reason, offered });
      return;
    }
    this.emit('reset', { doc: this.s!.document, reason, offered });
  }

  // Sending and journalling.

  /**
   * changed journals the state, sends what can be sent, and reports the
   * status. lagging: the change may wait to be journalled (a remote op, an
   * ack), unless it made an op to send.
   */
  private changed(lagging = false): void {
    this.version++;
    const made = this.makeOp();
    this.persist(lagging && !made);
    this.pump();
    this.emitStatus();
    if (this.drain && !this.destroyed && this.welcomed && this.s!.pending === 0) this.finishDrain();
  }

  /**
   * makeOp makes the buffer the in-flight op when the connection may send
   * one, and reports whether it did. The op goes out once the journal holds
   * it (pump): a page closed at any moment leaves a journal that knows of
   * every op the server may have.
   */
  private makeOp(): boolean {
    const s = this.s;
    if (!s || !this.ws || !this.welcomed || this.access === 'view' || this.hold) return false;
    if (s.inflight || !s.takeOp()) return false;
    this.sent = false;
    this.opVersion = ++this.version;
    return true;
  }

  /** pump sends the in-flight op, made from the buffer if need be, once the journal has it. */
  private pump(): void {
    if (this.makeOp()) this.persist(false);
    const s = this.s;
    if (!s || !this.ws || !this.welcomed || this.access === 'view' || this.hold) return;
    if (s.inflight && !this.sent && this.saved >= this.opVersion) {
      this.sent = true;
      this.send(s.resend()!);
      if (this.ackTimer !== null) clearTimeout(this.ackTimer);
      const ws = this.ws;
      this.ackTimer = setTimeout(() => {
        this.ackTimer = null;
        if (this.ws === ws && this.sent) this.drop();
      }, ACK_TIMEOUT);
    }
  }

  /**
   * persist journals the change just made: at once, so that a page closed
   * right after it keeps it, or, when lagging, within JOURNAL_DELAY.
   * With nothing to journal, flush counts it saved at once.
   */
  private persist(lagging: boolean): void {
    if (!lagging || !this.journal || !this.s?.loaded) this.flush();
    else if (this.journalTimer === null) this.journalTimer = setTimeout(() => this.flush(), JOURNAL_DELAY);
  }

  /**
   * flush starts writing whatever the journal lacks, now. The journal
   * starts each write before returning and applies writes in order, so
   * nothing waits in a queue here: a write carries the state as it is
   * when made, and no older state can land after it.
   */
  private flush(): void {
    if (this.journalTimer !== null) clearTimeout(this.journalTimer);
    this.journalTimer = null;
    const s = this.s;
    const journal = this.journal;
    if (!journal || !s || !s.loaded) {
      this.saved = this.version;
      return;
    }
    const v = this.version;
    this.covered = v;
    const w = s.journalWrite(this.scope, Date.now());
    if (!w) {
      if (this.writes === 0) this.saved = Math.max(this.saved, v);
      return;
    }
    this.writes++;
    let p: Promise<void>;
    try {
      p = journal.write(w);
    } catch (err) {
      p = Promise.reject(err);
    }
    this.tail = p
      .then(
        () => {
          this.saved = Math.max(this.saved, v);
        },
        (err: unknown) => this.journalFailed(err),
      )
      .finally(() => {
        if (--this.writes === 0) this.saved = Math.max(this.saved, this.covered);
        this.pump();
      });
  }

  private journalFailed(err: unknown): void {
    const journal = this.journal;
    if (!journal) return;
    this.journal = null;
    this.saved = this.version;
    if (this.journalTimer !== null) clearTimeout(this.journalTimer);
    this.journalTimer = null;
    // The record lags behind from now on: a page taking it over would send
    // again edits that this one goes on to send. Let it go.
    if (this.s) journal.remove(this.scope, this.s.clientId).catch(() => {});
    this.emit('error', {
      code: 'journal',
      message: `Unsaved edits cannot be kept on this device (${(err as Error)?.message ?? err}); they are sent as usual.`,
    });
  }

  /** idle resolves once no journal write is under way. */
  private async idle(): Promise<void> {
    while (this.writes > 0) await this.tail;
  }

  /** finishDrain ends a drain whose edits were all delivered, deleting its record. */
  private finishDrain(): void {
    const parent = this.drain!.parent;
    const journal = this.journal;
    const id = this.s!.clientId;
    this.journal = null; // no more writes: the record goes
    this.claim = null; // released below, once the record is gone
    this.destroy();
    parent.drains.delete(this);
    parent.emitStatus();
    const claim = this.drain!.claim;
    void this.idle()
      .then(() => journal?.remove(this.scope, id))
      .catch(() => {})
      .finally(() => claim.release());
  }

  // Events.

  private computeStatus(): Status {
    let pending = this.s?.pending ?? 0;
    for (const d of this.drains) pending += d.s?.pending ?? 0;
    const access = this.access;
    if (this.failure) return { state: 'error', pending, access, message: this.failure.message, code: this.failure.code };
    if (!this.welcomed) return { state: this.down ? 'offline' : 'connecting', pending, access };
    if (access === 'view') return { state: 'read-only', pending, access };
    return { state: pending > 0 ? 'saving' : 'saved', pending, access };
  }

  private emitStatus(): void {
    if (this.drain) {
      this.drain.parent.emitStatus();
      return;
    }
    const st = this.computeStatus();
    const l = this.last;
    if (st.state === l.state && st.pending === l.pending && st.access === l.access && st.message === l.message && st.code === l.code) return;
    this.last = st;
    this.emit('status', st);
  }

  private emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    if (this.destroyed && event !== 'error') return;
    for (const fn of [...this.listeners[event]]) {
      try {
        (fn as (...a: Parameters<ClientEvents[K]>) => void)(...args);
      } catch (err) {
        console.error(`cowrite: a '${event}' listener failed:`, err);
      }
    }
  }
}

/** serverURL returns the server's base URL, or null for one that is not http(s). */
function serverURL(server: string): URL | null {
  const base = server || (globalThis as { location?: { origin: string } }).location?.origin || '';
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
}

/**
 * endpoint returns the journal scope of doc on server before the user
 * ("https://host doc", see journalScope) and its WebSocket URL, or '' for
 * an invalid one.
 */
function endpoint(server: string, doc: string): [string, string] {
  const u = serverURL(server);
  if (!u || !DOC_ID.test(doc)) return ['', ''];
  const path = u.pathname.replace(/\/+$/, '');
  const scope = `${u.origin}${path} ${doc}`;
  return [scope, `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}${path}/v1/docs/${doc}/ws`];
}

/**
 * journalScope is the scope of a user's journal records for a document:
 * base ("https://host doc") for no user (open mode, the scope journals had
 * before they were kept per user), else base, " @" and the user id. A doc
 * id holds no space, so no two users' scopes meet.
 */
function journalScope(base: string, user: string): string {
  return user === '' ? base : `${base} @${encodeURIComponent(user)}`;
}

/** userOf is the user a token names (its sub, read, not checked), or '' for none. */
function userOf(token: string): string {
  const sub = token ? tokenClaims(token)?.sub : undefined;
  return typeof sub === 'string' ? sub : '';
}

/**
 * unsentEdits counts the edits kept in the journal for server ('' for
 * this page's origin) and the user of token (none: open mode), in every
 * document, that the server has not acknowledged yet. Other users' edits
 * are not counted. It is 0 without a journal, or with one that cannot
 * list its scopes.
 */
export async function unsentEdits(opts: { server?: string; token?: string; journal?: Journal | null } = {}): Promise<number> {
  const journal = opts.journal === undefined ? defaultJournal() : opts.journal;
  const u = serverURL(opts.server ?? '');
  if (!journal?.scopes || !u) return 0;
  const prefix = `${u.origin}${u.pathname.replace(/\/+$/, '')} `;
  const suffix = journalScope('', userOf(opts.token ?? ''));
  let n = 0;
  for (const scope of await journal.scopes()) {
    if (!scope.startsWith(prefix) || !scope.endsWith(suffix)) continue;
    const doc = scope.slice(prefix.length, scope.length - suffix.length);
    if (!DOC_ID.test(doc)) continue;
    for (const r of await journal.list(scope)) if (validRecord(r)) n += pendingOf(r);
  }
  return n;
}

/**
 * tokenClaims returns a JWT's payload, decoded but not checked: for timing
 * refreshes and showing who is signed in, never for deciding access. It
 * returns null for anything that is not a JWT with a JSON object payload.
 */
export function tokenClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1].length > 16384) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const v = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** tokenExpiry returns a JWT's exp in ms since 1970 (see tokenClaims), or null when it has none. */
export function tokenExpiry(token: string): number | null {
  const exp = tokenClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
}

function defaultJournal(): Journal | null {
  try {
    return new IndexedDBJournal();
  } catch {
    return null;
  }
}

function validRecord(r: JournalRecord): boolean {
  return (
    CLIENT_ID.test(r.client) &&
    Number.isSafeInteger(r.seq) &&
    Number.isSafeInteger(r.rev) &&
    r.rev >= 0 &&
    Array.isArray(r.confirmed) &&
    Array.isArray(r.buffer) &&
    (r.inflight === null || (Array.isArray(r.inflight.sent) && Array.isArray(r.inflight.delta)))
  );
}

function positive(v: number | undefined, def: number): number {
  return v !== undefined && v > 0 && Number.isFinite(v) ? v : def;
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(Math.floor(v), lo), Math.max(hi, lo)) : lo;
}
