package loadgen

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/ot"
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

func TestReadHot(t *testing.T) {
	var d ot.Delta
	d.Retain(3, nil).Insert("a😀é", ot.Attributes{"bold": true}).Delete(2).InsertEmbed(ot.Embed{Type: "image", Value: "x.png"}, nil)
	for _, c := range []struct {
		name string
		msg  any
		want hot
	}{
		{"ack", &session.Ack{Seq: 7, Rev: 300}, hot{typ: "ack", rev: 300, seq: 7}},
		{"op", &session.Remote{Rev: 1 << 40, Delta: d, Client: "abc", Seq: 70000, Author: "me"},
			hot{typ: "op", rev: 1 << 40, seq: 70000, client: []byte("abc"), change: 4 - 2 + 1}},
		{"leave", &session.Leave{Client: "abc"}, hot{}},
		{"error", &session.Error{Code: session.CodeInternal, Msg: "x", Seq: 3}, hot{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			frame, err := session.Encode(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			var h hot
			if err := readHot(frame, &h); err != nil {
				t.Fatal(err)
			}
			if h.typ != c.want.typ || h.rev != c.want.rev || h.seq != c.want.seq || string(h.client) != string(c.want.client) || h.change != c.want.change {
				t.Errorf("got %+v, want %+v", h, c.want)
			}
			// Every truncation is an error or a frame of another type,
			// never a panic.
			for i := range frame {
				_ = readHot(frame[:i], &h)
			}
		})
	}
}
