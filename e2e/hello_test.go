package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/cowrite/cowrite/session"
)

// TestHelloTimeout sets a short hello timeout: a connection that sends
// nothing, or only the start of its hello frame, is sent not_hello and
// closed with 4002 once the timeout has passed, and its document is not
// created; a hello inside the timeout is welcomed.
func TestHelloTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startServer(t, "", serverOpts{session: session.Config{HelloTimeout: timeout}})

	hello, err := session.Encode(&session.Hello{Version: session.ProtocolVersion, Client: "slow", Rev: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(hello) >= 126 {
		t.Fatalf("a hello of %d bytes needs a longer frame header", len(hello))
	}
	for _, tc := range []struct {
		name string
		act  func(*raw)
	}{
		{name: "silent", act: func(*raw) {}},
		{name: "partial_hello", act: func(r *raw) {
			// A masked binary frame header announcing the whole hello,
			// and half of its payload: the server's reader waits for the
			// rest inside the frame.
			head := []byte{0x82, 0x80 | byte(len(hello)), 0, 0, 0, 0} // mask key 0: the payload as it is
			if _, err := r.ws.UnderlyingConn().Write(append(head, hello[:len(hello)/2]...)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "hello-" + tc.name
			start := time.Now()
			r := s.rawDial(t, id)
			r.t = t
			tc.act(r)
			code, errs := r.closed()
			elapsed := time.Since(start)
			t.Logf("closed after %v", elapsed)
			if code != session.CloseHelloTimeout || len(errs) != 1 || errs[0].Code != session.CodeNotHello {
				t.Fatalf("closed with %d after %+v, want 4002 after not_hello", code, errs)
			}
			if elapsed < timeout || elapsed > timeout+2*time.Second {
				t.Fatalf("closed after %v, want about %v", elapsed, timeout)
			}
			must(t, s.call(t, http.MethodGet, "/v1/docs/"+id, nil), http.StatusNotFound)
		})
	}

	t.Run("hello_in_time", func(t *testing.T) {
		r := s.rawDial(t, "hello-in-time")
		r.t = t
		time.Sleep(timeout / 3)
		r.sendFrame(hello)
		expect[session.Welcome](r)
		must(t, s.call(t, http.MethodGet, "/v1/docs/hello-in-time", nil), http.StatusOK)
	})
}
