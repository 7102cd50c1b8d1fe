package ot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes Quill's form, {"ops":[...]}; an empty delta has an
// empty list.
func (d Delta) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"ops":[`)
	for i, op := range d.Ops {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := op.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
		buf.Write(b)
	}
	buf.WriteString(`]}`)
	return buf.Bytes(), nil
}

// UnmarshalJSON reads Quill's form, {"ops":[...]}, or a bare list of ops as
// quill-delta's constructor accepts. It rejects what Validate rejects, keys
// that Quill does not define, and insert text that is not valid UTF-8 or
// escapes half of a surrogate pair ("\ud83d" alone), which encoding/json
// would silently turn into U+FFFD.
func (d *Delta) UnmarshalJSON(data []byte) error {
	var list []json.RawMessage
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &list); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	} else {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		for k := range obj {
			if k != "ops" {
				return fmt.Errorf("%w: unknown key %q", ErrInvalid, k)
			}
		}
		raw, ok := obj["ops"]
		if !ok {
			return fmt.Errorf("%w: no ops", ErrInvalid)
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("%w: ops: %v", ErrInvalid, err)
		}
	}
	ops := make([]Op, len(list))
	for i, raw := range list {
		if err := decodeOp(raw, i, &ops[i]); err != nil {
			return err
		}
	}
	d.Ops = ops
	return nil
}

// MarshalJSON writes the op as Quill does: {"insert": ...}, {"retain": n}
// or {"delete": n}, with "attributes" where there are any.
func (o Op) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	switch o.Kind() {
	case KindDelete:
		buf.WriteString(`"delete":`)
		buf.WriteString(strconv.Itoa(o.Delete))
	case KindRetain:
		buf.WriteString(`"retain":`)
		buf.WriteString(strconv.Itoa(o.Retain))
	case KindInsert:
		buf.WriteString(`"insert":`)
		var v any = o.Insert
		if o.Embed != nil {
			v = map[string]any{o.Embed.Type: o.Embed.Value}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	default:
		return nil, fmt.Errorf("%w: op has no kind or several", ErrInvalid)
	}
	if len(o.Attributes) > 0 {
		b, err := json.Marshal(map[string]any(o.Attributes))
		if err != nil {
			return nil, err
		}
		buf.WriteString(`,"attributes":`)
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads one op in Quill's form.
func (o *Op) UnmarshalJSON(data []byte) error { return decodeOp(data, 0, o) }

func decodeOp(data []byte, index int, o *Op) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return invalid(index, "not an object")
	}
	*o = Op{}
	kinds := 0
	for key, raw := range obj {
		switch key {
		case "insert":
			kinds++
			if err := decodeInsert(raw, index, o); err != nil {
				return err
			}
		case "retain":
			kinds++
			if len(raw) > 0 && raw[0] == '{' {
				return invalid(index, "retain of an embed is not supported")
			}
			n, err := decodeCount(raw, index, "retain")
			if err != nil {
				return err
			}
			o.Retain = n
		case "delete":
			kinds++
			n, err := decodeCount(raw, index, "delete")
			if err != nil {
				return err
			}
			o.Delete = n
		case "attributes":
			if string(raw) == "null" {
				continue
			}
			if len(raw) == 0 || raw[0] != '{' {
				return invalid(index, "attributes are not an object")
			}
			var attrs map[string]any
			if err := json.Unmarshal(raw, &attrs); err != nil {
				return invalid(index, "attributes: %v", err)
			}
			o.Attributes = nonEmpty(attrs)
		default:
			return invalid(index, "unknown key %q", key)
		}
	}
	if kinds != 1 {
		return invalid(index, "an op needs exactly one of insert, retain and delete")
	}
	return validateOp(*o, index)
}

func decodeInsert(raw json.RawMessage, index int, o *Op) error {
	if len(raw) == 0 {
		return invalid(index, "insert is empty")
	}
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &o.Insert); err != nil {
			return invalid(index, "insert: %v", err)
		}
		if o.Insert == "" {
			return invalid(index, "insert of an empty string")
		}
		// encoding/json turns both of these into U+FFFD without a word;
		// FromValue and Validate refuse them.
		if !utf8.Valid(raw) {
			return invalid(index, "insert is not valid UTF-8")
		}
		if loneSurrogate(raw) {
			return invalid(index, "insert holds half of a surrogate pair")
		}
		return nil
	case '{':
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return invalid(index, "insert: %v", err)
		}
		if len(obj) != 1 {
			return invalid(index, "an embed needs exactly one key, not %d", len(obj))
		}
		for k, v := range obj {
			o.Embed = &Embed{Type: k, Value: v}
		}
		return nil
	}
	return invalid(index, "insert must be a string or an embed object")
}

// loneSurrogate reports whether the JSON string literal s escapes one half
// of a surrogate pair without the other, as in "\ud83d". s must be valid
// JSON.
func loneSurrogate(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if s[i] != 'u' {
			continue
		}
		r := hex16(s[i+1 : i+5])
		i += 4
		switch {
		case r < 0xD800 || r > 0xDFFF:
			continue
		case r >= 0xDC00:
			return true // a low half with no high half before it
		}
		// A high half must be followed by a low half.
		if i+7 > len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
			return true
		}
		if lo := hex16(s[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
			return true
		}
		i += 6
	}
	return false
}

// hex16 returns the value of four hexadecimal digits.
func hex16(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}

func decodeCount(raw json.RawMessage, index int, what string) (int, error) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, invalid(index, "%s must be a number", what)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return count(f, err == nil, index, what)
}

// count returns the number f, read when ok, as a retain or delete count: a
// whole number from 1 to MaxCount. what names the op's kind.
func count(f float64, ok bool, index int, what string) (int, error) {
	if !ok || f != math.Trunc(f) {
		return 0, invalid(index, "%s must be a whole number", what)
	}
	if f <= 0 || f > MaxCount {
		return 0, invalid(index, "%s count %v is out of range 1 to %d", what, f, MaxCount)
	}
	return int(f), nil
}

// Validate checks that every op of d is well formed: exactly one kind, a
// count from 1 to MaxCount, valid UTF-8 text, an embed with one key and a
// JSON value, attributes only on inserts and retains, and attribute values
// that are JSON values. Deltas decoded from JSON are already validated.
func (d Delta) Validate() error {
	for i, op := range d.Ops {
		if err := validateOp(op, i); err != nil {
			return err
		}
	}
	return nil
}

// maxDepth bounds the nesting of attribute and embed values.
const maxDepth = 64

func validateOp(op Op, index int) error {
	switch op.Kind() {
	case KindInvalid:
		return invalid(index, "an op needs exactly one of insert, retain and delete")
	case KindRetain:
		if op.Retain < 0 || op.Retain > MaxCount {
			return invalid(index, "retain count %d is out of range 1 to %d", op.Retain, MaxCount)
		}
	case KindDelete:
		if op.Delete < 0 || op.Delete > MaxCount {
			return invalid(index, "delete count %d is out of range 1 to %d", op.Delete, MaxCount)
		}
		if len(op.Attributes) > 0 {
			return invalid(index, "a delete cannot have attributes")
		}
	case KindInsert:
		if op.Embed != nil {
			if !validValue(op.Embed.Value, 0) {
				return invalid(index, "embed value is not a JSON value")
			}
		} else if !utf8.ValidString(op.Insert) {
			return invalid(index, "insert is not valid UTF-8")
		} else if len(op.Insert) > MaxCount {
			return invalid(index, "insert is too long")
		}
	}
	for k, v := range op.Attributes {
		if !validValue(v, 0) {
			return invalid(index, "attribute %q is not a JSON value", k)
		}
	}
	return nil
}

func validValue(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := v.(type) {
	case nil, string, bool:
		return true
	case map[string]any:
		for _, e := range x {
			if !validValue(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !validValue(e, depth+1) {
				return false
			}
		}
		return true
	}
	f, ok := Number(v)
	return ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}
