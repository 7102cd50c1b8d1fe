// Package-level entry of Cowrite's browser client library: the protocol of
// session/PROTOCOL.md, the client state machine, recovery and the
// IndexedDB journal of unsent edits. It does no DOM rendering: an editor
// binding (web/src/editor/collab.ts) feeds it local edits and applies what
// it reports.

export { CowriteClient, tokenClaims, tokenExpiry, unsentEdits } from './client.js';
export type {
  Access,
  Author,
  ClientEvents,
  ClientOptions,
  ErrorEvent,
  Offered,
  Peer,
  ResetEvent,
  Selection,
  State,
  Status,
  TokenProvider,
} from './client.js';
export { installBeforeUnloadGuard } from './guard.js';
export { IndexedDBJournal, MemoryJournal } from './journal.js';
export type { Journal, JournalHead, JournalInflight, JournalRecord, JournalWrite } from './journal.js';
