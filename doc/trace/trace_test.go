package trace

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    *Trace
		wantErr error
	}{
		{
			name: "sequential",
			json: `{"startContent":"ab","endContent":"xab\n","txns":[{"time":"t","patches":[[0,0,"x"],[3, 0, "\n"]]}]}`,
			want: &Trace{StartContent: "ab", EndContent: "xab\n", Txns: []Txn{{Time: "t", Patches: []Patch{{0, 0, "x"}, {3, 0, "\n"}}}}},
		},
		{
			name: "concurrent with unknown keys",
			json: ` { "kind" : "concurrent", "extra": {"a": [1, 2.5e3, true, null, "s"]}, "numAgents": 2, "endContent": "é",
				"txns": [ {"parents": [], "numChildren": 1, "agent": 0, "time": 5, "patches": [[0, 0, "\u00e9\"\\\/\t"]]},
				          {"parents": [0, 3], "agent": 1, "patches": []} ] } `,
			want: &Trace{Kind: "concurrent", NumAgents: 2, EndContent: "é", Txns: []Txn{
				{Parents: []int{}, NumChildren: 1, Patches: []Patch{{0, 0, "é\"\\/\t"}}},
				{Parents: []int{0, 3}, Agent: 1},
			}},
		},
		{name: "astral insert", json: `{"txns":[{"patches":[[0,0,"😀"]]}]}`, wantErr: ErrAstral},
		{name: "astral escape", json: `{"startContent":"\ud83d\ude00"}`, wantErr: ErrAstral},
		{name: "lone surrogate", json: `{"startContent":"\ud83d!"}`, want: &Trace{StartContent: "\uFFFD!"}},
		{name: "negative count", json: `{"txns":[{"patches":[[0,-1,""]]}]}`, wantErr: errSyntax},
		{name: "short patch", json: `{"txns":[{"patches":[[0,1]]}]}`, wantErr: errSyntax},
		{name: "truncated", json: `{"txns":[{"patches":[[0,1,"a"]]}`, wantErr: errSyntax},
		{name: "trailing data", json: `{} {}`, wantErr: errSyntax},
		{name: "bad UTF-8", json: "{\"startContent\":\"\xff\"}", wantErr: errSyntax},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got, err := Read(bytes.NewReader(gz(t, tt.json)))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPatch_Delta(t *testing.T) {
	tests := []struct {
		p    Patch
		want ot.Delta
	}{
		{Patch{0, 0, "a"}, ot.New(ot.Op{Insert: "a"})},
		{Patch{3, 2, ""}, ot.New(ot.Op{Retain: 3}, ot.Op{Delete: 2})},
		{Patch{3, 2, "xy"}, ot.New(ot.Op{Retain: 3}, ot.Op{Insert: "xy"}, ot.Op{Delete: 2})},
		{Patch{3, 0, ""}, ot.Delta{}},
	}
	for _, tt := range tests {
		if got := tt.p.Delta(); !got.Equal(tt.want) || !got.IsCanonical() {
			t.Errorf("%+v: got %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("COWRITE_TRACES", dir)
	if got, err := Dir(); err != nil || got != dir {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv("COWRITE_TRACES", filepath.Join(dir, "missing"))
	if _, err := Dir(); !errors.Is(err, ErrNoTraces) {
		t.Fatalf("missing COWRITE_TRACES: got %v", err)
	}

	// Without the variable, Dir walks up from the working directory.
	t.Setenv("COWRITE_TRACES", "")
	root := t.TempDir()
	want := filepath.Join(root, "shared", "traces")
	deep := filepath.Join(root, "main", "doc", "trace")
	for _, d := range []string{want, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(deep)
	if got, err := Dir(); err != nil || got != want {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, want)
	}
}

// TestLoad reads one shipped trace (doc's tests replay them all), checks
// the fast reader against encoding/json, and replays it as plain text.
func TestLoad(t *testing.T) {
	files, err := Sequential()
	if err != nil {
		if os.Getenv("COWRITE_STRICT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for _, f := range files {
		if !strings.Contains(f, "sveltecomponent") {
			continue
		}
		tr, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Patches() == 0 || tr.EndContent == "" {
			t.Errorf("%s: %d patches, %d bytes of end content", f, tr.Patches(), len(tr.EndContent))
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var want Trace
		if err := json.NewDecoder(zr).Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tr, &want) {
			t.Fatalf("%s: fast reader and encoding/json disagree", f)
		}
		text := []rune(tr.StartContent)
		for _, d := range tr.Txns {
			for _, p := range d.Patches {
				text = append(text[:p.Pos], append([]rune(p.Ins), text[p.Pos+p.Del:]...)...)
			}
		}
		if string(text) != tr.EndContent {
			t.Fatalf("%s: replay does not give the end content", f)
		}
	}
}
