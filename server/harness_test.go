package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// apiLocks is the lock API's collection.
const apiLocks = request.Reserved + "locks"

// testServer is the server's handler, middleware included, over an in-memory tree with a clock
// the test moves.
type testServer struct {
	t      *testing.T
	h      http.Handler
	fs     *fs.FS
	locks  *locksystem.System
	now    time.Time
	health error // what the health check reports
}

func newTestServer(t *testing.T, policy locksystem.Policy) *testServer {
	t.Helper()
	ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ts.fs = fs.New(afero.NewMemMapFs(), fs.NewMemProps(), log)
	ls, err := locksystem.New(ts.now, locksystem.Options{Policy: policy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	ts.locks = ls
	ts.h = newHandler(handlerOptions{FS: ts.fs, Locks: ls, Logger: log, MaxXMLBody: 4096,
		Health: func() error { return ts.health }, Now: func() time.Time { return ts.now }})
	return ts
}

// do sends one request; extra headers come in name, value pairs.
func (ts *testServer) do(method, target, body string, extra ...any) *httptest.ResponseRecorder {
	ts.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if method == http.MethodPost && strings.HasPrefix(target, apiLocks) {
		r.Header.Set("Content-Type", "application/json") // as the API's clients send; extra may change it
	}
	for i := 0; i+1 < len(extra); i += 2 {
		r.Header.Set(extra[i].(string), extra[i+1].(string))
	}
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w
}

// want checks a response's status.
func want(t *testing.T, w *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: got status %d, want %d; body: %s", what, w.Code, status, w.Body.String())
	}
}

func (ts *testServer) put(p, content string) {
	ts.t.Helper()
	w := ts.do("PUT", p, content)
	if w.Code != http.StatusCreated && w.Code != http.StatusNoContent {
		ts.t.Fatalf("PUT %s: got %d: %s", p, w.Code, w.Body.String())
	}
}

func (ts *testServer) read(p string) (string, bool) {
	f, err := ts.fs.OpenFile(context.Background(), p, 0, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b), true
}

const exclusiveBody = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner><D:href>mailto:alice@example.org</D:href></D:owner></D:lockinfo>`

func ifToken(tok string) string { return "(<" + tok + ">)" }
