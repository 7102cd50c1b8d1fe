package ot_test

import (
	"encoding/json"
	"fmt"

	"github.com/cowrite/cowrite/ot"
)

func Example() {
	var document ot.Delta
	document.Insert("Hello world", nil)

	// Two people change the same document at once.
	var alice, bob ot.Delta
	alice.Retain(5, nil).Insert(",", nil)
	bob.Retain(6, nil).Retain(5, ot.Attributes{"bold": true})

	// Bob's change, transformed over Alice's, applies after hers.
	bob2, _ := alice.Transform(bob, true)
	after, _ := ot.Apply(document, alice)
	after, _ = ot.Apply(after, bob2)

	out, _ := json.Marshal(after)
	fmt.Println(string(out))
	// Output: {"ops":[{"insert":"Hello, "},{"insert":"world","attributes":{"bold":true}}]}
}
