package server

// Cross-site request forgery: browsers send forms and no-cors fetches to any site with the
// credentials they hold for it, so no request but GET, HEAD and OPTIONS is served when a browser
// says it comes from another origin (the lock API's wanting JSON said as such is lockapi's test).

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/locksystem"
)

// apiError is the lock API's JSON error body.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
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

func TestCrossOriginRefused(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	ts.put("/f", "x")
	// httptest.NewRequest's Host is example.com.
	cross := [][]any{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"}, // a sandboxed document, or a file opened from disk
		{"Origin", "http://example.com:8080"},
		{"Sec-Fetch-Site", "cross-site", "Origin", "http://example.com"},
	}
	jsonCT := []any{"Content-Type", "application/json"}
	for _, hdr := range cross {
		w := ts.do("POST", apiLocks, `{"path":"/f"}`, append(hdr, jsonCT...)...)
		wantAPIError(t, w.Code, w.Header().Get("Content-Type"), w.Body.String(), http.StatusForbidden, "cross-origin")
		for _, m := range []string{"PUT", "POST", "DELETE", "MKCOL", "LOCK", "PROPPATCH", "MOVE"} {
			if w := ts.do(m, "/f", "", hdr...); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-origin") {
				t.Errorf("%s /f with %q: got %d %q, want 403", m, hdr, w.Code, w.Body.String())
			}
		}
		// Reading is no forgery: links and images from elsewhere keep working.
		want(t, ts.do("GET", "/f", "", hdr...), http.StatusOK, "cross-site GET")
		want(t, ts.do("HEAD", "/f", "", hdr...), http.StatusOK, "cross-site HEAD")
	}
	if got, _ := ts.read("/f"); got != "x" {
		t.Fatalf("/f: %q after refused writes", got)
	}
	for _, hdr := range [][]any{nil, {"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none"}, {"Origin", "http://example.com"}} {
		w := ts.do("POST", apiLocks, `{"path":"/f"}`, append(hdr, jsonCT...)...)
		want(t, w, http.StatusCreated, "same-origin POST")
		var l locksystem.Lock
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		for _, c := range cross {
			w := ts.do("DELETE", apiLocks+"/"+l.Token, "", c...)
			wantAPIError(t, w.Code, w.Header().Get("Content-Type"), w.Body.String(), http.StatusForbidden, "cross-origin")
		}
		want(t, ts.do("DELETE", apiLocks+"/"+l.Token, "", hdr...), http.StatusNoContent, "same-origin DELETE")
	}
}

// A cross-site request is refused before authentication: no 401 and its login prompt, and no
// failed login counted against the address.
func TestCrossOriginBeforeAuth(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("admin", auth.Write, true, ""))
	s.expect(http.StatusForbidden, "", "POST", apiLocks, `{"path":"/"}`, "Sec-Fetch-Site", "cross-site")
	s.expect(http.StatusForbidden, "admin:wrong", "PUT", "/f", "x", "Origin", "http://evil.example")
	s.expect(http.StatusCreated, "admin", "PUT", "/f", "x", "Origin", s.url)
}
