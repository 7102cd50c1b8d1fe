package ot

import "unicode/utf8"

// Value returns the delta as generic values, the shape its JSON has:
// map[string]any{"ops": []any{map[string]any{"insert": ...}, ...}}. Encoders
// other than encoding/json (msgpack) use it.
func (d Delta) Value() map[string]any {
	ops := make([]any, len(d.Ops))
	for i, op := range d.Ops {
		m := make(map[string]any, 2)
		switch {
		case op.Delete != 0:
			m["delete"] = op.Delete
		case op.Retain != 0:
			m["retain"] = op.Retain
		case op.Embed != nil:
			m["insert"] = map[string]any{op.Embed.Type: op.Embed.Value}
		default:
			m["insert"] = op.Insert
		}
		if len(op.Attributes) > 0 {
			m["attributes"] = map[string]any(op.Attributes)
		}
		ops[i] = m
	}
	return map[string]any{"ops": ops}
}

// FromValue reads a delta from generic values as a decoder such as msgpack
// produces them: the shape of Quill's JSON, with numbers of any Go numeric
// type. It accepts and rejects exactly what UnmarshalJSON does. The
// returned delta shares attribute and embed values with v.
func FromValue(v any) (Delta, error) {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		for k := range x {
			if k != "ops" {
				return Delta{}, invalid(0, "unknown key %q", k)
			}
		}
		l, ok := x["ops"].([]any)
		if !ok {
			return Delta{}, invalid(0, "ops must be a list")
		}
		list = l
	default:
		return Delta{}, invalid(0, "a delta must be an object with ops")
	}
	ops := make([]Op, len(list))
	for i, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			return Delta{}, invalid(i, "not an object")
		}
		if err := opFromValue(m, i, &ops[i]); err != nil {
			return Delta{}, err
		}
	}
	return Delta{Ops: ops}, nil
}

func opFromValue(m map[string]any, index int, o *Op) error {
	kinds := 0
	for key, v := range m {
		switch key {
		case "insert":
			kinds++
			switch x := v.(type) {
			case string:
				if x == "" {
					return invalid(index, "insert of an empty string")
				}
				if !utf8.ValidString(x) {
					return invalid(index, "insert is not valid UTF-8")
				}
				o.Insert = x
			case map[string]any:
				if len(x) != 1 {
					return invalid(index, "an embed needs exactly one key, not %d", len(x))
				}
				for k, e := range x {
					o.Embed = &Embed{Type: k, Value: e}
				}
			default:
				return invalid(index, "insert must be a string or an embed object")
			}
		case "retain", "delete":
			kinds++
			if _, ok := v.(map[string]any); ok && key == "retain" {
				return invalid(index, "retain of an embed is not supported")
			}
			f, ok := Number(v)
			n, err := count(f, ok, index, key)
			if err != nil {
				return err
			}
			if key == "retain" {
				o.Retain = n
			} else {
				o.Delete = n
			}
		case "attributes":
			if v == nil {
				continue
			}
			a, ok := v.(map[string]any)
			if !ok {
				return invalid(index, "attributes are not an object")
			}
			o.Attributes = nonEmpty(a)
		default:
			return invalid(index, "unknown key %q", key)
		}
	}
	if kinds != 1 {
		return invalid(index, "an op needs exactly one of insert, retain and delete")
	}
	return validateOp(*o, index)
}
