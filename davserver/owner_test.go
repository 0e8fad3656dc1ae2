package davserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// TestOwnerLimit: WebDAV LOCK and the lock API share one limit on the owner,
// locksystem.MaxOwner, and refuse a longer one with 413 naming it.
func TestOwnerLimit(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.h.maxXML = 16 << 20 // the owner, not the body, is what is too large here
	ts.put("/f", "x")
	long := strings.Repeat("o", locksystem.MaxOwner+1)
	body := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>` + long + `</D:owner></D:lockinfo>`
	w := ts.do("LOCK", "/f", body)
	want(t, w, http.StatusRequestEntityTooLarge, "LOCK with an owner over MaxOwner")
	if !strings.Contains(w.Body.String(), "owner") {
		t.Errorf("LOCK 413 body %q does not name the owner", w.Body.String())
	}
	w = ts.do("POST", "/.lockdav/locks", `{"path": "/f", "owner": "`+long+`"}`, "Content-Type", "application/json")
	want(t, w, http.StatusRequestEntityTooLarge, "POST with an owner over MaxOwner")
	if e := decode[apiError](t, w.Body.String()); !strings.HasPrefix(e.Detail, "owner:") {
		t.Errorf("POST 413 detail %q does not name the owner field", e.Detail)
	}
	fits := strings.Repeat("o", locksystem.MaxOwner)
	w = ts.do("POST", "/.lockdav/locks", `{"path": "/f", "owner": "`+fits+`"}`, "Content-Type", "application/json")
	want(t, w, http.StatusCreated, "POST with an owner of exactly MaxOwner bytes")
}
