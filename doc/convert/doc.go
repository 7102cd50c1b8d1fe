// Package convert turns a document (a Delta of inserts, in Quill's model)
// into plain text, HTML, Markdown or Quill's JSON, and reads text,
// Markdown and JSON back into a document.
//
// Quill keeps block formats on the newline that ends a line: header (1 to
// 6), list ("bullet" or "ordered"), blockquote and code-block; inline
// formats on the text: bold, italic, underline, strike, code and link.
// Those are the formats Export writes and Markdown import reads; others
// are left out of HTML and Markdown (their text is kept).
//
// HTML export is safe to serve: all text and attribute values are
// escaped, and links and images keep only the http, https and mailto
// schemes (a link with another scheme, such as javascript:, becomes plain
// text).
//
// Plain text and JSON round-trip exactly. A document always ends with a
// newline in Quill: Import adds one when text or Markdown lacks it.
//
// Every function is pure and safe for concurrent use.
package convert
