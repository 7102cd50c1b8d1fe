package ot

// Compose returns the delta that has the effect of d followed by other, as
// quill-delta's compose. Composing a change onto a document gives the new
// document; Compose does not check that other fits d (see Apply). It fails
// only when a cut would split a surrogate pair.
func (d Delta) Compose(other Delta) (Delta, error) {
	a, b := newIter(d.Ops), newIter(other.Ops)
	out := Delta{Ops: make([]Op, 0, len(d.Ops)+len(other.Ops))}

	// A leading plain retain in other keeps d's leading inserts as they are.
	if first, ok := b.peek(); ok && first.Retain != 0 && first.Attributes == nil {
		left := first.Retain
		for a.peekKind() == KindInsert && a.peekLen() <= left {
			left -= a.peekLen()
			out.Ops = append(out.Ops, a.nextAll())
		}
		if first.Retain-left > 0 {
			if _, err := b.next(first.Retain - left); err != nil {
				return Delta{}, err
			}
		}
	}

	for a.hasNext() || b.hasNext() {
		if b.peekKind() == KindInsert {
			out.push(b.nextAll())
			continue
		}
		if a.peekKind() == KindDelete {
			out.push(a.nextAll())
			continue
		}
		n := min(a.peekLen(), b.peekLen())
		x, y, err := nextBoth(&a, &b, n)
		if err != nil {
			return Delta{}, err
		}
		if y.Retain != 0 {
			var op Op
			if x.Retain != 0 {
				op.Retain = n
			} else {
				op.Insert, op.Embed = x.Insert, x.Embed
			}
			op.Attributes = ComposeAttributes(x.Attributes, y.Attributes, x.Retain != 0)
			out.push(op)
			// Past the end of other, the rest of d is kept as it is.
			if !b.hasNext() {
				last := len(out.Ops) - 1
				if out.Ops[last].Equal(op) {
					rest := a.rest()
					if len(rest) > 0 {
						out.push(rest[0])
						out.Ops = append(out.Ops, rest[1:]...)
					}
					out.chop()
					return out, nil
				}
			}
		} else if y.Delete != 0 && x.Retain != 0 {
			out.push(y)
		}
		// Otherwise y deletes what x inserted: both vanish.
	}
	out.chop()
	return out, nil
}

// Apply returns document with change applied. Unlike Compose it checks its
// input: change must be valid (see Validate), document must be a document,
// and change must fit within its length (ErrLength).
func Apply(document, change Delta) (Delta, error) {
	if err := change.Validate(); err != nil {
		return Delta{}, err
	}
	if !document.IsDocument() {
		return Delta{}, ErrNotDocument
	}
	if change.BaseLength() > document.Length() {
		return Delta{}, ErrLength
	}
	return document.Compose(change)
}
