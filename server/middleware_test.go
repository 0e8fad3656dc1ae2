package server

// The middleware every request passes: its id (X-Request-Id, and request_id on each of its log
// lines), one access-log line with what was answered, and a 500 for a handler's panic.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/server/request"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// logged runs one request through m.wrap(inner) and returns the response and the log
// lines as decoded JSON objects.
func logged(t *testing.T, inner http.HandlerFunc, r *http.Request) (*httptest.ResponseRecorder, []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	m := &middleware{log: zerolog.New(&buf), now: time.Now, stats: newRequestMetrics(prometheus.NewRegistry())}
	w := httptest.NewRecorder()
	m.wrap(inner).ServeHTTP(w, r)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return w, lines
}

func TestMiddlewareRequestIDAndAccessLog(t *testing.T) {
	r := httptest.NewRequest("PUT", "/a/b", nil)
	r.Header.Set("User-Agent", "tester/1")
	r.Header.Set("Lock-Token", "<urn:uuid:x>")
	w, lines := logged(t, func(w http.ResponseWriter, r *http.Request) {
		request.Log(r).Info().Msg("inside")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	}, r)
	id := w.Header().Get("X-Request-Id")
	if id == "" || len(lines) != 2 {
		t.Fatalf("X-Request-Id %q, %d log lines; want an id and 2 lines", id, len(lines))
	}
	inside, access := lines[0], lines[1]
	if inside["message"] != "inside" || inside["request_id"] != id {
		t.Errorf("handler's line %v: want message inside, request_id %s", inside, id)
	}
	want := map[string]any{"message": "request", "request_id": id, "method": "PUT", "path": "/a/b",
		"status": 201.0, "bytes": 5.0, "user_agent": "tester/1", "principal": "anonymous",
		"lock_token": "<urn:uuid:x>", "level": "info", "remote": "192.0.2.1:1234"}
	for k, v := range want {
		if access[k] != v {
			t.Errorf("access log %s = %v, want %v", k, access[k], v)
		}
	}
	if _, ok := access["duration"]; !ok {
		t.Errorf("access log has no duration: %v", access)
	}
}

// Two requests get two ids.
func TestMiddlewareRequestIDsDiffer(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	w1, _ := logged(t, ok, httptest.NewRequest("GET", "/", nil))
	w2, _ := logged(t, ok, httptest.NewRequest("GET", "/", nil))
	if a, b := w1.Header().Get("X-Request-Id"), w2.Header().Get("X-Request-Id"); a == b {
		t.Fatalf("two requests share id %q", a)
	}
}

// A body sent with ReadFrom (GET's sendfile path) is counted, and the writer still offers
// ReadFrom and Flush to the handler, as net/http's own writer does.
func TestMiddlewareCountsReadFrom(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m := &middleware{log: zerolog.New(&buf), now: time.Now, stats: newRequestMetrics(prometheus.NewRegistry())}
	srv := httptest.NewServer(m.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(p)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		_, flusher := w.(http.Flusher)
		rf, readerFrom := w.(io.ReaderFrom)
		if !flusher || !readerFrom {
			t.Errorf("wrapped writer: Flusher %v, ReaderFrom %v; want both", flusher, readerFrom)
			return
		}
		if _, err := rf.ReadFrom(f); err != nil {
			t.Error(err)
		}
	})))
	resp, err := srv.Client().Get(srv.URL + "/f")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.Close() // the access log is written before the server closes
	if string(body) != "0123456789" {
		t.Fatalf("body %q", body)
	}
	var access map[string]any
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &access); err != nil {
		t.Fatal(err)
	}
	if access["status"] != 200.0 || access["bytes"] != 10.0 {
		t.Errorf("access log status %v bytes %v, want 200 and 10", access["status"], access["bytes"])
	}
}

// A panic answers 500, is logged with its stack, and reaches the access log as a warning.
func TestMiddlewarePanic(t *testing.T) {
	w, lines := logged(t, func(http.ResponseWriter, *http.Request) { panic("boom") },
		httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusInternalServerError || len(lines) != 3 {
		t.Fatalf("status %d, %d log lines; want 500 and 3 (panic, error, access)", w.Code, len(lines))
	}
	if lines[0]["panic"] != "boom" || lines[0]["stack"] == nil || lines[0]["level"] != "error" {
		t.Errorf("panic line %v", lines[0])
	}
	if last := lines[2]; last["status"] != 500.0 || last["level"] != "warn" || last["message"] != "request" {
		t.Errorf("access line %v, want status 500 at warn", last)
	}
}

// http.ErrAbortHandler is net/http's own way to abort a response: it goes on up.
func TestMiddlewareAbortHandler(t *testing.T) {
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	logged(t, func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
		httptest.NewRequest("GET", "/", nil))
}
