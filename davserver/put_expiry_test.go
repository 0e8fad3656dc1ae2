package davserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// slowBody is a PUT body that, before it arrives, lets meanwhile run: what happens while a
// slow client is still sending.
type slowBody struct {
	meanwhile func()
	r         io.Reader
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.meanwhile != nil {
		b.meanwhile()
		b.meanwhile = nil
	}
	return b.r.Read(p)
}

// slowWrite sends alice's method to /f with body and her token, and returns the status.
func (ts *testServer) slowWrite(method string, body *slowBody, token string) int {
	r := httptest.NewRequest(method, "/f", body)
	r = r.WithContext(request.WithPrincipal(r.Context(), "alice"))
	r.Header.Set("If", ifToken(token))
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w.Code
}

// A PUT whose body takes longer to arrive than its lock has left does not land over the lock
// another client took meanwhile (RFC 4918 §7: a write needs its lock when it is made, not only
// when its headers came): it gets 423 and the other client's content stays.
func TestSlowPutAfterItsLockExpired(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "v1")
	alice := ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-60", as("alice"))
	body := &slowBody{r: strings.NewReader("alice, late"), meanwhile: func() {
		ts.now = ts.now.Add(2 * time.Minute) // alice's lock expires while her body is on its way
		bob := ts.lock("/f", exclusiveBody, http.StatusOK, as("bob"))
		ts.put("/f", "bob's", "If", ifToken(bob), as("bob"))
	}}
	if code := ts.slowWrite("PUT", body, alice); code != http.StatusLocked && code != http.StatusPreconditionFailed {
		t.Fatalf("alice's late PUT = %d, want 423 or 412", code)
	}
	if got, _ := ts.read("/f"); got != "bob's" {
		t.Fatalf("content = %q, want bob's", got)
	}
}

// The same for PROPPATCH: its body is read before the locks are checked, so a slow one meets
// the lock taken meanwhile.
func TestSlowProppatchAfterItsLockExpired(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "v1")
	alice := ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-60", as("alice"))
	patch := `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>` +
		`<Z:colour>late</Z:colour></D:prop></D:set></D:propertyupdate>`
	body := &slowBody{r: strings.NewReader(patch), meanwhile: func() {
		ts.now = ts.now.Add(2 * time.Minute)
		ts.lock("/f", exclusiveBody, http.StatusOK, as("bob"))
	}}
	if code := ts.slowWrite("PROPPATCH", body, alice); code != http.StatusLocked && code != http.StatusPreconditionFailed {
		t.Fatalf("alice's late PROPPATCH = %d, want 423 or 412", code)
	}
}
