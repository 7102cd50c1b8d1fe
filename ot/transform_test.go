package ot_test

import (
	"testing"
)

// transformTests are also run through quill-delta (TestQuill_Tables). want
// is a.Transform(b, priority): b made to follow a.
var transformTests = []struct {
	name     string
	a, b     string
	priority bool
	want     string
}{
	{"insert_insert_first", `[{"insert":"A"}]`, `[{"insert":"B"}]`, true, `[{"retain":1},{"insert":"B"}]`},
	{"insert_insert_second", `[{"insert":"A"}]`, `[{"insert":"B"}]`, false, `[{"insert":"B"}]`},
	{"insert_retain", `[{"insert":"A"}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, true, `[{"retain":1},{"retain":1,"attributes":{"bold":true,"color":"red"}}]`},
	{"insert_delete", `[{"insert":"A"}]`, `[{"delete":1}]`, true, `[{"retain":1},{"delete":1}]`},
	{"delete_insert", `[{"delete":1}]`, `[{"insert":"B"}]`, true, `[{"insert":"B"}]`},
	{"delete_retain", `[{"delete":1}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, true, `[]`},
	{"delete_delete", `[{"delete":1}]`, `[{"delete":1}]`, true, `[]`},
	{"retain_insert", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"insert":"B"}]`, true, `[{"insert":"B"}]`},
	{"retain_retain_first", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, true, `[{"retain":1,"attributes":{"bold":true}}]`},
	{"retain_retain_second", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, false, `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`},
	{"retain_retain_overruled", `[{"retain":1,"attributes":{"bold":true,"color":"red"}}]`, `[{"retain":1,"attributes":{"color":"blue"}}]`, true, `[]`},
	{"retain_null_first", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"retain":1,"attributes":{"color":null}}]`, true, `[]`},
	{"retain_null_second", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"retain":1,"attributes":{"color":null}}]`, false, `[{"retain":1,"attributes":{"color":null}}]`},
	{"null_against_plain_retain", `[{"retain":3}]`, `[{"retain":1},{"retain":1,"attributes":{"bold":null}}]`, true, `[{"retain":1},{"retain":1,"attributes":{"bold":null}}]`},
	{"retain_delete", `[{"retain":1,"attributes":{"color":"blue"}}]`, `[{"delete":1}]`, true, `[{"delete":1}]`},
	{"alternating_edits_a", `[{"retain":2},{"insert":"si"},{"delete":5}]`, `[{"retain":1},{"insert":"e"},{"delete":5},{"retain":1},{"insert":"ow"}]`, false, `[{"retain":1},{"insert":"e"},{"delete":1},{"retain":2},{"insert":"ow"}]`},
	{"alternating_edits_b", `[{"retain":1},{"insert":"e"},{"delete":5},{"retain":1},{"insert":"ow"}]`, `[{"retain":2},{"insert":"si"},{"delete":5}]`, false, `[{"retain":2},{"insert":"si"},{"delete":1}]`},
	{"conflicting_appends_first", `[{"retain":3},{"insert":"aa"}]`, `[{"retain":3},{"insert":"bb"}]`, true, `[{"retain":5},{"insert":"bb"}]`},
	{"conflicting_appends_second", `[{"retain":3},{"insert":"bb"}]`, `[{"retain":3},{"insert":"aa"}]`, false, `[{"retain":3},{"insert":"aa"}]`},
	{"prepend_append", `[{"insert":"aa"}]`, `[{"retain":3},{"insert":"bb"}]`, false, `[{"retain":5},{"insert":"bb"}]`},
	{"append_prepend", `[{"retain":3},{"insert":"bb"}]`, `[{"insert":"aa"}]`, false, `[{"insert":"aa"}]`},
	{"trailing_deletes_a", `[{"retain":2},{"delete":1}]`, `[{"delete":3}]`, false, `[{"delete":2}]`},
	{"trailing_deletes_b", `[{"delete":3}]`, `[{"retain":2},{"delete":1}]`, false, `[]`},
	{"overlapping_deletes", `[{"retain":1},{"delete":3}]`, `[{"retain":2},{"delete":4}]`, true, `[{"retain":1},{"delete":2}]`},
	{"embed_first", `[{"insert":{"image":"a.png"}}]`, `[{"insert":{"image":"b.png"}}]`, true, `[{"retain":1},{"insert":{"image":"b.png"}}]`},
	{"emoji_lengths", `[{"insert":"😀"}]`, `[{"retain":2,"attributes":{"bold":true}}]`, true, `[{"retain":2},{"retain":2,"attributes":{"bold":true}}]`},
	{"emoji_insert_ties", `[{"retain":1},{"insert":"😀"}]`, `[{"retain":1},{"insert":"𝄞"},{"delete":1}]`, true, `[{"retain":3},{"insert":"𝄞"},{"delete":1}]`},
	{"empty_a", `[]`, `[{"retain":1},{"delete":1}]`, true, `[{"retain":1},{"delete":1}]`},
	{"empty_b", `[{"retain":1},{"delete":1}]`, `[]`, true, `[]`},
	{"b_longer", `[{"delete":1}]`, `[{"retain":5,"attributes":{"bold":true}}]`, true, `[{"retain":4,"attributes":{"bold":true}}]`},
}

func TestTransform(t *testing.T) {
	for _, tc := range transformTests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := parse(t, tc.a), parse(t, tc.b)
			aJSON, bJSON := js(a), js(b)
			got, err := a.Transform(b, tc.priority)
			if err != nil {
				t.Fatal(err)
			}
			if js(a) != aJSON || js(b) != bJSON {
				t.Errorf("Transform changed its input: %s, %s", js(a), js(b))
			}
			if want := parse(t, tc.want); !got.Equal(want) {
				t.Errorf("\n got  %s\n want %s", js(got), js(want))
			}
		})
	}
}

// positionTests are also run through quill-delta (TestQuill_Tables).
var positionTests = []struct {
	name     string
	a        string
	index    int
	priority bool
	want     int
}{
	{"insert_before", `[{"insert":"A"}]`, 2, false, 3},
	{"insert_after", `[{"retain":2},{"insert":"A"}]`, 1, false, 1},
	{"insert_at_second", `[{"retain":2},{"insert":"A"}]`, 2, false, 3},
	{"insert_at_first", `[{"retain":2},{"insert":"A"}]`, 2, true, 2},
	{"insert_at_start_first", `[{"insert":"A"}]`, 0, true, 0},
	{"insert_at_start_second", `[{"insert":"A"}]`, 0, false, 1},
	{"delete_before", `[{"delete":2}]`, 4, false, 2},
	{"delete_after", `[{"retain":4},{"delete":2}]`, 2, false, 2},
	{"delete_across", `[{"retain":1},{"delete":4}]`, 2, false, 1},
	{"delete_at", `[{"retain":2},{"delete":2}]`, 2, false, 2},
	{"insert_and_delete_before", `[{"retain":2},{"insert":"A"},{"delete":2}]`, 4, false, 3},
	{"insert_before_delete_across", `[{"retain":1},{"insert":"ABC"},{"delete":4}]`, 4, false, 4},
	{"delete_before_and_across", `[{"delete":1},{"retain":1},{"delete":4}]`, 4, false, 1},
	{"format_only", `[{"retain":5,"attributes":{"bold":true}}]`, 3, false, 3},
	{"emoji_insert", `[{"insert":"😀"}]`, 0, false, 2},
	{"embed_insert", `[{"retain":1},{"insert":{"image":"x"}}]`, 3, true, 4},
	{"past_end", `[{"insert":"A"}]`, 10, true, 11},
	{"empty", `[]`, 7, false, 7},
}

func TestTransformPosition(t *testing.T) {
	for _, tc := range positionTests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parse(t, tc.a).TransformPosition(tc.index, tc.priority); got != tc.want {
				t.Errorf("TransformPosition(%d, %v) = %d, want %d", tc.index, tc.priority, got, tc.want)
			}
		})
	}
}
