package davserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// RFC 4918 §9.10.1, §9.10.4, §7.3: LOCK on a mapped URL answers 200, on an unmapped one creates an
// empty resource and answers 201, and one whose parent is missing answers 409.
func TestLockCreates(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/a.txt", "hello")
	tok := ts.lock("/a.txt", exclusiveBody, http.StatusOK)
	if tok == "" {
		t.Fatal("no token")
	}
	ts.lock("/new.txt", exclusiveBody, http.StatusCreated)
	if got, ok := ts.read("/new.txt"); !ok || got != "" {
		t.Fatalf("LOCK on unmapped URL: got content %q exists=%v, want empty resource", got, ok)
	}
	want(t, ts.do("LOCK", "/missing/x.txt", exclusiveBody), http.StatusConflict, "LOCK with missing parent")
	if _, ok := ts.read("/missing/x.txt"); ok {
		t.Fatal("LOCK with missing parent created something")
	}
}

// §9.10.1: the response body is the lockdiscovery of the new lock.
func TestLockResponseBody(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/a.txt", "x")
	w := ts.do("LOCK", "/a.txt", exclusiveBody, "Timeout", "Second-3600", "Depth", "0")
	want(t, w, http.StatusOK, "LOCK")
	tok := strings.Trim(w.Header().Get("Lock-Token"), "<>")
	body := w.Body.String()
	for _, s := range []string{"<D:exclusive", "<D:write", "<D:depth>0</D:depth>", "Second-3600",
		"mailto:alice@example.org", tok, "/a.txt"} {
		if !strings.Contains(body, s) {
			t.Errorf("LOCK body lacks %q:\n%s", s, body)
		}
	}
	if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "xml") {
		t.Errorf("Content-Type %q, want XML", ct)
	}
}

// §6.1, §9.10.3: conflicts by scope and depth; 423 names the conflicting lock root (§16).
func TestLockConflicts(t *testing.T) {
	cases := []struct {
		name          string
		first, second string // path:scope:depth
		status        int
	}{
		{"exclusive vs exclusive", "/c/f:x:0", "/c/f:x:0", http.StatusLocked},
		{"shared vs shared", "/c/f:s:0", "/c/f:s:0", http.StatusOK},
		{"shared vs exclusive", "/c/f:s:0", "/c/f:x:0", http.StatusLocked},
		{"exclusive vs shared", "/c/f:x:0", "/c/f:s:0", http.StatusLocked},
		{"infinity ancestor", "/c:x:infinity", "/c/f:x:0", http.StatusLocked},
		{"depth 0 ancestor", "/c:x:0", "/c/f:x:0", http.StatusOK},
		{"descendant vs new infinity", "/c/f:x:0", "/c:x:infinity", http.StatusLocked},
		{"descendant vs new depth 0", "/c/f:x:0", "/c:x:0", http.StatusOK},
		{"shared infinity ancestor vs shared", "/c:s:infinity", "/c/f:s:0", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, locksystem.DefaultPolicy)
			ts.mkcol("/c")
			ts.put("/c/f", "x")
			lockSpec(ts, c.first, http.StatusOK)
			w := lockRequest(ts, c.second)
			want(t, w, c.status, "second LOCK")
			if c.status == http.StatusLocked {
				root := strings.Split(c.first, ":")[0]
				body := w.Body.String()
				if !strings.Contains(body, "no-conflicting-lock") || !strings.Contains(body, "<D:href>"+root+"</D:href>") {
					t.Fatalf("423 body does not name %s in no-conflicting-lock:\n%s", root, body)
				}
			}
		})
	}
}

func lockRequest(ts *testServer, spec string) *httptest.ResponseRecorder {
	parts := strings.Split(spec, ":")
	body := exclusiveBody
	if parts[1] == "s" {
		body = sharedBody
	}
	return ts.do("LOCK", parts[0], body, "Depth", parts[2])
}

func lockSpec(ts *testServer, spec string, status int) string {
	ts.t.Helper()
	w := lockRequest(ts, spec)
	want(ts.t, w, status, "LOCK "+spec)
	return strings.Trim(w.Header().Get("Lock-Token"), "<>")
}

// §9.10.3: Depth 1 is not a lock depth; no Depth header means infinity (Windows sends none).
func TestLockDepth(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	want(t, ts.do("LOCK", "/c", exclusiveBody, "Depth", "1"), http.StatusBadRequest, "Depth 1")
	want(t, ts.do("LOCK", "/c", exclusiveBody, "Depth", "bogus"), http.StatusBadRequest, "Depth bogus")
	ts.lock("/c", exclusiveBody, http.StatusOK)
	want(t, ts.do("PUT", "/c/new", "x"), http.StatusLocked, "PUT under a lock taken without Depth")
}

// §10.7: Timeout is clamped to the policy, Infinite is granted only when allowed and then
// reported as Infinite, never Second-0.
func TestLockTimeout(t *testing.T) {
	pol := locksystem.Policy{Min: time.Second, Max: time.Hour, Default: 10 * time.Minute}
	cases := []struct {
		name, header, want string
		allowInfinite      bool
	}{
		{"absent", "", "Second-600", false},
		{"office", "Second-3600", "Second-3600", false},
		{"clamped", "Second-99999", "Second-3600", false},
		{"windows", "Infinite, Second-4100000000", "Second-3600", false},
		{"infinite allowed", "Infinite", "Infinite", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pol
			p.AllowInfinite = c.allowInfinite
			ts := newTestServer(t, p)
			ts.put("/f", "x")
			w := ts.do("LOCK", "/f", exclusiveBody, "Timeout", c.header)
			want(t, w, http.StatusOK, "LOCK")
			if !strings.Contains(w.Body.String(), "<D:timeout>"+c.want+"</D:timeout>") {
				t.Fatalf("got body %s, want timeout %s", w.Body.String(), c.want)
			}
		})
	}
}

// §9.10.2: a LOCK without a body refreshes the lock named in the If header.
func TestLockRefresh(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-600")
	ts.now = ts.now.Add(500 * time.Second)
	w := ts.do("LOCK", "/f", "", "If", ifToken(tok), "Timeout", "Second-600")
	want(t, w, http.StatusOK, "refresh")
	if !strings.Contains(w.Body.String(), "Second-600") || w.Header().Get("Lock-Token") != "" {
		t.Fatalf("refresh: got Lock-Token %q body %s", w.Header().Get("Lock-Token"), w.Body.String())
	}
	ts.now = ts.now.Add(500 * time.Second) // past the first expiry, within the refreshed one
	want(t, ts.do("PUT", "/f", "y"), http.StatusLocked, "PUT without token after refresh")
	want(t, ts.do("LOCK", "/f", ""), http.StatusBadRequest, "refresh without If")
	want(t, ts.do("LOCK", "/f", "", "If", "(<urn:uuid:00000000-0000-4000-8000-000000000000>)"),
		http.StatusPreconditionFailed, "refresh with unknown token")
	want(t, ts.do("LOCK", "/f", "", "If", ifToken(tok), as("mallory")), http.StatusLocked, "refresh by another principal")
}

// Locks expire (§6.6): after the timeout the resource is writable without a token.
func TestLockExpiry(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-60")
	want(t, ts.do("PUT", "/f", "y"), http.StatusLocked, "PUT before expiry")
	ts.now = ts.now.Add(61 * time.Second)
	want(t, ts.do("PUT", "/f", "y"), http.StatusNoContent, "PUT after expiry")
}

// §9.11: UNLOCK answers 204; an unknown token or one that does not cover the Request-URI 409
// with lock-token-matches-request-uri; a missing Lock-Token 400; another principal 403.
func TestUnlock(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/f", "x")
	ts.put("/g", "x")
	tok := ts.lock("/c", exclusiveBody, http.StatusOK)
	want(t, ts.do("UNLOCK", "/c", ""), http.StatusBadRequest, "no Lock-Token")
	want(t, ts.do("UNLOCK", "/c", "", "Lock-Token", "garbage<"), http.StatusBadRequest, "garbled Lock-Token")
	w := ts.do("UNLOCK", "/g", "", "Lock-Token", "<"+tok+">")
	want(t, w, http.StatusConflict, "UNLOCK outside the lock's scope")
	if !strings.Contains(w.Body.String(), "lock-token-matches-request-uri") {
		t.Fatalf("409 body: %s", w.Body.String())
	}
	want(t, ts.do("UNLOCK", "/c", "", "Lock-Token", "<urn:uuid:00000000-0000-4000-8000-000000000000>"),
		http.StatusConflict, "unknown token")
	want(t, ts.do("UNLOCK", "/c", "", "Lock-Token", "<"+tok+">", as("mallory")), http.StatusForbidden, "other principal")
	// Windows sends the token without angle brackets; a member of the locked tree is in scope.
	want(t, ts.do("UNLOCK", "/c/f", "", "Lock-Token", tok), http.StatusNoContent, "UNLOCK via member")
	want(t, ts.do("PUT", "/c/f", "y"), http.StatusNoContent, "PUT after UNLOCK")
}

// §7.4, §10.4: writes to a locked resource need its token in If, from the principal that took it.
func TestWriteNeedsToken(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK)
	w := ts.do("PUT", "/f", "y")
	want(t, w, http.StatusLocked, "PUT without token")
	if !strings.Contains(w.Body.String(), "lock-token-submitted") || !strings.Contains(w.Body.String(), "<D:href>/f</D:href>") {
		t.Fatalf("423 body: %s", w.Body.String())
	}
	want(t, ts.do("PUT", "/f", "y", "If", ifToken(tok), as("mallory")), http.StatusLocked, "other principal's token")
	want(t, ts.do("PUT", "/f", "y", "If", "(<urn:uuid:00000000-0000-4000-8000-000000000000>)"),
		http.StatusPreconditionFailed, "unknown token on a locked resource: the If header is false")
	want(t, ts.do("PUT", "/f", "y", "If", "(<urn:uuid:00000000-0000-4000-8000-000000000000>) (Not <DAV:no-lock>)"),
		http.StatusLocked, "unknown token beside a true list: the If header holds, the lock is not satisfied")
	want(t, ts.do("PUT", "/f", "y", "If", ifToken(tok)), http.StatusNoContent, "PUT with token")
	want(t, ts.do("PROPPATCH", "/f", proppatchBody), http.StatusLocked, "PROPPATCH without token")
	want(t, ts.do("DELETE", "/f", ""), http.StatusLocked, "DELETE without token")
	want(t, ts.do("MOVE", "/f", "", "Destination", "/g"), http.StatusLocked, "MOVE without token")
	want(t, ts.do("COPY", "/f", "", "Destination", "/g"), http.StatusCreated, "COPY of a locked source")
	want(t, ts.do("COPY", "/g", "", "Destination", "/f"), http.StatusLocked, "COPY onto a locked destination")
}

const proppatchBody = `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:p>v</Z:p></D:prop></D:set></D:propertyupdate>`

// §10.4: the If header is evaluated in full: entity tags, Not, several lists; false → 412.
func TestIfHeader(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	etag := ts.do("GET", "/f", "").Header().Get("ETag")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK)
	cases := []struct {
		name, ifh string
		status    int
	}{
		{"token and matching etag", "(<" + tok + "> [" + etag + "])", http.StatusNoContent},
		{"token and stale etag", "(<" + tok + "> [\"stale\"])", http.StatusPreconditionFailed},
		{"Not no-lock with token", "(<" + tok + ">) (Not <DAV:no-lock>)", http.StatusNoContent},
		{"tagged list", "</f> (<" + tok + ">)", http.StatusNoContent},
		{"token negated", "(Not <" + tok + ">)", http.StatusPreconditionFailed},
		{"no-lock and etag on a locked resource", "(<DAV:no-lock> [" + "\"x\"" + "])", http.StatusPreconditionFailed},
		{"malformed", "(<" + tok, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want(t, ts.do("PUT", "/f", "y", "If", c.ifh), c.status, "PUT If: "+c.ifh)
			etag = ts.do("GET", "/f", "").Header().Get("ETag")
		})
	}
	ts.put("/u", "x")
	want(t, ts.do("PUT", "/u", "y", "If", "([\"nope\"])"), http.StatusPreconditionFailed, "etag on unlocked")
	want(t, ts.do("PUT", "/u", "y", "If", "(Not [\"nope\"])"), http.StatusNoContent, "Not etag on unlocked")
}

// §9.6.1, §9.9.4: DELETE or MOVE of a collection with a locked member fails whole with a 207
// naming the member (423) and the collection (424).
func TestDeleteCollectionWithLockedMember(t *testing.T) {
	for _, method := range []string{"DELETE", "MOVE"} {
		t.Run(method, func(t *testing.T) {
			ts := newTestServer(t, locksystem.DefaultPolicy)
			ts.mkcol("/c")
			ts.put("/c/f", "keep")
			tok := ts.lock("/c/f", exclusiveBody, http.StatusOK)
			w := ts.do(method, "/c", "", "Destination", "/d")
			want(t, w, http.StatusMultiStatus, method)
			body := w.Body.String()
			for _, s := range []string{"/c/f", "423", "424"} {
				if !strings.Contains(body, s) {
					t.Errorf("207 body lacks %q:\n%s", s, body)
				}
			}
			if got, ok := ts.read("/c/f"); !ok || got != "keep" {
				t.Fatalf("member after refused %s: %q %v", method, got, ok)
			}
			want(t, ts.do(method, "/c", "", "Destination", "/d", "If", "</c/f> "+ifToken(tok)),
				map[string]int{"DELETE": http.StatusNoContent, "MOVE": http.StatusCreated}[method], method+" with token")
			if len(ts.locks.Covering(ts.now, "/c/f")) != 0 {
				t.Fatal("lock survived its resource")
			}
		})
	}
}

// §7.7: a DELETE removes the locks of what it deleted; a new file at the path is unlocked.
func TestDeleteEndsLocks(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK)
	want(t, ts.do("DELETE", "/f", "", "If", ifToken(tok)), http.StatusNoContent, "DELETE")
	ts.put("/f", "again")
	want(t, ts.do("PUT", "/f", "y"), http.StatusNoContent, "PUT on recreated file")
}

// §7.7, §9.8: COPY does not copy locks; MOVE leaves the destination unlocked.
func TestCopyMoveLocks(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK)
	want(t, ts.do("COPY", "/f", "", "Destination", "/copy"), http.StatusCreated, "COPY")
	want(t, ts.do("PUT", "/copy", "y"), http.StatusNoContent, "PUT to the copy")
	want(t, ts.do("MOVE", "/f", "", "Destination", "/moved", "If", ifToken(tok)), http.StatusCreated, "MOVE")
	want(t, ts.do("PUT", "/moved", "y"), http.StatusNoContent, "PUT to the moved file")
	if _, ok := ts.locks.Get(ts.now, tok); ok {
		t.Fatal("MOVE kept the source's lock")
	}
}

// §7.5: a depth-0 lock on a collection protects its membership, not its members' content.
func TestCollectionMembership(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/old", "x")
	tok := lockSpec(ts, "/c:x:0", http.StatusOK)
	want(t, ts.do("PUT", "/c/old", "y"), http.StatusNoContent, "overwrite member")
	want(t, ts.do("PUT", "/c/new", "y"), http.StatusLocked, "add member")
	want(t, ts.do("MKCOL", "/c/sub", ""), http.StatusLocked, "MKCOL member")
	want(t, ts.do("DELETE", "/c/old", ""), http.StatusLocked, "remove member")
	want(t, ts.do("LOCK", "/c/new2", exclusiveBody), http.StatusLocked, "LOCK new member")
	// §10.4: an untagged list applies to the Request-URI, which the collection's lock does not
	// cover; the collection's token is submitted in a list tagged with the collection.
	want(t, ts.do("PUT", "/c/new", "y", "If", "</c> "+ifToken(tok)), http.StatusCreated, "add member with token")
}

// §15.8, §15.10: lockdiscovery shows own and inherited locks; supportedlock both scopes, once.
func TestPropfindLockProps(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/f", "x")
	tok := ts.lock("/c", sharedBody, http.StatusOK)
	w := ts.do("PROPFIND", "/c/f", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/><D:supportedlock/></D:prop></D:propfind>`, "Depth", "0")
	want(t, w, http.StatusMultiStatus, "PROPFIND")
	body := w.Body.String()
	for _, s := range []string{tok, "<D:shared", "<D:lockroot>", "/c<", "<D:exclusive"} {
		if !strings.Contains(body, s) {
			t.Errorf("PROPFIND body lacks %q:\n%s", s, body)
		}
	}
	for _, pf := range []string{"", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
		`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`} {
		body := ts.do("PROPFIND", "/c/f", pf, "Depth", "0").Body.String()
		if n := strings.Count(body, "<D:supportedlock"); n != 1 {
			t.Errorf("PROPFIND %q: supportedlock appears %d times:\n%s", pf, n, body)
		}
		if n := strings.Count(body, "<D:lockdiscovery"); n != 1 {
			t.Errorf("PROPFIND %q: lockdiscovery appears %d times:\n%s", pf, n, body)
		}
	}
	if strings.Contains(ts.do("PROPFIND", "/c/f", "", "Depth", "0").Body.String(), "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>") {
		t.Error("allprop reported x/net's exclusive-only supportedlock")
	}
}

// COPY of a locked resource must not copy lockdiscovery into the copy's dead properties.
func TestCopyDoesNotStoreLockProps(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	ts.lock("/f", exclusiveBody, http.StatusOK)
	want(t, ts.do("COPY", "/f", "", "Destination", "/g"), http.StatusCreated, "COPY")
	body := ts.do("PROPFIND", "/g", "", "Depth", "0").Body.String()
	if strings.Contains(body, "activelock") {
		t.Fatalf("the copy reports a lock:\n%s", body)
	}
}

// Finder refreshes its lock every few minutes, also while a long PUT with the same token is
// still uploading: the refresh must not wait for, or be refused because of, the upload.
func TestRefreshDuringUpload(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/big", "old")
	tok := ts.lock("/big", exclusiveBody, http.StatusOK, "Timeout", "Second-600")
	pr, pw := io.Pipe()
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		r := httptest.NewRequest("PUT", "/big", pr)
		r.Header.Set("If", ifToken(tok))
		w := httptest.NewRecorder()
		ts.h.ServeHTTP(w, r)
		done <- w
	}()
	if _, err := pw.Write([]byte("first half ")); err != nil { // the upload is under way
		t.Fatal(err)
	}
	want(t, ts.do("LOCK", "/big", "", "If", ifToken(tok), "Timeout", "Second-600"), http.StatusOK, "refresh during upload")
	_, _ = pw.Write([]byte("second half"))
	_ = pw.Close()
	want(t, <-done, http.StatusNoContent, "the upload")
	if got, _ := ts.read("/big"); got != "first half second half" {
		t.Fatalf("content after upload: %q", got)
	}
}

// §9.10.2: a refresh must name a lock that covers the Request-URI; elsewhere it fails (412) and
// the lock keeps its old timeout.
func TestRefreshWrongURI(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	ts.put("/g", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-60")
	ts.now = ts.now.Add(30 * time.Second)
	want(t, ts.do("LOCK", "/g", "", "If", ifToken(tok), "Timeout", "Second-600"), http.StatusPreconditionFailed, "refresh at another URI")
	ts.now = ts.now.Add(31 * time.Second)
	if _, ok := ts.locks.Get(ts.now, tok); ok {
		t.Fatal("a refresh at the wrong URI extended the lock")
	}
}
