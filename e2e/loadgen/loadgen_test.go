package loadgen

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/web"
)

func TestRun(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	store, err := persist.Open(context.Background(), persist.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	m := session.NewManager(session.Config{Store: store, Logger: &log})
	h := web.New(web.Config{Manager: m, Logger: &log})
	srv := httptest.NewServer(h)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
		h.Close(ctx)
		srv.Close()
		store.Close()
	}()

	rep, err := Run(context.Background(), Config{
		URL: srv.URL, Docs: 2, Clients: 3, Idle: 4, IdlePerDoc: 2,
		Warmup: 200 * time.Millisecond, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.Ops == 0 || rep.Ack.N == 0 || rep.Broadcast.N == 0 {
		t.Errorf("ops %d, ack samples %d, broadcast samples %d: want some of each", rep.Ops, rep.Ack.N, rep.Broadcast.N)
	}
	// Every op reaches the other two clients of its document.
	if rep.Broadcast.N < rep.Ack.N {
		t.Errorf("%d broadcast samples for %d acks, want at least as many", rep.Broadcast.N, rep.Ack.N)
	}
	if rep.Failed != 0 || rep.Refused != 0 || rep.IdleLost != 0 {
		t.Errorf("failed %d, refused %d, idle lost %d: %s", rep.Failed, rep.Refused, rep.IdleLost, rep.FirstError)
	}
	if rep.Ack.P50 <= 0 || rep.Ack.P99 < rep.Ack.P50 || rep.Ack.Max < rep.Ack.P99 {
		t.Errorf("ack latency %v: want 0 < p50 <= p99 <= max", rep.Ack)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.04 || d > 0.04 {
			t.Errorf("quantile(%v) = %v, want %v within 4%%", c.q, got, c.want)
		}
	}
	for _, d := range []time.Duration{0, 1, 63, 64, 65, 1000, time.Second, 10 * time.Minute} {
		if v := valueOf(bucketOf(d)); d > 64 && (v < d*96/100 || v > d*104/100) {
			t.Errorf("bucket of %v holds %v", d, v)
		}
	}
	if i := bucketOf(time.Hour); i != histBuckets-1 {
		t.Errorf("an hour lands in bucket %d, want the last, %d", i, histBuckets-1)
	}
}
