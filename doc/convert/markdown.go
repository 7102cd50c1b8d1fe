package convert

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/cowrite/cowrite/ot"
)

// exportMarkdown writes content as CommonMark (with GFM strikethrough).
// Underline has no Markdown form and is left out.
func exportMarkdown(content ot.Delta) []byte {
	var b strings.Builder
	ls := lines(content)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		if i > 0 {
			b.WriteString("\n")
		}
		switch list := str(l.block, "list"); {
		case list == "bullet" || list == "ordered":
			for n := 1; i < len(ls) && str(ls[i].block, "list") == list; i, n = i+1, n+1 {
				if list == "ordered" {
					fmt.Fprintf(&b, "%d. ", n)
				} else {
					b.WriteString("- ")
				}
				inlineMarkdown(&b, ls[i].runs)
				b.WriteString("\n")
			}
			i--
		case on(l.block, "code-block"):
			b.WriteString("```\n")
			for ; i < len(ls) && on(ls[i].block, "code-block"); i++ {
				for _, r := range ls[i].runs {
					b.WriteString(r.Insert)
				}
				b.WriteString("\n")
			}
			i--
			b.WriteString("```\n")
		case on(l.block, "blockquote"):
			// Lines of one quote are its paragraphs: an empty quote
			// line between two keeps them apart.
			for first := i; i < len(ls) && on(ls[i].block, "blockquote"); i++ {
				if i > first {
					b.WriteString(">\n")
				}
				if len(ls[i].runs) == 0 {
					continue
				}
				b.WriteString("> ")
				inlineMarkdown(&b, ls[i].runs)
				b.WriteString("\n")
			}
			i--
		default:
			if h := header(l.block); h > 0 {
				b.WriteString(strings.Repeat("#", h) + " ")
			}
			inlineMarkdown(&b, l.runs)
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// mdEscaper escapes the characters that mean something inline.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `~`, `\~`, `#`, `\#`, `!`, `\!`, `&`, `&amp;`)

func inlineMarkdown(b *strings.Builder, runs []ot.Op) {
	for i, r := range runs {
		if r.Embed != nil {
			if src, ok := r.Embed.Value.(string); ok && r.Embed.Type == "image" && safeURL(src) {
				b.WriteString("![](<" + strings.ReplaceAll(src, ">", "%3E") + ">)")
			}
			continue
		}
		a := r.Attributes
		s := r.Insert
		var t string
		if on(a, "code") {
			fence := "`"
			for strings.Contains(s, fence) {
				fence += "`"
			}
			t = fence + s + fence
		} else {
			t = mdEscaper.Replace(s)
			if i == 0 {
				t = escapeLineStart(t)
			}
		}
		// Emphasis markers must hug the text: move surrounding spaces out.
		core := strings.TrimSpace(t)
		lead := t[:strings.Index(t, core)]
		trail := t[len(lead)+len(core):]
		if core != "" {
			if on(a, "strike") {
				core = "~~" + core + "~~"
			}
			if on(a, "italic") {
				core = "*" + core + "*"
			}
			if on(a, "bold") {
				core = "**" + core + "**"
			}
			if link := str(a, "link"); link != "" && safeURL(link) {
				core = "[" + core + "](<" + strings.ReplaceAll(strings.TrimSpace(link), ">", "%3E") + ">)"
			}
		}
		b.WriteString(lead + core + trail)
	}
}

// escapeLineStart escapes what would start a block at the start of a line:
// a list marker, an ordered list number, a thematic break.
func escapeLineStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '-', '+', '=':
		return `\` + s
	}
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j > 0 && j < len(s) && (s[j] == '.' || s[j] == ')') {
		return s[:j] + `\` + s[j:]
	}
	return s
}

var markdown = goldmark.New(goldmark.WithExtensions(extension.Strikethrough))

// importMarkdown reads CommonMark into a document: paragraphs, headers,
// bold, italic, strikethrough, code spans and blocks, flat lists,
// blockquotes, links and images. Anything else keeps its text.
func importMarkdown(src []byte) ot.Delta {
	root := markdown.Parser().Parse(text.NewReader(src))
	m := &mdReader{src: src}
	m.blocks(root, nil)
	if len(m.d.Ops) == 0 {
		m.d.Insert("\n", nil)
	}
	return m.d
}

type mdReader struct {
	src []byte
	d   ot.Delta
}

// blocks reads the block children of n; block is the block format of the
// container (list item, quote).
func (m *mdReader) blocks(n ast.Node, block ot.Attributes) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Heading:
			m.inlines(c, nil, ot.Attributes{"header": c.Level})
		case *ast.Paragraph, *ast.TextBlock:
			m.inlines(c, nil, block)
		case *ast.List:
			kind := "bullet"
			if c.IsOrdered() {
				kind = "ordered"
			}
			for item := c.FirstChild(); item != nil; item = item.NextSibling() {
				m.blocks(item, ot.Attributes{"list": kind})
			}
		case *ast.Blockquote:
			m.blocks(c, ot.Attributes{"blockquote": true})
		case *ast.FencedCodeBlock, *ast.CodeBlock, *ast.HTMLBlock:
			ls := c.Lines()
			for i := 0; i < ls.Len(); i++ {
				seg := ls.At(i)
				m.d.Insert(strings.TrimRight(string(seg.Value(m.src)), "\n"), nil) // an empty text is ignored
				if _, html := c.(*ast.HTMLBlock); html {
					m.d.Insert("\n", block)
				} else {
					m.d.Insert("\n", ot.Attributes{"code-block": true})
				}
			}
		case *ast.ThematicBreak:
		default:
			m.blocks(c, block)
		}
	}
}

// inlines reads the inline children of n with the formats in attrs,
// ending the line with a newline of block format block.
func (m *mdReader) inlines(n ast.Node, attrs ot.Attributes, block ot.Attributes) {
	m.inline(n, attrs, block)
	m.d.Insert("\n", block)
}

func with(a ot.Attributes, key string, v any) ot.Attributes {
	b := make(ot.Attributes, len(a)+1)
	for k, x := range a {
		b[k] = x
	}
	b[key] = v
	return b
}

func (m *mdReader) inline(n ast.Node, a ot.Attributes, block ot.Attributes) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			m.d.Insert(unescape(c.Segment.Value(m.src)), a)
			switch {
			case c.HardLineBreak():
				m.d.Insert("\n", block)
			case c.SoftLineBreak():
				m.d.Insert(" ", a)
			}
		case *ast.String:
			m.d.Insert(string(c.Value), a)
		case *ast.CodeSpan:
			var s strings.Builder
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if t, ok := t.(*ast.Text); ok {
					s.Write(t.Segment.Value(m.src))
				}
			}
			m.d.Insert(s.String(), with(a, "code", true))
		case *ast.Emphasis:
			key := "italic"
			if c.Level >= 2 {
				key = "bold"
			}
			m.inline(c, with(a, key, true), block)
		case *east.Strikethrough:
			m.inline(c, with(a, "strike", true), block)
		case *ast.Link:
			if safeURL(string(c.Destination)) {
				m.inline(c, with(a, "link", string(c.Destination)), block)
			} else {
				m.inline(c, a, block)
			}
		case *ast.AutoLink:
			u := string(c.URL(m.src))
			label := string(c.Label(m.src))
			if c.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(u, "mailto:") {
				u = "mailto:" + u
			}
			if safeURL(u) {
				m.d.Insert(label, with(a, "link", u))
			} else {
				m.d.Insert(label, a)
			}
		case *ast.Image:
			if dst := string(c.Destination); safeURL(dst) {
				m.d.InsertEmbed(ot.Embed{Type: "image", Value: dst}, nil)
			}
		case *ast.RawHTML:
			segs := c.Segments
			for i := 0; i < segs.Len(); i++ {
				s := segs.At(i)
				m.d.Insert(string(s.Value(m.src)), a)
			}
		default:
			m.inline(c, a, block)
		}
	}
}

// unescape turns Markdown text into what it says: entity and numeric
// references resolved, then backslash escapes removed. Export writes &
// as &amp; and \ as \\, so its text comes back exactly.
func unescape(b []byte) string {
	b = util.ResolveNumericReferences(b)
	b = util.ResolveEntityNames(b)
	return string(util.UnescapePunctuations(b))
}
