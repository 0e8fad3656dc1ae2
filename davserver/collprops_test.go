package davserver

// Dead properties on collections: PROPPATCH applies to any resource (RFC 4918 §9.2), and a
// collection's dead properties follow it on MOVE (§9.9.1) and COPY (§9.8.2) and go with it on
// DELETE (§9.6), as a file's do.

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

const (
	colourSet = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:lockdav:test">` +
		`<D:set><D:prop><Z:colour>%s</Z:colour></D:prop></D:set></D:propertyupdate>`
	colourFind = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:lockdav:test">` +
		`<D:prop><Z:colour/></D:prop></D:propfind>`
)

// newPropsTestServer is newTestServer over MemMapFs with in-memory properties, or over the OS
// with bbolt properties, returned with its property store.
func newPropsTestServer(t *testing.T, osTree bool) (*testServer, fs.PropStore) {
	t.Helper()
	ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := zerolog.New(zerolog.NewTestWriter(t))
	props := fs.PropStore(fs.NewMemProps())
	ts.fs = fs.New(afero.NewMemMapFs(), props, log)
	if osTree {
		bp, err := fs.OpenProps(filepath.Join(t.TempDir(), "props.db"), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bp.Close() })
		if ts.fs, err = fs.NewOS(t.TempDir(), bp, log); err != nil {
			t.Fatal(err)
		}
		props = bp
	}
	ls, err := locksystem.New(ts.now, locksystem.Options{Policy: locksystem.DefaultPolicy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	ts.locks = ls
	ts.h = New(Options{FS: ts.fs, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
	return ts, props
}

// setColour PROPPATCHes Z:colour on p and wants 207 with the property at 200 (§9.2.1).
func (ts *testServer) setColour(p, value string) {
	ts.t.Helper()
	w := ts.do("PROPPATCH", p, strings.Replace(colourSet, "%s", value, 1))
	want(ts.t, w, http.StatusMultiStatus, "PROPPATCH "+p)
	body := w.Body.String()
	if !strings.Contains(body, `<colour xmlns="urn:lockdav:test">`) || !strings.Contains(body, "HTTP/1.1 200 OK") ||
		strings.Count(body, "<D:propstat>") != 1 {
		ts.t.Fatalf("PROPPATCH %s: want one propstat, Z:colour at 200; got\n%s", p, body)
	}
}

// colour is the Z:colour that PROPFIND Depth 0 reports on p, "" when it reports 404 for it.
func (ts *testServer) colour(p string) string {
	ts.t.Helper()
	w := ts.do("PROPFIND", p, colourFind, "Depth", "0")
	want(ts.t, w, http.StatusMultiStatus, "PROPFIND "+p)
	body := w.Body.String()
	const open, end = `<colour xmlns="urn:lockdav:test">`, `</colour>`
	i := strings.Index(body, open)
	if i < 0 || !strings.Contains(body, "HTTP/1.1 200 OK") {
		return ""
	}
	v, _, _ := strings.Cut(body[i+len(open):], end)
	return v
}

func TestCollectionDeadProps(t *testing.T) {
	for _, osTree := range []bool{false, true} {
		t.Run(map[bool]string{false: "mem", true: "os"}[osTree], func(t *testing.T) {
			ts, props := newPropsTestServer(t, osTree)
			ts.mkcol("/d/")
			ts.mkcol("/d/sub/")
			ts.put("/d/m", "member")
			ts.setColour("/", "root")
			ts.setColour("/d/", "red")
			ts.setColour("/d/sub", "green") // no trailing slash: the same collection
			ts.setColour("/d/m", "blue")
			for p, v := range map[string]string{"/": "root", "/d/": "red", "/d": "red", "/d/sub/": "green", "/d/m": "blue"} {
				if got := ts.colour(p); got != v {
					t.Errorf("PROPFIND %s after PROPPATCH: colour %q, want %q", p, got, v)
				}
			}
			checkCollectionCopy(t, ts)
			checkCollectionMove(t, ts)
			want(t, ts.do("DELETE", "/e/", ""), http.StatusNoContent, "DELETE /e/")
			for _, p := range []string{"/e", "/e/sub", "/e/m"} {
				if got, err := props.Get(p); err != nil || got != nil {
					t.Errorf("after DELETE /e/: properties of %s = %v, %v; want none", p, got, err)
				}
			}
			if got := ts.colour("/"); got != "root" {
				t.Errorf("root colour after DELETE /e/: %q, want root", got)
			}
		})
	}
}

// checkCollectionCopy copies /d/ at both depths: the copies hold the collection's properties,
// and a depth-infinity copy its members' too (§9.8.2, §9.8.3).
func checkCollectionCopy(t *testing.T, ts *testServer) {
	t.Helper()
	want(t, ts.do("COPY", "/d/", "", "Destination", "http://example.com/c/"), http.StatusCreated, "COPY /d/ /c/")
	want(t, ts.do("COPY", "/d/", "", "Destination", "http://example.com/c0/", "Depth", "0"),
		http.StatusCreated, "COPY Depth 0 /d/ /c0/")
	for p, v := range map[string]string{"/c/": "red", "/c/sub/": "green", "/c/m": "blue", "/c0/": "red", "/d/": "red"} {
		if got := ts.colour(p); got != v {
			t.Errorf("PROPFIND %s after COPY: colour %q, want %q", p, got, v)
		}
	}
}

// checkCollectionMove moves /d/ to /e/: the properties of the collection and of its members go
// with it (§9.9.1), and a new collection at the old URL starts with none.
func checkCollectionMove(t *testing.T, ts *testServer) {
	t.Helper()
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/"), http.StatusCreated, "MOVE /d/ /e/")
	for p, v := range map[string]string{"/e/": "red", "/e/sub/": "green", "/e/m": "blue"} {
		if got := ts.colour(p); got != v {
			t.Errorf("PROPFIND %s after MOVE: colour %q, want %q", p, got, v)
		}
	}
	ts.mkcol("/d/")
	if got := ts.colour("/d/"); got != "" {
		t.Errorf("new collection at a moved one's URL: colour %q, want none", got)
	}
	if _, err := ts.fs.Stat(context.Background(), "/d/m"); err == nil {
		t.Errorf("/d/m exists after MOVE of /d/")
	}
}
