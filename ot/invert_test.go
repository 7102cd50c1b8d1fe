package ot_test

import (
	"errors"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

// invertTests are also run through quill-delta (TestQuill_Tables): want is
// change.Invert(base), unless err is set.
var invertTests = []struct {
	name         string
	change, base string
	want         string
	err          error
}{
	{"insert", `[{"retain":2},{"insert":"A"}]`, `[{"insert":"123456"}]`, `[{"retain":2},{"delete":1}]`, nil},
	{"insert_embed", `[{"insert":{"image":"x"}}]`, `[{"insert":"1"}]`, `[{"delete":1}]`, nil},
	{"delete", `[{"retain":2},{"delete":3}]`, `[{"insert":"123456"}]`, `[{"retain":2},{"insert":"345"}]`, nil},
	{"delete_formatted", `[{"delete":2}]`, `[{"insert":"1","attributes":{"bold":true}},{"insert":{"image":"x"},"attributes":{"width":"9"}}]`, `[{"insert":"1","attributes":{"bold":true}},{"insert":{"image":"x"},"attributes":{"width":"9"}}]`, nil},
	{"format", `[{"retain":2},{"retain":3,"attributes":{"bold":true}}]`, `[{"insert":"123456"}]`, `[{"retain":2},{"retain":3,"attributes":{"bold":null}}]`, nil},
	{"format_across_runs", `[{"retain":4,"attributes":{"italic":true}}]`, `[{"insert":"abc"},{"insert":"def","attributes":{"bold":true}}]`, `[{"retain":4,"attributes":{"italic":null}}]`, nil},
	{"format_same_value", `[{"retain":2,"attributes":{"bold":true}}]`, `[{"insert":"ab","attributes":{"bold":true}}]`, `[]`, nil},
	{"format_changes_value", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"insert":"a","attributes":{"color":"red","bold":true}}]`, `[{"retain":1,"attributes":{"color":"red"}}]`, nil},
	{"remove_attribute", `[{"retain":1,"attributes":{"bold":null}}]`, `[{"insert":"a","attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":true}}]`, nil},
	{"remove_absent_attribute", `[{"retain":1,"attributes":{"bold":null}}]`, `[{"insert":"a"}]`, `[{"retain":1,"attributes":{"bold":null}}]`, nil},
	{"object_values_never_equal", `[{"retain":1,"attributes":{"link":{"href":"x"}}}]`, `[{"insert":"a","attributes":{"link":{"href":"x"}}}]`, `[{"retain":1,"attributes":{"link":{"href":"x"}}}]`, nil},
	{"combined", `[{"retain":2},{"delete":2},{"insert":"AB","attributes":{"italic":true}},{"retain":2,"attributes":{"italic":null,"bold":true}},{"retain":2,"attributes":{"color":"red"}},{"delete":1}]`,
		`[{"insert":"123","attributes":{"bold":true}},{"insert":"456","attributes":{"italic":true}},{"insert":"789","attributes":{"color":"red","bold":true}}]`,
		`[{"retain":2},{"insert":"3","attributes":{"bold":true}},{"insert":"4","attributes":{"italic":true}},{"delete":2},{"retain":2,"attributes":{"italic":true,"bold":null}},{"retain":2},{"insert":"9","attributes":{"color":"red","bold":true}}]`, nil},
	{"past_base_end", `[{"retain":2},{"delete":3}]`, `[{"insert":"ab"}]`, `[]`, nil},
	{"format_past_base_end", `[{"retain":4,"attributes":{"bold":true}}]`, `[{"insert":"ab"}]`, `[{"retain":2,"attributes":{"bold":null}}]`, nil},
	{"empty", `[]`, `[{"insert":"ab"}]`, `[]`, nil},
	{"emoji_delete", `[{"retain":1},{"delete":2}]`, `[{"insert":"a😀b"}]`, `[{"retain":1},{"insert":"😀"}]`, nil},
	{"emoji_format", `[{"retain":2,"attributes":{"bold":true}}]`, `[{"insert":"😀"}]`, `[{"retain":2,"attributes":{"bold":null}}]`, nil},
	{"emoji_delete_half", `[{"retain":1},{"delete":1}]`, `[{"insert":"😀"}]`, "", ot.ErrSurrogate},
	{"emoji_format_half", `[{"retain":1,"attributes":{"bold":true}}]`, `[{"insert":"😀","attributes":{"italic":true}}]`, "", ot.ErrSurrogate},
}

func TestInvert(t *testing.T) {
	for _, tc := range invertTests {
		t.Run(tc.name, func(t *testing.T) {
			change, base := parse(t, tc.change), parse(t, tc.base)
			got, err := change.Invert(base)
			if !checkResult(t, got, err, tc.err, tc.want) {
				return
			}
			// Where change fits base, its inverse undoes it.
			if change.BaseLength() <= base.Length() {
				after, err := ot.Apply(base, change)
				if err != nil {
					t.Fatal(err)
				}
				if undone, err := ot.Apply(after, got); err != nil || !undone.Equal(base) {
					t.Errorf("undo gives %s, %v; want %s", js(undone), err, js(base))
				}
			}
		})
	}
}

// Invert refuses what Validate refuses; a base with an op of no length
// cannot be sliced.
func TestInvert_Invalid(t *testing.T) {
	base := parse(t, `[{"insert":"hello"}]`)
	tests := []struct {
		name         string
		change, base ot.Delta
	}{
		{"huge_retain", ot.New(ot.Op{Retain: 1 << 62, Attributes: bold}, ot.Op{Delete: 1 << 62}), base},
		{"negative_delete", ot.New(ot.Op{Retain: 1}, ot.Op{Delete: -1}), base},
		{"empty_op", ot.New(ot.Op{}), base},
		{"base_negative_retain", ot.New(ot.Op{Delete: 3}), ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: -4})},
		{"base_empty_op", ot.New(ot.Op{Retain: 2, Attributes: bold}), ot.New(ot.Op{Insert: "a"}, ot.Op{}, ot.Op{Insert: "b"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.change.Invert(tc.base)
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("got %#v, %v; want ErrInvalid", got, err)
			}
		})
	}
}
