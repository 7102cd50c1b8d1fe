package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/web"
)

// scrape returns the server's /metrics text.
func (s *server) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(s.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// metricValue returns the value of the sample named series (with its
// labels, as exposed), or -1 when it is absent.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return -1
			}
			return v
		}
	}
	return -1
}

// TestMetrics scripts a session (an op accepted, a resend, a malformed op
// with client-chosen strings in it, a text frame) and checks what /metrics
// reports, and that every label value is one of the fixed codes.
func TestMetrics(t *testing.T) {
	m := web.NewMetrics()
	s := startServer(t, "", serverOpts{session: session.Config{Metrics: m}, web: web.Config{Metrics: m}})
	const id = "metrics"
	r, w := s.rawJoin(t, id, session.Hello{Client: "evil-client-label", Rev: -1, Name: "evil-name-label"})

	op := &session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "hi")}
	r.send(op)
	if ack := expect[session.Ack](r); ack.Seq != 1 {
		t.Fatalf("ack %+v", ack)
	}
	r.send(op) // a resend: answered, not applied
	if ack := expect[session.Ack](r); ack.Seq != 1 || ack.Rev != w.Rev+1 {
		t.Fatalf("resend ack %+v, want seq 1 rev %d", ack, w.Rev+1)
	}
	// A malformed op whose keys and values a client chose.
	r.sendFrame(frame(t, map[string]any{"t": "op", "seq": uint64(2), "rev": int64(w.Rev + 1),
		"delta": map[string]any{"ops": []any{map[string]any{"evil-op-label": "evil-value-label", "retain": -3}}}}))
	if e := expect[session.Error](r); e.Code != session.CodeBadDelta {
		t.Fatalf("error %+v, want %s", e, session.CodeBadDelta)
	}
	// A crafted op that does not fit the document.
	r.send(&session.Submit{Seq: 3, Base: w.Rev + 1, Delta: del(10, 5)})
	if e := expect[session.Error](r); e.Code != session.CodeDoesNotFit {
		t.Fatalf("error %+v, want %s", e, session.CodeDoesNotFit)
	}

	// A client of another epoch is told to reload.
	other, ow := s.rawJoin(t, id, session.Hello{Client: "other", Rev: 1, Epoch: "evil-epoch-label"})
	if !ow.Reset {
		t.Fatalf("welcome for another epoch without reset: %+v", ow)
	}
	other.ws.Close()
	eventually(t, "the other connection counted closed", func() bool {
		return metricValue(s.scrape(t), "cowrite_connections") == 1
	})

	text := s.scrape(t)
	for series, want := range map[string]float64{
		"cowrite_connections":                               1,
		"cowrite_rooms_open":                                1,
		"cowrite_ops_accepted_total":                        1,
		"cowrite_dedupe_hits_total":                         1,
		`cowrite_ops_rejected_total{reason="bad_delta"}`:    1,
		`cowrite_ops_rejected_total{reason="does_not_fit"}`: 1,
		"cowrite_resyncs_total":                             1,
		"cowrite_slow_consumer_disconnects_total":           0,
		"cowrite_commit_seconds_count":                      1,
		"cowrite_commit_batch_ops_sum":                      1,
	} {
		if got := metricValue(text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// A text frame closes the connection with CloseProtocol.
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"op"}`)); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.closed(); code != session.CloseProtocol {
		t.Fatalf("close code %d, want %d", code, session.CloseProtocol)
	}
	eventually(t, "the connection counted closed", func() bool {
		text = s.scrape(t)
		return metricValue(text, "cowrite_connections") == 0
	})
	if got := metricValue(text, `cowrite_close_codes_total{code="4000"}`); got != 1 {
		t.Errorf("close code 4000 counted %v times, want 1", got)
	}

	codes := map[string]bool{}
	for _, c := range []string{session.CodeBadFrame, session.CodeBadMessage, session.CodeUnknownType,
		session.CodeNotHello, session.CodeVersion, session.CodeBadDelta, session.CodeDoesNotFit,
		session.CodeFutureRev, session.CodeSeqConflict, session.CodeSeqOld, session.CodeReadOnly,
		session.CodeTooLarge, session.CodeUnavailable, session.CodeInternal, session.CodeBadDocID,
		session.CodeNotFound, session.CodeRateLimited, session.CodeShuttingDown} {
		codes[c] = true
	}
	label := regexp.MustCompile(`^cowrite_\w+\{(\w+)="([^"]*)"`)
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "evil") {
			t.Errorf("a client-supplied string in the metrics: %s", line)
		}
		m := label.FindStringSubmatch(line)
		if m == nil || m[1] == "le" {
			continue
		}
		switch m[1] {
		case "reason":
			if !codes[m[2]] {
				t.Errorf("reason %q is not an error code: %s", m[2], line)
			}
		case "code":
			if _, err := strconv.Atoi(m[2]); err != nil {
				t.Errorf("code %q is not a close code: %s", m[2], line)
			}
		default:
			t.Errorf("unexpected label %s: %s", m[1], line)
		}
	}
}

// TestPprofNotPublic checks that the public router serves no profiles.
func TestPprofNotPublic(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		resp, err := http.Get(s.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "goroutine") {
			t.Errorf("GET %s: %d, a profile on the public address", path, resp.StatusCode)
		}
	}
}
