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

// slowWrite sends alice's method to p with body and, unless it is "", her token, and returns
// the status.
func (ts *testServer) slowWrite(method, p string, body *slowBody, token string) int {
	r := httptest.NewRequest(method, p, body)
	r = r.WithContext(request.WithPrincipal(r.Context(), "alice"))
	if token != "" {
		r.Header.Set("If", ifToken(token))
	}
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
	if code := ts.slowWrite("PUT", "/f", body, alice); code != http.StatusLocked && code != http.StatusPreconditionFailed {
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
	if code := ts.slowWrite("PROPPATCH", "/f", body, alice); code != http.StatusLocked && code != http.StatusPreconditionFailed {
		t.Fatalf("alice's late PROPPATCH = %d, want 423 or 412", code)
	}
}

// §7.5, checked again at the write: a PUT that would add a member to a collection someone
// locked (depth 0) while its body was on its way gets 423 and adds nothing.
func TestSlowPutOfNewMemberAfterParentLocked(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	body := &slowBody{r: strings.NewReader("alice's"), meanwhile: func() {
		ts.lock("/c", exclusiveBody, http.StatusOK, as("bob"), "Depth", "0")
	}}
	if code := ts.slowWrite("PUT", "/c/new", body, ""); code != http.StatusLocked {
		t.Fatalf("PUT of a new member into a collection locked meanwhile = %d, want 423", code)
	}
	if _, ok := ts.read("/c/new"); ok {
		t.Fatal("the refused PUT created /c/new")
	}
}

// A depth-0 lock on the collection guards its membership, not its members' content: an
// overwrite of an existing member still lands when the collection was locked meanwhile.
func TestSlowPutOverMemberAfterParentLocked(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/f", "v1")
	body := &slowBody{r: strings.NewReader("alice's"), meanwhile: func() {
		ts.lock("/c", exclusiveBody, http.StatusOK, as("bob"), "Depth", "0")
	}}
	if code := ts.slowWrite("PUT", "/c/f", body, ""); code != http.StatusNoContent {
		t.Fatalf("overwrite of a member of a collection locked meanwhile = %d, want 204", code)
	}
	if got, _ := ts.read("/c/f"); got != "alice's" {
		t.Fatalf("content = %q, want alice's", got)
	}
}
