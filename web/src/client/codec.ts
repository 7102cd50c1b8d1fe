// The wire codec: client messages to msgpack frames, server frames to
// checked messages. Keys, types and limits are those of session/PROTOCOL.md
// §2-3. Everything from the network is untrusted: a server frame that is
// not what the protocol says is refused with a CodecError, never half-used.

import { Decoder, Encoder } from '@msgpack/msgpack';
import Delta from 'quill-delta';
import type { Op } from 'quill-delta';

/** PROTOCOL_VERSION is the protocol version this client speaks (hello.v). */
export const PROTOCOL_VERSION = 1;

/** MAX_FRAME is the largest server frame read, as the Go client's read limit. */
export const MAX_FRAME = 64 << 20;

/** MAX_DEPTH is how deeply server frames may nest maps and arrays. */
export const MAX_DEPTH = 80;

const MAX_INT = Number.MAX_SAFE_INTEGER;
const MAX_COUNT = 2 ** 40;

/** CodecError reports a frame that breaks the protocol; code is the protocol's error code for it. */
export class CodecError extends Error {
  readonly code: 'bad_frame' | 'bad_message' | 'bad_delta' | 'unknown_type';
  constructor(code: CodecError['code'], message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}

// Client → server.

export interface Hello {
  t: 'hello';
  client: string;
  /** rev is -1 for none. */
  rev: number;
  epoch?: string;
  /** pending is the seq of the oldest unacknowledged op, 0 for none. */
  pending?: number;
  token?: string;
  name?: string;
  color?: string;
}

export interface SubmitOp {
  t: 'op';
  seq: number;
  rev: number;
  delta: Delta;
}

export interface SetPresence {
  t: 'presence';
  sel: Selection | null;
}

/** Auth hands the server a fresh token for the same user (PROTOCOL.md, auth). */
export interface Auth {
  t: 'auth';
  token: string;
}

export type ClientMessage = Hello | SubmitOp | SetPresence | Auth;

// Server → client.

/** RemoteOp is a sequenced op: revision rev, made by client (its seq-th op) whose name is author. */
export interface RemoteOp {
  rev: number;
  delta: Delta;
  client: string;
  seq: number;
  author: string;
}

/** Selection is a caret (length 0) or a selection, in UTF-16 units. */
export interface Selection {
  index: number;
  length: number;
}

/** PresenceInfo is someone's selection, with who they are; name and color are untrusted data. */
export interface PresenceInfo {
  client: string;
  name: string;
  color: string;
  sel: Selection | null;
}

export interface Welcome {
  t: 'welcome';
  epoch: string;
  rev: number;
  ops: RemoteOp[];
  snapshot: Delta | null;
  reset: boolean;
  seq: number;
  presence: PresenceInfo[];
  /** access is 'edit' or 'view'; anything else reads as 'view'. */
  access: 'edit' | 'view';
}

export interface Ack {
  t: 'ack';
  seq: number;
  rev: number;
}

/** Authed: the refreshed token is in force until exp (Unix seconds, the server's leeway included; 0 in open mode). */
export interface Authed {
  t: 'authed';
  exp: number;
}

export type ServerMessage =
  | Welcome
  | Ack
  | Authed
  | ({ t: 'op' } & RemoteOp)
  | ({ t: 'presence' } & PresenceInfo)
  | { t: 'leave'; client: string }
  | { t: 'error'; code: string; msg: string; seq: number };

const encoder = new Encoder({ ignoreUndefined: true });

const COLOR = /^#[0-9a-fA-F]{6}$/;

/**
 * encodeClient makes the frame of a client message. Optional hello fields
 * that are empty are left out, and hello's name and colour are trimmed to
 * what the server accepts (64 code points, "#rrggbb"), so that a user's
 * odd choice cannot get the connection refused.
 */
export function encodeClient(m: ClientMessage): Uint8Array<ArrayBuffer> {
  switch (m.t) {
    case 'hello': {
      const h: Record<string, unknown> = { t: 'hello', v: PROTOCOL_VERSION, client: m.client };
      if (m.rev >= 0) {
        h.rev = m.rev;
        if (m.epoch) h.epoch = m.epoch;
      }
      if (m.pending) h.pending = m.pending;
      if (m.token) h.token = m.token;
      const name = m.name ? [...m.name].slice(0, 64).join('') : '';
      if (name) h.name = name;
      if (m.color && COLOR.test(m.color)) h.color = m.color;
      return encoder.encode(h);
    }
    case 'op':
      return encoder.encode({ t: 'op', seq: m.seq, rev: m.rev, delta: { ops: m.delta.ops } });
    case 'presence':
      return encoder.encode({ t: 'presence', sel: m.sel ? { index: m.sel.index, length: m.sel.length } : null });
    case 'auth':
      return encoder.encode({ t: 'auth', token: m.token });
  }
}

const decoder = new Decoder({
  mapKeyConverter: (k: unknown) => {
    if (typeof k !== 'string') throw new CodecError('bad_frame', 'a map key is not a string');
    return k;
  },
});

type Obj = Record<string, unknown>;

/** decodeServer checks and decodes one server frame. It throws CodecError. */
export function decodeServer(frame: ArrayBuffer | Uint8Array): ServerMessage {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  if (bytes.byteLength === 0) throw new CodecError('bad_frame', 'empty frame');
  if (bytes.byteLength > MAX_FRAME) throw new CodecError('bad_frame', `frame of ${bytes.byteLength} bytes is over the limit`);
  if (!isMapHead(bytes[0])) throw new CodecError('bad_frame', 'frame is not a msgpack map');
  let v: unknown;
  try {
    v = decoder.decode(bytes);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError('bad_frame', `not one msgpack map: ${(err as Error).message}`);
  }
  checkPlain(v, 1);
  const m = v as Obj;
  const t = m.t;
  if (typeof t !== 'string') throw new CodecError('bad_message', 'no message type');
  switch (t) {
    case 'welcome':
      return {
        t,
        epoch: str(m, 'epoch', 128),
        rev: int(m, 'rev', 0, true),
        ops: list(m, 'ops').map((o, i) => remote(asMap(o, `ops[${i}]`))),
        snapshot: m.snapshot == null ? null : documentOf(m.snapshot),
        reset: bool(m, 'reset'),
        seq: int(m, 'seq', 0, false),
        presence: list(m, 'presence').map((p, i) => presence(asMap(p, `presence[${i}]`))),
        access: m.access === 'edit' ? 'edit' : 'view',
      };
    case 'ack':
      return { t, seq: int(m, 'seq', 1, true), rev: int(m, 'rev', 1, true) };
    case 'op':
      return { t, ...remote(m) };
    case 'presence':
      return { t, ...presence(m) };
    case 'leave':
      return { t, client: reqStr(m, 'client', 64) };
    case 'authed':
      return { t, exp: int(m, 'exp', 0, true) };
    case 'error':
      return { t, code: reqStr(m, 'code', 64), msg: str(m, 'msg', 4096), seq: int(m, 'seq', 0, false) };
    default:
      throw new CodecError('unknown_type', `unknown message type ${JSON.stringify(t.slice(0, 32))}`);
  }
}

function isMapHead(b: number): boolean {
  return (b & 0xf0) === 0x80 || b === 0xde || b === 0xdf;
}

/**
 * checkPlain makes sure v holds only JSON-like values (no binary, no
 * extension types, no timestamps) and nests at most MAX_DEPTH deep.
 */
function checkPlain(v: unknown, depth: number): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CodecError('bad_frame', 'a number is NaN or infinite');
    return;
  }
  if (typeof v !== 'object') throw new CodecError('bad_frame', `a ${typeof v} value`);
  if (depth > MAX_DEPTH) throw new CodecError('bad_frame', `nested more than ${MAX_DEPTH} deep`);
  if (Array.isArray(v)) {
    for (const x of v) checkPlain(x, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) {
    throw new CodecError('bad_frame', 'binary or extension value');
  }
  for (const k in v) checkPlain((v as Obj)[k], depth + 1);
}

function asMap(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CodecError('bad_message', `${what} is not a map`);
  return v as Obj;
}

function int(m: Obj, k: string, min: number, required: boolean): number {
  const v = m[k];
  if (v == null) {
    if (required) throw new CodecError('bad_message', `${k} missing`);
    return min > 0 ? 0 : min;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_INT) {
    throw new CodecError('bad_message', `${k} is not a whole number from ${min} to 2^53-1`);
  }
  return v;
}

function str(m: Obj, k: string, max: number): string {
  const v = m[k];
  if (v == null) return '';
  if (typeof v !== 'string') throw new CodecError('bad_message', `${k} is not a string`);
  if (v.length > max) throw new CodecError('bad_message', `${k} is longer than ${max}`);
  return v;
}

function reqStr(m: Obj, k: string, max: number): string {
  const v = str(m, k, max);
  if (v === '') throw new CodecError('bad_message', `${k} missing`);
  return v;
}

function bool(m: Obj, k: string): boolean {
  const v = m[k];
  if (v == null) return false;
  if (typeof v !== 'boolean') throw new CodecError('bad_message', `${k} is not a boolean`);
  return v;
}

function list(m: Obj, k: string): unknown[] {
  const v = m[k];
  if (v == null) return [];
  if (!Array.isArray(v)) throw new CodecError('bad_message', `${k} is not an array`);
  return v;
}

function remote(m: Obj): RemoteOp {
  if (m.delta == null) throw new CodecError('bad_message', 'delta missing');
  return {
    rev: int(m, 'rev', 1, true),
    delta: deltaOf(m.delta),
    client: str(m, 'client', 64),
    seq: int(m, 'seq', 0, false),
    author: str(m, 'author', 1024),
  };
}

function presence(m: Obj): PresenceInfo {
  let sel: PresenceInfo['sel'] = null;
  if (m.sel != null) {
    const s = asMap(m.sel, 'sel');
    sel = { index: count(s.index, 'sel.index', 0), length: count(s.length, 'sel.length', 0) };
  }
  return { client: reqStr(m, 'client', 64), name: str(m, 'name', 1024), color: str(m, 'color', 64), sel };
}

function count(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_COUNT) {
    throw new CodecError(what.startsWith('sel') ? 'bad_message' : 'bad_delta', `${what} is not a whole number from ${min} to 2^40`);
  }
  return v;
}

/**
 * deltaOf checks a delta ({ops: [...]} or a bare list of ops) and returns
 * it as a quill-delta Delta, in canonical form (null attributes dropped,
 * neighbours merged).
 */
export function deltaOf(v: unknown): Delta {
  let ops: unknown = v;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) ops = (v as Obj).ops ?? [];
  if (!Array.isArray(ops)) throw new CodecError('bad_delta', 'ops is not an array');
  const d = new Delta();
  ops.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CodecError('bad_delta', `op ${i} is not a map`);
    const o = raw as Obj;
    const op: Op = {};
    let kinds = 0;
    for (const k of Object.keys(o)) {
      if (o[k] == null) continue;
      switch (k) {
        case 'insert':
          kinds++;
          if (typeof o.insert === 'string') {
            if (o.insert === '') throw new CodecError('bad_delta', `op ${i}: empty insert`);
            op.insert = o.insert;
          } else if (o.insert !== null && typeof o.insert === 'object' && !Array.isArray(o.insert) && Object.keys(o.insert).length === 1) {
            op.insert = o.insert as Record<string, unknown>;
          } else {
            throw new CodecError('bad_delta', `op ${i}: insert is neither text nor an embed with one key`);
          }
          break;
        case 'retain':
          kinds++;
          op.retain = count(o.retain, `op ${i}: retain`, 1);
          break;
        case 'delete':
          kinds++;
          op.delete = count(o.delete, `op ${i}: delete`, 1);
          break;
        case 'attributes':
          if (typeof o.attributes !== 'object' || Array.isArray(o.attributes)) {
            throw new CodecError('bad_delta', `op ${i}: attributes is not a map`);
          }
          if (Object.keys(o.attributes as object).length > 0) op.attributes = o.attributes as Op['attributes'];
          break;
        default:
          throw new CodecError('bad_delta', `op ${i}: unknown key ${JSON.stringify(k.slice(0, 32))}`);
      }
    }
    if (kinds !== 1) throw new CodecError('bad_delta', `op ${i}: needs exactly one of insert, retain, delete`);
    if (op.delete !== undefined && op.attributes) throw new CodecError('bad_delta', `op ${i}: a delete has no attributes`);
    d.push(op);
  });
  return d;
}

/** documentOf is deltaOf for a document: inserts only. */
function documentOf(v: unknown): Delta {
  const d = deltaOf(v);
  if (d.ops.some((op) => op.insert === undefined)) {
    throw new CodecError('bad_delta', 'snapshot is not a document: it holds a retain or a delete');
  }
  return d;
}
