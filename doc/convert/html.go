package convert

import (
	"fmt"
	"html"
	"strings"

	"github.com/cowrite/cowrite/ot"
)

// exportHTML writes content as an HTML fragment: one element per line,
// consecutive list lines inside <ul> or <ol>, consecutive code lines
// inside one <pre>.
func exportHTML(content ot.Delta) []byte {
	var b strings.Builder
	ls := lines(content)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		switch list, code := str(l.block, "list"), on(l.block, "code-block"); {
		case list == "bullet" || list == "ordered":
			tag := "ul"
			if list == "ordered" {
				tag = "ol"
			}
			b.WriteString("<" + tag + ">\n")
			for ; i < len(ls) && str(ls[i].block, "list") == list; i++ {
				b.WriteString("<li>")
				inlineHTML(&b, ls[i].runs)
				b.WriteString("</li>\n")
			}
			i--
			b.WriteString("</" + tag + ">\n")
		case code:
			b.WriteString("<pre><code>")
			for ; i < len(ls) && on(ls[i].block, "code-block"); i++ {
				for _, r := range ls[i].runs {
					b.WriteString(html.EscapeString(r.Insert))
				}
				b.WriteString("\n")
			}
			i--
			b.WriteString("</code></pre>\n")
		default:
			tag := "p"
			if h := header(l.block); h > 0 {
				tag = fmt.Sprint("h", h)
			} else if on(l.block, "blockquote") {
				tag = "blockquote"
			}
			b.WriteString("<" + tag + ">")
			if len(l.runs) == 0 {
				b.WriteString("<br>")
			}
			inlineHTML(&b, l.runs)
			b.WriteString("</" + tag + ">\n")
		}
	}
	return []byte(b.String())
}

// inlineHTML writes runs with their inline formats, everything escaped.
func inlineHTML(b *strings.Builder, runs []ot.Op) {
	for _, r := range runs {
		if r.Embed != nil {
			if src, ok := r.Embed.Value.(string); ok && r.Embed.Type == "image" && safeURL(src) {
				b.WriteString(`<img src="` + html.EscapeString(src) + `" alt="">`)
			}
			continue
		}
		a := r.Attributes
		var open, closing []string
		wrap := func(o, c string) { open = append(open, o); closing = append([]string{c}, closing...) }
		if link := str(a, "link"); link != "" && safeURL(link) {
			wrap(`<a href="`+html.EscapeString(strings.TrimSpace(link))+`" rel="noopener noreferrer nofollow">`, "</a>")
		}
		for _, f := range []struct{ key, tag string }{{"bold", "strong"}, {"italic", "em"}, {"underline", "u"}, {"strike", "s"}, {"code", "code"}} {
			if on(a, f.key) {
				wrap("<"+f.tag+">", "</"+f.tag+">")
			}
		}
		b.WriteString(strings.Join(open, ""))
		b.WriteString(html.EscapeString(r.Insert))
		b.WriteString(strings.Join(closing, ""))
	}
}
