package lockapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

type apiDoc struct {
	Token           string  `json:"token"`
	Path            string  `json:"path"`
	Scope           string  `json:"scope"`
	Depth           string  `json:"depth"`
	Owner           string  `json:"owner"`
	Principal       string  `json:"principal"`
	TimeoutSeconds  int64   `json:"timeout_seconds"`
	Created         string  `json:"created"`
	Refreshed       string  `json:"refreshed"`
	Expires         *string `json:"expires"`
	ReleaseOnUpdate bool    `json:"release_on_update"`
	LockNull        bool    `json:"lock_null"`
	Client          struct {
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
	} `json:"client"`
}

type apiList struct {
	Locks []apiDoc `json:"locks"`
	Count int      `json:"count"`
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// A lock taken by WebDAV LOCK is a queryable document, and one taken through the API shows in
// lockdiscovery and blocks WebDAV writes.
func TestAPIAgreesWithWebDAV(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/p")
	ts.put("/p/a.odt", "x")
	tok := ts.lock("/p/a.odt", exclusiveBody, http.StatusOK, "User-Agent", "LibreOffice", "Timeout", "Second-600")
	d := decode[apiDoc](t, ts.do("GET", "/.lockdav/locks/"+tok, "").Body.String())
	if d.Token != tok || d.Path != "/p/a.odt" || d.Scope != "exclusive" || d.Principal != "anonymous" ||
		d.TimeoutSeconds != 600 || d.Expires == nil || d.Client.UserAgent != "LibreOffice" ||
		!strings.Contains(d.Owner, "mailto:alice@example.org") {
		t.Fatalf("document: %+v", d)
	}
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/p/b.txt", "scope": "exclusive", "depth": "0", "timeout_seconds": 60, "owner": "ci"}`)
	want(t, w, http.StatusCreated, "POST lock on unmapped path")
	b := decode[apiDoc](t, w.Body.String())
	if !b.LockNull || b.Depth != "0" || b.TimeoutSeconds != 60 {
		t.Fatalf("API lock document: %+v", b)
	}
	want(t, ts.do("PUT", "/p/b.txt", "y"), http.StatusLocked, "WebDAV PUT on an API lock")
	if body := ts.do("PROPFIND", "/p/b.txt", "", "Depth", "0").Body.String(); !strings.Contains(body, b.Token) {
		t.Fatalf("lockdiscovery lacks the API lock:\n%s", body)
	}
	want(t, ts.do("PUT", "/p/b.txt", "y", "If", ifToken(b.Token)), http.StatusNoContent, "PUT with the API token")
}

func TestAPIQuery(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/p")
	ts.mkcol("/p/q")
	ts.put("/p/q/f", "x")
	ts.put("/p/g", "x")
	ts.put("/g", "x")
	lockSpec(ts, "/p:s:infinity", http.StatusOK)
	lockSpec(ts, "/p/q/f:s:0", http.StatusOK)
	lockSpec(ts, "/p/g:s:0", http.StatusOK)
	ts.lock("/g", exclusiveBody, http.StatusOK, as("alice"))
	cases := []struct {
		query string
		paths []string
	}{
		{"", []string{"/g", "/p", "/p/g", "/p/q/f"}},
		{"?path=/p&depth=0", []string{"/p"}},
		{"?path=/p&depth=1", []string{"/p", "/p/g"}},
		{"?path=/p/q", []string{"/p/q/f"}},
		{"?path=/p/q/f&depth=0&covering=true", []string{"/p", "/p/q/f"}},
		{"?principal=alice", []string{"/g"}},
		{"?owner=alice@example", []string{"/g"}},
		{"?scope=shared", []string{"/p", "/p/g", "/p/q/f"}},
	}
	for _, c := range cases {
		w := ts.do("GET", "/.lockdav/locks"+c.query, "")
		want(t, w, http.StatusOK, "query "+c.query)
		l := decode[apiList](t, w.Body.String())
		var got []string
		for _, d := range l.Locks {
			got = append(got, d.Path)
		}
		if strings.Join(got, ",") != strings.Join(c.paths, ",") || l.Count != len(c.paths) {
			t.Errorf("query %q: got %v (count %d), want %v", c.query, got, l.Count, c.paths)
		}
	}
	for _, q := range []string{"?depth=2", "?scope=weird", "?covering=maybe", "?path=relative"} {
		w := ts.do("GET", "/.lockdav/locks"+q, "")
		want(t, w, http.StatusBadRequest, "query "+q)
		if e := decode[apiError](t, w.Body.String()); e.Error == "" || e.Detail == "" {
			t.Errorf("query %q: error body %s", q, w.Body.String())
		}
	}
}

func TestAPIErrors(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK, as("alice"))
	bad := []struct{ body, field string }{
		{`{`, ""},
		{`{"path": "f"}`, "path"},
		{`{"path": "/f", "scope": "weird"}`, "scope"},
		{`{"path": "/f", "depth": "1"}`, "depth"},
		{`{"path": "/f", "timeout_seconds": -1}`, "timeout_seconds"},
		{`{"path": "/f", "color": "red"}`, "color"},
		{`{"path": "/.lockdav/x"}`, "path"},
	}
	for _, b := range bad {
		w := ts.do("POST", "/.lockdav/locks", b.body)
		want(t, w, http.StatusBadRequest, "POST "+b.body)
		if !strings.Contains(w.Body.String(), b.field) {
			t.Errorf("POST %s: error does not name %q: %s", b.body, b.field, w.Body.String())
		}
	}
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/f"}`)
	want(t, w, http.StatusLocked, "POST on a locked path")
	e := decode[struct {
		Error     string   `json:"error"`
		Conflicts []apiDoc `json:"conflicts"`
	}](t, w.Body.String())
	if e.Error != "locked" || len(e.Conflicts) != 1 || e.Conflicts[0].Principal != "alice" {
		t.Fatalf("423 body: %s", w.Body.String())
	}
	want(t, ts.do("POST", "/.lockdav/locks", `{"path": "/nope/f"}`), http.StatusConflict, "POST without parent")
	want(t, ts.do("GET", "/.lockdav/locks/urn:uuid:nope", ""), http.StatusNotFound, "GET unknown")
	want(t, ts.do("DELETE", "/.lockdav/locks/urn:uuid:nope", ""), http.StatusNotFound, "DELETE unknown")
	want(t, ts.do("DELETE", "/.lockdav/locks/"+tok, "", as("bob")), http.StatusForbidden, "DELETE by another")
	want(t, ts.do("PUT", "/.lockdav/locks", "", as("bob")), http.StatusMethodNotAllowed, "PUT on the API")
	want(t, ts.do("DELETE", "/.lockdav/locks/"+tok, "", as("alice")), http.StatusNoContent, "DELETE by holder")
	want(t, ts.do("GET", "/.lockdav/locks/"+tok, ""), http.StatusNotFound, "GET released")
}

// An admin may force-release anyone's lock.
func TestAPIAdminRelease(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK, as("alice"))
	r := ts.do("DELETE", "/.lockdav/locks/"+tok, "", as("root"), adminCtx{})
	want(t, r, http.StatusNoContent, "admin DELETE")
}

// release_on_update: the lock ends after its holder's first successful write.
func TestReleaseOnUpdate(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/f", "release_on_update": true}`)
	want(t, w, http.StatusCreated, "POST")
	d := decode[apiDoc](t, w.Body.String())
	want(t, ts.do("PUT", "/f", "y"), http.StatusLocked, "PUT without token")
	want(t, ts.do("PUT", "/f", "y", "If", ifToken(d.Token)), http.StatusNoContent, "PUT with token")
	want(t, ts.do("GET", "/.lockdav/locks/"+d.Token, ""), http.StatusNotFound, "lock after first update")
	want(t, ts.do("PUT", "/f", "z"), http.StatusNoContent, "PUT after release")
}

// Owners are XML: the API shows them unescaped, and an oversize body is refused in JSON.
func TestAPIBodyShapes(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.put("/f", "x")
	tok := ts.lock("/f", exclusiveBody, http.StatusOK)
	if body := ts.do("GET", "/.lockdav/locks/"+tok, "").Body.String(); !strings.Contains(body, `<href xmlns=\"DAV:\">`) {
		t.Fatalf("owner escaped for HTML: %s", body)
	}
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/g", "owner": "`+strings.Repeat("x", 5000)+`"}`)
	want(t, w, http.StatusRequestEntityTooLarge, "oversize POST")
	if e := decode[apiError](t, w.Body.String()); e.Error != "body too large" {
		t.Fatalf("oversize POST body: %s", w.Body.String())
	}
	w = ts.do("POST", "/.lockdav/locks", `{"path": "/nope/f"}`)
	if e := decode[apiError](t, w.Body.String()); e.Detail == "" {
		t.Fatalf("409 without detail: %s", w.Body.String())
	}
}

// TestAPIConflictsOnMembership: a lock on an unmapped URL adds a member to its collection, so a
// depth-0 lock on the collection is in the way (RFC 4918 §7.5); the 423 names it, as every 423
// of the API does.
func TestAPIConflictsOnMembership(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/d")
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/d", "depth": "0"}`)
	want(t, w, http.StatusCreated, "POST depth-0 lock on /d")
	held := decode[apiDoc](t, w.Body.String())
	w = ts.do("POST", "/.lockdav/locks", `{"path": "/d/x", "depth": "0"}`)
	want(t, w, http.StatusLocked, "POST lock on a new member of /d")
	got := decode[struct {
		Error     string   `json:"error"`
		Conflicts []apiDoc `json:"conflicts"`
	}](t, w.Body.String())
	if len(got.Conflicts) != 1 || got.Conflicts[0].Token != held.Token || got.Conflicts[0].Path != "/d" {
		t.Fatalf("423 body %s: want conflicts naming %s on /d", w.Body.String(), held.Token)
	}
}

// wantAPIError checks a JSON error answer.
func wantAPIError(t *testing.T, status int, ctype, body string, wantStatus int, wantText string) {
	t.Helper()
	var e apiError
	if status != wantStatus || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &e) != nil ||
		!strings.Contains(e.Error+" "+e.Detail, wantText) {
		t.Errorf("got %d %q %s, want %d JSON naming %q", status, ctype, body, wantStatus, wantText)
	}
}

// The lock API reads a body only when it is said to be JSON, which no HTML form and no no-cors
// fetch can say: a forged POST takes no lock.
func TestLockAPIWantsJSON(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	ts.put("/f", "x")
	for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonx", "garbage;;"} {
		w := ts.do("POST", apiLocks, `{"path":"/f"}`, "Content-Type", ct)
		wantAPIError(t, w.Code, w.Header().Get("Content-Type"), w.Body.String(), http.StatusUnsupportedMediaType, "application/json")
	}
	if n := len(ts.locks.Query(ts.now, locksystem.Query{Path: "/", Depth: locksystem.DepthInfinity})); n != 0 {
		t.Fatalf("%d locks taken by bodies that were not said to be JSON", n)
	}
	w := ts.do("POST", apiLocks, `{"path":"/f"}`, "Content-Type", "Application/JSON; charset=utf-8")
	want(t, w, http.StatusCreated, "POST with Content-Type: application/json; charset=utf-8")
}

// TestOwnerLimit: the lock API refuses an owner over locksystem.MaxOwner, the limit WebDAV LOCK
// has too, with 413 naming the field.
func TestOwnerLimit(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.api.maxBody = 16 << 20 // the owner, not the body, is what is too large here
	ts.put("/f", "x")
	long := strings.Repeat("o", locksystem.MaxOwner+1)
	w := ts.do("POST", "/.lockdav/locks", `{"path": "/f", "owner": "`+long+`"}`, "Content-Type", "application/json")
	want(t, w, http.StatusRequestEntityTooLarge, "POST with an owner over MaxOwner")
	if e := decode[apiError](t, w.Body.String()); !strings.HasPrefix(e.Detail, "owner:") {
		t.Errorf("POST 413 detail %q does not name the owner field", e.Detail)
	}
	fits := strings.Repeat("o", locksystem.MaxOwner)
	w = ts.do("POST", "/.lockdav/locks", `{"path": "/f", "owner": "`+fits+`"}`, "Content-Type", "application/json")
	want(t, w, http.StatusCreated, "POST with an owner of exactly MaxOwner bytes")
}

// The server's own pages keep their strict policies, and say nosniff too, as the tree's
// listing does.
func TestServerPagesNosniff(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	ts.put("/a.txt", "x")
	for _, p := range []string{"/", request.Reserved, apiLocks} {
		for _, m := range []string{"GET", "HEAD"} {
			w := ts.do(m, p, "")
			want(t, w, http.StatusOK, m+" "+p)
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", m, p, got)
			}
			if csp := w.Header().Get("Content-Security-Policy"); p != apiLocks && (csp == "" || csp == "sandbox") {
				t.Errorf("%s %s: Content-Security-Policy %q, want the page's own", m, p, csp)
			}
		}
	}
}
