package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// discardWriter is a ResponseWriter that keeps nothing but its header map, emptied per request.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddlewareGet is the middleware's own cost per GET, as configured by default on
// loopback (host check, cross-origin check, body timeout, access log at info, metrics), around
// a handler that answers 4 KiB.
func BenchmarkMiddlewareGet(b *testing.B) {
	body := make([]byte, 4096)
	m := &middleware{log: zerolog.New(io.Discard), now: time.Now, stats: newRequestMetrics(prometheus.NewRegistry()),
		bodyTimeout: time.Minute, bodyMinRate: defaultBodyMinRate, loopbackOnly: true, running: newInflight()}
	h := m.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	}))
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/get-16/w3.bin", nil)
	r.Header.Set("User-Agent", "Go-http-client/1.1")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
