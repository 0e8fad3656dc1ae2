package main

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear, in the manner of HdrHistogram: values below 64 ns get a
// bucket each, and every power of two above that is split into 32 equal buckets, so a value is
// known to within 1/32 (about 3%) of itself. Recording is an index computation and an increment:
// no allocation per operation, so the client costs the same whichever server it drives.
const (
	subBits    = 5
	subCount   = 1 << subBits // buckets per power of two
	linearTop  = 2 * subCount // values below this have a bucket each
	numBuckets = linearTop + (64-subBits-1)*subCount
)

// hist counts durations, in nanoseconds. The zero value is empty and ready; one goroutine
// records into it, and hists are merged once the goroutines are done.
type hist struct {
	counts   [numBuckets]int64
	n        int64
	min, max int64
}

// bucketOf returns the bucket holding v.
func bucketOf(v uint64) int {
	if v < linearTop {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1)
	// v>>shift keeps v's top subBits+1 bits, so it is below 2^(subBits+1) and fits an int.
	return linearTop + (shift-1)*subCount + int(v>>shift) - subCount //nolint:gosec // bounded above
}

// bucketRange returns the smallest value in bucket i and the bucket's width.
func bucketRange(i int) (low, width uint64) {
	if i < linearTop {
		return uint64(i), 1 //nolint:gosec // i is a bucket index: 0 <= i < linearTop
	}
	j := i - linearTop
	shift := j/subCount + 1
	top := uint64(j%subCount + subCount)
	return top << shift, 1 << shift
}

// record adds one duration; negative durations count as zero.
func (h *hist) record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
}

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
}

// quantile returns the duration below which a fraction q (0..1) of the recorded values lie:
// the middle of the bucket holding the value of rank ceil(q·n), kept within the recorded
// minimum and maximum. It returns 0 for an empty histogram.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(min(max(q, 0), 1) * float64(h.n)))
	rank = max(rank, 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			// Recorded values are int64s, so the bucket [low, low+width) of one lies below
			// 2^63 and so does its middle.
			mid := int64(low + width/2) //nolint:gosec // below 2^63, above
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max) // unreachable while n equals the sum of counts
}

// ratio is a/b, or NaN when b is not positive (the reference did nothing to compare with).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

// perSecond is ops over elapsed, or 0 when nothing elapsed.
func perSecond(ops int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(ops) / elapsed.Seconds()
}
