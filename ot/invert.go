package ot

// Invert returns the change that undoes d, given base, the document d was
// applied to, as quill-delta's invert. Like quill-delta it does not check
// that d fits base: the parts of d past base's end invert to nothing. It
// fails with ErrInvalid when d fails Validate, and with ErrSurrogate when a
// cut would split a surrogate pair of base.
func (d Delta) Invert(base Delta) (Delta, error) {
	if err := d.Validate(); err != nil {
		return Delta{}, err
	}
	var out Delta
	baseIndex := 0
	for _, op := range d.Ops {
		switch {
		case op.isInsert():
			out.Delete(op.Len())
		case op.Retain != 0 && op.Attributes == nil:
			out.Retain(op.Retain, nil)
			baseIndex += op.Retain
		default:
			n := op.Retain + op.Delete
			slice, err := base.Slice(baseIndex, baseIndex+n)
			if err != nil {
				return Delta{}, err
			}
			for _, b := range slice.Ops {
				if op.Delete != 0 {
					out.push(b)
				} else {
					out.Retain(b.Len(), InvertAttributes(op.Attributes, b.Attributes))
				}
			}
			baseIndex += n
		}
	}
	out.chop()
	return out, nil
}
