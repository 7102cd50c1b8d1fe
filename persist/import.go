package persist

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// Import makes content, a document delta, the content of document id.
// When id is free it creates the document, titled title, with content at
// revision 0; otherwise it appends one op, by author "import", that turns
// the current content into content, so that history is kept (nothing is
// appended when they are equal). Clients with the document open see that
// op like any other.
func (s *Store) Import(ctx context.Context, id, title string, content ot.Delta) error {
	if !content.IsDocument() {
		return fmt.Errorf("import %s: %w: %w", id, ErrInvalid, ot.ErrNotDocument)
	}
	content = content.Canonical()
	m, err := s.Meta(ctx, id)
	if errors.Is(err, doc.ErrNotFound) {
		now := time.Now().UTC()
		return s.Create(ctx, doc.Meta{ID: id, Epoch: rand.Text(), Title: title, Created: now, Updated: now}, content)
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	cur, err := s.At(ctx, id, m.Rev)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	change, err := cur.Diff(content)
	if err != nil {
		return fmt.Errorf("import %s: %w", id, err)
	}
	if len(change.Ops) == 0 {
		return nil
	}
	op := doc.Sequenced{
		Rev: m.Rev + 1, Client: "import-" + rand.Text(), Seq: 1, Delta: change,
		Digest: doc.Digest(change), Author: "import", Time: time.Now().UTC(),
	}
	return s.Append(ctx, id, m.Rev, []doc.Sequenced{op})
}
