package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/cowrite/cowrite/ot"
)

// Formats are the names Export and Import take.
const (
	Text     = "txt"
	HTML     = "html"
	Markdown = "md"
	JSON     = "json"
)

// ErrFormat reports a format that is not supported in that direction.
var ErrFormat = errors.New("convert: unsupported format")

// FormatOf returns the format a file name's extension names: .txt, .html
// (.htm), .md (.markdown) or .json; "" when none.
func FormatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".text":
		return Text
	case ".html", ".htm":
		return HTML
	case ".md", ".markdown":
		return Markdown
	case ".json":
		return JSON
	}
	return ""
}

// Export writes document content in format: txt, html, md or json.
func Export(content ot.Delta, format string) ([]byte, error) {
	if !content.IsDocument() {
		return nil, ot.ErrNotDocument
	}
	switch format {
	case Text:
		return []byte(content.Text()), nil
	case JSON:
		b, err := json.MarshalIndent(content, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	case HTML:
		return exportHTML(content), nil
	case Markdown:
		return exportMarkdown(content), nil
	}
	return nil, fmt.Errorf("%w: export to %q", ErrFormat, format)
}

// Import reads a document from data in format: txt, md or json. The
// result is canonical and valid.
func Import(data []byte, format string) (ot.Delta, error) {
	var d ot.Delta
	switch format {
	case Text:
		if !utf8.Valid(data) {
			return ot.Delta{}, errors.New("convert: text is not UTF-8")
		}
		s := string(data)
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		d.Insert(s, nil)
	case JSON:
		if err := json.Unmarshal(data, &d); err != nil {
			return ot.Delta{}, fmt.Errorf("convert: %w", err)
		}
	case Markdown:
		if !utf8.Valid(data) {
			return ot.Delta{}, errors.New("convert: markdown is not UTF-8")
		}
		d = importMarkdown(data)
	default:
		return ot.Delta{}, fmt.Errorf("%w: import from %q", ErrFormat, format)
	}
	if err := d.Validate(); err != nil {
		return ot.Delta{}, fmt.Errorf("convert: %w", err)
	}
	if !d.IsDocument() {
		return ot.Delta{}, fmt.Errorf("convert: %w", ot.ErrNotDocument)
	}
	return d.Canonical(), nil
}

// A line is one line of a document: its inline runs and the block
// attributes of the newline that ends it.
type line struct {
	runs  []ot.Op
	block ot.Attributes
}

// lines splits a document into lines. Text after the last newline makes
// a line without block attributes.
func lines(content ot.Delta) []line {
	var out []line
	var cur line
	for _, op := range content.Ops {
		if op.Embed != nil {
			cur.runs = append(cur.runs, op)
			continue
		}
		s := op.Insert
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			if i > 0 {
				cur.runs = append(cur.runs, ot.Op{Insert: s[:i], Attributes: op.Attributes})
			}
			cur.block = op.Attributes
			out = append(out, cur)
			cur = line{}
			s = s[i+1:]
		}
		if s != "" {
			cur.runs = append(cur.runs, ot.Op{Insert: s, Attributes: op.Attributes})
		}
	}
	if len(cur.runs) > 0 {
		out = append(out, cur)
	}
	return out
}

// header returns a line's header level, 0 when none.
func header(a ot.Attributes) int {
	n, ok := ot.Number(a["header"])
	if !ok || n < 1 || n > 6 || n != float64(int(n)) {
		return 0
	}
	return int(n)
}

func str(a ot.Attributes, key string) string {
	s, _ := a[key].(string)
	return s
}

func on(a ot.Attributes, key string) bool {
	v, ok := a[key]
	if !ok || v == nil {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != "" && x != "false"
	}
	return true
}

// safeURL reports whether u may be a link or image source: http, https or
// mailto, or no scheme at all (a relative URL or a fragment).
func safeURL(u string) bool {
	u = strings.TrimSpace(u)
	if u == "" {
		return false
	}
	// Browsers ignore control characters and whitespace inside schemes.
	for _, r := range u {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	i := strings.IndexAny(u, ":/?#")
	if i < 0 || u[i] != ':' {
		return true // relative
	}
	switch strings.ToLower(u[:i]) {
	case "http", "https", "mailto":
		return true
	}
	return false
}
