// CowriteClient: one document, live. STUB: the API is final, the body is
// being written (issue 4a).

import Delta from 'quill-delta';

import type { Journal } from './journal.js';

/** State is what the status indicator shows. */
export type State = 'connecting' | 'saved' | 'saving' | 'offline' | 'read-only' | 'error';

/** Access is what the server lets this connection do. */
export type Access = 'edit' | 'view';

/**
 * Status is where the client stands. pending counts the local edits
 * (submit calls) the server has not acknowledged yet, journalled ones from
 * an earlier page load included. message explains an 'error' state.
 */
export interface Status {
  state: State;
  pending: number;
  access: Access;
  message?: string;
}

/** Selection is a caret (length 0) or a selection, in UTF-16 units. */
export interface Selection {
  index: number;
  length: number;
}

/** Peer is someone else in the document. name and color are untrusted data. */
export interface Peer {
  client: string;
  name: string;
  color: string;
  sel: Selection | null;
}

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
  /** token is sent in hello as credentials. */
  token?: string;
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

type Listeners = { [K in keyof ClientEvents]: Set<ClientEvents[K]> };

/** CowriteClient edits one document live. See session/PROTOCOL.md §5-6. */
export class CowriteClient {
  private readonly listeners: Listeners = {
    ready: new Set(), remote: new Set(), reset: new Set(), status: new Set(),
    presence: new Set(), leave: new Set(), error: new Set(),
  };
  private readonly opts: ClientOptions;
  private doc = new Delta();
  private st: Status = { state: 'connecting', pending: 0, access: 'edit' };
  private id = '';

  constructor(opts: ClientOptions) {
    this.opts = opts;
  }

  /** document is the local document: the server's with the unacknowledged edits on top. */
  get document(): Delta {
    return this.doc;
  }

  get status(): Status {
    return this.st;
  }

  /** clientId is this session's client id ('' before start resolves). */
  get clientId(): string {
    return this.id;
  }

  /** peers is everyone else here. */
  get peers(): Peer[] {
    return [];
  }

  /** start loads the journal and connects; it resolves with the document once it is loaded. */
  async start(): Promise<Delta> {
    void this.opts;
    return this.doc;
  }

  /** submit takes a local edit, already applied by the editor to document. */
  submit(change: Delta): void {
    void change;
  }

  /** setPresence sets this user's selection, or null when the editor lost focus. */
  setPresence(sel: Selection | null): void {
    void sel;
  }

  /** on adds a listener and returns a function that removes it. */
  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void {
    const set = this.listeners[event] as Set<ClientEvents[K]>;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** destroy disconnects for good; unsent edits stay in the journal. */
  destroy(): void {}

  /** stop is destroy. */
  stop(): void {
    this.destroy();
  }
}
