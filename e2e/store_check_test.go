package e2e

import (
	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
)

// persist.Store is the store the server runs on: it must satisfy the
// interface session declares, without persist importing session.
var _ session.Store = (*persist.Store)(nil)
