package ot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

func TestOpError(t *testing.T) {
	var d ot.Delta
	err := d.UnmarshalJSON([]byte(`[{"insert":"a"},{"retain":1},{"delete":-3}]`))
	var oe *ot.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *ot.OpError", err)
	}
	if oe.Index != 2 || !errors.Is(err, ot.ErrInvalid) || errors.Is(err, ot.ErrSurrogate) {
		t.Errorf("OpError %+v", oe)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "ot: invalid delta: op 2: ") || !strings.Contains(msg, "delete") {
		t.Errorf("message %q", msg)
	}

	_, err = parse(t, `[{"insert":"😀"}]`).Compose(parse(t, `[{"retain":1},{"delete":1}]`))
	if !errors.As(err, &oe) || !errors.Is(err, ot.ErrSurrogate) || errors.Is(err, ot.ErrInvalid) {
		t.Fatalf("error %v, want an *ot.OpError wrapping ErrSurrogate", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "ot: boundary splits a surrogate pair: op 0") {
		t.Errorf("message %q", msg)
	}
}
