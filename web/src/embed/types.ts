// The public types of Cowrite's embeddable editor: what Cowrite.mount
// (embed.js), mount (cowrite.mjs) and the iframe's messages carry. This
// file stands alone (web/build.mjs turns it into cowrite.d.ts), so it
// imports nothing.

/** One operation of a Quill delta. */
export interface DeltaOp {
  insert?: string | Record<string, unknown>;
  retain?: number | Record<string, unknown>;
  delete?: number;
  attributes?: Record<string, unknown> | null;
}

/** A change or a whole document, as a Quill delta. */
export interface Delta {
  ops: DeltaOp[];
}

/** Who the editor's user is: shown to everyone else beside their caret. */
export interface User {
  /** The display name, at most 64 characters. */
  name: string;
  /** The colour of the caret and name flag, "#rrggbb". Default: one picked at random. */
  color?: string;
}

/** Returns the current token, fetched or cached by the host page. */
export type TokenProvider = () => string | Promise<string>;

export interface MountOptions {
  /** The Cowrite server's base URL, such as "https://cowrite.example.com". Default: the origin embed.js was loaded from. */
  server?: string;
  /** The document's id: 1 to 128 of A-Z a-z 0-9 . _ -, not starting with a dot. */
  doc: string;
  /** Default: a guest with a random colour. */
  user?: User;
  /** Show the document without letting the user change it. Default false. */
  readOnly?: boolean;
  /** Show the formatting toolbar. Default true. */
  toolbar?: boolean;
  /**
   * Credentials for servers that want them (a JWT), sent in the protocol's
   * hello, never in a URL. Either the token, or a function that returns the
   * current one (a TokenProvider): the editor calls it before connecting,
   * about a minute before the token's exp (and sends a newer token it
   * returns on the live connection), and when the server ends the
   * connection for an expired token. Return the same token while it is
   * still good. A plain string is not refreshed: at its expiry the editor
   * stops with status "error", code "token_expired".
   */
  token?: string | TokenProvider;
  /** Text shown while the document is empty. */
  placeholder?: string;
  /** Load the editor's style sheet (SERVER/embed.css) into the page. Default true. */
  css?: boolean;
}

/** The connection's state, as the status indicator shows it. */
export type State = 'connecting' | 'saved' | 'saving' | 'offline' | 'read-only' | 'error';

export interface StatusEvent {
  state: State;
  /** Edits not yet saved on the server. */
  pending: number;
  /** A readable explanation, for error states. */
  message?: string;
  /**
   * Why the editor stopped, in the "error" state: "token_expired" (no
   * newer token to be had), "revoked", "unauthorized", "not_found", ...
   * Edits not yet saved stay in the browser and are sent by the next
   * editor of the document that can connect.
   */
  code?: string;
}

export interface ReadyEvent {
  doc: string;
  /** The document's length in UTF-16 code units, its final newline included. */
  length: number;
}

export interface ChangeEvent {
  /** The change; for "reset", the whole document. */
  delta: Delta;
  /** Who made it: this user, someone else, or a reload of the whole document. */
  source: 'local' | 'remote' | 'reset';
  length: number;
}

export interface PresenceUser {
  id: string;
  name: string;
  color: string;
  /** Their selection in the document, or null when they have none. */
  selection: { index: number; length: number } | null;
}

export interface PresenceEvent {
  /** Everyone else in the document. */
  users: PresenceUser[];
}

export interface ErrorEvent {
  code: string;
  message: string;
}

export interface EventMap {
  ready: ReadyEvent;
  change: ChangeEvent;
  status: StatusEvent;
  presence: PresenceEvent;
  error: ErrorEvent;
}

export type EventName = keyof EventMap;

/** The message an embed iframe (/embed/DOC) posts to its host page. */
export interface FrameMessage<K extends EventName = EventName> {
  source: 'cowrite';
  doc: string;
  type: K;
  detail: EventMap[K];
}

/**
 * The message an embed iframe opened with tokens=host (/embed/DOC?tokens=host)
 * posts to its host page when it needs a token: before connecting, and
 * before the current one expires. The host answers with a TokenReply.
 */
export interface TokenRequest {
  source: 'cowrite';
  doc: string;
  type: 'token-request';
  /** Echoed in the reply. */
  id: number;
}

/** The host page's answer to a TokenRequest, posted to the iframe's window with the server's origin as target. */
export interface TokenReply {
  source: 'cowrite-host';
  type: 'token';
  id: number;
  /** The current token; the same one while it is still good. */
  token: string;
}

/** A mounted editor. */
export interface CowriteHandle {
  /** on calls fn for every event of that name; it returns a function that stops that. */
  on<K extends EventName>(event: K, fn: (e: EventMap[K]) => void): () => void;
  off<K extends EventName>(event: K, fn: (e: EventMap[K]) => void): void;
  /** The document as the editor shows it, unsaved edits included. */
  getContents(): Delta;
  getText(): string;
  focus(): void;
  /** destroy disconnects and empties the element. Unsaved edits stay in the browser and are sent next time. */
  destroy(): void;
}
