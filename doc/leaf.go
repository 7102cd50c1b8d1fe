package doc

import "slices"

// Leaves of the content tree. A leaf holds a few hundred bytes of UTF-8 text
// in one buffer and the runs that cut it into pieces of one style. A text
// run covers bytes of the buffer; an embed run covers none and counts one
// UTF-16 unit. Runs never cut a character, so no run and no leaf ever holds
// half of a surrogate pair.

const (
	// maxLeaf is the most bytes of text a leaf holds before it splits.
	maxLeaf = 1024
	// minPiece is the fewest bytes a split leaves on either side, and the
	// size under which a leaf with few runs merges with a neighbour.
	minPiece = maxLeaf / 8
	// maxRuns is the most runs a leaf holds before it splits.
	maxRuns = 32
	// leafFill is how full NewContentFrom and large inserts fill leaves.
	leafFill = maxLeaf - maxLeaf/16
)

// A run is a piece of a leaf in one style.
type run struct {
	bytes int32  // bytes of text; 0 for an embed
	units int32  // UTF-16 units; 1 for an embed
	style *style // nil for plain text
}

// mkrun returns a run; a run never holds more than a leaf's text.
func mkrun(bytes, units int, st *style) run { return run{int32(bytes), int32(units), st} }

func (r *run) grow(bytes, units int) {
	r.bytes += int32(bytes)
	r.units += int32(units)
}

func (r *run) isEmbed() bool { return r.style != nil && r.style.embed != nil }

// leafUnits returns the UTF-16 length of leaf l.
func (l *node) leafUnits() int {
	n := 0
	for i := range l.runs {
		n += int(l.runs[i].units)
	}
	return n
}

// overfull reports whether leaf l must split.
func (l *node) overfull() bool { return len(l.text) > maxLeaf || len(l.runs) > maxRuns }

// underfullLeaf reports whether leaf l should merge with a neighbour.
func (l *node) underfullLeaf() bool {
	return len(l.runs) == 0 || len(l.text) < minPiece && len(l.runs) < maxRuns/4
}

// locate finds unit offset u of leaf l: the run r that holds it, u's offsets
// offU and offB into that run, and its byte offset b in the text. At a run's
// start offU is 0; at the leaf's end r is len(l.runs). It reports false when
// u falls inside a surrogate pair. u must be at most the leaf's length.
func (l *node) locate(u int) (r, offU, offB, b int, ok bool) {
	accU, accB := 0, 0
	for r = range l.runs {
		ru := &l.runs[r]
		if u < accU+int(ru.units) {
			k := u - accU
			if k == 0 {
				return r, 0, 0, accB, true
			}
			if ru.bytes == ru.units { // ASCII: bytes and units agree
				return r, k, k, accB + k, true
			}
			b, ok = l.scan(accU, accB, ru, u)
			return r, k, b - accB, b, ok
		}
		accU += int(ru.units)
		accB += int(ru.bytes)
	}
	return len(l.runs), 0, 0, accB, true
}

// scan returns the byte offset of unit u of the leaf, inside the text run
// ru that starts at unit runU and byte runB. It starts from the leaf's hint
// when the hint lies in the same run and is nearer than the run's start.
func (l *node) scan(runU, runB int, ru *run, u int) (int, bool) {
	t := l.text
	i, n := runB, runU
	if hu, hb := l.hintU, l.hintB; hu >= runU && hu <= runU+int(ru.units) && hb >= runB && hb <= runB+int(ru.bytes) {
		if u >= hu {
			i, n = hb, hu
		} else if hu-u < u-runU {
			// Walk back from the hint.
			i, n = hb, hu
			for n > u && i > runB {
				i--
				c := t[i]
				if c&0xC0 == 0x80 {
					continue
				}
				if c >= 0xF0 {
					n -= 2
				} else {
					n--
				}
			}
			return i, n == u
		}
	}
	for n < u && i < len(t) {
		c := t[i]
		switch {
		case c < 0x80:
			i++
			n++
		case c < 0xE0:
			i += 2
			n++
		case c < 0xF0:
			i += 3
			n++
		default:
			i += 4
			n += 2
		}
	}
	return i, n == u
}

// runBytes returns the byte offset, from the run's start, of unit k of run
// r, which starts at unit runU and byte runB of the leaf.
func (l *node) runBytes(runU, runB int, r *run, k int) int {
	if r.bytes == r.units || k == 0 {
		return k
	}
	if k >= int(r.units) {
		return int(r.bytes)
	}
	b, _ := l.scan(runU, runB, r, runU+k)
	return b - runB
}

// insertRuns inserts runs at index i.
func (l *node) insertRuns(i int, rs ...run) {
	n := len(l.runs)
	if n+len(rs) > cap(l.runs) {
		grown := make([]run, n, n+len(rs)+n/4)
		copy(grown, l.runs)
		l.runs = grown
	}
	l.runs = l.runs[:n+len(rs)]
	copy(l.runs[i+len(rs):], l.runs[i:n])
	copy(l.runs[i:], rs)
}

// insertText inserts text s of the given UTF-16 length and count of
// characters outside the BMP, in style st, at unit u.
func (l *node) insertText(u int, s string, units, astral int, st *style) {
	r, offU, offB, b, _ := l.locate(u)
	switch {
	case offU == 0 && r > 0 && mergeable(l.runs[r-1].style, st):
		l.runs[r-1].grow(len(s), units)
	case r < len(l.runs) && mergeable(l.runs[r].style, st):
		l.runs[r].grow(len(s), units)
	case offU == 0:
		l.insertRuns(r, mkrun(len(s), units, st))
	default:
		l.splitRun(r, offU, offB)
		l.insertRuns(r+1, mkrun(len(s), units, st))
	}
	l.text = insertBytes(l.text, b, s)
	l.astral += astral
	l.hintU, l.hintB = u+units, b+len(s)
}

// insertEmbed inserts an embed run of style st at unit u.
func (l *node) insertEmbed(u int, st *style) {
	r, offU, offB, b, _ := l.locate(u)
	if offU > 0 {
		l.splitRun(r, offU, offB)
		r++
	}
	l.insertRuns(r, run{0, 1, st})
	l.hintU, l.hintB = u+1, b
}

// insertBytes inserts s into t at offset b. When t must grow, it grows by
// a quarter: enough to type into for a while, little to waste.
func insertBytes(t []byte, b int, s string) []byte {
	n := len(t)
	need := n + len(s)
	if need > cap(t) {
		c := need + need/4
		if need <= maxLeaf {
			c = min(c, maxLeaf)
		}
		grown := slices.Grow([]byte(nil), c)[:need]
		copy(grown, t[:b])
		copy(grown[b:], s)
		copy(grown[b+len(s):], t[b:])
		return grown
	}
	t = t[:need]
	copy(t[b+len(s):], t[b:n])
	copy(t[b:], s)
	return t
}

// remove deletes units u0 to u1 of leaf l. It returns the bytes and the
// characters outside the BMP it removed.
func (l *node) remove(u0, u1 int) (bytes, astral int) {
	r0, o0U, o0B, b0, _ := l.locate(u0)
	r1, o1U, o1B, b1, _ := l.locate(u1)
	if l.astral > 0 {
		astral = countAstral(l.text[b0:b1])
		l.astral -= astral
	}
	l.text = append(l.text[:b0], l.text[b1:]...)
	if r0 == r1 {
		l.runs[r0].grow(b0-b1, u0-u1)
	} else {
		k := r0
		if o0U > 0 {
			l.runs[r0].units, l.runs[r0].bytes = int32(o0U), int32(o0B)
			k++
		}
		if r1 < len(l.runs) && o1U > 0 {
			l.runs[r1].grow(-o1B, -o1U)
		}
		n := copy(l.runs[k:], l.runs[r1:])
		clear(l.runs[k+n:])
		l.runs = l.runs[:k+n]
		if k > 0 && k < len(l.runs) && mergeable(l.runs[k-1].style, l.runs[k].style) {
			l.runs[k-1].units += l.runs[k].units
			l.runs[k-1].bytes += l.runs[k].bytes
			l.runs = slices.Delete(l.runs, k, k+1)
		}
	}
	l.hintU, l.hintB = u0, b0
	return b1 - b0, astral
}

// cutRun makes a run boundary at unit u and returns the index of the run
// that starts there.
func (l *node) cutRun(u int) int {
	r, offU, offB, _, _ := l.locate(u)
	if offU == 0 {
		return r
	}
	l.splitRun(r, offU, offB)
	return r + 1
}

// splitRun cuts run r at offsets offU and offB into it: the second part
// becomes run r+1.
func (l *node) splitRun(r, offU, offB int) {
	old := l.runs[r]
	l.runs[r] = mkrun(offB, offU, old.style)
	l.insertRuns(r+1, mkrun(int(old.bytes)-offB, int(old.units)-offU, old.style))
}

// format restyles units u0 to u1 of leaf l with f.
func (l *node) format(u0, u1 int, f *formatter) {
	i0 := l.cutRun(u0)
	i1 := l.cutRun(u1)
	for i := i0; i < i1; i++ {
		l.runs[i].style = f.apply(l.runs[i].style)
	}
	l.compact()
}

// compact merges adjacent runs of the same text style.
func (l *node) compact() {
	rs := l.runs
	if len(rs) < 2 {
		return
	}
	k := 0
	for i := 1; i < len(rs); i++ {
		if mergeable(rs[k].style, rs[i].style) {
			rs[k].bytes += rs[i].bytes
			rs[k].units += rs[i].units
			continue
		}
		k++
		rs[k] = rs[i]
	}
	clear(rs[k+1:])
	l.runs = rs[:k+1]
}

// absorb appends leaf r to leaf l.
func (l *node) absorb(r *node) {
	l.text = append(l.text, r.text...)
	l.astral += r.astral
	for _, ru := range r.runs {
		if n := len(l.runs); n > 0 && mergeable(l.runs[n-1].style, ru.style) {
			l.runs[n-1].bytes += ru.bytes
			l.runs[n-1].units += ru.units
		} else {
			l.runs = append(l.runs, ru)
		}
	}
}

// runAtByte returns the run coordinates of byte offset b of leaf l, which
// must be a character boundary: run r and the unit and byte offsets into it.
// Embeds at b belong to the right of b.
func (l *node) runAtByte(b int) (r, offU, offB int) {
	accB := 0
	for r = range l.runs {
		ru := &l.runs[r]
		if b == accB {
			return r, 0, 0
		}
		if b < accB+int(ru.bytes) {
			offB = b - accB
			if ru.bytes == ru.units {
				return r, offB, offB
			}
			u, _ := utf16Count(l.text[accB : accB+offB])
			return r, u, offB
		}
		accB += int(ru.bytes)
	}
	return len(l.runs), 0, 0
}

// splitAt cuts leaf l at offsets offU and offB into run r and returns the
// right part as a new leaf.
func (l *node) splitAt(r, offU, offB int) *node {
	b := offB
	for i := range r {
		b += int(l.runs[i].bytes)
	}
	keep := r
	right := &node{}
	rest := len(l.runs) - r
	right.runs = make([]run, 0, rest+1)
	if offU > 0 {
		ru := l.runs[r]
		right.runs = append(right.runs, mkrun(int(ru.bytes)-offB, int(ru.units)-offU, ru.style))
		l.runs[r] = mkrun(offB, offU, ru.style)
		keep = r + 1
	}
	right.runs = append(right.runs, l.runs[keep:]...)
	clear(l.runs[keep:])
	l.runs = l.runs[:keep]

	// Both parts get buffers of their size; they grow when typed into.
	right.text = append([]byte(nil), l.text[b:]...)
	if cap(l.text) > b+b/4 {
		l.text = append([]byte(nil), l.text[:b]...)
	} else {
		l.text = l.text[:b]
	}
	if l.astral > 0 {
		right.astral = countAstral(right.text)
		l.astral -= right.astral
	}
	l.hintU, l.hintB = 0, 0
	return right
}

// splitOver splits an overfull leaf l. It returns the leaves that follow l,
// in order; l keeps the first part. at is a byte offset to split at if it
// can, such as the end of the text just inserted, so that typing at one
// place fills leaves instead of leaving half-empty ones behind.
func (l *node) splitOver(at int) []*node {
	if !l.overfull() {
		return nil
	}
	if len(l.text) > 2*maxLeaf || len(l.runs) > 2*maxRuns {
		return l.rebuild()
	}
	var right *node
	if len(l.runs) > maxRuns {
		right = l.splitAt(len(l.runs)/2, 0, 0)
	} else {
		n := len(l.text)
		lo := max(minPiece, n-maxLeaf)
		hi := min(n-minPiece, maxLeaf)
		s := min(max(at, lo), hi)
		for s > lo && l.text[s]&0xC0 == 0x80 {
			s--
		}
		for s < n && l.text[s]&0xC0 == 0x80 {
			s++
		}
		r, offU, offB := l.runAtByte(s)
		right = l.splitAt(r, offU, offB)
	}
	atRight := at - len(l.text)
	out := l.splitOver(at)
	out = append(out, right)
	return append(out, right.splitOver(atRight)...)
}

// rebuild cuts a large leaf into well filled ones: l keeps the first and
// the others are returned.
func (l *node) rebuild() []*node {
	var bd builder
	bd.addRuns(l, 0, len(l.runs))
	return bd.into(l)
}

// insertLarge inserts text s, too large to fit in leaf l, of style st at
// unit u, by cutting the whole into well filled leaves: l keeps the first
// and the others are returned.
func (l *node) insertLarge(u int, s string, st *style) []*node {
	var bd builder
	r, offU, offB, b, _ := l.locate(u)
	bd.addRuns(l, 0, r)
	accB := b - offB // where run r starts
	if offU > 0 {
		addText(&bd, l.text[accB:accB+offB], l.runs[r].style)
	}
	addText(&bd, s, st)
	if offU > 0 {
		addText(&bd, l.text[accB+offB:accB+int(l.runs[r].bytes)], l.runs[r].style)
		r++
	}
	bd.addRuns(l, r, len(l.runs))
	return bd.into(l)
}

// utf16Count returns the UTF-16 length of valid UTF-8 text s and how many of
// its characters lie outside the BMP.
func utf16Count[T string | []byte](s T) (units, astral int) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			units++
		} else if c >= 0xF0 {
			units += 2
			astral++
		} else if c >= 0xC0 {
			units++
		}
	}
	return units, astral
}

// countAstral returns how many characters of s lie outside the BMP.
func countAstral(s []byte) int {
	n := 0
	for _, c := range s {
		if c >= 0xF0 {
			n++
		}
	}
	return n
}

// A builder cuts a stream of runs into well filled leaves.
type builder struct {
	kids   []child
	text   []byte // the text of the leaf being built
	runs   []run  // its runs
	units  int    // its UTF-16 length
	astral int    // its characters outside the BMP
}

// addText appends text s in style st.
func addText[T string | []byte](bd *builder, s T, st *style) {
	for len(s) > 0 {
		room := leafFill - len(bd.text)
		n := len(s)
		if n > room {
			n = max(room, 0)
			for n > 0 && s[n]&0xC0 == 0x80 {
				n--
			}
		}
		last := len(bd.runs) - 1
		merge := last >= 0 && mergeable(bd.runs[last].style, st)
		if n == 0 || !merge && len(bd.runs) == maxRuns {
			bd.flush()
			continue
		}
		units, astral := utf16Count(s[:n])
		bd.text = append(bd.text, s[:n]...)
		if merge {
			bd.runs[last].grow(n, units)
		} else {
			bd.runs = append(bd.runs, mkrun(n, units, st))
		}
		bd.units += units
		bd.astral += astral
		s = s[n:]
	}
}

// addEmbed appends an embed of style st.
func (bd *builder) addEmbed(st *style) {
	if len(bd.runs) == maxRuns {
		bd.flush()
	}
	bd.runs = append(bd.runs, run{0, 1, st})
	bd.units++
}

// flush ends the leaf being built.
func (bd *builder) flush() {
	if len(bd.runs) == 0 {
		return
	}
	l := &node{
		text:   append([]byte(nil), bd.text...),
		runs:   append([]run(nil), bd.runs...),
		astral: bd.astral,
	}
	bd.kids = append(bd.kids, child{bd.units, l})
	bd.text, bd.runs = bd.text[:0], bd.runs[:0]
	bd.units, bd.astral = 0, 0
}

// addRuns appends runs i to j of leaf l.
func (bd *builder) addRuns(l *node, i, j int) {
	accB := 0
	for k := range i {
		accB += int(l.runs[k].bytes)
	}
	for _, ru := range l.runs[i:j] {
		if ru.isEmbed() {
			bd.addEmbed(ru.style)
		} else {
			addText(bd, l.text[accB:accB+int(ru.bytes)], ru.style)
		}
		accB += int(ru.bytes)
	}
}

// into finishes the leaves built, puts the first in place of l and
// returns the others.
func (bd *builder) into(l *node) []*node {
	kids := bd.finish()
	*l = *kids[0].n
	out := make([]*node, len(kids)-1)
	for i := range out {
		out[i] = kids[i+1].n
	}
	return out
}

// finish returns the leaves built, at least one.
func (bd *builder) finish() []child {
	bd.flush()
	if len(bd.kids) == 0 {
		bd.kids = append(bd.kids, child{0, &node{}})
	}
	return bd.kids
}
