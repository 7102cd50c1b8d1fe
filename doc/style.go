package doc

import (
	"math"
	"slices"
	"strconv"

	"github.com/cowrite/cowrite/ot"
)

// A style is the formatting of a run of content: its attributes, and for an
// embed the embed itself. Text styles are interned per Content, so two text
// runs have equal attributes exactly when they share a *style, and a nil
// *style is plain text. Every embed run has a style of its own.
//
// A style is immutable once made; its attribute map is handed out in the
// deltas that Content returns, which callers treat as immutable too.
type style struct {
	attrs ot.Attributes // nil when there are none
	embed *ot.Embed     // the embed of an embed run, or nil for text
	key   string        // the intern key of a text style
	mark  uint32        // the last sweep that found the style in use
}

// mergeable reports whether two adjacent runs with styles s and t can be one
// run: both text with the same attributes.
func mergeable(s, t *style) bool { return s == t && (s == nil || s.embed == nil) }

// styles interns the text styles of one Content.
type styles struct {
	m     map[string]*style
	last  *style // the last style interned, checked before the map
	live  int    // styles found in use at the last sweep
	sweep uint32 // the number of the last sweep
	key   []byte // scratch for building keys
}

// intern returns the shared style of text with attributes a. When own is
// set, a may be kept as it is; otherwise it is copied.
func (st *styles) intern(c *Content, a ot.Attributes, own bool) *style {
	if len(a) == 0 {
		return nil
	}
	if st.last != nil && st.last.attrs.Equal(a) {
		return st.last
	}
	key, ok := attrKey(st.key[:0], a)
	st.key = key[:0]
	if !ok {
		// A value that is not JSON has no key: the style is never
		// shared, and text carrying it merges with nothing.
		return &style{attrs: copyAttrs(a)}
	}
	if s, found := st.m[string(key)]; found {
		st.last = s
		return s
	}
	if st.m == nil {
		st.m = make(map[string]*style)
	}
	if len(st.m) >= 2*st.live+64 {
		st.collect(c)
	}
	if !own {
		a = copyAttrs(a)
	}
	s := &style{attrs: a, key: string(key)}
	st.m[s.key] = s
	st.last = s
	return s
}

// collect drops the styles that no run uses any more. It walks the whole
// tree, so it runs only when the table has doubled since the last time.
func (st *styles) collect(c *Content) {
	st.sweep++
	mark := st.sweep
	live := 0
	eachLeaf(c.root, c.height, func(l *node) {
		for i := range l.runs {
			if s := l.runs[i].style; s != nil && s.embed == nil && s.mark != mark {
				s.mark = mark
				live++
			}
		}
	})
	for k, s := range st.m {
		if s.mark != mark {
			delete(st.m, k)
		}
	}
	if st.last != nil && st.last.mark != mark {
		st.last = nil
	}
	st.live = live
}

// embedStyle returns a new style for an embed with attributes a.
func embedStyle(e *ot.Embed, a ot.Attributes, own bool) *style {
	if !own {
		a = copyAttrs(a)
	}
	if len(a) == 0 {
		a = nil
	}
	return &style{attrs: a, embed: e}
}

// attrKey appends to b a key for a such that two attribute maps have the
// same key exactly when ot.Attributes.Equal holds: keys sorted, numbers
// compared by value whatever their Go type. It reports false when a holds
// a value that is not JSON.
func attrKey(b []byte, a ot.Attributes) ([]byte, bool) { return mapKey(b, a, 0) }

func mapKey(b []byte, a map[string]any, depth int) ([]byte, bool) {
	var small [8]string
	keys := small[:0]
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ok := true
	for _, k := range keys {
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, ':')
		b = append(b, k...)
		b, ok = valueKey(b, a[k], depth+1)
		if !ok {
			return b, false
		}
	}
	return b, true
}

// valueKey appends the key of one JSON value.
func valueKey(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 64 {
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), true
	case bool:
		if x {
			return append(b, 't'), true
		}
		return append(b, 'f'), true
	case string:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...), true
	case map[string]any:
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		b, ok := mapKey(b, x, depth+1)
		return append(b, '}'), ok
	case []any:
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		ok := true
		for _, e := range x {
			if b, ok = valueKey(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	f, ok := ot.Number(v)
	if !ok || math.IsNaN(f) {
		return b, false
	}
	if f == 0 {
		f = 0 // -0 equals 0
	}
	b = append(b, 'd')
	return strconv.AppendUint(b, math.Float64bits(f), 16), true
}

// copyAttrs returns a deep copy of a, so that the content never shares a
// map or a slice with a delta passed in.
func copyAttrs(a ot.Attributes) ot.Attributes {
	if len(a) == 0 {
		return nil
	}
	out := make(ot.Attributes, len(a))
	for k, v := range a {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}

// copyEmbed returns a deep copy of e.
func copyEmbed(e *ot.Embed) *ot.Embed {
	return &ot.Embed{Type: e.Type, Value: copyValue(e.Value)}
}
