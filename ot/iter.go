package ot

import "math"

// iter walks a delta's ops, handing out pieces of a given length, as
// quill-delta's OpIterator. Past the end it hands out retains.
type iter struct {
	ops   []Op
	i     int // current op
	off   int // UTF-16 units of ops[i] already handed out
	offB  int // bytes of ops[i].Insert already handed out
	opLen int // length of ops[i], or -1 when not yet computed
}

func newIter(ops []Op) iter { return iter{ops: ops, opLen: -1} }

func (it *iter) hasNext() bool { return it.i < len(it.ops) }

// curLen returns the full length of the current op, computing it once.
func (it *iter) curLen() int {
	if it.opLen < 0 {
		it.opLen = it.ops[it.i].Len()
	}
	return it.opLen
}

// peekLen returns what is left of the current op, or MaxInt at the end.
func (it *iter) peekLen() int {
	if it.i >= len(it.ops) {
		return math.MaxInt
	}
	return it.curLen() - it.off
}

// peekKind returns the current op's kind; KindRetain at the end.
func (it *iter) peekKind() Kind {
	if it.i >= len(it.ops) {
		return KindRetain
	}
	op := &it.ops[it.i]
	switch {
	case op.Delete != 0:
		return KindDelete
	case op.Retain != 0:
		return KindRetain
	}
	return KindInsert
}

// peek returns the current op whole, and false at the end.
func (it *iter) peek() (Op, bool) {
	if it.i >= len(it.ops) {
		return Op{}, false
	}
	return it.ops[it.i], true
}

// nextAll hands out the rest of the current op.
func (it *iter) nextAll() Op {
	op, _ := it.next(math.MaxInt) // taking the whole rest never splits a character
	return op
}

// next hands out up to n units of the current op. It fails with
// ErrSurrogate when the cut would fall inside a surrogate pair.
func (it *iter) next(n int) (Op, error) {
	if it.i >= len(it.ops) {
		return Op{Retain: n}, nil
	}
	op := it.ops[it.i]
	offset, offB := it.off, it.offB
	rest := it.curLen() - offset
	whole := n >= rest
	if whole {
		n = rest
	}
	switch {
	case op.Delete != 0:
		op.Delete = n
	case op.Retain != 0:
		op.Retain = n
	case op.Embed != nil:
	default:
		s := op.Insert[offB:]
		if !whole {
			cut, ok := UTF16Offset(s, n)
			if !ok {
				return Op{}, &OpError{Index: it.i, Reason: "cut inside a character", Err: ErrSurrogate}
			}
			s = s[:cut]
		}
		op.Insert = s
		it.offB += len(s)
	}
	if whole {
		it.i++
		it.off, it.offB, it.opLen = 0, 0, -1
	} else {
		it.off += n
	}
	return op, nil
}

// nextBoth hands out the next n units of a and then of b.
func nextBoth(a, b *iter, n int) (Op, Op, error) {
	x, err := a.next(n)
	if err != nil {
		return Op{}, Op{}, err
	}
	y, err := b.next(n)
	return x, y, err
}

// rest returns the ops not yet handed out.
func (it *iter) rest() []Op {
	if it.i >= len(it.ops) {
		return nil
	}
	if it.off == 0 {
		return it.ops[it.i:]
	}
	first := it.nextAll()
	out := make([]Op, 0, len(it.ops)-it.i+1)
	out = append(out, first)
	return append(out, it.ops[it.i:]...)
}
