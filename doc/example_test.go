package doc_test

import (
	"fmt"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

func ExampleDocument_Submit() {
	d := doc.New("epoch-1", doc.Options{})

	var hello ot.Delta
	hello.Insert("Hello world", nil)
	d.Submit(doc.Change{Client: "alice", Seq: 1, Base: 0, Delta: hello})

	// Bob and Alice both edit revision 1.
	var bob, alice ot.Delta
	bob.Retain(11, nil).Insert("!", nil)
	alice.Retain(5, nil).Insert(",", nil)
	d.Submit(doc.Change{Client: "bob", Seq: 1, Base: 1, Delta: bob})
	s, _, _ := d.Submit(doc.Change{Client: "alice", Seq: 2, Base: 1, Delta: alice})

	// A resend after a lost ack is answered, not applied again.
	again, dup, _ := d.Submit(doc.Change{Client: "alice", Seq: 2, Base: 1, Delta: alice})

	fmt.Println(d.Text(), s.Rev, again.Rev, dup)
	// Output: Hello, world! 3 3 true
}
