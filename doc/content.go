package doc

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cowrite/cowrite/ot"
)

// Content is the content of a document: rich text as a B+ tree. Leaves
// hold up to a kilobyte of UTF-8 text each, cut into runs of one style
// (attributes, or an embed); every inner node keeps the UTF-16 length of
// each child beside the pointer to it. Finding a position reads one small
// array per level and, in ASCII text, no text at all, so applying an edit
// costs O(log n) in the document's size plus the size of the edit, and the
// heap held stays within about 1.5 times the text's bytes for plain text.
//
// Attributes are interned per Content: equal attribute maps share one
// copy, so runs compare by pointer and adjacent text of equal attributes
// always forms one op in Delta.
//
// The zero Content is empty and ready to use. Len, Delta, Text and Slice
// only read, and may run concurrently with each other; Apply must not run
// concurrently with anything.
type Content struct {
	root   *node
	height int // 0 when the root is a leaf
	units  int // UTF-16 length
	bytes  int // UTF-8 length of the text
	astral int // characters outside the BMP: when 0, no cut can split one
	styles styles
	fm     formatter
	fing   finger
}

// NewContent returns an empty content.
func NewContent() *Content { return &Content{} }

// NewContentFrom returns a content holding document, a delta of inserts
// only. It fails with ot.ErrNotDocument when document holds a retain or a
// delete, and with an error wrapping ot.ErrInvalid when an op is malformed.
// The content keeps no reference to document's maps or embeds.
func NewContentFrom(document ot.Delta) (*Content, error) {
	if !document.IsDocument() {
		return nil, ot.ErrNotDocument
	}
	if err := document.Validate(); err != nil {
		return nil, err
	}
	c := &Content{}
	c.styles.live = math.MaxInt / 4 // no collection while runs are outside the tree
	var bd builder
	for _, op := range document.Ops {
		if op.Embed != nil {
			bd.addEmbed(embedStyle(copyEmbed(op.Embed), op.Attributes, false))
		} else {
			addText(&bd, op.Insert, c.styles.intern(c, op.Attributes, false))
		}
	}
	kids := bd.finish()
	for _, k := range kids {
		c.units += k.units
		c.bytes += len(k.n.text)
		c.astral += k.n.astral
	}
	c.build(kids)
	c.styles.live = len(c.styles.m)
	return c, nil
}

// Len returns the content's length in UTF-16 code units.
func (c *Content) Len() int { return c.units }

// top returns the root, making it on first use.
func (c *Content) top() *node {
	if c.root == nil {
		c.root = &node{}
	}
	return c.root
}

// Apply applies change to the content, with exactly the result of
// ot.Apply(c.Delta(), change). It fails with ot.ErrLength when change
// retains or deletes past the end, with an error wrapping ot.ErrSurrogate
// when a retain or delete ends inside a surrogate pair, and with one
// wrapping ot.ErrInvalid when an op is malformed (ot.Validate catches
// these first). On error the content is unchanged.
func (c *Content) Apply(change ot.Delta) error {
	ops := change.Ops
	base := 0
	for i := range ops {
		op := &ops[i]
		kinds := 0
		if op.Insert != "" {
			kinds++
			if !(len(op.Insert) == 1 && op.Insert[0] < utf8.RuneSelf) && !utf8.ValidString(op.Insert) {
				return &ot.OpError{Index: i, Reason: "insert is not valid UTF-8", Err: ot.ErrInvalid}
			}
		}
		if op.Embed != nil {
			kinds++
		}
		if op.Retain != 0 {
			kinds++
			if op.Retain < 0 || op.Retain > ot.MaxCount {
				return &ot.OpError{Index: i, Reason: "retain count out of range", Err: ot.ErrInvalid}
			}
		}
		if op.Delete != 0 {
			kinds++
			if op.Delete < 0 || op.Delete > ot.MaxCount {
				return &ot.OpError{Index: i, Reason: "delete count out of range", Err: ot.ErrInvalid}
			}
		}
		if kinds != 1 {
			return &ot.OpError{Index: i, Reason: "an op needs exactly one of insert, retain and delete", Err: ot.ErrInvalid}
		}
		if base += op.Retain + op.Delete; base > c.units {
			return ot.ErrLength
		}
	}
	if c.astral > 0 {
		pos := 0
		for i := range ops {
			if n := ops[i].Retain + ops[i].Delete; n > 0 {
				pos += n
				if c.splitsPair(pos) {
					return &ot.OpError{Index: i, Reason: "cut inside a character", Err: ot.ErrSurrogate}
				}
			}
		}
	}

	// Nothing below can fail.
	if c.typed(ops) {
		return nil
	}
	c.top()
	pos := 0
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Delete > 0:
			c.delete(pos, op.Delete)
		case op.Retain > 0:
			if len(op.Attributes) > 0 {
				c.restyle(pos, op.Retain, op.Attributes)
			}
			pos += op.Retain
		case op.Embed != nil:
			in := insertion{units: 1, embed: true, style: embedStyle(copyEmbed(op.Embed), op.Attributes, false)}
			c.add(pos, &in)
			pos++
		default:
			units, astral := utf16Count(op.Insert)
			in := insertion{text: op.Insert, units: units, astral: astral}
			if len(op.Attributes) > 0 {
				in.style = c.styles.intern(c, op.Attributes, false)
			}
			c.add(pos, &in)
			pos += units
		}
	}
	return nil
}

// splitsPair reports whether unit u falls inside a surrogate pair.
func (c *Content) splitsPair(u int) bool {
	if c.astral == 0 || u <= 0 || u >= c.units {
		return false
	}
	n := c.root
	for h := c.height; h > 0; h-- {
		var i int
		i, u = n.pick(u)
		n = n.kids[i].n
	}
	_, _, _, _, ok := n.locate(u)
	return !ok
}

// add inserts in at unit u.
func (c *Content) add(u int, in *insertion) {
	c.fing.clear()
	extra := c.insert(c.root, c.height, u, in)
	c.units += in.units
	c.bytes += len(in.text)
	c.astral += in.astral
	c.fing.ok = c.fing.leaf != nil
	c.raise(extra)
}

// raise grows the tree by a level, as often as needed, when the root split
// into the root and extra.
func (c *Content) raise(extra []child) {
	for len(extra) > 0 {
		kids := make([]child, 1, fanout+1)
		kids[0] = child{c.units - sumUnits(extra), c.root}
		kids = append(kids, extra...)
		c.root = &node{kids: kids}
		c.height++
		extra = nil
		if len(kids) > fanout {
			extra = c.root.splitKids()
		}
	}
}

// delete removes n units at unit u.
func (c *Content) delete(u, n int) {
	c.fing.clear()
	if u == 0 && n == c.units {
		*c = Content{styles: c.styles, root: &node{}}
		return
	}
	bytes, astral := c.remove(c.root, c.height, u, u+n)
	c.units -= n
	c.bytes -= bytes
	c.astral -= astral
	for c.height > 0 && len(c.root.kids) == 1 {
		c.root = c.root.kids[0].n
		c.height--
	}
}

// restyle applies the attribute changes attrs to n units at unit u.
func (c *Content) restyle(u, n int, attrs ot.Attributes) {
	c.fing.clear()
	f := &c.fm
	f.c, f.attrs, f.n = c, attrs, 0
	c.raise(c.format(c.root, c.height, u, u+n, f))
	f.c, f.attrs = nil, nil
	clear(f.memo[:f.n])
}

// A formatter gives each style its new style under a retain's attribute
// changes, remembering the answers for the styles it has seen.
type formatter struct {
	c     *Content
	attrs ot.Attributes
	memo  [8][2]*style
	n     int
}

// apply returns style s with f's changes composed onto it, as a retain
// composes onto an insert: attributes set to nil are removed.
func (f *formatter) apply(s *style) *style {
	if s != nil && s.embed != nil {
		return embedStyle(s.embed, ot.ComposeAttributes(s.attrs, f.attrs, false), true)
	}
	for i := range f.n {
		if f.memo[i][0] == s {
			return f.memo[i][1]
		}
	}
	var a ot.Attributes
	if s != nil {
		a = s.attrs
	}
	t := f.c.styles.intern(f.c, ot.ComposeAttributes(a, f.attrs, false), true)
	if f.n < len(f.memo) {
		f.memo[f.n] = [2]*style{s, t}
		f.n++
	}
	return t
}

// Delta returns the content as a canonical document delta. The delta
// shares attribute maps and embeds with the content: treat it as
// immutable, as every ot.Delta.
func (c *Content) Delta() ot.Delta {
	if c.units == 0 {
		return ot.Delta{}
	}
	var o opBuilder
	walk(c.root, c.height, 0, c.units, o.leaf)
	return o.finish()
}

// Text returns the content's text, leaving out embeds.
func (c *Content) Text() string {
	var b strings.Builder
	b.Grow(c.bytes)
	eachLeaf(c.root, c.height, func(l *node) { b.Write(l.text) })
	return b.String()
}

// Slice returns units start to end of the content as document ops, as
// ot.Delta.Slice on Delta() does. start is clamped to the content; an end
// that is negative or past the end means the end, and an end before start
// gives an empty delta. It fails with an error wrapping ot.ErrSurrogate
// when start or end falls inside a surrogate pair.
func (c *Content) Slice(start, end int) (ot.Delta, error) {
	start = min(max(start, 0), c.units)
	if end < 0 || end > c.units {
		end = c.units
	}
	if c.splitsPair(start) || c.splitsPair(end) {
		return ot.Delta{}, &ot.OpError{Reason: fmt.Sprintf("slice %d to %d cuts inside a character", start, end), Err: ot.ErrSurrogate}
	}
	if start >= end {
		return ot.Delta{}, nil
	}
	var o opBuilder
	walk(c.root, c.height, start, end, o.leaf)
	return o.finish(), nil
}

// An opBuilder turns runs into canonical document ops.
type opBuilder struct {
	ops     []ot.Op
	text    strings.Builder // text of the pending text op
	style   *style          // its style
	pending bool
}

// leaf adds units u0 to u1 of leaf l.
func (o *opBuilder) leaf(l *node, u0, u1 int) {
	accU, accB := 0, 0
	for i := range l.runs {
		r := &l.runs[i]
		s, e := accU, accU+int(r.units)
		if s >= u1 {
			return
		}
		if e > u0 {
			if r.isEmbed() {
				o.flush()
				o.ops = append(o.ops, ot.Op{Embed: r.style.embed, Attributes: r.style.attrs})
			} else {
				bs, be := accB, accB+int(r.bytes)
				if s < u0 {
					bs = accB + l.runBytes(s, accB, r, u0-s)
				}
				if e > u1 {
					be = accB + l.runBytes(s, accB, r, u1-s)
				}
				if !o.pending || o.style != r.style {
					o.flush()
					o.pending, o.style = true, r.style
				}
				o.text.Write(l.text[bs:be])
			}
		}
		accU, accB = e, accB+int(r.bytes)
	}
}

// flush ends the pending text op.
func (o *opBuilder) flush() {
	if !o.pending {
		return
	}
	op := ot.Op{Insert: o.text.String()}
	if o.style != nil {
		op.Attributes = o.style.attrs
	}
	o.ops = append(o.ops, op)
	o.text = strings.Builder{}
	o.pending, o.style = false, nil
}

func (o *opBuilder) finish() ot.Delta {
	o.flush()
	return ot.Delta{Ops: o.ops}
}
