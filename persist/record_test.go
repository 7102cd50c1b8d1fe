package persist

import (
	"bytes"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

func sampleDelta() ot.Delta {
	var d ot.Delta
	d.Retain(3, ot.Attributes{"bold": true, "color": nil}).
		Insert("héllo 😀", ot.Attributes{"link": "https://example.com", "indent": 2.0}).
		InsertEmbed(ot.Embed{Type: "image", Value: map[string]any{"src": "x.png", "w": 10.5}}, nil).
		Delete(4)
	return d
}

func TestRecords_RoundTrip(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 30, 45, 123456789, time.UTC)
	t.Run("meta", func(t *testing.T) {
		m := doc.Meta{ID: "d", Epoch: "ep", Title: "Title ✓", Created: now, Updated: now.Add(time.Hour), Rev: 42}
		b, err := encodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMeta("d", b)
		if err != nil {
			t.Fatal(err)
		}
		if got != m {
			t.Errorf("got %+v, want %+v", got, m)
		}
	})
	t.Run("meta_zero_times", func(t *testing.T) {
		m := doc.Meta{ID: "d", Epoch: "ep"}
		b, _ := encodeMeta(m)
		got, err := decodeMeta("d", b)
		if err != nil || got != m {
			t.Errorf("got %+v, %v; want %+v", got, err, m)
		}
	})
	t.Run("op", func(t *testing.T) {
		s := doc.Sequenced{Rev: 7, Client: "c1", Seq: 3, Delta: sampleDelta(), Digest: 1<<63 + 5, Author: "ann", Time: now}
		b, err := encodeOp(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeOp(b)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Delta.Equal(s.Delta) || got.Rev != s.Rev || got.Client != s.Client || got.Seq != s.Seq ||
			got.Digest != s.Digest || got.Author != s.Author || !got.Time.Equal(s.Time) {
			t.Errorf("got %+v, want %+v", got, s)
		}
		if doc.Digest(got.Delta) != doc.Digest(s.Delta) {
			t.Error("digest of the decoded delta differs")
		}
	})
	t.Run("snapshot", func(t *testing.T) {
		var content ot.Delta
		content.Insert("abc", ot.Attributes{"bold": true}).InsertEmbed(ot.Embed{Type: "formula", Value: "e=mc^2"}, nil).Insert("\n", nil)
		b, err := encodeSnapshot(9, content)
		if err != nil {
			t.Fatal(err)
		}
		rev, got, err := decodeSnapshot(b)
		if err != nil || rev != 9 || !got.Equal(content) {
			t.Errorf("got %d %v %v, want 9 %v", rev, got, err, content)
		}
	})
	t.Run("empty_snapshot", func(t *testing.T) {
		b, _ := encodeSnapshot(0, ot.Delta{})
		rev, got, err := decodeSnapshot(b)
		if err != nil || rev != 0 || len(got.Ops) != 0 {
			t.Errorf("got %d %v %v", rev, got, err)
		}
	})
	t.Run("client", func(t *testing.T) {
		cs := doc.ClientState{Seq: 12, Digest: 99, Rev: 4}
		b, _ := encodeClient(cs)
		got, err := decodeClient(b)
		if err != nil || got != cs {
			t.Errorf("got %+v %v, want %+v", got, err, cs)
		}
	})
	t.Run("tombstone", func(t *testing.T) {
		b, _ := encodeTime(now)
		got, err := decodeTime(b)
		if err != nil || !got.Equal(now) {
			t.Errorf("got %v %v", got, err)
		}
	})
}

func TestRecords_Rejected(t *testing.T) {
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good, _ := encodeOp(doc.Sequenced{Rev: 1, Delta: sampleDelta()})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not msgpack at all")},
		{"trailing_bytes", append(append([]byte{}, good...), 0xc0)},
		{"truncated", good[:len(good)-1]},
		{"huge_array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"huge_map", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
		{"huge_string", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}},
		{"deep", append(bytes.Repeat([]byte{0x91}, 200), 0xc0)},
		{"ext", []byte{0xd4, 0x01, 0x00}},
		{"no_version", enc(map[string]any{"r": 1, "d": []any{}})},
		{"future_version", enc(map[string]any{"v": 2, "r": 1, "d": []any{}})},
		{"zero_rev", enc(map[string]any{"v": 1, "r": 0, "d": []any{}})},
		{"no_delta", enc(map[string]any{"v": 1, "r": 1})},
		{"bad_delta", enc(map[string]any{"v": 1, "r": 1, "d": []any{map[string]any{"retain": -1}}})},
		{"wrong_type", enc(map[string]any{"v": 1, "r": "one", "d": []any{}})},
		{"int_keys", enc(map[any]any{1: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeOp(tt.b); err == nil {
				t.Error("decodeOp accepted it")
			}
		})
	}
	t.Run("snapshot_not_document", func(t *testing.T) {
		b := enc(map[string]any{"v": 1, "r": 1, "d": []any{map[string]any{"retain": 1}}})
		if _, _, err := decodeSnapshot(b); err == nil {
			t.Error("decodeSnapshot accepted a retain")
		}
	})
	t.Run("client_seq_zero", func(t *testing.T) {
		if _, err := decodeClient(enc(map[string]any{"v": 1, "s": 0, "r": 1})); err == nil {
			t.Error("decodeClient accepted seq 0")
		}
	})
}

// FuzzDecode feeds every record decoder the same bytes: none may panic or
// allocate without bound, and what the frame check accepts the decoder
// must be able to read without trusting lengths.
func FuzzDecode(f *testing.F) {
	now := time.Unix(1700000000, 5)
	for _, s := range []doc.Sequenced{{Rev: 1, Delta: sampleDelta()}, {Rev: 3, Client: "c", Seq: 2, Digest: 7, Author: "a", Time: now}} {
		b, _ := encodeOp(s)
		f.Add(b)
	}
	b, _ := encodeMeta(doc.Meta{Epoch: "e", Title: "t", Created: now, Updated: now, Rev: 3})
	f.Add(b)
	var content ot.Delta
	content.Insert("abc\n", ot.Attributes{"header": 1})
	b, _ = encodeSnapshot(2, content)
	f.Add(b)
	b, _ = encodeClient(doc.ClientState{Seq: 1, Digest: 2, Rev: 3})
	f.Add(b)
	b, _ = encodeTime(now)
	f.Add(b)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa1, 'd', 0xdc, 0xff, 0xff})
	f.Add(append(bytes.Repeat([]byte{0x91}, 100), 0xc0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		_, _ = decodeMeta("x", b)
		_, _ = decodeOp(b)
		_, _, _ = decodeSnapshot(b)
		_, _ = decodeClient(b)
		_, _ = decodeTime(b)
		if checkFrame(b) == nil {
			// What the frame check admits, the generic decoder reads
			// with bounded allocations.
			var v any
			_ = msgpack.Unmarshal(b, &v)
		}
	})
}

func TestKeys(t *testing.T) {
	// An id is never a prefix of another's records, and revisions sort in
	// numeric order.
	if bytes.HasPrefix(opKey("ab", 1), recordsPrefix("a")) {
		t.Error(`records of "ab" fall under the prefix of "a"`)
	}
	if bytes.Compare(opKey("a", 2), opKey("a", 10)) >= 0 || bytes.Compare(opKey("a", 255), opKey("a", 256)) >= 0 {
		t.Error("revisions do not sort numerically")
	}
	for _, tt := range []struct {
		key  []byte
		want string
	}{
		{opKey("doc-1", 17), `op "doc-1"@17`},
		{snapshotKey("d", 0), `snapshot "d"@0`},
		{clientKey("d", "c9"), `client "d"/"c9"`},
		{metaKey("d"), `meta "d"`},
		{tombKey("d"), `tombstone "d"`},
	} {
		if got := describeKey(tt.key); got != tt.want {
			t.Errorf("describeKey(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
	for id, want := range map[string]bool{
		"a": true, "A.b_c-9": true, ".hidden": false, "": false, "a b": false, "a\x00b": false, "é": false,
		string(bytes.Repeat([]byte{'x'}, 128)): true, string(bytes.Repeat([]byte{'x'}, 129)): false,
	} {
		if doc.ValidID(id) != want {
			t.Errorf("doc.ValidID(%q) = %v", id, !want)
		}
	}
}
