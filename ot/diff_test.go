package ot_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		// want is the diff where only one minimal answer exists; otherwise
		// size is the characters it inserts and deletes.
		want string
		size int
	}{
		{"insert", `[{"insert":"A"}]`, `[{"insert":"AB"}]`, `[{"retain":1},{"insert":"B"}]`, 1},
		{"delete", `[{"insert":"AB"}]`, `[{"insert":"A"}]`, `[{"retain":1},{"delete":1}]`, 1},
		{"same", `[{"insert":"A"}]`, `[{"insert":"A"}]`, `[]`, 0},
		{"empty", `[]`, `[]`, `[]`, 0},
		{"from_empty", `[]`, `[{"insert":"ab","attributes":{"bold":true}}]`, `[{"insert":"ab","attributes":{"bold":true}}]`, 2},
		{"to_empty", `[{"insert":"ab"},{"insert":{"image":"x"}}]`, `[]`, `[{"delete":3}]`, 3},
		{"format", `[{"insert":"A"}]`, `[{"insert":"A","attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":true}}]`, 0},
		{"unformat", `[{"insert":"A","attributes":{"bold":true,"color":"red"}}]`, `[{"insert":"A","attributes":{"color":"red"}}]`, `[{"retain":1,"attributes":{"bold":null}}]`, 0},
		{"object_attributes", `[{"insert":"A","attributes":{"font":{"family":"Helvetica","size":"15px"}}}]`, `[{"insert":"A","attributes":{"font":{"family":"Helvetica","size":"15px"}}}]`, `[]`, 0},
		{"object_attributes_change", `[{"insert":"A","attributes":{"font":{"family":"Helvetica","size":"15px"}}}]`, `[{"insert":"A","attributes":{"font":{"family":"Arial","size":"15px"}}}]`, `[{"retain":1,"attributes":{"font":{"family":"Arial","size":"15px"}}}]`, 0},
		{"embed_match", `[{"insert":{"image":1}}]`, `[{"insert":{"image":1}}]`, `[]`, 0},
		{"embed_mismatch", `[{"insert":{"image":1}}]`, `[{"insert":{"image":2}}]`, `[{"insert":{"image":2}},{"delete":1}]`, 2},
		{"embed_object_match", `[{"insert":{"image":{"url":"x.png","alt":"x"}}}]`, `[{"insert":{"image":{"alt":"x","url":"x.png"}}}]`, `[]`, 0},
		{"embed_object_change", `[{"insert":{"image":{"url":"x.png"}}}]`, `[{"insert":{"image":{"url":"y.png"}}}]`, `[{"insert":{"image":{"url":"y.png"}}},{"delete":1}]`, 2},
		{"embed_type_change", `[{"insert":{"image":"x"}}]`, `[{"insert":{"video":"x"}}]`, `[{"insert":{"video":"x"}},{"delete":1}]`, 2},
		{"embed_format", `[{"insert":{"image":"x"}}]`, `[{"insert":{"image":"x"},"attributes":{"width":"10"}}]`, `[{"retain":1,"attributes":{"width":"10"}}]`, 0},
		{"embed_is_not_nul", `[{"insert":{"image":"x"}}]`, `[{"insert":"\u0000"}]`, `[{"insert":"\u0000"},{"delete":1}]`, 2},
		{"nul_before_embed", `[{"insert":{"image":"x"}}]`, `[{"insert":"\u0000"},{"insert":{"image":"x"}}]`, `[{"insert":"\u0000"}]`, 1},
		{"embed_before_equal_embed", `[{"insert":{"image":"1"}}]`, `[{"insert":{"image":"2"}},{"insert":{"image":"1"}}]`, `[{"insert":{"image":"2"}}]`, 1},
		{"embeds_reordered", `[{"insert":{"image":"1"}},{"insert":{"image":"2"}}]`, `[{"insert":{"image":"2"}},{"insert":{"image":"1"}}]`, "", 2},
		{"private_use_text_and_embed", `[{"insert":"\ue000"},{"insert":{"image":"x"}}]`, `[{"insert":{"image":"x"}},{"insert":"\ue000"}]`, "", 2},
		{"inconvenient_indexes", `[{"insert":"12","attributes":{"bold":true}},{"insert":"34","attributes":{"italic":true}}]`, `[{"insert":"123","attributes":{"color":"red"}}]`,
			`[{"retain":2,"attributes":{"bold":null,"color":"red"}},{"retain":1,"attributes":{"italic":null,"color":"red"}},{"delete":1}]`, 1},
		{"combination", `[{"insert":"Bad","attributes":{"color":"red"}},{"insert":"cat","attributes":{"color":"blue"}}]`,
			`[{"insert":"Good","attributes":{"bold":true}},{"insert":"dog","attributes":{"italic":true}}]`, "", 0},
		{"emoji_change", `[{"insert":"a😀b"}]`, `[{"insert":"a😁b"}]`, `[{"retain":1},{"insert":"😁"},{"delete":2}]`, 2},
		{"emoji_same_high_half", `[{"insert":"😀😀"}]`, `[{"insert":"😀😁😀"}]`, "", 1},
		{"emoji_format", `[{"insert":"x😀y"}]`, `[{"insert":"x"},{"insert":"😀","attributes":{"bold":true}},{"insert":"y"}]`, `[{"retain":1},{"retain":2,"attributes":{"bold":true}}]`, 0},
		// go-diff's half-match heuristic answers 7 here.
		{"half_match_trap", `[{"insert":"😀𝄞😀😀𝄞😀😀😀𝄞𝄞😀😀😀𝄞😀𝄞𝄞😀😀"}]`, `[{"insert":"𝄞😀😀😀😀𝄞𝄞𝄞𝄞😀😀😀𝄞😀𝄞𝄞😀😀"}]`, "", 5},
		{"null_attribute", `[{"insert":"a"}]`, `[{"insert":"a","attributes":{"bold":null}}]`, `[{"insert":"a","attributes":{"bold":null}},{"delete":1}]`, 2},
		{"null_attribute_kept", `[{"insert":"a","attributes":{"bold":null}}]`, `[{"insert":"a","attributes":{"bold":null,"italic":true}}]`, `[{"retain":1,"attributes":{"italic":true}}]`, 0},
		{"null_attribute_removed", `[{"insert":"a","attributes":{"bold":null}}]`, `[{"insert":"a"}]`, `[{"retain":1,"attributes":{"bold":null}}]`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := parse(t, tc.a), parse(t, tc.b)
			got, err := a.Diff(b)
			if err != nil {
				t.Fatal(err)
			}
			if after, err := ot.Apply(a, got); err != nil || !after.Equal(b) {
				t.Fatalf("diff %s gives %s, %v; want %s", js(got), js(after), err, js(b))
			}
			if !got.IsCanonical() {
				t.Errorf("diff %s is not canonical", js(got))
			}
			if tc.want != "" {
				if want := parse(t, tc.want); !got.Equal(want) {
					t.Errorf("\n got  %s\n want %s", js(got), js(want))
				}
			}
			if tc.size > 0 || tc.want != "" {
				if size := editSize(a, got); size != tc.size {
					t.Errorf("diff %s edits %d characters, want %d", js(got), size, tc.size)
				}
			}
		})
	}
}

func TestDiff_NotDocument(t *testing.T) {
	doc := parse(t, `[{"insert":"a"}]`)
	change := parse(t, `[{"retain":1},{"insert":"b"}]`)
	if d, err := doc.Diff(change); !errors.Is(err, ot.ErrNotDocument) {
		t.Errorf("doc.Diff(change) = %s, %v; want ErrNotDocument", js(d), err)
	}
	if d, err := change.Diff(doc); !errors.Is(err, ot.ErrNotDocument) {
		t.Errorf("change.Diff(doc) = %s, %v; want ErrNotDocument", js(d), err)
	}
}

// A small edit of a long document gives a small diff, and beyond the size
// where Diff is exact it still applies exactly.
func TestDiff_Long(t *testing.T) {
	var a ot.Delta
	for i := range 400 {
		a.Insert(strings.Repeat("word 😀 ", 3), ot.Attributes{"n": float64(i % 3)})
		if i%50 == 0 {
			a.InsertEmbed(ot.Embed{Type: "image", Value: float64(i)}, nil)
		}
	}
	bs := boundaries(a)
	var edit ot.Delta
	edit.Retain(bs[3001], nil).Insert("NEW", nil).Retain(bs[3501]-bs[3001], nil).Delete(bs[3508]-bs[3501]).Retain(bs[3518]-bs[3508], italic)
	b, err := ot.Apply(a, edit)
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Diff(b)
	if err != nil {
		t.Fatal(err)
	}
	if after, err := ot.Apply(a, d); err != nil || !after.Equal(b) {
		t.Fatalf("diff does not apply exactly: %v", err)
	}
	if size := editSize(a, d); size > 10 {
		t.Errorf("diff %s edits %d characters, want 10 at most", js(d), size)
	}
	// Two unrelated long documents.
	var c ot.Delta
	c.Insert(strings.Repeat("other text 𝄞\n", 300), nil)
	d, err = a.Diff(c)
	if err != nil {
		t.Fatal(err)
	}
	if after, err := ot.Apply(a, d); err != nil || !after.Equal(c) {
		t.Fatalf("diff does not apply exactly: %v", err)
	}
}

func TestDiff_Invalid(t *testing.T) {
	doc := parse(t, `[{"insert":"a"}]`)
	for name, bad := range map[string]ot.Delta{
		"insert_and_retain": ot.New(ot.Op{Insert: "a", Retain: -1 << 62}),
		"invalid_utf8":      ot.New(ot.Op{Insert: "a\xff"}),
		"nan_attribute":     ot.New(ot.Op{Insert: "a", Attributes: ot.Attributes{"x": math.NaN()}}),
	} {
		t.Run(name, func(t *testing.T) {
			if d, err := doc.Diff(bad); !errors.Is(err, ot.ErrInvalid) {
				t.Errorf("doc.Diff(bad) = %#v, %v; want ErrInvalid", d, err)
			}
			if d, err := bad.Diff(doc); !errors.Is(err, ot.ErrInvalid) {
				t.Errorf("bad.Diff(doc) = %#v, %v; want ErrInvalid", d, err)
			}
		})
	}
}
