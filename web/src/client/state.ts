// The client state machine of PROTOCOL.md §5-6, without I/O: what the
// client knows of the document and its own edits, and how each message
// from the server changes it. client.ts drives it (sockets, timers, the
// journal); the tests drive it directly too.
//
// Deltas are treated as immutable values: every change makes new ones.

import Delta from 'quill-delta';

import type { PresenceInfo, RemoteOp, Selection, SubmitOp, Welcome } from './codec.js';
import type { JournalRecord, JournalWrite } from './journal.js';

/** Inflight is the op sent and not yet acknowledged. */
export interface Inflight {
  seq: number;
  /** base and sent are the op exactly as first sent: resends must be identical. */
  base: number;
  sent: Delta;
  /** delta is sent transformed over every op received since: what it does to confirmed. */
  delta: Delta;
  /** count is the number of local edits composed into it. */
  count: number;
}

/** Applied is a remote op as the local document takes it. */
export interface Applied {
  delta: Delta;
  author: { client: string; name: string };
}

/**
 * WelcomeResult says what a welcome did:
 *  - fresh: the first load (the client had no document);
 *  - catchup: the ops it missed were applied (each in applied); resync is
 *    set when they did not add up, and the client must reload (rev -1);
 *  - rebase: the document was replaced by a snapshot of the same history,
 *    and the pending edits were moved onto it (changed: the local document
 *    is not what it was);
 *  - epoch: the history was replaced; the pending edits could not be kept
 *    and are in unsent.
 */
export type WelcomeResult =
  | { kind: 'fresh' }
  | { kind: 'catchup'; applied: Applied[]; resync: boolean }
  | { kind: 'rebase'; changed: boolean }
  | { kind: 'epoch'; unsent: Delta[] };

/** RemoteResult: the op was applied (Applied), was the in-flight op's echo, was already known, or does not fit. */
export type RemoteResult = Applied | 'own' | 'old' | 'gap' | 'bad';

const empty = () => new Delta();

/**
 * The journal's confirmed document is rewritten whole once the ops logged
 * since it number more than LOG_OPS, or weigh more than the document (and
 * LOG_SIZE): a write then costs, on average, about what its change weighs.
 */
const LOG_OPS = 500;
const LOG_SIZE = 32 * 1024;
/** The journal's head is rewritten once more than LOG_EDITS local edits were logged since it. */
const LOG_EDITS = 200;

/** Unjournalled is what changed since the last journal write. */
interface Unjournalled {
  /** doc: the confirmed document was replaced; else ops are its changes. */
  doc: boolean;
  ops: { rev: number; delta: Delta }[];
  /** head: seq, rev, the in-flight op or the buffer changed; else edits are the local edits. */
  head: boolean;
  edits: Delta[];
  /** The journal holds opsLogged ops of about opsSize after its document, and editsLogged edits after its head. */
  opsLogged: number;
  opsSize: number;
  editsLogged: number;
}

/** DocState is one client session's view of one document. */
export class DocState {
  readonly clientId: string;
  /** seq is the last seq used. */
  seq = 0;
  /** rev is the last revision applied; -1 before the document is loaded. */
  rev = -1;
  epoch = '';
  /** confirmed is the document at rev. */
  confirmed: Delta = empty();
  inflight: Inflight | null = null;
  buffer: Delta = empty();
  bufferCount = 0;
  /** sel is this client's own selection, in the local document. */
  sel: Selection | null = null;
  /** others is everyone else's presence, moved onto the local document. */
  readonly others = new Map<string, PresenceInfo>();

  private confirmedLength = 0;
  private localLength = 0;
  private doc: Delta | null = null;
  private j: Unjournalled = { doc: true, ops: [], head: true, edits: [], opsLogged: 0, opsSize: 0, editsLogged: 0 };

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** loaded reports whether the client has a document. */
  get loaded(): boolean {
    return this.rev >= 0;
  }

  /** pending is the number of local edits the server has not acknowledged. */
  get pending(): number {
    return (this.inflight?.count ?? 0) + this.bufferCount;
  }

  /** length is the local document's length. */
  get length(): number {
    return this.localLength;
  }

  /** document is confirmed with the in-flight op and the buffer applied: what the editor shows. */
  get document(): Delta {
    if (!this.doc) {
      let d = this.confirmed;
      if (this.inflight) d = d.compose(this.inflight.delta);
      if (this.buffer.ops.length > 0) d = d.compose(this.buffer);
      this.doc = d;
    }
    return this.doc;
  }

  /** load makes doc, at rev and epoch, the confirmed document, with nothing pending. */
  load(doc: Delta, rev: number, epoch: string): void {
    this.confirmed = doc;
    this.confirmedLength = doc.length();
    this.rev = rev;
    this.epoch = epoch;
    this.inflight = null;
    this.buffer = empty();
    this.bufferCount = 0;
    this.localLength = this.confirmedLength;
    this.doc = doc;
    this.j.doc = true;
    this.j.ops = [];
    this.touched();
  }

  /** local takes a local edit, made on document. It throws if the edit does not fit. */
  local(change: Delta): void {
    const base = baseLength(change);
    if (base > this.localLength) {
      throw new RangeError(`cowrite: an edit of a ${base}-long document on a ${this.localLength}-long one`);
    }
    this.buffer = this.buffer.compose(change);
    this.bufferCount++;
    this.editedBy(change);
    this.localLength += change.changeLength();
    this.doc = null; // made again when asked: the editor has its own copy
    this.moveOthers(change);
    if (this.sel) this.sel = moveSelection(this.sel, change);
  }

  /**
   * takeOp makes the buffer the in-flight op, with the next seq, and
   * returns it to send. Null when an op is in flight or nothing is buffered.
   */
  takeOp(): SubmitOp | null {
    if (this.inflight || this.buffer.ops.length === 0) return null;
    this.seq++;
    this.inflight = { seq: this.seq, base: this.rev, sent: this.buffer, delta: this.buffer, count: this.bufferCount };
    this.buffer = empty();
    this.bufferCount = 0;
    this.touched();
    return this.resend();
  }

  /** resend returns the in-flight op exactly as first sent, or null. */
  resend(): SubmitOp | null {
    const f = this.inflight;
    return f && { t: 'op', seq: f.seq, rev: f.base, delta: f.sent };
  }

  /**
   * ack takes the server's acknowledgement. 'stale' for an ack of no op in
   * flight (a duplicate); 'gap' when its revision is not the next one, so
   * that the client has missed ops and must reload.
   */
  ack(seq: number, rev: number): 'ok' | 'stale' | 'gap' {
    const f = this.inflight;
    if (!f || seq !== f.seq) return 'stale';
    if (rev !== this.rev + 1) return 'gap';
    this.confirmed = this.confirmed.compose(f.delta);
    this.confirmedLength += f.delta.changeLength();
    this.rev = rev;
    this.inflight = null;
    this.confirmedBy(f.delta);
    return 'ok';
  }

  /**
   * remote applies a sequenced op (§6.4): the op and the pending edits are
   * transformed past each other, the server's op winning ties. The
   * client's own in-flight op, met again in a catch-up, counts as its ack.
   */
  remote(op: RemoteOp): RemoteResult {
    if (op.rev <= this.rev) return 'old';
    if (op.rev !== this.rev + 1) return 'gap';
    const f = this.inflight;
    if (f && op.client === this.clientId && op.seq === f.seq) {
      return this.ack(op.seq, op.rev) === 'ok' ? 'own' : 'gap';
    }
    if (baseLength(op.delta) > this.confirmedLength) return 'bad';
    this.confirmed = this.confirmed.compose(op.delta);
    this.confirmedLength += op.delta.changeLength();
    let x = op.delta;
    if (f) {
      const a = f.delta;
      f.delta = x.transform(a, true);
      x = a.transform(x, false);
    }
    if (this.buffer.ops.length > 0) {
      const b = this.buffer;
      this.buffer = x.transform(b, true);
      x = b.transform(x, false);
    }
    this.rev = op.rev;
    this.confirmedBy(op.delta);
    this.localLength += x.changeLength();
    this.doc = null;
    this.moveOthers(x);
    if (this.sel) this.sel = moveSelection(this.sel, x);
    return { delta: x, author: { client: op.client, name: op.author } };
  }

  /** welcome takes the server's welcome (§6.6). The caller then resends (resend, takeOp). */
  welcome(w: Welcome): WelcomeResult {
    this.others.clear();
    // Never reuse a seq the server has seen, whatever the journal says.
    if (w.seq > this.seq) {
      this.seq = w.seq;
      this.touched();
    }
    if (!this.loaded) {
      // A client without a revision gets a snapshot; only an empty
      // document at revision 0 may come without one.
      if (!w.snapshot && w.rev !== 0) return { kind: 'catchup', applied: [], resync: true };
      this.load(w.snapshot ?? empty(), w.rev, w.epoch);
      return { kind: 'fresh' };
    }
    if (w.epoch !== this.epoch) {
      if (!w.snapshot) return { kind: 'catchup', applied: [], resync: true };
      const unsent = this.setAside();
      this.load(w.snapshot, w.rev, w.epoch);
      return { kind: 'epoch', unsent };
    }
    if (w.snapshot) {
      const changed = this.rebase(w.snapshot, w.seq);
      this.rev = w.rev; // the journal takes rev with the document, which load marked
      return { kind: 'rebase', changed };
    }
    const applied: Applied[] = [];
    for (const op of w.ops) {
      const r = this.remote(op);
      if (r === 'gap' || r === 'bad') return { kind: 'catchup', applied, resync: true };
      if (typeof r === 'object') applied.push(r);
    }
    // The ops must bring the client to the welcome's revision, and an
    // applied in-flight op must have been among them (§6.6 step 2).
    const resync = this.rev !== w.rev || (this.inflight !== null && this.inflight.seq <= w.seq);
    return { kind: 'catchup', applied, resync };
  }

  /**
   * rebase moves the pending edits onto snapshot, when the ops in between
   * are not available: the difference between what the client had and the
   * snapshot stands in for them. appliedSeq is the highest seq the server
   * applied from this client: an in-flight op at or below it is in the
   * snapshot already. The rebased edits become the buffer, to go as a new op.
   * It reports whether the local document changed.
   */
  private rebase(snapshot: Delta, appliedSeq: number): boolean {
    let base = this.confirmed;
    let pending = this.buffer;
    let count = this.bufferCount;
    const f = this.inflight;
    if (f && f.seq <= appliedSeq) {
      base = base.compose(f.delta);
    } else if (f) {
      pending = f.delta.compose(this.buffer);
      count += f.count;
    }
    const d = base.diff(snapshot);
    pending = d.transform(pending, true);
    const sel = this.sel && moveSelection(this.sel, d);
    this.load(snapshot, this.rev, this.epoch);
    this.sel = sel;
    if (pending.ops.length > 0) {
      this.buffer = pending;
      this.bufferCount = Math.max(count, 1);
      this.localLength += pending.changeLength();
      this.doc = null;
    }
    return d.ops.length > 0;
  }

  /**
   * renewInflight makes the in-flight op's current form the one to send,
   * on the current revision: for an op the server refused without applying
   * it (internal, rate_limited), so that the resend needs no old history.
   */
  renewInflight(): void {
    const f = this.inflight;
    if (!f) return;
    f.base = this.rev;
    f.sent = f.delta;
    this.touched();
  }

  /**
   * setAside takes the pending edits out of the document, which goes back
   * to confirmed, and returns them: the in-flight op's delta (on confirmed),
   * then the buffer (on confirmed with the in-flight op).
   */
  setAside(): Delta[] {
    const out: Delta[] = [];
    if (this.inflight) out.push(this.inflight.delta);
    if (this.buffer.ops.length > 0) out.push(this.buffer);
    this.inflight = null;
    this.buffer = empty();
    this.bufferCount = 0;
    this.localLength = this.confirmedLength;
    this.doc = this.confirmed;
    this.touched();
    return out;
  }

  /**
   * setOther records someone's presence. The server sends selections at its
   * revision; they are moved through the pending edits, which the local
   * document has on top.
   */
  setOther(p: PresenceInfo): PresenceInfo {
    let sel = p.sel;
    if (sel && this.inflight) sel = moveSelection(sel, this.inflight.delta);
    if (sel && this.buffer.ops.length > 0) sel = moveSelection(sel, this.buffer);
    const q = { client: p.client, name: p.name, color: p.color, sel };
    this.others.set(p.client, q);
    return q;
  }

  private moveOthers(x: Delta): void {
    for (const p of this.others.values()) {
      if (p.sel) p.sel = moveSelection(p.sel, x);
    }
  }

  /**
   * journalWrite returns what changed since the last call, as a journal
   * write, or null when nothing did (or there is no document yet). The
   * journal must store every write it returns, in order: the next ones
   * build on it.
   */
  journalWrite(scope: string, now: number): JournalWrite | null {
    const j = this.j;
    if (!this.loaded || (!j.doc && !j.head && j.ops.length === 0 && j.edits.length === 0)) return null;
    if (!j.doc) {
      let size = j.opsSize;
      for (const o of j.ops) size += deltaSize(o.delta);
      const n = j.opsLogged + j.ops.length;
      if (n > LOG_OPS || size > Math.max(LOG_SIZE, this.confirmedLength)) j.doc = true;
      else {
        j.opsLogged = n;
        j.opsSize = size;
      }
    }
    if (!j.head && j.editsLogged + j.edits.length > LOG_EDITS) j.head = true;
    const w: JournalWrite = { scope, client: this.clientId, updated: now, ops: [], edits: [] };
    if (j.doc) {
      w.doc = { rev: this.rev, epoch: this.epoch, confirmed: this.confirmed.ops };
      j.opsLogged = j.opsSize = 0;
    } else {
      w.ops = j.ops.map((o) => ({ rev: o.rev, delta: o.delta.ops }));
    }
    if (j.head) {
      const f = this.inflight;
      w.head = {
        seq: this.seq,
        rev: this.rev,
        epoch: this.epoch,
        inflight: f && { seq: f.seq, base: f.base, sent: f.sent.ops, delta: f.delta.ops, count: f.count },
        buffer: this.buffer.ops,
        bufferCount: this.bufferCount,
      };
      j.editsLogged = 0;
    } else {
      w.edits = j.edits.map((d, i) => ({ n: j.editsLogged + i, delta: d.ops }));
      j.editsLogged += j.edits.length;
    }
    j.doc = j.head = false;
    j.ops = [];
    j.edits = [];
    return w;
  }

  /**
   * confirmedBy notes, for the journal, that delta made the confirmed
   * document's revision rev. (Past LOG_OPS the document will be written
   * whole: without a journal to take them, the notes do not pile up.)
   */
  private confirmedBy(delta: Delta): void {
    const j = this.j;
    if (!j.doc) {
      j.ops.push({ rev: this.rev, delta });
      if (j.opsLogged + j.ops.length > LOG_OPS) {
        j.doc = true;
        j.ops = [];
      }
    }
    this.touched();
  }

  /** editedBy notes, for the journal, a local edit (past LOG_EDITS, the head will be written whole). */
  private editedBy(change: Delta): void {
    const j = this.j;
    if (j.head) return;
    j.edits.push(change);
    if (j.editsLogged + j.edits.length > LOG_EDITS) this.touched();
  }

  /** touched notes, for the journal, that the head changed otherwise than by a local edit. */
  private touched(): void {
    this.j.head = true;
    this.j.edits = [];
  }

  /** fromRecord restores a state from its journal record. */
  static fromRecord(r: JournalRecord): DocState {
    const s = new DocState(r.client);
    s.load(new Delta(r.confirmed), r.rev, r.epoch);
    s.seq = r.seq;
    if (r.inflight) {
      const f = r.inflight;
      s.inflight = { seq: f.seq, base: f.base, sent: new Delta(f.sent), delta: new Delta(f.delta), count: f.count };
      s.localLength += s.inflight.delta.changeLength();
    }
    s.buffer = new Delta(r.buffer);
    s.bufferCount = r.bufferCount;
    s.localLength += s.buffer.changeLength();
    s.doc = null;
    // The journal has this state: only the head is written again, with
    // the next change, so that the edits logged after it start over.
    s.j = { doc: false, ops: [], head: true, edits: [], opsLogged: 0, opsSize: 0, editsLogged: 0 };
    return s;
  }
}

/** pendingOf is the number of unacknowledged edits a record holds. */
export function pendingOf(r: JournalRecord): number {
  return (r.inflight?.count ?? 0) + r.bufferCount;
}

/** baseLength is the length of the document a delta applies to (at least). */
export function baseLength(d: Delta): number {
  let n = 0;
  for (const op of d.ops) {
    if (typeof op.retain === 'number') n += op.retain;
    else if (op.retain) n += 1;
    else if (op.delete) n += op.delete;
  }
  return n;
}

/** moveSelection moves a selection through a change to the document it is on. */
export function moveSelection(sel: Selection, x: Delta): Selection {
  const start = x.transformPosition(sel.index);
  const end = x.transformPosition(sel.index + sel.length);
  return { index: start, length: Math.max(end - start, 0) };
}

/** insertedText is the text that edits insert, for offering them back to a person. */
export function insertedText(edits: Delta[]): string {
  let s = '';
  for (const d of edits) {
    for (const op of d.ops) if (typeof op.insert === 'string') s += op.insert;
  }
  return s;
}

/** deltaSize is about how much a delta weighs in the journal, in characters. */
function deltaSize(d: Delta): number {
  let n = 0;
  for (const op of d.ops) {
    n += 8;
    if (typeof op.insert === 'string') n += op.insert.length;
    else if (op.insert) n += 16;
    if (op.attributes) n += 16;
  }
  return n;
}
