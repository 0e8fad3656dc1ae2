package lockapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// The routes answer as the string matching they replaced did, at their edges too: the
// collection with and without its slash, methods a path lacks, and paths ServeMux would clean,
// redirect or split differently.
func TestRoutes(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	for _, c := range []struct {
		method, target string
		status         int
		allow, ctype   string
	}{
		{"POST", "/.lockdav", http.StatusForbidden, "", "text/plain"},
		{"POST", "/.lockdav/healthz", http.StatusForbidden, "", "text/plain"},
		{"PUT", "/.lockdav/locks", http.StatusMethodNotAllowed, "GET, HEAD, POST", "application/json"},
		{"PUT", "/.lockdav/locks/", http.StatusMethodNotAllowed, "GET, HEAD, POST", "application/json"},
		{"DELETE", "/.lockdav/locks/", http.StatusMethodNotAllowed, "GET, HEAD, POST", "application/json"},
		{"PUT", "/.lockdav/locks/urn:uuid:x", http.StatusMethodNotAllowed, "GET, HEAD, DELETE", "application/json"},
		{"GET", "/.lockdav/locks/", http.StatusOK, "", "application/json"},
		{"GET", "/.lockdav/locks/a/b", http.StatusNotFound, "", "application/json"},
		{"GET", "/.lockdav/locks%2Fx", http.StatusNotFound, "", "application/json"},
		{"GET", "/.lockdav/x/../locks", http.StatusNotFound, "", "text/plain"},
		{"GET", "/.lockdav//locks", http.StatusNotFound, "", "text/plain"},
		{"GET", "/.lockdav/nope", http.StatusNotFound, "", "text/plain"},
	} {
		w := ts.do(c.method, c.target, "")
		what := c.method + " " + c.target
		want(t, w, c.status, what)
		if got := w.Header().Get("Allow"); got != c.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, c.allow)
		}
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, c.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", what, got, c.ctype)
		}
	}
}
