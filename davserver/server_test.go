package davserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// testServer is a Handler over an in-memory tree with a clock the test moves.
type testServer struct {
	t     *testing.T
	h     *Handler
	fs    *fs.FS
	locks *locksystem.System
	now   time.Time
}

func newTestServer(t *testing.T, policy locksystem.Policy) *testServer {
	t.Helper()
	return newTestServerWithStore(t, policy, nil)
}

// newTestServerWithStore is newTestServer with its locks kept in store (nil: memory only).
func newTestServerWithStore(t *testing.T, policy locksystem.Policy, store locksystem.Store) *testServer {
	t.Helper()
	ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ts.fs = fs.New(afero.NewMemMapFs(), fs.NewMemProps(), log)
	ls, err := locksystem.New(ts.now, locksystem.Options{Policy: policy, Store: store, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	ts.locks = ls
	ts.h = New(Options{FS: ts.fs, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
	return ts
}

// as identifies a request's principal, the way the auth middleware will.
type as string

// adminCtx marks a request's principal as an admin.
type adminCtx struct{}

// do sends one request; extra headers come in name, value pairs; an `as` value sets the principal.
func (ts *testServer) do(method, target, body string, extra ...any) *httptest.ResponseRecorder {
	ts.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i < len(extra); i++ {
		switch v := extra[i].(type) {
		case as:
			r = r.WithContext(request.WithPrincipal(r.Context(), string(v)))
		case adminCtx:
			r = r.WithContext(request.WithAdmin(r.Context()))
		case string:
			r.Header.Set(v, extra[i+1].(string))
			i++
		}
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

func (ts *testServer) put(p, content string, extra ...any) {
	ts.t.Helper()
	w := ts.do("PUT", p, content, extra...)
	if w.Code != http.StatusCreated && w.Code != http.StatusNoContent {
		ts.t.Fatalf("PUT %s: got %d: %s", p, w.Code, w.Body.String())
	}
}

func (ts *testServer) mkcol(p string) {
	ts.t.Helper()
	want(ts.t, ts.do("MKCOL", p, ""), http.StatusCreated, "MKCOL "+p)
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

const (
	exclusiveBody = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner><D:href>mailto:alice@example.org</D:href></D:owner></D:lockinfo>`
	sharedBody = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner>bob</D:owner></D:lockinfo>`
)

// lock takes a lock and returns its token.
func (ts *testServer) lock(p, body string, status int, extra ...any) string {
	ts.t.Helper()
	w := ts.do("LOCK", p, body, extra...)
	want(ts.t, w, status, "LOCK "+p)
	tok := w.Header().Get("Lock-Token")
	if status < 300 && !regexp.MustCompile(`^<urn:uuid:[0-9a-f-]{36}>$`).MatchString(tok) {
		ts.t.Fatalf("LOCK %s: Lock-Token %q is not <urn:uuid:…>", p, tok)
	}
	return strings.Trim(tok, "<>")
}

func ifToken(tok string) string { return "(<" + tok + ">)" }
