package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserve is the request metrics' cost per request, paid by every request.
func BenchmarkObserve(b *testing.B) {
	m := newRequestMetrics(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.observe("GET", 200, time.Millisecond)
	}
}
