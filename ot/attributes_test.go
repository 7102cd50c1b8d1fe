package ot_test

import (
	"testing"

	"github.com/cowrite/cowrite/ot"
)

type attrs = ot.Attributes

func TestComposeAttributes(t *testing.T) {
	tests := []struct {
		name     string
		a, b     attrs
		keepNull bool
		want     attrs
	}{
		{"both_nil", nil, nil, false, nil},
		{"both_empty", attrs{}, attrs{}, false, nil},
		{"left_only", attrs{"bold": true}, nil, false, attrs{"bold": true}},
		{"right_only", nil, attrs{"bold": true}, false, attrs{"bold": true}},
		{"merge", attrs{"bold": true, "color": "red"}, attrs{"italic": true}, false, attrs{"bold": true, "color": "red", "italic": true}},
		{"overwrite", attrs{"bold": true, "color": "red"}, attrs{"color": "blue"}, false, attrs{"bold": true, "color": "blue"}},
		{"remove", attrs{"bold": true, "color": "red"}, attrs{"bold": nil}, false, attrs{"color": "red"}},
		{"remove_all", attrs{"bold": true}, attrs{"bold": nil}, false, nil},
		{"remove_missing", attrs{"bold": true}, attrs{"italic": nil}, false, attrs{"bold": true}},
		{"keep_null", attrs{"bold": true}, attrs{"bold": nil}, true, attrs{"bold": nil}},
		{"keep_null_missing", nil, attrs{"italic": nil}, true, attrs{"italic": nil}},
		{"drop_null_missing", nil, attrs{"italic": nil}, false, nil},
		{"left_nulls_stay", attrs{"bold": nil}, attrs{"italic": true}, false, attrs{"bold": nil, "italic": true}},
		{"left_nulls_stay_alone", attrs{"bold": nil}, nil, false, attrs{"bold": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ot.ComposeAttributes(tc.a, tc.b, tc.keepNull)
			if !got.Equal(tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestTransformAttributes(t *testing.T) {
	left := attrs{"bold": true, "color": "red", "font": nil}
	right := attrs{"color": "blue", "font": "serif", "italic": true}
	tests := []struct {
		name     string
		a, b     attrs
		priority bool
		want     attrs
	}{
		{"left_nil", nil, right, true, right},
		{"right_nil", left, nil, true, nil},
		{"both_nil", nil, nil, true, nil},
		{"without_priority", left, right, false, right},
		{"with_priority", left, right, true, attrs{"italic": true}},
		{"all_taken", attrs{"bold": true}, attrs{"bold": false}, true, nil},
		{"null_survives", attrs{"bold": true}, attrs{"italic": nil}, true, attrs{"italic": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ot.TransformAttributes(tc.a, tc.b, tc.priority)
			if !got.Equal(tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestInvertAttributes(t *testing.T) {
	tests := []struct {
		name       string
		attr, base attrs
		want       attrs
	}{
		{"both_nil", nil, nil, nil},
		{"nil_change", nil, attrs{"bold": true}, nil},
		{"added", attrs{"bold": true}, nil, attrs{"bold": nil}},
		{"removed", attrs{"bold": nil}, attrs{"bold": true}, attrs{"bold": true}},
		{"changed", attrs{"color": "blue"}, attrs{"color": "red", "bold": true}, attrs{"color": "red"}},
		{"unchanged", attrs{"color": "red"}, attrs{"color": "red"}, nil},
		{"numbers_by_value", attrs{"size": 2}, attrs{"size": 2.0}, nil},
		{"objects_never_equal", attrs{"link": map[string]any{"a": 1.0}}, attrs{"link": map[string]any{"a": 1.0}}, attrs{"link": map[string]any{"a": 1.0}}},
		{"lists_never_equal", attrs{"tags": []any{"a"}}, attrs{"tags": []any{"a"}}, attrs{"tags": []any{"a"}}},
		{"remove_absent", attrs{"bold": nil}, nil, attrs{"bold": nil}},
		{"combined", attrs{"bold": true, "italic": nil, "color": "red", "size": "12px"}, attrs{"font": "serif", "italic": true, "color": "blue", "size": "12px"}, attrs{"bold": nil, "italic": true, "color": "blue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ot.InvertAttributes(tc.attr, tc.base)
			if !got.Equal(tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDiffAttributes(t *testing.T) {
	tests := []struct {
		name string
		a, b attrs
		want attrs
	}{
		{"both_nil", nil, nil, nil},
		{"same", attrs{"bold": true}, attrs{"bold": true}, nil},
		{"added", nil, attrs{"bold": true}, attrs{"bold": true}},
		{"removed", attrs{"bold": true}, nil, attrs{"bold": nil}},
		{"changed", attrs{"color": "red"}, attrs{"color": "blue"}, attrs{"color": "blue"}},
		{"numbers_by_value", attrs{"size": 1}, attrs{"size": 1.0}, nil},
		{"objects_by_value", attrs{"link": map[string]any{"a": []any{1.0}}}, attrs{"link": map[string]any{"a": []any{1}}}, nil},
		{"null_to_absent", attrs{"bold": nil}, nil, attrs{"bold": nil}},
		{"absent_to_null", nil, attrs{"bold": nil}, attrs{"bold": nil}},
		{"combined", attrs{"bold": true, "color": "red", "size": "12px"}, attrs{"color": "blue", "size": "12px", "italic": true}, attrs{"bold": nil, "color": "blue", "italic": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ot.DiffAttributes(tc.a, tc.b)
			if !got.Equal(tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestAttributesEqual(t *testing.T) {
	tests := []struct {
		name  string
		a, b  attrs
		equal bool
	}{
		{"nil_empty", nil, attrs{}, true},
		{"same", attrs{"a": "x", "b": true}, attrs{"b": true, "a": "x"}, true},
		{"numbers", attrs{"n": int64(3)}, attrs{"n": 3.0}, true},
		{"null_and_absent", attrs{"a": nil}, attrs{}, false},
		{"null_and_false", attrs{"a": nil}, attrs{"a": false}, false},
		{"different_keys", attrs{"a": true}, attrs{"b": true}, false},
		{"bool_and_number", attrs{"a": true}, attrs{"a": 1}, false},
		{"nested", attrs{"a": map[string]any{"b": []any{nil, 1.0}}}, attrs{"a": map[string]any{"b": []any{nil, 1}}}, true},
		{"nested_differs", attrs{"a": map[string]any{"b": []any{nil, 1.0}}}, attrs{"a": map[string]any{"b": []any{nil, 2.0}}}, false},
		{"list_lengths", attrs{"a": []any{1.0}}, attrs{"a": []any{1.0, 1.0}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Equal(tc.b); got != tc.equal {
				t.Errorf("a.Equal(b) = %v, want %v", got, tc.equal)
			}
			if got := tc.b.Equal(tc.a); got != tc.equal {
				t.Errorf("b.Equal(a) = %v, want %v", got, tc.equal)
			}
		})
	}
}
