package davserver

// The request paths that skip lookups: LOCK on an unmapped URL (RFC 4918 §9.10.4, §7.3), PUT
// (§9.7, RFC 9110 §9.3.4) and GET/HEAD (RFC 9110 §9.3.1, §9.3.2) answer as before whether the
// tree is the OS's (whose openat reports a missing parent itself) or afero's MemMapFs.

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// newOSTestServer is newTestServer over a directory of the OS, returned with it.
func newOSTestServer(t *testing.T) (*testServer, string) {
	t.Helper()
	root := t.TempDir()
	ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := zerolog.New(zerolog.NewTestWriter(t))
	fsys, err := fs.NewOS(root, fs.NewMemProps(), log)
	if err != nil {
		t.Fatal(err)
	}
	ts.fs = fsys
	ls, err := locksystem.New(ts.now, locksystem.Options{Policy: locksystem.DefaultPolicy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	ts.locks = ls
	ts.h = New(Options{FS: fsys, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
	return ts, root
}

// forEachTree runs test on a server over MemMapFs and on one over the OS.
func forEachTree(t *testing.T, test func(t *testing.T, ts *testServer)) {
	t.Run("mem", func(t *testing.T) { test(t, newTestServer(t, locksystem.DefaultPolicy)) })
	t.Run("os", func(t *testing.T) {
		ts, _ := newOSTestServer(t)
		test(t, ts)
	})
}

// §9.10.4, §7.3: a LOCK whose parent is missing or a file answers 409, creates nothing and
// leaves no lock behind, although the lock is taken before the resource is created.
func TestLockUnmappedParentMissing(t *testing.T) {
	forEachTree(t, func(t *testing.T, ts *testServer) {
		ts.put("/f", "x")
		for _, p := range []string{"/missing/x", "/f/x"} {
			want(t, ts.do("LOCK", p, exclusiveBody), http.StatusConflict, "LOCK "+p)
			if _, ok := ts.read(p); ok {
				t.Errorf("LOCK %s: got a resource, want none", p)
			}
			if got := ts.locks.Covering(ts.now, p); len(got) != 0 {
				t.Errorf("LOCK %s: got %d locks left, want 0", p, len(got))
			}
		}
		ts.lock("/new", exclusiveBody, http.StatusCreated)
		if got, ok := ts.read("/new"); !ok || got != "" {
			t.Fatalf("LOCK /new: got content %q, exists %v; want an empty resource", got, ok)
		}
	})
}

// RFC 9110 §13.2.1: a PUT that would answer 409 without its preconditions (§9.7.1: no parent)
// answers 409 with them too; with the parent there, If-Match on a new member is 412.
func TestPutMissingParentBeforePreconditions(t *testing.T) {
	forEachTree(t, func(t *testing.T, ts *testServer) {
		want(t, ts.do("PUT", "/missing/f", "x", "If-Match", "*"), http.StatusConflict, "PUT If-Match without parent")
		want(t, ts.do("PUT", "/missing/f", "x"), http.StatusConflict, "PUT without parent")
		want(t, ts.do("PUT", "/f", "x", "If-Match", "*"), http.StatusPreconditionFailed, "PUT If-Match new member")
		ts.put("/f", "x")
		want(t, ts.do("PUT", "/f/g", "x"), http.StatusConflict, "PUT below a file")
	})
}

// RFC 9110 §8.8.3: the ETag a PUT answers (§9.7) is the one a GET then reports.
func TestPutETagIsGetETag(t *testing.T) {
	forEachTree(t, func(t *testing.T, ts *testServer) {
		for _, c := range []struct {
			body   string
			status int
		}{{"one", http.StatusCreated}, {"two, longer", http.StatusNoContent}} {
			w := ts.do("PUT", "/f", c.body)
			want(t, w, c.status, "PUT /f")
			put := w.Header().Get("ETag")
			got := ts.do("GET", "/f", "")
			want(t, got, http.StatusOK, "GET /f")
			if put == "" || got.Header().Get("ETag") != put {
				t.Errorf("got ETag %q from PUT, %q from GET; want equal, not empty", put, got.Header().Get("ETag"))
			}
			if got.Body.String() != c.body {
				t.Errorf("got body %q, want %q", got.Body.String(), c.body)
			}
		}
	})
}

// RFC 9110 §9.3.1, §9.3.2, §14, §13.1: GET and HEAD of a file on either tree: type from the
// extension, ETag, ranges, conditional answers; of a collection, the listing.
func TestGetFile(t *testing.T) {
	forEachTree(t, func(t *testing.T, ts *testServer) {
		ts.mkcol("/c")
		ts.put("/c/a.txt", "0123456789")
		w := ts.do("GET", "/c/a.txt", "")
		want(t, w, http.StatusOK, "GET")
		etag := w.Header().Get("ETag")
		checks := []struct {
			name, got, want string
		}{
			{"body", w.Body.String(), "0123456789"},
			{"Content-Type", w.Header().Get("Content-Type"), "text/plain; charset=utf-8"},
			{"Content-Length", w.Header().Get("Content-Length"), "10"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("GET %s: got %q, want %q", c.name, c.got, c.want)
			}
		}
		h := ts.do("HEAD", "/c/a.txt", "")
		want(t, h, http.StatusOK, "HEAD")
		if h.Body.Len() != 0 || h.Header().Get("ETag") != etag {
			t.Errorf("HEAD: got body %q, ETag %q; want none, %q", h.Body.String(), h.Header().Get("ETag"), etag)
		}
		r := ts.do("GET", "/c/a.txt", "", "Range", "bytes=2-4")
		want(t, r, http.StatusPartialContent, "GET Range")
		if r.Body.String() != "234" {
			t.Errorf("GET Range: got %q, want %q", r.Body.String(), "234")
		}
		want(t, ts.do("GET", "/c/a.txt", "", "If-None-Match", etag), http.StatusNotModified, "GET If-None-Match")
		want(t, ts.do("GET", "/c/a.txt", "", "If-Match", `"other"`), http.StatusPreconditionFailed, "GET If-Match")
		want(t, ts.do("GET", "/c/nope", ""), http.StatusNotFound, "GET missing")
		l := ts.do("GET", "/c", "")
		want(t, l, http.StatusOK, "GET collection")
		if ct := l.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET collection: got Content-Type %q, want the HTML listing", ct)
		}
	})
}

// A symlink out of the root is refused (403) by GET as by every other method.
func TestGetOutsideRoot(t *testing.T) {
	ts, root := newOSTestServer(t)
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	w := ts.do("GET", "/link", "")
	want(t, w, http.StatusForbidden, "GET through a symlink out of the root")
	if w.Body.String() == "SECRET" {
		t.Fatal("GET served a file outside the root")
	}
}
