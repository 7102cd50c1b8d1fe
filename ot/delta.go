package ot

import (
	"math"
	"reflect"
)

// MaxCount is the largest retain or delete count, and the largest length of
// one insert, that the package accepts. It keeps every sum of lengths far
// from overflow.
const MaxCount = 1 << 40

// Kind is the kind of an Op.
type Kind uint8

// The kinds of op. An Op's kind follows from which of its fields is set.
const (
	KindInvalid Kind = iota
	KindInsert
	KindRetain
	KindDelete
)

func (k Kind) String() string {
	switch k {
	case KindInsert:
		return "insert"
	case KindRetain:
		return "retain"
	case KindDelete:
		return "delete"
	}
	return "invalid"
}

// An Op is one operation of a Delta: an insert of text or of an embed, a
// retain, or a delete. Exactly one of Insert, Embed, Retain and Delete is set.
// Inserts and retains may carry Attributes; on a retain an attribute whose
// value is nil removes that attribute.
type Op struct {
	Insert     string     // text to insert, in UTF-8
	Embed      *Embed     // an embed to insert, of length 1
	Retain     int        // UTF-16 units to keep
	Delete     int        // UTF-16 units to remove
	Attributes Attributes // formatting of an insert, or changes made by a retain
}

// An Embed is a non-text insert such as an image or a formula: in JSON an
// object with exactly one key, {"image": "https://..."}.
type Embed struct {
	Type  string // the object's one key
	Value any    // its value: any JSON value
}

// Kind returns the op's kind, or KindInvalid when no field or more than one
// field says what it is.
func (o Op) Kind() Kind {
	var k Kind
	n := 0
	if o.Insert != "" {
		k, n = KindInsert, n+1
	}
	if o.Embed != nil {
		k, n = KindInsert, n+1
	}
	if o.Retain != 0 {
		k, n = KindRetain, n+1
	}
	if o.Delete != 0 {
		k, n = KindDelete, n+1
	}
	if n != 1 {
		return KindInvalid
	}
	return k
}

// Len returns the op's length in UTF-16 code units. An embed has length 1.
func (o Op) Len() int {
	switch {
	case o.Delete != 0:
		return o.Delete
	case o.Retain != 0:
		return o.Retain
	case o.Embed != nil:
		return 1
	}
	return UTF16Len(o.Insert)
}

func (o Op) isInsert() bool { return o.Insert != "" || o.Embed != nil }

// sameInsert reports whether two inserts hold the same content.
func sameInsert(a, b Op) bool {
	if a.Embed != nil || b.Embed != nil {
		return a.Embed != nil && b.Embed != nil && a.Embed.Type == b.Embed.Type &&
			valueEqual(a.Embed.Value, b.Embed.Value)
	}
	return a.Insert == b.Insert
}

// Equal reports whether two ops are the same, attributes included.
func (o Op) Equal(p Op) bool {
	if o.Retain != p.Retain || o.Delete != p.Delete || !o.Attributes.Equal(p.Attributes) {
		return false
	}
	if o.isInsert() || p.isInsert() {
		return sameInsert(o, p)
	}
	return true
}

// A Delta is a rich-text change, or a document, exactly as Quill's
// quill-delta package defines it. A document is a delta made only of
// inserts. Its JSON form is Quill's, {"ops": [...]}.
//
// Deltas are values. The methods never modify their receiver or their
// arguments, but results may share attribute maps, embeds and the backing
// array of Ops with them: treat a delta as immutable once it is built.
type Delta struct {
	Ops []Op `json:"ops"`
}

// New returns a delta made of ops, exactly as given.
func New(ops ...Op) Delta { return Delta{Ops: ops} }

// Insert appends an insert of text, merging it into the last op where
// quill-delta would. An empty text is ignored.
func (d *Delta) Insert(text string, attrs Attributes) *Delta {
	if text == "" {
		return d
	}
	d.push(Op{Insert: text, Attributes: nonEmpty(attrs)})
	return d
}

// InsertEmbed appends an insert of an embed.
func (d *Delta) InsertEmbed(e Embed, attrs Attributes) *Delta {
	d.push(Op{Embed: &e, Attributes: nonEmpty(attrs)})
	return d
}

// Retain appends a retain of n units. A count of zero or less is ignored.
func (d *Delta) Retain(n int, attrs Attributes) *Delta {
	if n <= 0 {
		return d
	}
	d.push(Op{Retain: n, Attributes: nonEmpty(attrs)})
	return d
}

// Delete appends a delete of n units. A count of zero or less is ignored.
func (d *Delta) Delete(n int) *Delta {
	if n <= 0 {
		return d
	}
	d.push(Op{Delete: n})
	return d
}

// Push appends op as quill-delta's push does: a delete merges into a
// preceding delete, an insert goes before a trailing delete, and adjacent
// inserts or retains with equal attributes merge. Push does not validate op.
func (d *Delta) Push(op Op) *Delta {
	d.push(op)
	return d
}

func (d *Delta) push(op Op) {
	ops := d.Ops
	index := len(ops)
	if index > 0 {
		last := &ops[index-1]
		if op.Delete != 0 && last.Delete != 0 {
			last.Delete += op.Delete
			return
		}
		// An insert and a delete at the same place commute: keep the insert
		// first.
		if last.Delete != 0 && op.isInsert() {
			index--
			if index == 0 {
				d.Ops = append(d.Ops, Op{})
				copy(d.Ops[1:], d.Ops)
				d.Ops[0] = op
				return
			}
			last = &ops[index-1]
		}
		if op.Attributes.Equal(last.Attributes) {
			if op.Insert != "" && last.Insert != "" {
				last.Insert += op.Insert
				return
			}
			if op.Retain != 0 && last.Retain != 0 {
				last.Retain += op.Retain
				return
			}
		}
	}
	if index == len(ops) {
		d.Ops = append(ops, op)
		return
	}
	d.Ops = append(ops, Op{})
	copy(d.Ops[index+1:], d.Ops[index:])
	d.Ops[index] = op
}

// chop removes a trailing retain without attributes.
func (d *Delta) chop() {
	if n := len(d.Ops); n > 0 {
		last := d.Ops[n-1]
		if last.Retain != 0 && last.Attributes == nil {
			d.Ops = d.Ops[:n-1]
		}
	}
}

// Canonical returns d in canonical form: adjacent ops of the same kind and
// attributes merged, inserts before deletes at the same place, empty
// attribute maps dropped and no trailing plain retain. Zero-length ops are
// dropped.
func (d Delta) Canonical() Delta {
	out := Delta{Ops: make([]Op, 0, len(d.Ops))}
	for _, op := range d.Ops {
		if op.Kind() == KindInvalid {
			continue
		}
		op.Attributes = nonEmpty(op.Attributes)
		out.push(op)
	}
	out.chop()
	return out
}

// IsCanonical reports whether d equals its canonical form.
func (d Delta) IsCanonical() bool { return d.Equal(d.Canonical()) }

// Length returns the sum of the lengths of all ops, as quill-delta's length.
func (d Delta) Length() int {
	n := 0
	for _, op := range d.Ops {
		n += op.Len()
	}
	return n
}

// BaseLength returns the length of the document a change applies to at
// least: the units it retains or deletes.
func (d Delta) BaseLength() int {
	n := 0
	for _, op := range d.Ops {
		n += op.Retain + op.Delete
	}
	return n
}

// ChangeLength returns how much a change grows the document: inserted
// units less deleted ones, as quill-delta's changeLength.
func (d Delta) ChangeLength() int {
	n := 0
	for _, op := range d.Ops {
		if op.isInsert() {
			n += op.Len()
		} else {
			n -= op.Delete
		}
	}
	return n
}

// IsDocument reports whether d holds only inserts.
func (d Delta) IsDocument() bool {
	for _, op := range d.Ops {
		if !op.isInsert() {
			return false
		}
	}
	return true
}

// Equal reports whether d and e hold the same ops, op for op.
func (d Delta) Equal(e Delta) bool {
	if len(d.Ops) != len(e.Ops) {
		return false
	}
	for i := range d.Ops {
		if !d.Ops[i].Equal(e.Ops[i]) {
			return false
		}
	}
	return true
}

// Text returns the text of a document's inserts, leaving out embeds.
func (d Delta) Text() string {
	n := 0
	for _, op := range d.Ops {
		n += len(op.Insert)
	}
	b := make([]byte, 0, n)
	for _, op := range d.Ops {
		b = append(b, op.Insert...)
	}
	return string(b)
}

// Slice returns the ops covering units start to end, as quill-delta's
// slice. A negative end means the end of the delta. It fails with
// ErrSurrogate when start or end falls inside a surrogate pair, and with
// ErrInvalid on an op of no length or less.
func (d Delta) Slice(start, end int) (Delta, error) {
	if end < 0 {
		end = math.MaxInt
	}
	var out Delta
	it := newIter(d.Ops)
	index := 0
	for index < end && it.hasNext() {
		at := it.i
		var op Op
		var err error
		if index < start {
			op, err = it.next(start - index)
		} else {
			op, err = it.next(end - index)
			out.Ops = append(out.Ops, op)
		}
		if err != nil {
			return Delta{}, err
		}
		n := op.Len()
		if n <= 0 { // only an invalid op; it would never let the loop end
			return Delta{}, invalid(at, "length %d", n)
		}
		index += n
	}
	return out, nil
}

// valueEqual compares two JSON values as lodash's isEqual does: numbers by
// value whatever their Go type, maps and slices deeply.
func valueEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valueEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if f, ok := Number(a); ok {
		g, ok := Number(b)
		return ok && f == g
	}
	return reflect.DeepEqual(a, b)
}

// Number returns the value of v, a Go number of any type, as a float64, as
// the package compares attribute values; it reports false when v is not a
// number.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}
