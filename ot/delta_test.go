package ot_test

import (
	"errors"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

var (
	bold   = ot.Attributes{"bold": true}
	italic = ot.Attributes{"italic": true}
	image  = ot.Embed{Type: "image", Value: "a.png"}
)

// The builder methods merge as quill-delta's push does.
func TestBuilder(t *testing.T) {
	tests := []struct {
		name  string
		build func(d *ot.Delta)
		want  string
	}{
		{"insert", func(d *ot.Delta) { d.Insert("ab", nil) }, `[{"insert":"ab"}]`},
		{"insert_empty_ignored", func(d *ot.Delta) { d.Insert("", bold) }, `[]`},
		{"insert_attributes", func(d *ot.Delta) { d.Insert("a", bold) }, `[{"insert":"a","attributes":{"bold":true}}]`},
		{"insert_empty_attributes_are_none", func(d *ot.Delta) { d.Insert("a", ot.Attributes{}) }, `[{"insert":"a"}]`},
		{"inserts_merge", func(d *ot.Delta) { d.Insert("a", bold).Insert("b", ot.Attributes{"bold": true}) }, `[{"insert":"ab","attributes":{"bold":true}}]`},
		{"inserts_merge_empty_and_nil", func(d *ot.Delta) { d.Insert("a", nil).Insert("b", ot.Attributes{}) }, `[{"insert":"ab"}]`},
		{"inserts_merge_numbers_by_value", func(d *ot.Delta) {
			d.Insert("a", ot.Attributes{"size": 2}).Insert("b", ot.Attributes{"size": 2.0})
		}, `[{"insert":"ab","attributes":{"size":2}}]`},
		{"inserts_differ", func(d *ot.Delta) { d.Insert("a", bold).Insert("b", italic) }, `[{"insert":"a","attributes":{"bold":true}},{"insert":"b","attributes":{"italic":true}}]`},
		{"inserts_differ_null", func(d *ot.Delta) { d.Insert("a", nil).Insert("b", ot.Attributes{"bold": nil}) }, `[{"insert":"a"},{"insert":"b","attributes":{"bold":null}}]`},
		{"embeds_never_merge", func(d *ot.Delta) { d.InsertEmbed(image, nil).InsertEmbed(image, nil) }, `[{"insert":{"image":"a.png"}},{"insert":{"image":"a.png"}}]`},
		{"embed_then_text", func(d *ot.Delta) { d.InsertEmbed(image, bold).Insert("a", bold) }, `[{"insert":{"image":"a.png"},"attributes":{"bold":true}},{"insert":"a","attributes":{"bold":true}}]`},
		{"retain_zero_ignored", func(d *ot.Delta) { d.Retain(0, bold).Retain(-3, nil) }, `[]`},
		{"retains_merge", func(d *ot.Delta) { d.Retain(2, nil).Retain(3, nil) }, `[{"retain":5}]`},
		{"retains_merge_attributes", func(d *ot.Delta) { d.Retain(2, ot.Attributes{"bold": nil}).Retain(3, ot.Attributes{"bold": nil}) }, `[{"retain":5,"attributes":{"bold":null}}]`},
		{"retains_differ", func(d *ot.Delta) { d.Retain(2, nil).Retain(3, bold) }, `[{"retain":2},{"retain":3,"attributes":{"bold":true}}]`},
		{"trailing_retain_kept", func(d *ot.Delta) { d.Insert("a", nil).Retain(3, nil) }, `[{"insert":"a"},{"retain":3}]`},
		{"delete_zero_ignored", func(d *ot.Delta) { d.Delete(0).Delete(-1) }, `[]`},
		{"deletes_merge", func(d *ot.Delta) { d.Delete(1).Delete(2) }, `[{"delete":3}]`},
		{"insert_goes_before_delete", func(d *ot.Delta) { d.Retain(1, nil).Delete(2).Insert("a", nil) }, `[{"retain":1},{"insert":"a"},{"delete":2}]`},
		{"insert_before_delete_at_start", func(d *ot.Delta) { d.Delete(2).Insert("a", nil) }, `[{"insert":"a"},{"delete":2}]`},
		{"embed_before_delete_at_start", func(d *ot.Delta) { d.Delete(2).InsertEmbed(image, nil) }, `[{"insert":{"image":"a.png"}},{"delete":2}]`},
		{"insert_merges_across_delete", func(d *ot.Delta) { d.Insert("a", nil).Delete(1).Insert("b", nil) }, `[{"insert":"ab"},{"delete":1}]`},
		{"insert_across_delete_differs", func(d *ot.Delta) { d.Insert("a", nil).Delete(1).Insert("b", bold) }, `[{"insert":"a"},{"insert":"b","attributes":{"bold":true}},{"delete":1}]`},
		{"retain_stays_after_delete", func(d *ot.Delta) { d.Delete(1).Retain(2, nil) }, `[{"delete":1},{"retain":2}]`},
		{"delete_after_insert", func(d *ot.Delta) { d.Insert("a", nil).Delete(1).Delete(1) }, `[{"insert":"a"},{"delete":2}]`},
		{"push_merges", func(d *ot.Delta) { d.Push(ot.Op{Insert: "a"}).Push(ot.Op{Insert: "😀"}) }, `[{"insert":"a😀"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d ot.Delta
			tc.build(&d)
			if want := parse(t, tc.want); !d.Equal(want) || !sameJSON(t, []byte(js(d)), []byte(js(want))) {
				t.Errorf("got %s, want %s", js(d), js(want))
			}
		})
	}
}

// Push merges without validating: what Validate refuses goes in as it is.
func TestBuilder_PushDoesNotValidate(t *testing.T) {
	var d ot.Delta
	d.Push(ot.Op{Retain: 2}).Push(ot.Op{Retain: -5}).Push(ot.Op{Insert: "\xff"})
	want := ot.New(ot.Op{Retain: -3}, ot.Op{Insert: "\xff"})
	if !d.Equal(want) {
		t.Errorf("got %#v, want %#v", d, want)
	}
	if err := d.Validate(); !errors.Is(err, ot.ErrInvalid) {
		t.Errorf("Validate = %v, want ErrInvalid", err)
	}
}

func TestBuilder_Chains(t *testing.T) {
	var d ot.Delta
	if p := d.Insert("a", nil); p != &d {
		t.Error("Insert does not return its receiver")
	}
	if p := d.Retain(1, nil); p != &d {
		t.Error("Retain does not return its receiver")
	}
	if p := d.Delete(1); p != &d {
		t.Error("Delete does not return its receiver")
	}
	if p := d.InsertEmbed(image, nil); p != &d {
		t.Error("InsertEmbed does not return its receiver")
	}
	if p := d.Push(ot.Op{Insert: "b"}); p != &d {
		t.Error("Push does not return its receiver")
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   ot.Delta
		want string
	}{
		{"empty", ot.Delta{}, `[]`},
		{"merge_inserts", ot.New(ot.Op{Insert: "a"}, ot.Op{Insert: "b"}), `[{"insert":"ab"}]`},
		{"merge_retains", ot.New(ot.Op{Retain: 1, Attributes: bold}, ot.Op{Retain: 2, Attributes: ot.Attributes{"bold": true}}), `[{"retain":3,"attributes":{"bold":true}}]`},
		{"merge_deletes", ot.New(ot.Op{Delete: 1}, ot.Op{Delete: 2}), `[{"delete":3}]`},
		{"drop_trailing_retain", ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: 1}, ot.Op{Retain: 2}), `[{"insert":"a"}]`},
		{"only_retain", ot.New(ot.Op{Retain: 5}), `[]`},
		{"keep_trailing_retain_with_attributes", ot.New(ot.Op{Retain: 5, Attributes: bold}), `[{"retain":5,"attributes":{"bold":true}}]`},
		{"drop_empty_attributes", ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{}}, ot.Op{Insert: "b"}), `[{"insert":"ab"}]`},
		{"drop_trailing_retain_with_empty_attributes", ot.New(ot.Op{Delete: 1}, ot.Op{Retain: 5, Attributes: ot.Attributes{}}), `[{"delete":1}]`},
		{"drop_zero_length", ot.New(ot.Op{Insert: "a"}, ot.Op{}, ot.Op{Retain: 0}, ot.Op{Insert: ""}, ot.Op{Insert: "b"}), `[{"insert":"ab"}]`},
		{"insert_before_delete", ot.New(ot.Op{Retain: 1}, ot.Op{Delete: 1}, ot.Op{Insert: "a"}, ot.Op{Delete: 1}, ot.Op{Insert: "b"}), `[{"retain":1},{"insert":"ab"},{"delete":2}]`},
		{"embeds_apart", ot.New(ot.Op{Embed: &image}, ot.Op{Embed: &image}), `[{"insert":{"image":"a.png"}},{"insert":{"image":"a.png"}}]`},
		{"keep_middle_retain", ot.New(ot.Op{Retain: 2}, ot.Op{Insert: "a"}), `[{"retain":2},{"insert":"a"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := js(tc.in)
			got := tc.in.Canonical()
			want := parse(t, tc.want)
			if !got.Equal(want) {
				t.Errorf("Canonical = %s, want %s", js(got), tc.want)
			}
			if !got.IsCanonical() {
				t.Errorf("Canonical = %s is not canonical", js(got))
			}
			if again := got.Canonical(); !again.Equal(got) {
				t.Errorf("Canonical is not idempotent: %s, then %s", js(got), js(again))
			}
			if tc.in.IsCanonical() != tc.in.Equal(want) {
				t.Errorf("IsCanonical = %v for %s", tc.in.IsCanonical(), before)
			}
			if after := js(tc.in); after != before {
				t.Errorf("Canonical changed its receiver from %s to %s", before, after)
			}
		})
	}
}

func TestLengths(t *testing.T) {
	tests := []struct {
		name                 string
		d                    string
		length, base, change int
		document             bool
		text                 string
	}{
		{"empty", `[]`, 0, 0, 0, true, ""},
		{"ascii", `[{"insert":"abc"}]`, 3, 0, 3, true, "abc"},
		{"bmp", `[{"insert":"é中—"}]`, 3, 0, 3, true, "é中—"},
		{"emoji", `[{"insert":"a😀b"}]`, 4, 0, 4, true, "a😀b"},
		{"zwj_sequence", `[{"insert":"👨‍👩‍👧"}]`, 8, 0, 8, true, "👨‍👩‍👧"},
		{"embed", `[{"insert":"a"},{"insert":{"image":"x"}},{"insert":"b"}]`, 3, 0, 3, true, "ab"},
		{"change", `[{"retain":3},{"insert":"😀"},{"delete":2},{"retain":1,"attributes":{"bold":true}}]`, 8, 6, 0, false, "😀"},
		{"delete", `[{"delete":5}]`, 5, 5, -5, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.d)
			if got := d.Length(); got != tc.length {
				t.Errorf("Length = %d, want %d", got, tc.length)
			}
			if got := d.BaseLength(); got != tc.base {
				t.Errorf("BaseLength = %d, want %d", got, tc.base)
			}
			if got := d.ChangeLength(); got != tc.change {
				t.Errorf("ChangeLength = %d, want %d", got, tc.change)
			}
			if got := d.IsDocument(); got != tc.document {
				t.Errorf("IsDocument = %v, want %v", got, tc.document)
			}
			if got := d.Text(); got != tc.text {
				t.Errorf("Text = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestOp_KindLen(t *testing.T) {
	tests := []struct {
		name string
		op   ot.Op
		kind ot.Kind
		len  int
	}{
		{"text", ot.Op{Insert: "a😀"}, ot.KindInsert, 3},
		{"embed", ot.Op{Embed: &image}, ot.KindInsert, 1},
		{"retain", ot.Op{Retain: 4, Attributes: bold}, ot.KindRetain, 4},
		{"delete", ot.Op{Delete: 2}, ot.KindDelete, 2},
		{"nothing", ot.Op{}, ot.KindInvalid, 0},
		{"attributes_only", ot.Op{Attributes: bold}, ot.KindInvalid, 0},
		{"text_and_embed", ot.Op{Insert: "a", Embed: &image}, ot.KindInvalid, 1},
		{"retain_and_delete", ot.Op{Retain: 1, Delete: 2}, ot.KindInvalid, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.op.Kind(); got != tc.kind {
				t.Errorf("Kind = %v, want %v", got, tc.kind)
			}
			if got := tc.op.Len(); got != tc.len {
				t.Errorf("Len = %d, want %d", got, tc.len)
			}
		})
	}
	for k, want := range map[ot.Kind]string{ot.KindInsert: "insert", ot.KindRetain: "retain", ot.KindDelete: "delete", ot.KindInvalid: "invalid", 99: "invalid"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name  string
		a, b  ot.Delta
		equal bool
	}{
		{"empty", ot.Delta{}, ot.New(), true},
		{"same", ot.New(ot.Op{Insert: "a", Attributes: bold}), ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{"bold": true}}), true},
		{"nil_and_empty_attributes", ot.New(ot.Op{Insert: "a"}), ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{}}), true},
		{"numbers_by_value", ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"size": 2}}), ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"size": 2.0}}), true},
		{"nested_values", ot.New(ot.Op{Embed: &ot.Embed{Type: "m", Value: map[string]any{"a": []any{1, "x"}}}}), ot.New(ot.Op{Embed: &ot.Embed{Type: "m", Value: map[string]any{"a": []any{1.0, "x"}}}}), true},
		{"text_differs", ot.New(ot.Op{Insert: "a"}), ot.New(ot.Op{Insert: "b"}), false},
		{"attributes_differ", ot.New(ot.Op{Insert: "a", Attributes: bold}), ot.New(ot.Op{Insert: "a", Attributes: italic}), false},
		{"null_is_not_absent", ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"bold": nil}}), ot.New(ot.Op{Retain: 1}), false},
		{"null_is_not_false", ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"bold": nil}}), ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"bold": false}}), false},
		{"string_is_not_number", ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"size": "1"}}), ot.New(ot.Op{Retain: 1, Attributes: ot.Attributes{"size": 1}}), false},
		{"op_for_op", ot.New(ot.Op{Insert: "ab"}), ot.New(ot.Op{Insert: "a"}, ot.Op{Insert: "b"}), false},
		{"kinds", ot.New(ot.Op{Retain: 1}), ot.New(ot.Op{Delete: 1}), false},
		{"embed_and_text", ot.New(ot.Op{Embed: &image}), ot.New(ot.Op{Insert: "a"}), false},
		{"embed_types", ot.New(ot.Op{Embed: &image}), ot.New(ot.Op{Embed: &ot.Embed{Type: "video", Value: "a.png"}}), false},
		{"embed_values", ot.New(ot.Op{Embed: &image}), ot.New(ot.Op{Embed: &ot.Embed{Type: "image", Value: "b.png"}}), false},
		{"lengths", ot.New(ot.Op{Insert: "a"}), ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: 1}), false},
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

func TestSlice(t *testing.T) {
	doc := parse(t, `[{"insert":"ab","attributes":{"bold":true}},{"insert":{"image":"x"}},{"insert":"c😀d"}]`)
	tests := []struct {
		name       string
		start, end int
		want       string
		err        error
	}{
		{"all", 0, -1, js(doc), nil},
		{"inside_op", 1, 2, `[{"insert":"b","attributes":{"bold":true}}]`, nil},
		{"across_ops", 1, 4, `[{"insert":"b","attributes":{"bold":true}},{"insert":{"image":"x"}},{"insert":"c"}]`, nil},
		{"embed", 2, 3, `[{"insert":{"image":"x"}}]`, nil},
		{"emoji", 4, 6, `[{"insert":"😀"}]`, nil},
		{"to_end", 4, -1, `[{"insert":"😀d"}]`, nil},
		{"past_end", 6, 100, `[{"insert":"d"}]`, nil},
		{"empty", 3, 3, `[]`, nil},
		{"start_in_pair", 5, 7, "", ot.ErrSurrogate},
		{"end_in_pair", 3, 5, "", ot.ErrSurrogate},
	}
	// Ops of no length or less would never let Slice end.
	for _, bad := range []ot.Delta{
		ot.New(ot.Op{Insert: "a"}, ot.Op{Retain: -1 << 62}, ot.Op{Insert: "b"}),
		ot.New(ot.Op{Insert: "a"}, ot.Op{Attributes: bold}),
	} {
		if got, err := bad.Slice(1<<62, 1<<62+5); !errors.Is(err, ot.ErrInvalid) {
			t.Errorf("Slice of %#v = %#v, %v; want ErrInvalid", bad, got, err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := doc.Slice(tc.start, tc.end)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Slice = %s, %v; want %v", js(got), err, tc.err)
				}
				return
			}
			if err != nil || !got.Equal(parse(t, tc.want)) {
				t.Errorf("Slice = %s, %v; want %s", js(got), err, tc.want)
			}
		})
	}
}

func TestUTF16(t *testing.T) {
	tests := []struct {
		name string
		s    string
		len  int
	}{
		{"empty", "", 0},
		{"ascii", "abc", 3},
		{"nul", "\x00", 1},
		{"two_byte", "é", 1},
		{"three_byte", "中\uffff", 2},
		{"four_byte", "😀", 2},
		{"mixed", "a😀é𝄞", 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ot.UTF16Len(tc.s); got != tc.len {
				t.Errorf("UTF16Len(%q) = %d, want %d", tc.s, got, tc.len)
			}
		})
	}

	s := "a😀é" // bytes: a=0, 😀=1..4, é=5..6; units: a=0, 😀=1..2, é=3
	offsets := []struct {
		units, bytes int
		ok           bool
	}{
		{0, 0, true}, {1, 1, true}, {2, 0, false}, {3, 5, true}, {4, 7, true}, {9, 7, true},
	}
	for _, tc := range offsets {
		b, ok := ot.UTF16Offset(s, tc.units)
		if ok != tc.ok || ok && b != tc.bytes {
			t.Errorf("UTF16Offset(%q, %d) = %d, %v; want %d, %v", s, tc.units, b, ok, tc.bytes, tc.ok)
		}
	}
}
