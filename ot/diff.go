package ot

import (
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// embedChar stands for an embed in the text that Diff compares, as in
// quill-delta. Runs that compare equal are checked op by op afterwards, so a
// real NUL in the text cannot be mistaken for an embed.
const embedChar = '\x00'

// Diff returns a change that turns the document d into the document other.
// Applying it to d gives other exactly, and a small edit gives a small
// change; unlike quill-delta it uses a Myers diff of characters from
// go-diff, so its ops may differ from quill-delta's where several minimal
// answers exist.
func (d Delta) Diff(other Delta) (Delta, error) {
	if !d.IsDocument() || !other.IsDocument() {
		return Delta{}, ErrNotDocument
	}
	if d.Equal(other) {
		return Delta{}, nil
	}
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffMainRunes(diffRunes(d), diffRunes(other), false)

	var out Delta
	a, b := newIter(d.Ops), newIter(other.Ops)
	for _, df := range diffs {
		n := utf16Len(df.Text)
		for n > 0 {
			var step int
			switch df.Type {
			case diffmatchpatch.DiffInsert:
				step = min(b.peekLen(), n)
				op, err := b.next(step)
				if err != nil {
					return Delta{}, err
				}
				out.push(op)
			case diffmatchpatch.DiffDelete:
				step = min(a.peekLen(), n)
				if _, err := a.next(step); err != nil {
					return Delta{}, err
				}
				out.Delete(step)
			default:
				step = min(a.peekLen(), b.peekLen(), n)
				x, err := a.next(step)
				if err != nil {
					return Delta{}, err
				}
				y, err := b.next(step)
				if err != nil {
					return Delta{}, err
				}
				if sameInsert(x, y) {
					out.Retain(step, DiffAttributes(x.Attributes, y.Attributes))
				} else {
					out.push(y)
					out.Delete(step)
				}
			}
			n -= step
		}
	}
	out.chop()
	return out, nil
}

// diffRunes returns a document's characters, an embed as embedChar.
func diffRunes(d Delta) []rune {
	var sb strings.Builder
	for _, op := range d.Ops {
		if op.Embed != nil {
			sb.WriteRune(embedChar)
		} else {
			sb.WriteString(op.Insert)
		}
	}
	return []rune(sb.String())
}
