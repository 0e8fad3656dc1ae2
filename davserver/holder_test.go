package davserver

// Who holds a lock, over WebDAV: lockdav's urn:lockdav: elements in DAV:activelock and beside
// the RFC 4918 §16 conditions of 423 answers (§17: clients ignore elements they do not know).

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918/holdertest"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// xmlHeader is the XML declaration every lockdav XML body starts with.
const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// doIn is ts.do for a user confined to root (no root: unconfined).
func (ts *testServer) doIn(root, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	ts.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if root != "" {
		r = r.WithContext(request.WithRoot(r.Context(), root))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w
}

const lockdiscoveryProp = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>`

// §9.10.1, §15.8: the LOCK answer and PROPFIND's lockdiscovery both name the holder.
func TestHolderInLockAndPropfind(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/a.txt", "x")
	w := ts.do("LOCK", "/a.txt", exclusiveBody, as("alice"), "Timeout", "Second-3600", "User-Agent", holdertest.EvilUA)
	want(t, w, http.StatusOK, "LOCK")
	for what, body := range map[string]string{
		"LOCK":     w.Body.String(),
		"PROPFIND": ts.do("PROPFIND", "/a.txt", lockdiscoveryProp, "Depth", "0").Body.String(),
	} {
		hs := holdertest.In(t, body, holdertest.ActiveLock)
		if len(hs) != 1 {
			t.Fatalf("%s: %d activelocks, want 1:\n%s", what, len(hs), body)
		}
		holdertest.Want(t, what, hs[0], "alice", "2026-01-02T03:04:05Z", "2026-01-02T04:04:05Z", "192.0.2.1", holdertest.EvilUAOut)
	}
}

// §10.7: a lock that never expires has no L:expires.
func TestHolderNeverExpires(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{Min: time.Second, Max: time.Hour, Default: time.Minute, AllowInfinite: true})
	ts.put("/a.txt", "x")
	w := ts.do("LOCK", "/a.txt", exclusiveBody, "Timeout", "Infinite", "User-Agent", "")
	want(t, w, http.StatusOK, "LOCK")
	hs := holdertest.In(t, w.Body.String(), holdertest.ActiveLock)
	if len(hs) != 1 {
		t.Fatalf("%d activelocks, want 1", len(hs))
	}
	holdertest.Want(t, "infinite lock", hs[0], "anonymous", "2026-01-02T03:04:05Z", "(none)", "192.0.2.1", "(none)")
}

// §16: a refused LOCK and a write without the token name the holders after the RFC element.
func TestHolderIn423(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/f", "x")
	ts.lock("/c/f", exclusiveBody, http.StatusOK, as("alice"), "Depth", "0", "Timeout", "Second-60", "User-Agent", holdertest.EvilUA)
	for _, tc := range []struct {
		what, rfc string
		w         *httptest.ResponseRecorder
	}{
		{"LOCK", `<D:no-conflicting-lock><D:href>/c/f</D:href></D:no-conflicting-lock>`, ts.do("LOCK", "/c/f", exclusiveBody, as("bob"))},
		{"PUT", `<D:lock-token-submitted><D:href>/c/f</D:href></D:lock-token-submitted>`, ts.do("PUT", "/c/f", "y", as("bob"))},
	} {
		want(t, tc.w, http.StatusLocked, tc.what)
		body := tc.w.Body.String()
		if !strings.HasPrefix(body, xmlHeader+`<D:error xmlns:D="DAV:">`+tc.rfc) {
			t.Errorf("%s: the RFC 4918 §16 element changed:\n%s", tc.what, body)
		}
		hs := holdertest.In(t, body, holdertest.LockHolder)
		if len(hs) != 1 {
			t.Fatalf("%s: %d lock-holder elements, want 1:\n%s", tc.what, len(hs), body)
		}
		holdertest.Want(t, tc.what, hs[0], "alice", "2026-01-02T03:04:05Z", "2026-01-02T03:05:05Z", "192.0.2.1", holdertest.EvilUAOut)
		if hs[0].Href != "/c/f" || hs[0].Owner == nil || hs[0].Owner.Inner != `<href xmlns="DAV:">mailto:alice@example.org</href>` {
			t.Errorf("%s: holder href=%q owner=%v", tc.what, hs[0].Href, hs[0].Owner)
		}
	}
}

// §7.5: a LOCK that would add a member to a locked collection names the collection's holder.
func TestHolderIn423NewMember(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.lock("/c", exclusiveBody, http.StatusOK, as("alice"), "Depth", "0")
	w := ts.do("LOCK", "/c/new", exclusiveBody, as("bob"))
	want(t, w, http.StatusLocked, "LOCK of a new member")
	hs := holdertest.In(t, w.Body.String(), holdertest.LockHolder)
	if len(hs) != 1 || hs[0].Href != "/c" || hs[0].Principal != "alice" {
		t.Errorf("holders %+v, want alice's at /c:\n%s", hs, w.Body.String())
	}
}

// §9.6.1: a DELETE refused for a locked member names the member's holder in its DAV:error.
func TestHolderIn207(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/c")
	ts.put("/c/f", "x")
	ts.lock("/c/f", exclusiveBody, http.StatusOK, as("alice"))
	w := ts.do("DELETE", "/c", "", as("bob"))
	want(t, w, http.StatusMultiStatus, "DELETE")
	body := w.Body.String()
	if !strings.Contains(body, `<D:error><D:lock-token-submitted><D:href>/c/f</D:href></D:lock-token-submitted>`) {
		t.Errorf("the RFC 4918 §16 element changed:\n%s", body)
	}
	hs := holdertest.In(t, body, holdertest.LockHolder)
	if len(hs) != 1 || hs[0].Href != "/c/f" || hs[0].Principal != "alice" {
		t.Errorf("holders %+v, want alice's at /c/f:\n%s", hs, body)
	}
}

// A user confined to /alice sees a lock taken above her root at "/", holder and all, and no
// real path anywhere.
func TestHolderConfined(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/alice")
	ts.put("/alice/doc.txt", "x")
	ts.lock("/", sharedBody, http.StatusOK, as("bob"), "User-Agent", "bob-agent")
	for what, w := range map[string]*httptest.ResponseRecorder{
		"PUT":      ts.doIn("/alice", "PUT", "/doc.txt", "y"),
		"LOCK":     ts.doIn("/alice", "LOCK", "/doc.txt", exclusiveBody),
		"PROPFIND": ts.doIn("/alice", "PROPFIND", "/doc.txt", lockdiscoveryProp, "Depth", "0"),
	} {
		body := w.Body.String()
		name := holdertest.LockHolder
		if what == "PROPFIND" {
			name = holdertest.ActiveLock
		}
		hs := holdertest.In(t, body, name)
		if len(hs) != 1 || hs[0].Href+hs[0].Root != "/" || hs[0].Principal != "bob" {
			t.Errorf("%s: holders %+v, want bob's at /:\n%s", what, hs, body)
		}
		if strings.Contains(body, "alice") {
			t.Errorf("%s names the real path:\n%s", what, body)
		}
	}
}
