package convert_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/doc/convert"
	"github.com/cowrite/cowrite/ot"
)

// rich is a document with every supported format.
func rich(t *testing.T) ot.Delta {
	t.Helper()
	const src = `{"ops":[
		{"insert":"Title"},{"insert":"\n","attributes":{"header":1}},
		{"insert":"Plain, "},{"insert":"bold","attributes":{"bold":true}},{"insert":", "},
		{"insert":"italic","attributes":{"italic":true}},{"insert":", "},
		{"insert":"gone","attributes":{"strike":true}},{"insert":", "},
		{"insert":"x := 1","attributes":{"code":true}},{"insert":" and "},
		{"insert":"a link","attributes":{"link":"https://example.com/a?b=c"}},{"insert":".\n"},
		{"insert":"Sub"},{"insert":"\n","attributes":{"header":2}},
		{"insert":"one"},{"insert":"\n","attributes":{"list":"bullet"}},
		{"insert":"two"},{"insert":"\n","attributes":{"list":"bullet"}},
		{"insert":"first"},{"insert":"\n","attributes":{"list":"ordered"}},
		{"insert":"second"},{"insert":"\n","attributes":{"list":"ordered"}},
		{"insert":"quoted words"},{"insert":"\n","attributes":{"blockquote":true}},
		{"insert":"func main() {}"},{"insert":"\n","attributes":{"code-block":true}},
		{"insert":"  indented"},{"insert":"\n","attributes":{"code-block":true}},
		{"insert":"Specials * _ [x] # 1. <b> & \\ end\n"}
	]}`
	var d ot.Delta
	if err := json.Unmarshal([]byte(src), &d); err != nil {
		t.Fatal(err)
	}
	return d.Canonical()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		content      func(t *testing.T) ot.Delta
	}{
		{"txt", convert.Text, func(*testing.T) ot.Delta {
			var d ot.Delta
			return *d.Insert("Héllo 😀 wörld\n  two\n\nthree <b>\n", nil)
		}},
		{"json", convert.JSON, rich},
		{"md", convert.Markdown, rich},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.content(t)
			b, err := convert.Export(want, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := convert.Import(b, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("round trip through %s:\n%s\ngot  %s\nwant %s", tc.format, b, gj, wj)
			}
			if tc.format == convert.Text && string(b) != want.Text() {
				t.Errorf("text export %q, want %q", b, want.Text())
			}
		})
	}
}

func TestExportHTML(t *testing.T) {
	got, err := convert.Export(rich(t), convert.HTML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<h1>Title</h1>", "<strong>bold</strong>", "<em>italic</em>", "<s>gone</s>", "<code>x := 1</code>",
		`<a href="https://example.com/a?b=c" rel="noopener noreferrer nofollow">a link</a>`,
		"<h2>Sub</h2>", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>",
		"<blockquote>quoted words</blockquote>", "<pre><code>func main() {}\n  indented\n</code></pre>",
		"&lt;b&gt; &amp;",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("html lacks %q:\n%s", want, got)
		}
	}
}

func TestExportHTML_Safe(t *testing.T) {
	const src = `{"ops":[
		{"insert":"<script>alert(1)</script>"},
		{"insert":"bad","attributes":{"link":"javascript:alert(1)"}},
		{"insert":"bad2","attributes":{"link":" JaVaScRiPt:alert(1)"}},
		{"insert":"bad3","attributes":{"link":"java\tscript:alert(1)"}},
		{"insert":"bad4","attributes":{"link":"data:text/html,<script>"}},
		{"insert":"q","attributes":{"link":"https://x.example/\"><script>"}},
		{"insert":{"image":"javascript:alert(1)"}},
		{"insert":"u","attributes":{"underline":true,"bold":"<i>"}},
		{"insert":"\n","attributes":{"header":"<h1 onload=x>"}}
	]}`
	var d ot.Delta
	if err := json.Unmarshal([]byte(src), &d); err != nil {
		t.Fatal(err)
	}
	got, err := convert.Export(d, convert.HTML)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, bad := range []string{"<script", "javascript:", "JaVaScRiPt", "data:", "onload", `"><`, "<img"} {
		if strings.Contains(s, bad) {
			t.Errorf("html holds %q:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(s, "<u>u</u>") {
		t.Errorf("html lost text or format:\n%s", s)
	}
	if !strings.Contains(s, `href="https://x.example/&#34;&gt;&lt;script&gt;"`) {
		t.Errorf("html link not escaped:\n%s", s)
	}
}

func TestImportMarkdown(t *testing.T) {
	got, err := convert.Import([]byte("# H\n\nsome *it* and **b** text\nwrapped\n\n* a\n* b\n\n> q\n\n[x](javascript:alert(1)) <https://e.com>\n"), convert.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	want := ot.New(
		ot.Op{Insert: "H"}, ot.Op{Insert: "\n", Attributes: ot.Attributes{"header": 1}},
		ot.Op{Insert: "some "}, ot.Op{Insert: "it", Attributes: ot.Attributes{"italic": true}}, ot.Op{Insert: " and "},
		ot.Op{Insert: "b", Attributes: ot.Attributes{"bold": true}}, ot.Op{Insert: " text wrapped\na"},
		ot.Op{Insert: "\n", Attributes: ot.Attributes{"list": "bullet"}}, ot.Op{Insert: "b"},
		ot.Op{Insert: "\n", Attributes: ot.Attributes{"list": "bullet"}}, ot.Op{Insert: "q"},
		ot.Op{Insert: "\n", Attributes: ot.Attributes{"blockquote": true}}, ot.Op{Insert: "x "},
		ot.Op{Insert: "https://e.com", Attributes: ot.Attributes{"link": "https://e.com"}}, ot.Op{Insert: "\n"},
	).Canonical()
	if !got.Equal(want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
}

func TestImport_Bad(t *testing.T) {
	for _, tc := range []struct{ name, format, data string }{
		{"json_not_document", convert.JSON, `{"ops":[{"retain":3}]}`},
		{"json_garbage", convert.JSON, `{"ops":`},
		{"txt_not_utf8", convert.Text, "\xff\xfe"},
		{"html", convert.HTML, "<p>x</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := convert.Import([]byte(tc.data), tc.format); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestMarkdownBlockquote checks that the lines of a quote are its
// paragraphs, kept apart by an empty quote line and by nothing after the
// last, and that the quote comes back from its Markdown.
func TestMarkdownBlockquote(t *testing.T) {
	q := ot.Attributes{"blockquote": true}
	d := ot.New(ot.Op{Insert: "q1"}, ot.Op{Insert: "\n", Attributes: q}, ot.Op{Insert: "q2"}, ot.Op{Insert: "\n", Attributes: q}, ot.Op{Insert: "after\n"})
	got, err := convert.Export(d, convert.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	if want := "> q1\n>\n> q2\n\nafter\n"; string(got) != want {
		t.Errorf("markdown %q, want %q", got, want)
	}
	back, err := convert.Import(got, convert.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(d) {
		t.Errorf("imported back as %v, want %v", back, d)
	}
}
