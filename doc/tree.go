package doc

import "slices"

// The content tree is a B+ tree: every leaf is at the same depth, an inner
// node has from minKids to fanout children (the root from 1), and each
// inner node keeps the UTF-16 length of every child beside the pointer to
// it, so finding a position reads one small array per level.

const (
	// fanout is the most children of an inner node.
	fanout = 32
	// minKids is the fewest children of an inner node other than the
	// root; below it, a node merges with a neighbour.
	minKids = fanout / 4
)

// A node is an inner node (kids set) or a leaf (text and runs).
type node struct {
	kids []child // an inner node's children

	text   []byte // a leaf's text, UTF-8
	runs   []run  // a leaf's runs, covering text in order
	astral int    // characters of text outside the BMP
	hintU  int    // a unit offset in the leaf, at a character boundary,
	hintB  int    // and its byte offset: where scans start (see scan)
}

// A child is a child of an inner node and its UTF-16 length.
type child struct {
	units int
	n     *node
}

// An insertion is content to insert: text, or an embed.
type insertion struct {
	text   string
	units  int
	astral int
	style  *style
	embed  bool
}

// pick returns the index of the child of inner node n that holds unit u,
// the one on the left where u falls between two, and u's offset in it.
func (n *node) pick(u int) (int, int) {
	kids := n.kids
	last := len(kids) - 1
	for i := 0; i < last; i++ {
		if u <= kids[i].units {
			return i, u
		}
		u -= kids[i].units
	}
	return last, u
}

// insert inserts in at unit u of n, a node of height h. It returns the new
// nodes that follow n when n had to split.
func (c *Content) insert(n *node, h, u int, in *insertion) []child {
	if h == 0 {
		if !in.embed && len(n.text)+len(in.text) > 2*maxLeaf {
			return leafKids(n.insertLarge(u, in.text, in.style))
		}
		if in.embed {
			n.insertEmbed(u, in.style)
		} else {
			n.insertText(u, in.text, in.units, in.astral, in.style)
		}
		if !n.overfull() {
			c.fing.leaf = n
			return nil
		}
		return leafKids(n.splitOver(n.hintB))
	}
	i, off := n.pick(u)
	c.fing.path = append(c.fing.path, &n.kids[i])
	c.fing.start += u - off
	n.kids[i].units += in.units
	extra := c.insert(n.kids[i].n, h-1, off, in)
	if extra == nil {
		return nil
	}
	return n.adopt(i, extra)
}

// adopt puts extra after child i of inner node n, which it split from, and
// splits n in turn when it has too many children.
func (n *node) adopt(i int, extra []child) []child {
	for _, e := range extra {
		n.kids[i].units -= e.units
	}
	n.kids = slices.Insert(n.kids, i+1, extra...)
	if len(n.kids) <= fanout {
		return nil
	}
	return n.splitKids()
}

// splitKids splits an inner node with too many children into nodes of
// about equal size. n keeps the first; the others are returned.
func (n *node) splitKids() []child {
	m := len(n.kids)
	q := (m + fanout - 1) / fanout
	size, rest := m/q, m%q
	first := size
	if rest > 0 {
		first++
	}
	out := make([]child, 0, q-1)
	start := first
	for p := 1; p < q; p++ {
		k := size
		if p < rest {
			k++
		}
		kids := make([]child, k, fanout+1)
		copy(kids, n.kids[start:start+k])
		out = append(out, child{sumUnits(kids), &node{kids: kids}})
		start += k
	}
	if cap(n.kids) > 2*(fanout+1) {
		// A large insert made n's array long: keep a small one.
		kids := make([]child, first, fanout+1)
		copy(kids, n.kids)
		n.kids = kids
	} else {
		clear(n.kids[first:])
		n.kids = n.kids[:first]
	}
	return out
}

func sumUnits(kids []child) int {
	n := 0
	for _, k := range kids {
		n += k.units
	}
	return n
}

// leafKids returns leaves as children.
func leafKids(ls []*node) []child {
	if len(ls) == 0 {
		return nil
	}
	out := make([]child, len(ls))
	for i, l := range ls {
		out[i] = child{l.leafUnits(), l}
	}
	return out
}

// remove deletes units u0 to u1 of n, a node of height h. It returns the
// bytes and the characters outside the BMP it removed. n is left with at
// least one unit, but may be underfull.
func (c *Content) remove(n *node, h, u0, u1 int) (bytes, astral int) {
	if h == 0 {
		return n.remove(u0, u1)
	}
	first, last := -1, -1 // the children cut in part
	dropFrom, dropTo := -1, -1
	acc := 0
	for i := 0; i < len(n.kids) && acc < u1; i++ {
		k := &n.kids[i]
		s, e := acc, acc+k.units
		acc = e
		if e <= u0 {
			continue
		}
		if u0 <= s && e <= u1 {
			if dropFrom < 0 {
				dropFrom = i
			}
			dropTo = i + 1
			b, a := subtreeSize(k.n, h-1)
			bytes += b
			astral += a
			continue
		}
		b, a := c.remove(k.n, h-1, max(u0, s)-s, min(u1, e)-s)
		k.units -= min(u1, e) - max(u0, s)
		bytes += b
		astral += a
		if first < 0 {
			first = i
		} else {
			last = i
		}
	}
	if dropFrom >= 0 {
		n.kids = slices.Delete(n.kids, dropFrom, dropTo)
		if first > dropFrom {
			first -= dropTo - dropFrom
		}
		if last > dropFrom {
			last -= dropTo - dropFrom
		}
	}
	if last >= 0 {
		n.fix(h, last)
	}
	if first >= 0 {
		n.fix(h, first)
	}
	return bytes, astral
}

// subtreeSize returns the bytes and characters outside the BMP under n.
func subtreeSize(n *node, h int) (bytes, astral int) {
	if h == 0 {
		return len(n.text), n.astral
	}
	for _, k := range n.kids {
		b, a := subtreeSize(k.n, h-1)
		bytes += b
		astral += a
	}
	return bytes, astral
}

// underfull reports whether n, of height h, should merge with a neighbour.
func (n *node) underfull(h int) bool {
	if h == 0 {
		return n.underfullLeaf()
	}
	return len(n.kids) < minKids
}

// fix merges child i of inner node n, of height h, with a neighbour when
// it is underfull, and shares the two out evenly again when they are too
// much for one. n keeps its number of children or loses one.
func (n *node) fix(h, i int) {
	if i < 0 || i >= len(n.kids) || len(n.kids) < 2 || !n.kids[i].n.underfull(h-1) {
		return
	}
	a := i
	if i+1 == len(n.kids) {
		a = i - 1
	}
	left, right := n.kids[a].n, n.kids[a+1].n
	var extra []child
	if h == 1 {
		// An underfull leaf holds under minPiece bytes and maxRuns/4
		// runs, so two leaves hold at most maxLeaf+minPiece bytes: one
		// cut by bytes gives two leaves within bounds. Too many runs for
		// two leaves cut by bytes is left alone: rare, and harmless.
		runs := len(left.runs) + len(right.runs)
		if runs > maxRuns && len(left.text)+len(right.text) > maxLeaf {
			return
		}
		left.absorb(right)
		if left.overfull() {
			extra = leafKids(left.splitOver(len(left.text) / 2))
		}
	} else {
		// Under minKids and at most fanout children: at most two nodes.
		left.kids = append(left.kids, right.kids...)
		if len(left.kids) > fanout {
			extra = left.splitKids()
		}
	}
	n.kids[a].units += n.kids[a+1].units
	n.kids = slices.Delete(n.kids, a+1, a+2)
	if extra != nil {
		n.adopt(a, extra) // one extra at most: n never grows
	}
}

// format restyles units u0 to u1 of n, a node of height h, with f. It
// returns the new nodes that follow n when n had to split.
func (c *Content) format(n *node, h, u0, u1 int, f *formatter) []child {
	if h == 0 {
		n.format(u0, u1, f)
		return leafKids(n.splitOver(len(n.text) / 2))
	}
	acc := 0
	for i := 0; i < len(n.kids) && acc < u1; i++ {
		s, e := acc, acc+n.kids[i].units
		acc = e
		if e <= u0 {
			continue
		}
		extra := c.format(n.kids[i].n, h-1, max(u0, s)-s, min(u1, e)-s, f)
		if len(extra) > 0 {
			for _, x := range extra {
				n.kids[i].units -= x.units
			}
			n.kids = slices.Insert(n.kids, i+1, extra...)
			i += len(extra)
		}
	}
	if len(n.kids) <= fanout {
		return nil
	}
	return n.splitKids()
}

// walk calls fn for each leaf under n, a node of height h, that holds part
// of units u0 to u1, with the part's offsets in the leaf.
func walk(n *node, h, u0, u1 int, fn func(l *node, u0, u1 int)) {
	if h == 0 {
		fn(n, u0, u1)
		return
	}
	acc := 0
	for _, k := range n.kids {
		s, e := acc, acc+k.units
		if s >= u1 {
			return
		}
		acc = e
		if e > u0 {
			walk(k.n, h-1, max(u0, s)-s, min(u1, e)-s, fn)
		}
	}
}

// eachLeaf calls fn for every leaf under n, a node of height h.
func eachLeaf(n *node, h int, fn func(l *node)) {
	if n == nil {
		return
	}
	if h == 0 {
		fn(n)
		return
	}
	for _, k := range n.kids {
		eachLeaf(k.n, h-1, fn)
	}
}

// build makes a tree of leaves and sets it as the content's root.
func (c *Content) build(level []child) {
	h := 0
	for len(level) > 1 {
		m := len(level)
		q := (m + fanout - 1) / fanout
		size, rest := m/q, m%q
		up := make([]child, 0, q)
		start := 0
		for p := range q {
			k := size
			if p < rest {
				k++
			}
			kids := make([]child, k, min(fanout+1, k+k/2+1))
			copy(kids, level[start:start+k])
			up = append(up, child{sumUnits(kids), &node{kids: kids}})
			start += k
		}
		level = up
		h++
	}
	c.root, c.height = level[0].n, h
}
