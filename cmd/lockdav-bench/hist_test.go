package main

import (
	"math"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueInOrder(t *testing.T) {
	values := []uint64{0, 1, 63, 64, 65, 95, 96, 127, 128, 1000, 123456789, 1 << 40, math.MaxUint64}
	for _, v := range values {
		i := bucketOf(v)
		low, width := bucketRange(i)
		if v < low || v-low >= width {
			t.Errorf("bucketOf(%d) = %d covering [%d, %d+%d), want a bucket holding %d", v, i, low, low, width, v)
		}
		if i < 0 || i >= numBuckets {
			t.Errorf("bucketOf(%d) = %d, want within [0, %d)", v, i, numBuckets)
		}
	}
	// Consecutive buckets tile the line: each starts where the previous ends.
	for i := 1; i < numBuckets; i++ {
		prevLow, prevWidth := bucketRange(i - 1)
		low, _ := bucketRange(i)
		if low != prevLow+prevWidth {
			t.Fatalf("bucket %d starts at %d, want %d (end of bucket %d)", i, low, prevLow+prevWidth, i-1)
		}
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond},
		{"median of 1..100ms", ramp(100, time.Millisecond), 0.50, 50 * time.Millisecond},
		{"p99 of 1..100ms", ramp(100, time.Millisecond), 0.99, 99 * time.Millisecond},
		{"p100 is the maximum", ramp(100, time.Millisecond), 1, 100 * time.Millisecond},
		{"p0 is the minimum", ramp(100, time.Millisecond), 0, time.Millisecond},
		{"small exact values", []time.Duration{1, 2, 3, 4}, 0.5, 2},
		{"outlier above p99", append(same(999, time.Millisecond), time.Minute), 0.99, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hist
			for _, v := range tt.values {
				h.record(v)
			}
			got := h.quantile(tt.q)
			if !near(got, tt.want) {
				t.Errorf("quantile(%v) = %v, want %v within 1/32", tt.q, got, tt.want)
			}
		})
	}
}

func TestMergeEqualsRecordingTogether(t *testing.T) {
	var a, b, all hist
	for i, v := range ramp(1000, 37*time.Microsecond) {
		if i%3 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
		all.record(v)
	}
	var merged hist
	merged.merge(&a)
	merged.merge(&b)
	merged.merge(&hist{}) // an empty hist changes nothing
	if merged != all {
		t.Errorf("merge of parts: n=%d min=%d max=%d, want n=%d min=%d max=%d and equal counts",
			merged.n, merged.min, merged.max, all.n, all.min, all.max)
	}
}

func TestRecordNegativeCountsAsZero(t *testing.T) {
	var h hist
	h.record(-time.Second)
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("quantile after record(-1s) = %v, want 0", got)
	}
}

func TestRatioAndRate(t *testing.T) {
	if got := ratio(90, 100); got != 0.9 {
		t.Errorf("ratio(90, 100) = %v, want 0.9", got)
	}
	if got := ratio(5, 0); !math.IsNaN(got) {
		t.Errorf("ratio(5, 0) = %v, want NaN", got)
	}
	if got := perSecond(500, 2*time.Second); got != 250 {
		t.Errorf("perSecond(500, 2s) = %v, want 250", got)
	}
	if got := perSecond(500, 0); got != 0 {
		t.Errorf("perSecond(500, 0) = %v, want 0", got)
	}
}

// ramp is step, 2·step, …, n·step.
func ramp(n int, step time.Duration) []time.Duration {
	vs := make([]time.Duration, n)
	for i := range vs {
		vs[i] = time.Duration(i+1) * step
	}
	return vs
}

// same is n copies of v.
func same(n int, v time.Duration) []time.Duration {
	vs := make([]time.Duration, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

// near reports whether got is within the histogram's resolution (1/32) of want.
func near(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= float64(want)/subCount
}
