package ot_test

import (
	"errors"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

// composeTests are also run through quill-delta (TestQuill_Tables): want
// is what quill-delta gives, unless err is set.
var composeTests = []struct {
	name string
	a, b string
	want string
	err  error
}{
	{"insert_insert", `[{"insert":"A"}]`, `[{"insert":"B"}]`, `[{"insert":"BA"}]`, nil},
	{"insert_retain", `[{"insert":"A"}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red","font":null}}]`, `[{"insert":"A","attributes":{"bold":true,"color":"red"}}]`, nil},
	{"insert_delete", `[{"insert":"A"}]`, `[{"delete":1}]`, `[]`, nil},
	{"delete_insert", `[{"delete":1}]`, `[{"insert":"B"}]`, `[{"insert":"B"},{"delete":1}]`, nil},
	{"delete_retain", `[{"delete":1}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, `[{"delete":1},{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, nil},
	{"delete_delete", `[{"delete":1}]`, `[{"delete":1}]`, `[{"delete":2}]`, nil},
	{"retain_insert", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"insert":"B"}]`, `[{"insert":"B"},{"retain":1,"attributes":{"color":"blue"}}]`, nil},
	{"retain_retain_keeps_null", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red","font":null}}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red","font":null}}]`, nil},
	{"retain_delete", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"delete":1}]`, `[{"delete":1}]`, nil},
	{"insert_in_middle", `[{"insert":"Hello"}]`, `[{"retain":3},{"insert":"X"}]`, `[{"insert":"HelXlo"}]`, nil},
	{"insert_delete_ordering", `[{"insert":"Hello"}]`, `[{"retain":3},{"insert":"X"},{"delete":1}]`, `[{"insert":"HelXo"}]`, nil},
	{"delete_all", `[{"retain":4},{"insert":"Hello"}]`, `[{"delete":9}]`, `[{"delete":4}]`, nil},
	{"retain_past_end", `[{"insert":"Hello"}]`, `[{"retain":10}]`, `[{"insert":"Hello"}]`, nil},
	{"retain_embed", `[{"insert":{"image":"x.png"}}]`, `[{"retain":1}]`, `[{"insert":{"image":"x.png"}}]`, nil},
	{"format_embed", `[{"insert":{"image":"x.png"},"attributes":{"width":"10"}}]`, `[{"retain":1,"attributes":{"width":"20","alt":"x"}}]`, `[{"insert":{"image":"x.png"},"attributes":{"width":"20","alt":"x"}}]`, nil},
	{"remove_all_attributes", `[{"insert":"A","attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":null}}]`, `[{"insert":"A"}]`, nil},
	{"remove_all_embed_attributes", `[{"insert":{"image":"x.png"},"attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":null}}]`, `[{"insert":{"image":"x.png"}}]`, nil},
	{"remove_some_attributes", `[{"insert":"A","attributes":{"bold":true,"color":"red"}}]`, `[{"retain":1,"attributes":{"bold":null,"italic":true}}]`, `[{"insert":"A","attributes":{"color":"red","italic":true}}]`, nil},
	{"null_on_insert_stays", `[{"retain":1}]`, `[{"insert":"A","attributes":{"bold":null}}]`, `[{"insert":"A","attributes":{"bold":null}}]`, nil},
	{"retain_start_optimization", `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}},{"delete":1}]`, `[{"retain":3},{"insert":"D"}]`, `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}},{"insert":"D"},{"delete":1}]`, nil},
	{"retain_start_optimization_split", `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}},{"retain":5},{"delete":1}]`, `[{"retain":4},{"insert":"D"}]`, `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}},{"retain":1},{"insert":"D"},{"retain":4},{"delete":1}]`, nil},
	{"retain_end_optimization", `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}}]`, `[{"delete":1}]`, `[{"insert":"B"},{"insert":"C","attributes":{"bold":true}}]`, nil},
	{"retain_end_optimization_join", `[{"insert":"A","attributes":{"bold":true}},{"insert":"B"},{"insert":"C","attributes":{"bold":true}},{"insert":"D"},{"insert":"E","attributes":{"bold":true}},{"insert":"F"}]`, `[{"retain":1},{"delete":1}]`, `[{"insert":"AC","attributes":{"bold":true}},{"insert":"D"},{"insert":"E","attributes":{"bold":true}},{"insert":"F"}]`, nil},
	{"format_then_format", `[{"retain":2,"attributes":{"bold":true}}]`, `[{"retain":1},{"retain":2,"attributes":{"bold":null}}]`, `[{"retain":1,"attributes":{"bold":true}},{"retain":2,"attributes":{"bold":null}}]`, nil},
	{"number_attributes_merge", `[{"insert":"ab","attributes":{"size":2}}]`, `[{"retain":1},{"retain":1,"attributes":{"size":2.0}}]`, `[{"insert":"ab","attributes":{"size":2}}]`, nil},
	{"empty_empty", `[]`, `[]`, `[]`, nil},
	{"empty_change", `[]`, `[{"retain":2},{"delete":1}]`, `[{"retain":2},{"delete":1}]`, nil},

	{"emoji_delete", `[{"insert":"a😀b"}]`, `[{"retain":1},{"delete":2}]`, `[{"insert":"ab"}]`, nil},
	{"emoji_insert_after", `[{"insert":"a😀"}]`, `[{"retain":3},{"insert":"😁"}]`, `[{"insert":"a😀😁"}]`, nil},
	{"emoji_format", `[{"insert":"😀😀"}]`, `[{"retain":2,"attributes":{"bold":true}}]`, `[{"insert":"😀","attributes":{"bold":true}},{"insert":"😀"}]`, nil},
	{"emoji_first_retain_whole", `[{"insert":"😀"},{"insert":"x","attributes":{"bold":true}}]`, `[{"retain":2},{"delete":1}]`, `[{"insert":"😀"}]`, nil},
	{"emoji_delete_half", `[{"insert":"a😀b"}]`, `[{"retain":2},{"delete":1}]`, "", ot.ErrSurrogate},
	{"emoji_delete_first_half", `[{"insert":"😀"}]`, `[{"delete":1}]`, "", ot.ErrSurrogate},
	{"emoji_format_half", `[{"insert":"😀"}]`, `[{"retain":1,"attributes":{"bold":true}}]`, "", ot.ErrSurrogate},
	{"emoji_insert_inside", `[{"insert":"😀"}]`, `[{"retain":1},{"insert":"x"}]`, "", ot.ErrSurrogate},
	{"emoji_first_retain_half", `[{"insert":"😀"},{"delete":1}]`, `[{"retain":1},{"insert":"x"}]`, "", ot.ErrSurrogate},
}

func TestCompose(t *testing.T) {
	for _, tc := range composeTests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := parse(t, tc.a), parse(t, tc.b)
			aJSON, bJSON := js(a), js(b)
			got, err := a.Compose(b)
			if js(a) != aJSON || js(b) != bJSON {
				t.Errorf("Compose changed its input: %s, %s", js(a), js(b))
			}
			checkResult(t, got, err, tc.err, tc.want)
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name        string
		doc, change string
		want        string
		err         error
	}{
		{"insert", `[{"insert":"abc"}]`, `[{"retain":3},{"insert":"d"}]`, `[{"insert":"abcd"}]`, nil},
		{"format_all", `[{"insert":"abc"}]`, `[{"retain":3,"attributes":{"bold":true}}]`, `[{"insert":"abc","attributes":{"bold":true}}]`, nil},
		{"delete_all", `[{"insert":"abc"}]`, `[{"delete":3}]`, `[]`, nil},
		{"empty_document", `[]`, `[{"insert":"a"}]`, `[{"insert":"a"}]`, nil},
		{"empty_change", `[{"insert":"abc"}]`, `[]`, `[{"insert":"abc"}]`, nil},
		{"exact_length", `[{"insert":"a😀"}]`, `[{"retain":3}]`, `[{"insert":"a😀"}]`, nil},
		{"retain_too_long", `[{"insert":"abc"}]`, `[{"retain":4}]`, "", ot.ErrLength},
		{"delete_too_long", `[{"insert":"abc"}]`, `[{"retain":1},{"delete":3}]`, "", ot.ErrLength},
		{"format_too_long", `[{"insert":"abc"}]`, `[{"retain":4,"attributes":{"bold":true}}]`, "", ot.ErrLength},
		{"change_on_empty", `[]`, `[{"delete":1}]`, "", ot.ErrLength},
		{"too_long_with_inserts", `[{"insert":"ab"}]`, `[{"insert":"xyz"},{"retain":3}]`, "", ot.ErrLength},
		{"not_a_document", `[{"retain":1}]`, `[]`, "", ot.ErrNotDocument},
		{"document_with_delete", `[{"insert":"a"},{"delete":1}]`, `[]`, "", ot.ErrNotDocument},
		{"split_pair", `[{"insert":"😀"}]`, `[{"retain":1},{"delete":1}]`, "", ot.ErrSurrogate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ot.Apply(parse(t, tc.doc), parse(t, tc.change))
			checkResult(t, got, err, tc.err, tc.want)
		})
	}
}

// Apply refuses a change that Validate refuses, whatever Compose would
// have made of it.
func TestApply_Invalid(t *testing.T) {
	doc := parse(t, `[{"insert":"hello"}]`)
	tests := []struct {
		name   string
		change ot.Delta
	}{
		{"negative_retain", ot.New(ot.Op{Retain: -2})},
		{"negative_then_long", ot.New(ot.Op{Retain: -5}, ot.Op{Retain: 10}, ot.Op{Insert: "x"})},
		{"negative_delete", ot.New(ot.Op{Delete: -1})},
		{"empty_op", ot.New(ot.Op{})},
		{"two_kinds", ot.New(ot.Op{Retain: 2, Delete: 1})},
		{"invalid_utf8", ot.New(ot.Op{Insert: "\xff"})},
		{"delete_attributes", ot.New(ot.Op{Retain: 1}, ot.Op{Delete: 1, Attributes: bold})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ot.Apply(doc, tc.change)
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("got %#v, %v; want ErrInvalid", got, err)
			}
		})
	}
}
