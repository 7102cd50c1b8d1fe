package session

import (
	"testing"
	"time"
)

func TestKeyedLimiter(t *testing.T) {
	l := KeyedLimiter{PerSec: 2}
	now := time.Unix(1_000_000, 0)
	for i := range 2 {
		if ok, _ := l.Take("ann", now); !ok {
			t.Fatalf("ann's event %d refused within the burst", i)
		}
	}
	ok, wait := l.Take("ann", now)
	if ok || wait <= 0 || wait > time.Second/2 {
		t.Fatalf("ann over the burst: ok %v, wait %v; want refused, wait ≤ 0.5s", ok, wait)
	}
	if ok, _ := l.Take("bob", now); !ok {
		t.Fatal("bob refused for ann's events")
	}
	if ok, _ := l.Take("ann", now.Add(wait)); !ok {
		t.Fatal("ann refused after the wait she was told")
	}
	l.Take("bob", now.Add(2*keyIdle)) // sweeps ann, idle for longer than keyIdle
	if _, kept := l.keys["ann"]; kept {
		t.Error("an idle key was kept")
	}
}
