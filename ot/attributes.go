package ot

// Attributes are the formatting of an insert, or the formatting changes of a
// retain: a JSON object. On a retain, a key whose value is nil removes that
// attribute. An empty map means the same as nil. The functions here follow
// quill-delta's AttributeMap.
type Attributes map[string]any

// Equal reports whether a and b hold the same keys and values. Numbers
// compare by value whatever their Go type.
func (a Attributes) Equal(b Attributes) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !valueEqual(v, w) {
			return false
		}
	}
	return true
}

func nonEmpty(a Attributes) Attributes {
	if len(a) == 0 {
		return nil
	}
	return a
}

// ComposeAttributes returns the attributes of a followed by b. Unless
// keepNull is set, keys that b sets to nil are left out.
func ComposeAttributes(a, b Attributes, keepNull bool) Attributes {
	if len(b) == 0 {
		return nonEmpty(a) // nothing to merge; a's own nulls are kept
	}
	out := make(Attributes, len(a)+len(b))
	for k, v := range b {
		if v != nil || keepNull {
			out[k] = v
		}
	}
	for k, v := range a {
		if _, ok := b[k]; !ok {
			out[k] = v
		}
	}
	return nonEmpty(out)
}

// TransformAttributes transforms b against a. With priority, a happened
// first and keeps the keys it set.
func TransformAttributes(a, b Attributes, priority bool) Attributes {
	if a == nil {
		return nonEmpty(b)
	}
	if b == nil {
		return nil
	}
	if !priority {
		return nonEmpty(b)
	}
	var out Attributes
	for k, v := range b {
		if _, ok := a[k]; !ok {
			if out == nil {
				out = make(Attributes, len(b))
			}
			out[k] = v
		}
	}
	return out
}

// InvertAttributes returns the attributes that undo attr applied over base.
// Values compare as JavaScript's === does: maps and slices are never equal.
func InvertAttributes(attr, base Attributes) Attributes {
	out := Attributes{}
	for k, v := range base {
		if w, ok := attr[k]; ok && !strictEqual(v, w) {
			out[k] = v
		}
	}
	for k := range attr {
		if _, ok := base[k]; !ok {
			out[k] = nil
		}
	}
	return nonEmpty(out)
}

// strictEqual compares JSON values as JavaScript's === would compare values
// decoded separately: scalars by value, objects and arrays never equal.
func strictEqual(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return valueEqual(a, b)
}

// DiffAttributes returns the attribute changes that turn a into b.
func DiffAttributes(a, b Attributes) Attributes {
	var out Attributes
	set := func(k string, v any) {
		if out == nil {
			out = Attributes{}
		}
		out[k] = v
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			set(k, nil)
		} else if !valueEqual(v, w) {
			set(k, w)
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			set(k, w)
		}
	}
	return out
}
