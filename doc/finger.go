package doc

import "github.com/cowrite/cowrite/ot"

// A finger remembers the leaf that the last insert went to and the path of
// child entries that leads to it, so that the next edit in that leaf skips
// the descent from the root: people type, and delete what they typed, where
// they typed last.
//
// Only an insert that changed no node but its leaf sets the finger; every
// other change to the tree clears it first, since the entries it points to
// may move. An edit through the finger keeps it: it changes the leaf and the
// lengths along the path, and nothing else.
type finger struct {
	ok    bool
	leaf  *node
	start int      // the unit offset of leaf in the content
	path  []*child // the entries that lead to leaf, root first
}

// clear forgets the finger, keeping its path's storage.
func (f *finger) clear() {
	f.ok, f.leaf, f.start = false, nil, 0
	clear(f.path)
	f.path = f.path[:0]
}

// typed applies change if it is of a shape typing makes, a retain and then
// an insert of text or a delete, within the finger's leaf and without
// making it split or underfull, and reports whether it did. change must
// have passed Apply's checks.
func (c *Content) typed(ops []ot.Op) bool {
	f := &c.fing
	if !f.ok {
		return false
	}
	pos := 0
	if len(ops) == 2 {
		if ops[0].Retain == 0 || len(ops[0].Attributes) > 0 {
			return false
		}
		pos = ops[0].Retain
		ops = ops[1:]
	}
	if len(ops) != 1 {
		return false
	}
	op := &ops[0]
	l := f.leaf
	units := c.units
	if d := len(f.path); d > 0 {
		units = f.path[d-1].units
	}
	u := pos - f.start
	if u < 0 || u > units {
		return false
	}
	switch {
	case op.Insert != "":
		if len(l.text)+len(op.Insert) > maxLeaf || len(l.runs)+2 > maxRuns {
			return false
		}
		n, astral := utf16Count(op.Insert)
		var st *style
		if len(op.Attributes) > 0 {
			st = c.styles.intern(c, op.Attributes, false)
		}
		l.insertText(u, op.Insert, n, astral, st)
		for _, e := range f.path {
			e.units += n
		}
		c.units += n
		c.bytes += len(op.Insert)
		c.astral += astral
		return true
	case op.Delete > 0:
		n := op.Delete
		if u+n > units || len(f.path) > 0 && units-n < minPiece {
			return false
		}
		bytes, astral := l.remove(u, u+n)
		for _, e := range f.path {
			e.units -= n
		}
		c.units -= n
		c.bytes -= bytes
		c.astral -= astral
		return true
	}
	return false
}
