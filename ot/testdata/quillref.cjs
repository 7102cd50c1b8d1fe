// quillref runs cases through quill-delta, the reference for package ot.
//
// Usage: NODE_PATH=../web/node_modules node testdata/quillref.cjs < cases
//
// Input: one JSON case per line, {"id", "op", "a", "b", "index", "priority"}
// where op is compose (a.compose(b)), transform (a.transform(b, priority)),
// position (a.transformPosition(index, priority)), invert (a.invert(b)) or
// diff (a.diff(b)).
// Output: a first line {"version": "<quill-delta version>"}, then one line per
// case, in order: {"id", "result", "split"} or {"id", "error"}. split reports
// whether quill-delta cut a string inside a surrogate pair while computing
// the result, which package ot refuses with ErrSurrogate.
'use strict';

const fs = require('fs');
const Delta = require('quill-delta');
const { version } = require('quill-delta/package.json');

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

// Every cut of a string goes through OpIterator.next. The strings given are
// well formed, so a piece that starts with a low surrogate or ends with a
// high one was cut inside a pair.
let split = false;
const next = Delta.OpIterator.prototype.next;
Delta.OpIterator.prototype.next = function (length) {
  const op = next.call(this, length);
  if (typeof op.insert === 'string' && op.insert.length > 0) {
    const s = op.insert;
    if (isLow(s.charCodeAt(0)) || isHigh(s.charCodeAt(s.length - 1))) {
      split = true;
    }
  }
  return op;
};

function run(c) {
  const a = new Delta(c.a);
  switch (c.op) {
    case 'compose':
      return a.compose(new Delta(c.b));
    case 'transform':
      return a.transform(new Delta(c.b), c.priority);
    case 'position':
      return a.transformPosition(c.index, c.priority);
    case 'invert':
      return a.invert(new Delta(c.b));
    case 'diff':
      return a.diff(new Delta(c.b));
  }
  throw new Error(`unknown op ${c.op}`);
}

const out = [JSON.stringify({ version })];
for (const line of fs.readFileSync(0, 'utf8').split('\n')) {
  if (line === '') {
    continue;
  }
  const c = JSON.parse(line);
  split = false;
  try {
    const result = run(c);
    out.push(JSON.stringify({ id: c.id, result, split }));
  } catch (e) {
    out.push(JSON.stringify({ id: c.id, error: String(e) }));
  }
}
out.push('');
fs.writeFileSync(1, out.join('\n'));
