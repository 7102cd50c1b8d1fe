package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
)

// selOf returns the selection that clients' map gives for id, or nil.
func selOf(others map[string]session.Presence, id string) *session.Selection {
	p, ok := others[id]
	if !ok {
		return nil
	}
	return p.Sel
}

func sameSel(a, b *session.Selection) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// presenceIn returns the presence of client id in a welcome.
func presenceIn(t *testing.T, w *session.Welcome, id string) session.Presence {
	t.Helper()
	for _, p := range w.Presence {
		if p.Client == id {
			return p
		}
	}
	t.Fatalf("welcome presence %+v lacks %s", w.Presence, id)
	return session.Presence{}
}

// TestPresence_MovesWithEdits checks that a selection moves through the
// edits made after it was set: on the server, as a newcomer's welcome
// shows, and in the other clients.
func TestPresence_MovesWithEdits(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	const id = "cursor"
	ann := s.dial(t, id, client.Options{ClientID: "ann", Name: "Ann", Color: "#e91e63"})
	if err := ann.Submit(ins(0, "hello world")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, ann)
	bob := s.dial(t, id, client.Options{ClientID: "bob", Name: "Bob", Color: "#00aa00"})

	// Ann selects "world".
	ann.SetPresence(&session.Selection{Index: 6, Length: 5})
	eventually(t, "bob sees ann's selection", func() bool {
		return sameSel(selOf(bob.Others(), "ann"), &session.Selection{Index: 6, Length: 5})
	})

	// Bob types before it: the selection moves on the server and in Bob's
	// own view.
	if err := bob.Submit(ins(0, ">> ")); err != nil {
		t.Fatal(err)
	}
	want := &session.Selection{Index: 9, Length: 5}
	if got := selOf(bob.Others(), "ann"); !sameSel(got, want) {
		t.Errorf("bob's view of ann's selection after his edit: %+v, want %+v", got, want)
	}
	waitSynced(t, bob)
	_, w := s.rawJoin(t, id, session.Hello{Client: "carol", Rev: -1, Name: "Carol"})
	p := presenceIn(t, w, "ann")
	if !sameSel(p.Sel, want) || p.Name != "Ann" || p.Color != "#e91e63" {
		t.Fatalf("newcomer sees ann as %+v, want selection %+v", p, want)
	}
	if p := presenceIn(t, w, "bob"); p.Sel != nil || p.Name != "Bob" {
		t.Fatalf("newcomer sees bob as %+v", p)
	}

	// Someone else edits: "X>> hello world", then deletes "o wo" across
	// the start of the selection, which keeps "rld".
	dave, w := s.rawJoin(t, id, session.Hello{Client: "dave", Rev: -1, Name: "Dave"})
	dave.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "X")})
	expect[session.Ack](dave)
	dave.send(&session.Submit{Seq: 2, Base: w.Rev + 1, Delta: del(8, 4)})
	ack := expect[session.Ack](dave)
	waitRev(t, ack.Rev, ann, bob)
	if ann.Text() != "X>> hellrld" {
		t.Fatalf("text %q", ann.Text())
	}
	want = &session.Selection{Index: 8, Length: 3}
	if got := selOf(bob.Others(), "ann"); !sameSel(got, want) {
		t.Errorf("bob sees ann's selection at %+v, want %+v", got, want)
	}
	_, w = s.rawJoin(t, id, session.Hello{Client: "erin", Rev: -1})
	if p := presenceIn(t, w, "ann"); !sameSel(p.Sel, want) {
		t.Fatalf("newcomer sees ann's selection at %+v, want %+v", p.Sel, want)
	}

	// A selection past the end is clamped to the document (11 units),
	// then moves with an insert before it. The op after the presence makes
	// sure the room handled both before the next join.
	dave.send(&session.SetPresence{Sel: &session.Selection{Index: 100, Length: 5}})
	dave.send(&session.Submit{Seq: 3, Base: ack.Rev, Delta: ins(0, "!")})
	expect[session.Ack](dave)
	_, w = s.rawJoin(t, id, session.Hello{Client: "fay", Rev: -1})
	if p := presenceIn(t, w, "dave"); !sameSel(p.Sel, &session.Selection{Index: 12, Length: 0}) {
		t.Fatalf("newcomer sees dave's selection at %+v, want {12 0}", p.Sel)
	}
}

// TestPresence_JoinAndLeave checks that a newcomer sees everyone in its
// welcome and is announced, and that a disconnect is announced with leave,
// whether the connection closed cleanly or was cut.
func TestPresence_JoinAndLeave(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	const id = "who"
	obs, _ := s.rawJoin(t, id, session.Hello{Client: "obs", Rev: -1, Name: "Observer", Color: "#000000"})
	ann := s.dial(t, id, client.Options{ClientID: "ann", Name: "Ann", Color: "#e91e63"})
	if p := expect[session.Presence](obs); p.Client != "ann" || p.Name != "Ann" || p.Color != "#e91e63" {
		t.Fatalf("announce %+v, want ann", p)
	}
	cut, _ := s.rawJoin(t, id, session.Hello{Client: "cut", Rev: -1, Name: "Cut"})
	if p := expect[session.Presence](obs); p.Client != "cut" {
		t.Fatalf("announce %+v, want cut", p)
	}

	_, w := s.rawJoin(t, id, session.Hello{Client: "new", Rev: -1})
	names := map[string]string{}
	for _, p := range w.Presence {
		names[p.Client] = p.Name
	}
	if len(names) != 3 || names["obs"] != "Observer" || names["ann"] != "Ann" || names["cut"] != "Cut" {
		t.Fatalf("newcomer's welcome presence: %+v", w.Presence)
	}
	if p := expect[session.Presence](obs); p.Client != "new" {
		t.Fatalf("announce %+v, want new", p)
	}

	cut.cut()
	if l := expect[session.Leave](obs); l.Client != "cut" {
		t.Fatalf("leave %+v, want cut", l)
	}
	ann.Close()
	if l := expect[session.Leave](obs); l.Client != "ann" {
		t.Fatalf("leave %+v, want ann", l)
	}
}

// TestPresence_Throttled sends many selection changes, a few milliseconds
// apart over several intervals, and checks that the others get few
// broadcasts, at most one per interval, the last of them the latest
// selection.
func TestPresence_Throttled(t *testing.T) {
	const interval = 100 * time.Millisecond
	s := startServer(t, "", serverOpts{session: session.Config{PresenceInterval: interval}})
	const id, updates = "burst", 200
	sender, w := s.rawJoin(t, id, session.Hello{Client: "sender", Rev: -1})
	sender.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, strings.Repeat("x", updates))})
	expect[session.Ack](sender)
	obs, _ := s.rawJoin(t, id, session.Hello{Client: "obs", Rev: -1})

	start := time.Now()
	for i := range updates {
		sender.send(&session.SetPresence{Sel: &session.Selection{Index: i, Length: 1}})
		time.Sleep(2 * time.Millisecond)
	}
	sent := time.Since(start)
	last := &session.Selection{Index: updates - 1, Length: 1}
	broadcasts := 0
	for {
		p := expect[session.Presence](obs)
		if p.Client != "sender" {
			t.Fatalf("presence of %s", p.Client)
		}
		broadcasts++
		if sameSel(p.Sel, last) {
			break
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d updates in %v gave %d broadcasts", updates, elapsed, broadcasts)
	if most := int(elapsed/interval) + 1; broadcasts > most {
		t.Fatalf("%d broadcasts in %v, want at most %d (one per %v)", broadcasts, elapsed, most, interval)
	}
	if broadcasts >= updates/4 {
		t.Fatalf("%d updates gave %d broadcasts: not coalesced", updates, broadcasts)
	}
	if sent > 3*interval && broadcasts < 2 {
		t.Fatalf("updates over %v gave %d broadcast: the first one swallowed the rest", sent, broadcasts)
	}
}
