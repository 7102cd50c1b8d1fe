package trace

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cowrite/cowrite/ot"
)

// ErrNoTraces reports that the traces directory could not be found.
var ErrNoTraces = errors.New("trace: traces directory not found")

// ErrAstral reports a trace whose text holds a character outside the BMP,
// where code point positions and UTF-16 positions differ.
var ErrAstral = errors.New("trace: character outside the BMP")

// A Trace is one editing history.
type Trace struct {
	Kind         string `json:"kind"` // "concurrent", or empty for a sequential trace
	StartContent string `json:"startContent"`
	EndContent   string `json:"endContent"`
	NumAgents    int    `json:"numAgents"` // concurrent traces only
	Txns         []Txn  `json:"txns"`
}

// A Txn is one transaction: patches applied in order, each to the result
// of the one before.
type Txn struct {
	Time        string  `json:"time"`
	Patches     []Patch `json:"patches"`
	Parents     []int   `json:"parents"`     // concurrent traces only
	NumChildren int     `json:"numChildren"` // concurrent traces only
	Agent       int     `json:"agent"`       // concurrent traces only
}

// A Patch deletes Del units at Pos, then inserts Ins there.
type Patch struct {
	Pos int
	Del int
	Ins string
}

// UnmarshalJSON reads a patch from its JSON form, [pos, del, "ins"], for
// readers that use encoding/json; Load has its own faster reader.
func (p *Patch) UnmarshalJSON(data []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("trace: patch has %d elements, want 3", len(raw))
	}
	var q Patch
	if err := json.Unmarshal(raw[0], &q.Pos); err != nil || q.Pos < 0 {
		return fmt.Errorf("trace: patch position %s", raw[0])
	}
	if err := json.Unmarshal(raw[1], &q.Del); err != nil || q.Del < 0 {
		return fmt.Errorf("trace: patch delete count %s", raw[1])
	}
	if err := json.Unmarshal(raw[2], &q.Ins); err != nil {
		return fmt.Errorf("trace: patch text: %w", err)
	}
	*p = q
	return nil
}

// Delta returns the patch as a change: retain Pos, delete Del, insert Ins,
// in canonical form. A patch that does nothing gives an empty delta.
func (p Patch) Delta() ot.Delta {
	var d ot.Delta
	if p.Del == 0 && p.Ins == "" {
		return d
	}
	d.Retain(p.Pos, nil)
	d.Delete(p.Del)
	d.Insert(p.Ins, nil)
	return d
}

// Load reads a trace from a gzipped JSON file.
func Load(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", path, err)
	}
	return t, nil
}

// Read reads a trace from gzipped JSON.
func Read(r io.Reader) (*Trace, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	t, err := parseTrace(data)
	if err != nil {
		return nil, err
	}
	if hasAstral(t.StartContent) || hasAstral(t.EndContent) {
		return nil, ErrAstral
	}
	for i := range t.Txns {
		for _, p := range t.Txns[i].Patches {
			if hasAstral(p.Ins) {
				return nil, fmt.Errorf("transaction %d: %w", i, ErrAstral)
			}
		}
	}
	return t, nil
}

// hasAstral reports whether s holds a character outside the BMP: in UTF-8,
// a leading byte of 0xF0 or above.
func hasAstral(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xF0 {
			return true
		}
	}
	return false
}

// Patches returns the number of patches in all transactions.
func (t *Trace) Patches() int {
	n := 0
	for i := range t.Txns {
		n += len(t.Txns[i].Patches)
	}
	return n
}

// Deltas returns every patch of a sequential trace as a change, in order:
// applied one after another to StartContent they give EndContent.
func (t *Trace) Deltas() []ot.Delta {
	out := make([]ot.Delta, 0, t.Patches())
	for i := range t.Txns {
		for _, p := range t.Txns[i].Patches {
			out = append(out, p.Delta())
		}
	}
	return out
}

// Dir returns the traces directory: $COWRITE_TRACES when set, else the
// first shared/traces found walking up from the working directory (the
// repository sits beside shared/, so from anywhere in it this finds
// ../shared/traces). It fails with ErrNoTraces when there is none.
func Dir() (string, error) {
	if d := os.Getenv("COWRITE_TRACES"); d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("%w: COWRITE_TRACES=%s is not a directory", ErrNoTraces, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoTraces, err)
	}
	for dir := wd; ; {
		d := filepath.Join(dir, "shared", "traces")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no shared/traces above %s", ErrNoTraces, wd)
		}
		dir = parent
	}
}

// Sequential returns the paths of the sequential traces, sorted.
func Sequential() ([]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "sequential", "*.json.gz"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no sequential traces in %s", ErrNoTraces, dir)
	}
	return files, nil
}
