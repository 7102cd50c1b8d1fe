package ot

// Transform returns other transformed against d, as quill-delta's
// transform: both were made on the same document, and the result has
// other's effect on the document after d. With priority, d happened first
// and wins ties: its inserts at the same place go first, and its
// attributes win. It fails only when a cut would split a surrogate pair.
func (d Delta) Transform(other Delta, priority bool) (Delta, error) {
	a, b := newIter(d.Ops), newIter(other.Ops)
	out := Delta{Ops: make([]Op, 0, len(other.Ops)+2)}
	for a.hasNext() || b.hasNext() {
		if a.peekKind() == KindInsert && (priority || b.peekKind() != KindInsert) {
			out.Retain(a.nextAll().Len(), nil)
			continue
		}
		if b.peekKind() == KindInsert {
			out.push(b.nextAll())
			continue
		}
		n := min(a.peekLen(), b.peekLen())
		x, y, err := nextBoth(&a, &b, n)
		if err != nil {
			return Delta{}, err
		}
		switch {
		case x.Delete != 0:
			// d deleted it: other's delete is moot and its retain gone.
		case y.Delete != 0:
			out.push(y)
		default:
			out.Retain(n, TransformAttributes(x.Attributes, y.Attributes, priority))
		}
	}
	out.chop()
	return out, nil
}

// TransformPosition returns where index moves to after d, as quill-delta's
// transformPosition. With priority, an insert made at index by d goes after
// the position; without it, before.
func (d Delta) TransformPosition(index int, priority bool) int {
	offset := 0
	for _, op := range d.Ops {
		if offset > index {
			break
		}
		n := op.Len()
		if op.Delete != 0 {
			index -= min(n, index-offset)
			continue
		}
		if op.isInsert() && (offset < index || !priority) {
			index += n
		}
		offset += n
	}
	return index
}
