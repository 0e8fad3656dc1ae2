package davserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// TestOwnerLimit: WebDAV LOCK refuses an owner over locksystem.MaxOwner, the limit the lock API
// has too, with 413 naming it.
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
}
