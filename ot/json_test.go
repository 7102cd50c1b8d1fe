package ot_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

// Deltas as Quill in a browser writes them: each decodes and encodes again
// to the same JSON value.
var browserDeltas = []struct {
	name string
	json string
}{
	{"empty", `{"ops":[]}`},
	{"plain_text", `{"ops":[{"insert":"Hello world\n"}]}`},
	{"formatted", `{"ops":[{"insert":"Hello "},{"insert":"world","attributes":{"bold":true,"color":"#e60000"}},{"insert":"\n","attributes":{"header":1}}]}`},
	{"attributes_first", `{"ops":[{"attributes":{"italic":true},"insert":"x"}]}`},
	{"image", `{"ops":[{"insert":{"image":"https://x.test/cat.png"},"attributes":{"width":"120","alt":"a \"cat\""}},{"insert":"\n"}]}`},
	{"embeds", `{"ops":[{"insert":{"video":"https://x.test/v"}},{"insert":{"formula":"e=mc^2"}},{"insert":{"divider":true}},{"insert":{"mention":{"id":7,"name":"Ann","tags":["a",null,1.5]}}}]}`},
	{"change", `{"ops":[{"retain":5},{"retain":3,"attributes":{"bold":null,"italic":true}},{"delete":2},{"insert":"😀"}]}`},
	{"escapes", `{"ops":[{"insert":"\ud83d\ude00 caf\u00e9 <b>&amp;</b>\t\"q\"\\\n"}]}`},
	{"non_bmp", `{"ops":[{"insert":"𝄞 music 👍🏽 family 👨‍👩‍👧"}]}`},
	{"list_and_code", `{"ops":[{"insert":"one"},{"insert":"\n","attributes":{"list":"ordered"}},{"insert":"x := 1"},{"insert":"\n","attributes":{"code-block":"go"}}]}`},
	{"numbers", `{"ops":[{"retain":1e3},{"retain":2.0,"attributes":{"size":12.5,"indent":-1,"big":1e300}}]}`},
	{"retain_attributes", `{"ops":[{"retain":1,"attributes":{"link":{"href":"https://x.test","target":"_blank"}}}]}`},
	{"nul_text", `{"ops":[{"insert":"a\u0000b"}]}`},
	{"unicode_keys", `{"ops":[{"insert":"x","attributes":{"ключ":"значение","😀":true}}]}`},
}

func TestJSON_RoundTrip(t *testing.T) {
	for _, tc := range browserDeltas {
		t.Run(tc.name, func(t *testing.T) {
			var d ot.Delta
			if err := json.Unmarshal([]byte(tc.json), &d); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !sameJSON(t, out, []byte(tc.json)) {
				t.Errorf("round trip\n got  %s\n want %s", out, tc.json)
			}
			var again ot.Delta
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("decode again: %v", err)
			}
			if !again.Equal(d) {
				t.Errorf("decoded again %s, want %s", js(again), js(d))
			}
			// The generic form for msgpack holds the same value.
			v, err := json.Marshal(d.Value())
			if err != nil {
				t.Fatalf("encode Value: %v", err)
			}
			if !sameJSON(t, v, []byte(tc.json)) {
				t.Errorf("Value() = %s, want %s", v, tc.json)
			}
			back, err := ot.FromValue(d.Value())
			if err != nil || !back.Equal(d) {
				t.Errorf("FromValue(Value()) = %s, %v; want %s", js(back), err, js(d))
			}
		})
	}
}

// Forms that decode, but encode differently.
func TestJSON_Normalised(t *testing.T) {
	tests := []struct {
		name, in, out string
	}{
		{"bare_list", `[{"insert":"a"}]`, `{"ops":[{"insert":"a"}]}`},
		{"space", " \n\t{ \"ops\" : [ ] } ", `{"ops":[]}`},
		{"empty_attributes", `{"ops":[{"insert":"a","attributes":{}}]}`, `{"ops":[{"insert":"a"}]}`},
		{"null_attributes", `{"ops":[{"retain":1,"attributes":null}]}`, `{"ops":[{"retain":1}]}`},
		{"delete_empty_attributes", `{"ops":[{"delete":1,"attributes":{}}]}`, `{"ops":[{"delete":1}]}`},
		{"null_ops", `{"ops":null}`, `{"ops":[]}`},
		{"html_escape", `{"ops":[{"insert":"\u003c\u0026\u003e"}]}`, `{"ops":[{"insert":"<&>"}]}`},
		{"unmerged_stays", `{"ops":[{"insert":"a"},{"insert":"b"},{"retain":1}]}`, `{"ops":[{"insert":"a"},{"insert":"b"},{"retain":1}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.in)
			if got := js(d); !sameJSON(t, []byte(got), []byte(tc.out)) {
				t.Errorf("got %s, want %s", got, tc.out)
			}
		})
	}
}

// badJSON lists input that every decoder must refuse with ErrInvalid. index
// is the op at fault, or -1 when the error is not about one op.
var badJSON = []struct {
	name  string
	json  string
	index int
}{
	{"empty_input", ``, -1},
	{"not_json", `{"ops":[`, -1},
	{"garbage", `nope`, -1},
	{"null", `null`, -1},
	{"string", `"insert"`, -1},
	{"number", `42`, -1},
	{"no_ops", `{}`, -1},
	{"unknown_top_key", `{"ops":[],"version":1}`, -1},
	{"misspelt_ops", `{"Ops":[]}`, -1},
	{"ops_not_list", `{"ops":{"insert":"a"}}`, -1},
	{"ops_number", `{"ops":3}`, -1},
	{"op_number", `{"ops":[1]}`, 0},
	{"op_null", `{"ops":[null]}`, 0},
	{"op_list", `{"ops":[["insert","a"]]}`, 0},
	{"op_empty", `{"ops":[{}]}`, 0},
	{"only_attributes", `{"ops":[{"attributes":{"bold":true}}]}`, 0},
	{"retain_zero", `{"ops":[{"retain":0}]}`, 0},
	{"retain_negative", `{"ops":[{"retain":-1}]}`, 0},
	{"retain_negative_zero", `{"ops":[{"retain":-0}]}`, 0},
	{"retain_fraction", `{"ops":[{"retain":1.5}]}`, 0},
	{"retain_small_fraction", `{"ops":[{"retain":1e-300}]}`, 0},
	{"retain_too_big", `{"ops":[{"retain":1099511627777}]}`, 0},
	{"retain_huge", `{"ops":[{"retain":1e300}]}`, 0},
	{"retain_string", `{"ops":[{"retain":"3"}]}`, 0},
	{"retain_bool", `{"ops":[{"retain":true}]}`, 0},
	{"retain_null", `{"ops":[{"retain":null}]}`, 0},
	{"retain_list", `{"ops":[{"retain":[1]}]}`, 0},
	{"retain_embed", `{"ops":[{"retain":{"image":"x"}}]}`, 0},
	{"delete_zero", `{"ops":[{"delete":0}]}`, 0},
	{"delete_negative", `{"ops":[{"delete":-2}]}`, 0},
	{"delete_fraction", `{"ops":[{"delete":2.5}]}`, 0},
	{"delete_string", `{"ops":[{"delete":"1"}]}`, 0},
	{"delete_attributes", `{"ops":[{"delete":1,"attributes":{"bold":true}}]}`, 0},
	{"insert_empty", `{"ops":[{"insert":""}]}`, 0},
	{"insert_number", `{"ops":[{"insert":5}]}`, 0},
	{"insert_null", `{"ops":[{"insert":null}]}`, 0},
	{"insert_bool", `{"ops":[{"insert":true}]}`, 0},
	{"insert_list", `{"ops":[{"insert":["a"]}]}`, 0},
	{"embed_no_key", `{"ops":[{"insert":{}}]}`, 0},
	{"embed_two_keys", `{"ops":[{"insert":{"image":"a.png","video":"b.mp4"}}]}`, 0},
	{"unknown_key", `{"ops":[{"insert":"a","bold":true}]}`, 0},
	{"capitalised_key", `{"ops":[{"Insert":"a"}]}`, 0},
	{"insert_and_retain", `{"ops":[{"insert":"a","retain":1}]}`, 0},
	{"retain_and_delete", `{"ops":[{"retain":1,"delete":1}]}`, 0},
	{"insert_and_delete", `{"ops":[{"insert":"a","delete":1}]}`, 0},
	{"attributes_list", `{"ops":[{"insert":"a","attributes":["bold"]}]}`, 0},
	{"attributes_string", `{"ops":[{"insert":"a","attributes":"bold"}]}`, 0},
	{"attributes_number", `{"ops":[{"insert":"a","attributes":1}]}`, 0},
	{"attributes_bool", `{"ops":[{"retain":1,"attributes":true}]}`, 0},
	{"deep_attribute", `{"ops":[{"insert":"a","attributes":{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}]}`, 0},
	{"deep_embed", `{"ops":[{"insert":{"x":` + strings.Repeat(`{"y":`, 100) + `1` + strings.Repeat("}", 100) + `}}]}`, 0},
	{"third_op", `{"ops":[{"insert":"a"},{"retain":1},{"delete":0}]}`, 2},
	{"bare_list_bad", `[{"retain":1},{"retain":-1}]`, 1},
}

// badJSONText lists text that encoding/json would quietly turn into U+FFFD.
var badJSONText = []struct {
	name  string
	json  string
	index int
}{
	{"lone_high_surrogate", `{"ops":[{"insert":"a\ud83d"}]}`, 0},
	{"lone_low_surrogate", `{"ops":[{"insert":"\ude00b"}]}`, 0},
	{"reversed_pair", `{"ops":[{"insert":"\ude00\ud83d"}]}`, 0},
	{"high_then_text", `{"ops":[{"insert":"\ud83dx\ude00"}]}`, 0},
	{"high_then_bmp_escape", `{"ops":[{"insert":"\ud83d\u00e9"}]}`, 0},
	{"invalid_utf8", "{\"ops\":[{\"insert\":\"a\xffb\"}]}", 0},
	{"cesu8_surrogate", "{\"ops\":[{\"insert\":\"\xed\xa0\xbd\xed\xb8\x80\"}]}", 0},
	{"second_op", `{"ops":[{"insert":"ok"},{"insert":"\udfff"}]}`, 1},
}

func TestJSON_Bad(t *testing.T) {
	for _, tc := range append(badJSON, badJSONText...) {
		t.Run(tc.name, func(t *testing.T) {
			var d ot.Delta
			d.Insert("before", nil)
			if err := json.Unmarshal([]byte(tc.json), &d); err == nil {
				t.Fatalf("json.Unmarshal decoded %s", js(d))
			}
			// encoding/json reports bad syntax itself; the method says
			// ErrInvalid.
			err := d.UnmarshalJSON([]byte(tc.json))
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("decoded to %s, error %v; want ErrInvalid", js(d), err)
			}
			if d.Text() != "before" {
				t.Errorf("a failed decode changed the delta to %s", js(d))
			}
			var oe *ot.OpError
			if tc.index >= 0 {
				if !errors.As(err, &oe) {
					t.Fatalf("error %v is not an *ot.OpError", err)
				}
				if oe.Index != tc.index {
					t.Errorf("error at op %d, want %d: %v", oe.Index, tc.index, err)
				}
			}
		})
	}
}

// The escapes that are fine.
func TestJSON_SurrogateEscapes(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"pair", `{"ops":[{"insert":"\ud83d\ude00"}]}`, "😀"},
		{"pair_upper_case", `{"ops":[{"insert":"\uD83D\uDE00"}]}`, "😀"},
		{"two_pairs", `{"ops":[{"insert":"\ud834\udd1e\ud83d\ude00"}]}`, "𝄞😀"},
		{"escaped_backslash", `{"ops":[{"insert":"\\ud83d"}]}`, `\ud83d`},
		{"bmp", `{"ops":[{"insert":"\u00e9\uffff\ud7ff\ue000"}]}`, "é\uffff\ud7ff\ue000"},
		{"literal", `{"ops":[{"insert":"😀"}]}`, "😀"},
		{"lone_in_attribute", `{"ops":[{"insert":"a","attributes":{"title":"\ud83d"}}]}`, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parse(t, tc.json).Text(); got != tc.want {
				t.Errorf("text %q, want %q", got, tc.want)
			}
		})
	}
}

// FromValue reads what a msgpack decoder gives. It refuses what
// UnmarshalJSON refuses.
func TestFromValue_Bad(t *testing.T) {
	for _, tc := range badJSON {
		var v any
		if err := json.Unmarshal([]byte(tc.json), &v); err != nil {
			continue // not JSON at all
		}
		t.Run(tc.name, func(t *testing.T) {
			d, err := ot.FromValue(v)
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("FromValue = %s, %v; want ErrInvalid", js(d), err)
			}
		})
	}
	tests := []struct {
		name string
		v    any
	}{
		{"invalid_utf8", map[string]any{"ops": []any{map[string]any{"insert": "a\xff"}}}},
		{"int_zero", []any{map[string]any{"retain": 0}}},
		{"int8_negative", []any{map[string]any{"delete": int8(-1)}}},
		{"uint64_huge", []any{map[string]any{"retain": uint64(1) << 63}}},
		{"float32_fraction", []any{map[string]any{"retain": float32(1.5)}}},
		{"nan", []any{map[string]any{"retain": math.NaN()}}},
		{"inf", []any{map[string]any{"delete": math.Inf(1)}}},
		{"attribute_nan", []any{map[string]any{"insert": "a", "attributes": map[string]any{"x": math.NaN()}}}},
		{"embed_func", []any{map[string]any{"insert": map[string]any{"x": func() {}}}}},
		{"attributes_typed_map", []any{map[string]any{"insert": "a", "attributes": map[string]string{"x": "y"}}}},
		{"ops_typed_list", map[string]any{"ops": []map[string]any{{"insert": "a"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ot.FromValue(tc.v)
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("FromValue = %s, %v; want ErrInvalid", js(d), err)
			}
		})
	}
}

func TestFromValue_Numbers(t *testing.T) {
	v := []any{
		map[string]any{"retain": int64(3), "attributes": map[string]any{"size": uint8(2)}},
		map[string]any{"delete": uint16(2)},
		map[string]any{"insert": "a", "attributes": map[string]any{"n": float32(1)}},
		map[string]any{"retain": float64(4)},
	}
	d, err := ot.FromValue(v)
	if err != nil {
		t.Fatal(err)
	}
	want := parse(t, `[{"retain":3,"attributes":{"size":2}},{"delete":2},{"insert":"a","attributes":{"n":1}},{"retain":4}]`)
	if !d.Equal(want) {
		t.Errorf("got %s, want %s", js(d), js(want))
	}
}

func TestOp_JSON(t *testing.T) {
	var op ot.Op
	if err := json.Unmarshal([]byte(`{"insert":"hi","attributes":{"bold":true}}`), &op); err != nil {
		t.Fatal(err)
	}
	if op.Insert != "hi" || op.Attributes["bold"] != true {
		t.Errorf("decoded %+v", op)
	}
	if err := json.Unmarshal([]byte(`{"retain":-1}`), &op); !errors.Is(err, ot.ErrInvalid) {
		t.Errorf("retain -1 decoded to %+v, %v", op, err)
	}
	out, err := json.Marshal(ot.Op{Retain: 2, Attributes: ot.Attributes{"bold": nil}})
	if err != nil || string(out) != `{"retain":2,"attributes":{"bold":null}}` {
		t.Errorf("encoded %s, %v", out, err)
	}
	out, err = json.Marshal(ot.Op{Embed: &ot.Embed{Type: "image", Value: "a.png"}})
	if err != nil || string(out) != `{"insert":{"image":"a.png"}}` {
		t.Errorf("encoded %s, %v", out, err)
	}
}

// Encoding refuses ops that are not ops, and values that JSON cannot hold.
func TestJSON_EncodeBad(t *testing.T) {
	tests := []struct {
		name string
		d    ot.Delta
	}{
		{"empty_op", ot.New(ot.Op{})},
		{"two_kinds", ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: 1, Delete: 1})},
		{"text_and_embed", ot.New(ot.Op{Insert: "a", Embed: &ot.Embed{Type: "image"}})},
		{"nan_attribute", ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{"x": math.NaN()}})},
		{"func_embed", ot.New(ot.Op{Embed: &ot.Embed{Type: "x", Value: func() {}}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := json.Marshal(tc.d); err == nil {
				t.Errorf("encoded to %s", out)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	deep := any("x")
	for range 70 {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		op   ot.Op
		ok   bool
	}{
		{"insert", ot.Op{Insert: "a"}, true},
		{"insert_emoji", ot.Op{Insert: "😀"}, true},
		{"embed", ot.Op{Embed: &ot.Embed{Type: "image", Value: "x"}}, true},
		{"embed_null_value", ot.Op{Embed: &ot.Embed{Type: "divider", Value: nil}}, true},
		{"retain", ot.Op{Retain: 1}, true},
		{"retain_max", ot.Op{Retain: ot.MaxCount}, true},
		{"delete", ot.Op{Delete: 3}, true},
		{"retain_null_attribute", ot.Op{Retain: 1, Attributes: ot.Attributes{"bold": nil}}, true},
		{"int_attribute", ot.Op{Insert: "a", Attributes: ot.Attributes{"size": 3}}, true},
		{"nested_attribute", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": map[string]any{"y": []any{1.0, "z", nil, true}}}}, true},
		{"delete_empty_attributes", ot.Op{Delete: 1, Attributes: ot.Attributes{}}, true},

		{"nothing", ot.Op{}, false},
		{"only_attributes", ot.Op{Attributes: ot.Attributes{"bold": true}}, false},
		{"retain_negative", ot.Op{Retain: -1}, false},
		{"retain_too_big", ot.Op{Retain: ot.MaxCount + 1}, false},
		{"delete_negative", ot.Op{Delete: -5}, false},
		{"delete_too_big", ot.Op{Delete: ot.MaxCount + 1}, false},
		{"insert_and_retain", ot.Op{Insert: "a", Retain: 1}, false},
		{"retain_and_delete", ot.Op{Retain: 1, Delete: 1}, false},
		{"text_and_embed", ot.Op{Insert: "a", Embed: &ot.Embed{Type: "image"}}, false},
		{"invalid_utf8", ot.Op{Insert: "a\xffb"}, false},
		{"truncated_utf8", ot.Op{Insert: "\xf0\x9f\x98"}, false},
		{"cesu8_surrogate", ot.Op{Insert: "\xed\xa0\xbd\xed\xb8\x80"}, false},
		{"delete_attributes", ot.Op{Delete: 1, Attributes: ot.Attributes{"bold": true}}, false},
		{"nan_attribute", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": math.NaN()}}, false},
		{"inf_attribute", ot.Op{Retain: 1, Attributes: ot.Attributes{"x": math.Inf(-1)}}, false},
		{"chan_attribute", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": make(chan int)}}, false},
		{"nested_nan", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": []any{1.0, map[string]any{"y": math.NaN()}}}}, false},
		{"typed_map_attribute", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": map[string]string{"y": "z"}}}, false},
		{"too_deep", ot.Op{Insert: "a", Attributes: ot.Attributes{"x": deep}}, false},
		{"embed_func", ot.Op{Embed: &ot.Embed{Type: "x", Value: func() {}}}, false},
		{"embed_nan", ot.Op{Embed: &ot.Embed{Type: "x", Value: math.NaN()}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The bad op comes second, so the error names op 1.
			d := ot.New(ot.Op{Insert: "ok"}, tc.op)
			err := d.Validate()
			if tc.ok {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			var oe *ot.OpError
			if !errors.As(err, &oe) || oe.Index != 1 {
				t.Errorf("Validate = %v, want an *ot.OpError for op 1", err)
			}
		})
	}
}
