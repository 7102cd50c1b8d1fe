package loadgen

import (
	"fmt"
	"strings"
	"time"
)

// A Report is what a run measured. Latencies and throughput count the ops
// sent and acknowledged inside the measurement window.
type Report struct {
	Docs, Clients int
	Pause         time.Duration
	Elapsed       time.Duration // the measurement window

	Ops       int64   // ops acknowledged in the window
	OpsPerSec float64 // Ops / Elapsed
	Ack       Latency // from an op's send to its ack at its author
	Broadcast Latency // from an op's send to its arrival at another client
	Refused   int64   // error frames received
	Failed    int     // clients whose connection ended early or misbehaved
	// FirstError is the first of their errors.
	FirstError string

	// Measured is set when Run started the server and could read its
	// figures from /proc; the fields below are zero otherwise.
	Measured      bool
	ServerCPU     float64 // cores the server used in the window (CPU seconds per second)
	ServerPeakRSS int64   // the server's peak resident memory (VmHWM), bytes

	Idle             int
	IdleJoin         time.Duration // how long the idle connections took to join
	IdleRSSBefore    int64         // the server's resident memory before they joined
	IdleRSSAfter     int64         // and after
	IdleBytesPerConn float64       // (after - before) / Idle
	IdleLost         int           // idle connections closed before the end

	LoadCPU               float64 // cores the load generator itself used in the window
	LoadBefore, LoadAfter float64 // the machine's one-minute load average
}

// Latency summarises a latency distribution.
type Latency struct {
	N             int64
	P50, P99, Max time.Duration
}

func latencyOf(h *histogram) Latency {
	return Latency{N: h.n, P50: h.quantile(0.50), P99: h.quantile(0.99), Max: h.max}
}

func (l Latency) String() string {
	if l.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (%d samples)", ms(l.P50), ms(l.P99), ms(l.Max), l.N)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// String formats the report for people.
func (r *Report) String() string {
	var b strings.Builder
	if r.Docs > 0 {
		fmt.Fprintf(&b, "load        %d docs × %d clients, pause %s, measured %s\n", r.Docs, r.Clients, r.Pause, r.Elapsed.Round(time.Millisecond))
		fmt.Fprintf(&b, "acked ops   %d  (%.0f ops/s)\n", r.Ops, r.OpsPerSec)
		fmt.Fprintf(&b, "ack         %s\n", r.Ack)
		fmt.Fprintf(&b, "broadcast   %s\n", r.Broadcast)
		if r.Refused > 0 || r.Failed > 0 {
			fmt.Fprintf(&b, "errors      %d refused ops, %d failed clients: %s\n", r.Refused, r.Failed, r.FirstError)
		}
	}
	if r.Idle > 0 {
		fmt.Fprintf(&b, "idle        %d connections joined in %s", r.Idle, r.IdleJoin.Round(time.Millisecond))
		if r.IdleLost > 0 {
			fmt.Fprintf(&b, ", %d lost", r.IdleLost)
		}
		b.WriteString("\n")
		if r.Measured {
			fmt.Fprintf(&b, "idle memory %.1f KiB per connection (RSS %s before, %s after)\n",
				r.IdleBytesPerConn/1024, mib(r.IdleRSSBefore), mib(r.IdleRSSAfter))
		}
	}
	if r.Measured {
		if r.Docs > 0 {
			fmt.Fprintf(&b, "server cpu  %.2f cores\n", r.ServerCPU)
		}
		fmt.Fprintf(&b, "server rss  %s peak\n", mib(r.ServerPeakRSS))
	}
	if r.Docs > 0 {
		fmt.Fprintf(&b, "loadgen cpu %.2f cores\n", r.LoadCPU)
	}
	fmt.Fprintf(&b, "machine     load average %.2f before, %.2f after", r.LoadBefore, r.LoadAfter)
	return b.String()
}
