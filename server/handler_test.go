package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/locksystem"
)

func TestRecover(t *testing.T) {
	m := &middleware{log: zerolog.New(zerolog.NewTestWriter(t)), now: time.Now, stats: newRequestMetrics(prometheus.NewRegistry())}
	h := m.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	for _, what := range []string{"panic", "after panic"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		want(t, w, http.StatusInternalServerError, what)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	want(t, ts.do("BREW", "/f", ""), http.StatusMethodNotAllowed, "BREW")
	body := ts.do("GET", "/.lockdav/metrics", "").Body.String()
	for _, s := range []string{`lockdav_http_requests_total{code="201",method="PUT"} 1`,
		`lockdav_http_requests_total{code="405",method="other"} 1`,
		`lockdav_http_request_duration_seconds_count{method="PUT"} 1`} {
		if !strings.Contains(body, s) {
			t.Errorf("metrics lack %q:\n%s", s, body)
		}
	}
	want(t, ts.do("GET", "/.lockdav/healthz", ""), http.StatusOK, "healthz")
	ts.health = errors.New("disk full")
	w := ts.do("GET", "/.lockdav/healthz", "")
	want(t, w, http.StatusServiceUnavailable, "healthz with a failing store")
	if strings.Contains(w.Body.String(), "disk full") {
		t.Error("healthz leaks the internal error")
	}
}

// The reserved namespace is the lock API's even where the tree has a .lockdav of its own: no
// WebDAV method reaches it.
func TestReservedRouted(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	if err := ts.fs.Mkdir(t.Context(), "/.lockdav", 0o755); err != nil {
		t.Fatal(err)
	}
	want(t, ts.do("PROPFIND", "/.lockdav/", ""), http.StatusForbidden, "reserved PROPFIND")
	want(t, ts.do("PUT", "/.lockdav/x", "x"), http.StatusForbidden, "reserved PUT")
	want(t, ts.do("GET", "/.lockdav/x", ""), http.StatusNotFound, "reserved GET")
	want(t, ts.do("GET", "/.lockdav/healthz", ""), http.StatusOK, "healthz")
	if _, ok := ts.read("/.lockdav/x"); ok {
		t.Error("a PUT under the reserved prefix wrote to the tree")
	}
}
