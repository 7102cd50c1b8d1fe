package persist_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
)

func Example() {
	dir, err := os.MkdirTemp("", "cowrite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := persist.Open(ctx, persist.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Now().UTC()
	if err := s.Create(ctx, doc.Meta{ID: "notes", Epoch: "e1", Created: now, Updated: now}, ot.Delta{}); err != nil {
		log.Fatal(err)
	}

	// A sequenced op is durable once Append returns.
	var d ot.Delta
	d.Insert("Hello", nil)
	op := doc.Sequenced{Rev: 1, Client: "tab-1", Seq: 1, Delta: d, Digest: doc.Digest(d), Time: now}
	if err := s.Append(ctx, "notes", 0, []doc.Sequenced{op}); err != nil {
		log.Fatal(err)
	}

	// Somebody else's append from revision 0 now fails.
	err = s.Append(ctx, "notes", 0, []doc.Sequenced{op})
	fmt.Println(errors.Is(err, doc.ErrRevTaken))

	st, err := s.Load(ctx, "notes")
	if err != nil {
		log.Fatal(err)
	}
	document, err := doc.Load(st, doc.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(document.Rev(), document.Text())
	// Output:
	// true
	// 1 Hello
}
