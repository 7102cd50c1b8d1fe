package loadgen

import (
	"math/bits"
	"time"
)

// A histogram counts durations in log-linear buckets: 32 per power of two
// above 64 ns, so a quantile is within about 3% of the true value. It is
// not safe for concurrent use; each client owns its own and Run merges
// them.
type histogram struct {
	counts [histBuckets]uint32
	n      int64
	max    time.Duration
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	// Exponents up to 2^40 ns (18 minutes); longer durations land in the
	// last bucket.
	histBuckets = 2*histSub + (40-histSubBits-1)*histSub
)

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	i := 2*histSub + (e-histSubBits-1)*histSub + int((v>>(e-histSubBits))&(histSub-1))
	return min(i, histBuckets-1)
}

// valueOf returns the middle of bucket i.
func valueOf(i int) time.Duration {
	if i < 2*histSub {
		return time.Duration(i)
	}
	j := i - 2*histSub
	e := j/histSub + histSubBits + 1
	m := uint64(j%histSub) | histSub
	lo := m << (e - histSubBits)
	return time.Duration(lo + (uint64(1)<<(e-histSubBits))/2)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the duration below which a fraction q of the samples
// lie, or 0 without samples.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			return min(valueOf(i), h.max)
		}
	}
	return h.max
}
