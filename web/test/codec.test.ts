import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decode, encode } from '@msgpack/msgpack';
import Delta from 'quill-delta';

import { CodecError, decodeServer, deltaOf, encodeClient, MAX_DEPTH } from '../src/client/codec.js';
import { seeded } from './fakes.js';

describe('encodeClient', () => {
  it('writes hello with every field', () => {
    const m = decode(encodeClient({ t: 'hello', client: 'abc', rev: 41, epoch: '9f2c', pending: 7, token: 'tok', name: 'Ann', color: '#e91e63' }));
    assert.deepEqual(m, { t: 'hello', v: 1, client: 'abc', rev: 41, epoch: '9f2c', pending: 7, token: 'tok', name: 'Ann', color: '#e91e63' });
  });

  it('leaves out what a fresh hello does not have', () => {
    const m = decode(encodeClient({ t: 'hello', client: 'abc', rev: -1, epoch: 'ignored', pending: 0, name: '', color: '' }));
    assert.deepEqual(m, { t: 'hello', v: 1, client: 'abc' });
  });

  it('trims the name to 64 code points and drops a colour that is not #rrggbb', () => {
    const long = '😀'.repeat(70);
    const m = decode(encodeClient({ t: 'hello', client: 'c', rev: -1, name: long, color: 'red; x' })) as Record<string, unknown>;
    assert.equal([...(m.name as string)].length, 64);
    assert.equal(m.color, undefined);
  });

  it('writes an op with its delta as {ops}', () => {
    const delta = new Delta().retain(3).insert('hi', { bold: true }).retain(2, { italic: null }).delete(1);
    const m = decode(encodeClient({ t: 'op', seq: 8, rev: 41, delta }));
    assert.deepEqual(m, { t: 'op', seq: 8, rev: 41, delta: { ops: delta.ops } });
  });

  it('writes presence with a selection or nil', () => {
    assert.deepEqual(decode(encodeClient({ t: 'presence', sel: { index: 3, length: 2 } })), { t: 'presence', sel: { index: 3, length: 2 } });
    assert.deepEqual(decode(encodeClient({ t: 'presence', sel: null })), { t: 'presence', sel: null });
  });
});

describe('decodeServer', () => {
  const op = { rev: 42, delta: { ops: [{ retain: 2 }, { insert: 'x' }] }, client: 'k3', seq: 9, author: 'Bob' };

  it('reads a catch-up welcome', () => {
    const w = decodeServer(encode({ t: 'welcome', epoch: 'e', rev: 42, ops: [op], seq: 8, presence: [{ client: 'p', name: 'P', color: '#000000', sel: { index: 1, length: 0 } }], access: 'edit', extra: 'ignored' }));
    assert.equal(w.t, 'welcome');
    if (w.t !== 'welcome') return;
    assert.equal(w.rev, 42);
    assert.equal(w.seq, 8);
    assert.equal(w.access, 'edit');
    assert.equal(w.snapshot, null);
    assert.equal(w.reset, false);
    assert.deepEqual(w.ops[0].delta.ops, [{ retain: 2 }, { insert: 'x' }]);
    assert.equal(w.ops[0].author, 'Bob');
    assert.deepEqual(w.presence, [{ client: 'p', name: 'P', color: '#000000', sel: { index: 1, length: 0 } }]);
  });

  it('reads a snapshot welcome, nil as absent, and an unknown access as view', () => {
    const w = decodeServer(encode({ t: 'welcome', epoch: 'e', rev: 3, snapshot: { ops: [{ insert: 'abc\n' }] }, reset: true, seq: null, ops: null, access: 'admin' }));
    assert.ok(w.t === 'welcome');
    if (w.t !== 'welcome') return;
    assert.deepEqual(w.snapshot?.ops, [{ insert: 'abc\n' }]);
    assert.equal(w.reset, true);
    assert.equal(w.seq, 0);
    assert.deepEqual(w.ops, []);
    assert.equal(w.access, 'view');
  });

  it('reads ack, op, presence, leave and error', () => {
    assert.deepEqual(decodeServer(encode({ t: 'ack', seq: 3, rev: 10 })), { t: 'ack', seq: 3, rev: 10 });
    const o = decodeServer(encode({ t: 'op', ...op }));
    assert.equal(o.t, 'op');
    assert.deepEqual(decodeServer(encode({ t: 'presence', client: 'p', sel: null })), { t: 'presence', client: 'p', name: '', color: '', sel: null });
    assert.deepEqual(decodeServer(encode({ t: 'leave', client: 'p' })), { t: 'leave', client: 'p' });
    assert.deepEqual(decodeServer(encode({ t: 'error', code: 'read_only', msg: 'no', seq: 4 })), { t: 'error', code: 'read_only', msg: 'no', seq: 4 });
    assert.deepEqual(decodeServer(encode({ t: 'error', code: 'bad_message' })), { t: 'error', code: 'bad_message', msg: '', seq: 0 });
  });

  it('accepts integers written as floats', () => {
    const f = encode({ t: 'ack', seq: 3, rev: 10 }, { forceIntegerToFloat: true });
    assert.deepEqual(decodeServer(f), { t: 'ack', seq: 3, rev: 10 });
  });

  it('takes a bare list of ops as a delta, and drops null attributes', () => {
    const d = deltaOf([{ insert: 'a', attributes: null }, { insert: 'b' }, { retain: 1, attributes: { bold: null } }]);
    assert.deepEqual(d.ops, [{ insert: 'ab' }, { retain: 1, attributes: { bold: null } }]);
  });

  const bad: [string, Uint8Array, string][] = [
    ['an empty frame', new Uint8Array(), 'bad_frame'],
    ['an array', encode([1, 2]), 'bad_frame'],
    ['a string', encode('welcome'), 'bad_frame'],
    ['bytes after the map', concat(encode({ t: 'ack', seq: 1, rev: 1 }), new Uint8Array([0xc0])), 'bad_frame'],
    ['a truncated map', encode({ t: 'ack', seq: 1, rev: 1 }).slice(0, 5), 'bad_frame'],
    ['a map declaring 2^32-1 entries', new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x74]), 'bad_frame'],
    ['a string declaring 4 GiB', new Uint8Array([0x81, 0xa1, 0x74, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), 'bad_frame'],
    ['a non-string key', new Uint8Array([0x82, 0xa1, 0x74, 0xa3, 0x61, 0x63, 0x6b, 0x01, 0x02]), 'bad_frame'],
    ['an extension type', encode({ t: 'leave', client: new Date(0) }), 'bad_frame'],
    ['binary where a string goes', encode({ t: 'leave', client: new Uint8Array([0x61]) }), 'bad_frame'],
    ['no type', encode({ seq: 1 }), 'bad_message'],
    ['an unknown type', encode({ t: 'hello' }), 'unknown_type'],
    ['an ack without seq', encode({ t: 'ack', rev: 1 }), 'bad_message'],
    ['a negative revision', encode({ t: 'ack', seq: 1, rev: -1 }), 'bad_message'],
    ['a fractional seq', encode({ t: 'ack', seq: 1.5, rev: 1 }), 'bad_message'],
    ['a seq beyond 2^53-1', encode({ t: 'ack', seq: 2 ** 60, rev: 1 }), 'bad_message'],
    ['a string revision', encode({ t: 'ack', seq: 1, rev: '1' }), 'bad_message'],
    ['a welcome without rev', encode({ t: 'welcome', epoch: 'e' }), 'bad_message'],
    ['ops that are not an array', encode({ t: 'welcome', rev: 1, ops: {} }), 'bad_message'],
    ['an op without delta', encode({ t: 'op', rev: 1 }), 'bad_message'],
    ['a zero retain', encode({ t: 'op', rev: 1, delta: { ops: [{ retain: 0 }] } }), 'bad_delta'],
    ['a retain beyond 2^40', encode({ t: 'op', rev: 1, delta: { ops: [{ retain: 2 ** 41 }] } }), 'bad_delta'],
    ['an empty insert', encode({ t: 'op', rev: 1, delta: { ops: [{ insert: '' }] } }), 'bad_delta'],
    ['an embed with two keys', encode({ t: 'op', rev: 1, delta: { ops: [{ insert: { a: 1, b: 2 } }] } }), 'bad_delta'],
    ['an op with two kinds', encode({ t: 'op', rev: 1, delta: { ops: [{ insert: 'a', retain: 1 }] } }), 'bad_delta'],
    ['an unknown op key', encode({ t: 'op', rev: 1, delta: { ops: [{ insert: 'a', bold: true }] } }), 'bad_delta'],
    ['attributes that are a list', encode({ t: 'op', rev: 1, delta: { ops: [{ insert: 'a', attributes: [1] }] } }), 'bad_delta'],
    ['a snapshot with a retain', encode({ t: 'welcome', rev: 1, snapshot: { ops: [{ retain: 1 }] } }), 'bad_delta'],
    ['a selection with a negative index', encode({ t: 'presence', client: 'p', sel: { index: -1, length: 0 } }), 'bad_message'],
    ['a leave without client', encode({ t: 'leave' }), 'bad_message'],
  ];
  for (const [name, frame, code] of bad) {
    it(`refuses ${name} with ${code}`, () => {
      assert.throws(() => decodeServer(frame), (err: unknown) => err instanceof CodecError && err.code === code);
    });
  }

  it(`refuses nesting deeper than ${MAX_DEPTH}, and takes ${MAX_DEPTH}`, () => {
    const nest = (n: number): unknown => (n === 0 ? 1 : [nest(n - 1)]);
    // The frame is depth 1, the delta 2, its ops 3, the op 4, its attributes 5.
    const at = (depth: number) => encode({ t: 'op', rev: 1, delta: { ops: [{ insert: 'a', attributes: { x: nest(depth - 5) } }] } });
    assert.throws(() => decodeServer(at(MAX_DEPTH + 1)), CodecError);
    assert.equal(decodeServer(at(MAX_DEPTH)).t, 'op');
  });

  it('refuses every random garbage frame with a CodecError, quickly', () => {
    const random = seeded(7);
    const valid = encode({ t: 'welcome', epoch: 'e', rev: 2, ops: [{ rev: 2, delta: { ops: [{ insert: 'x', attributes: { b: true } }] } }], access: 'edit' });
    const start = Date.now();
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      let frame: Uint8Array;
      if (i % 2 === 0) {
        frame = new Uint8Array(1 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      } else {
        // A valid frame with a few bytes changed: close to real, still wrong.
        frame = valid.slice();
        for (let k = 0; k < 3; k++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
      }
      try {
        decodeServer(frame);
        accepted++;
      } catch (err) {
        assert.ok(err instanceof CodecError, `frame ${i} threw ${String(err)}`);
      }
    }
    assert.ok(Date.now() - start < 5000, 'decoding garbage is slow');
    assert.ok(accepted < 3000);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
