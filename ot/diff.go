package ot

import (
	"encoding/json"
	"math/bits"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// An embed stands in the text that Diff compares for one character: a
// private-use character from U+E000 to U+F8FF that neither document holds,
// one for each distinct embed, so that an embed matches only an equal embed.
// Runs that compare equal are checked op by op afterwards, so the
// placeholders are only hints: should they run out, several embeds share
// one.
const (
	placeholderFirst = 0xE000
	placeholderLast  = 0xF8FF
)

// exactDiff is the largest number of characters, in both documents
// together, for which Diff finds a minimal change. The exact Myers diff
// takes time proportional to this times the size of the change.
const exactDiff = 4000

// Diff returns a change that turns the document d into the document other.
// Applying it to d gives other exactly, and a small edit gives a small
// change. Unlike quill-delta it uses a Myers diff of characters from go-diff,
// so its ops may differ from quill-delta's. When the two documents hold at
// most exactDiff characters together, the change inserts and deletes as few
// characters as possible; on longer documents go-diff's speed-ups (a
// half-match heuristic and a one-second deadline) bound the time instead,
// and the change is small but not always minimal.
//
// Diff fails with ErrInvalid when either delta fails Validate, and with
// ErrNotDocument when either holds a retain or a delete.
func (d Delta) Diff(other Delta) (Delta, error) {
	for _, x := range [2]Delta{d, other} {
		if err := x.Validate(); err != nil {
			return Delta{}, err
		}
	}
	if !d.IsDocument() || !other.IsDocument() {
		return Delta{}, ErrNotDocument
	}
	if d.Equal(other) {
		return Delta{}, nil
	}
	dmp := diffmatchpatch.New()
	x, y := diffRunes(d, other)
	if len(x)+len(y) <= exactDiff {
		dmp.DiffTimeout = 0 // no half-match heuristic: an exact Myers diff
	}
	diffs := dmp.DiffMainRunes(x, y, false)

	var out Delta
	a, b := newIter(d.Ops), newIter(other.Ops)
	for _, df := range diffs {
		n := UTF16Len(df.Text)
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
				x, y, err := nextBoth(&a, &b, step)
				if err != nil {
					return Delta{}, err
				}
				if sameInsert(x, y) && nullsKept(x.Attributes, y.Attributes) {
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

// nullsKept reports whether a retain can turn the attributes a of an insert
// into b. Composing a retain onto an insert drops the keys it sets to null,
// so an attribute that b holds as null must be null in a already.
func nullsKept(a, b Attributes) bool {
	for k, v := range b {
		if w, ok := a[k]; v == nil && (!ok || w != nil) {
			return false
		}
	}
	return true
}

// diffRunes returns the characters of two documents, each embed as one
// placeholder character: equal embeds as the same one, different embeds as
// different ones while there are private-use characters to spare.
func diffRunes(d, e Delta) ([]rune, []rune) {
	var used [(placeholderLast - placeholderFirst + 1 + 63) / 64]uint64
	type embedAt struct {
		doc, index int
		embed      *Embed
	}
	var embeds []embedAt
	var docs [2][]rune
	for n, doc := range [2]Delta{d, e} {
		out := make([]rune, 0, doc.Length())
		for _, op := range doc.Ops {
			if op.Embed != nil {
				embeds = append(embeds, embedAt{n, len(out), op.Embed})
				out = append(out, 0)
				continue
			}
			for _, r := range op.Insert {
				if r >= placeholderFirst && r <= placeholderLast {
					i := r - placeholderFirst
					used[i/64] |= 1 << (i % 64)
				}
				out = append(out, r)
			}
		}
		docs[n] = out
	}
	if len(embeds) > 0 {
		free := func() (rune, bool) { // the next unused private-use character
			for i, w := range used {
				if w != ^uint64(0) {
					b := bits.TrailingZeros64(^w)
					used[i] |= 1 << b
					return placeholderFirst + rune(64*i+b), true
				}
			}
			return 0, false
		}
		fallback, _ := free()
		chars := make(map[string]rune)
		for _, at := range embeds {
			c := fallback
			if key, err := json.Marshal(map[string]any{at.embed.Type: at.embed.Value}); err == nil {
				var ok bool
				if c, ok = chars[string(key)]; !ok {
					if c, ok = free(); !ok {
						c = fallback
					}
					chars[string(key)] = c
				}
			}
			docs[at.doc][at.index] = c
		}
	}
	return docs[0], docs[1]
}
