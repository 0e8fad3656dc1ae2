package server

// Request metrics for /.lockdav/metrics (Prometheus text format), counted by the access log:
// requests by method and status, and their latency. The lock and store metrics are metrics.go's.

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestMetrics are the HTTP request metrics.
type requestMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// observers is the latency histogram of each method label, looked up once: read-only.
	observers map[string]prometheus.Observer
	// counters caches requests' counter of each (method label, status) seen; the vector's
	// lookup hashes the label values under a lock, and strconv allocates, on every request.
	counters sync.Map // requestKey -> prometheus.Counter
}

type requestKey struct {
	method string
	status int
}

// knownMethods bounds the method label, so odd methods cannot grow the label set.
var knownMethods = map[string]bool{
	"OPTIONS": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "MKCOL": true,
	"COPY": true, "MOVE": true, "PROPFIND": true, "PROPPATCH": true, "LOCK": true, "UNLOCK": true,
}

func newRequestMetrics(reg prometheus.Registerer) *requestMetrics {
	m := &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lockdav", Name: "http_requests_total",
			Help: "HTTP requests answered, by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lockdav", Name: "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12), // 0.5 ms … ~30 s
		}, []string{"method"}),
		observers: map[string]prometheus.Observer{},
	}
	for method := range knownMethods {
		m.observers[method] = m.latency.WithLabelValues(method)
	}
	m.observers["other"] = m.latency.WithLabelValues("other")
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe records one answered request.
func (m *requestMetrics) observe(method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "other"
	}
	m.counter(requestKey{method, status}).Inc()
	m.observers[method].Observe(d.Seconds())
}

// counter returns the requests counter of k, from the cache when k was seen before.
func (m *requestMetrics) counter(k requestKey) prometheus.Counter {
	if c, ok := m.counters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(k.method, strconv.Itoa(k.status))
	m.counters.Store(k, c)
	return c
}
