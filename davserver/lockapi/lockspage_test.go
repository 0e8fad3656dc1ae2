package lockapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// locksPage gets the locks page for query (e.g. "?path=/docs") through the handler, for a user
// confined to root when one is given.
func (ts *testServer) locksPage(method, query string, root ...string) *httptest.ResponseRecorder {
	ts.t.Helper()
	r := httptest.NewRequest(method, "/.lockdav/"+query, nil)
	if len(root) > 0 {
		r = r.WithContext(request.WithRoot(r.Context(), root[0]))
	}
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w
}

// lockedTree has three locks: alice's exclusive one on /docs/a.txt, bob's shared depth-infinity
// one on /docs/sub, and carol's on /other.txt, whose owner and path try to inject markup.
func lockedTree(t *testing.T) (*testServer, map[string]string) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	ts.mkcol("/docs")
	ts.mkcol("/docs/sub")
	ts.put("/docs/a.txt", "a")
	ts.put("/other<b>.txt", "o")
	tokens := map[string]string{
		"alice": ts.lock("/docs/a.txt", exclusiveBody, http.StatusOK, as("alice"), "Timeout", "Second-600", "Depth", "0",
			"User-Agent", "Microsoft-WebDAV-MiniRedir/10.0.19045"),
		"bob": ts.lock("/docs/sub", sharedBody, http.StatusOK, as("bob"), "Timeout", "Second-3600"),
		"carol": ts.lock("/other%3Cb%3E.txt", `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner>&lt;script&gt;alert(1)&lt;/script&gt;</D:owner></D:lockinfo>`, http.StatusOK, as("carol"), "Depth", "0"),
	}
	ts.now = ts.now.Add(2 * time.Second)
	return ts, tokens
}

func TestLocksPage(t *testing.T) {
	ts, tokens := lockedTree(t)
	w := ts.locksPage("GET", "")
	want(t, w, http.StatusOK, "GET /.lockdav/")
	body := w.Body.String()
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", ct)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy: got %q, want default-src 'none'", csp)
	}
	if got := strings.Count(body, `<tr class="lock">`); got != 3 {
		t.Errorf("rows: got %d, want 3\n%s", got, body)
	}
	for _, s := range []string{
		"3 active locks",
		tokens["alice"], tokens["bob"], tokens["carol"],
		`<a href="/docs/a.txt">/docs/a.txt</a>`,
		`<td class="principal">alice</td>`, `<td class="principal">bob</td>`,
		"mailto:alice@example.org", // the owner's text, not its XML
		`<span class="scope exclusive">exclusive</span>`, `<span class="scope shared">shared</span>`,
		"<td>infinity</td>", "<td>0</td>",
		"in 9m58s", "in 59m58s", // granted 600 s and 3600 s, two seconds ago
		"2026-01-02T03:04:05Z",
		"Microsoft-WebDAV-MiniRedir/10.0.19045",
		`href="/.lockdav/locks"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(body, "<D:href>") {
		t.Errorf("page shows the owner's raw XML")
	}
}

// RFC 4918 §14.17: the owner is whatever the client sent; the page must show it as text.
func TestLocksPageEscapes(t *testing.T) {
	ts, _ := lockedTree(t)
	body := withoutLiveScript(t, ts.locksPage("GET", `?owner=<i>x</i>`).Body.String())
	for _, bad := range []string{"<script>", "<b>", "<i>x</i>"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	body = withoutLiveScript(t, ts.locksPage("GET", "").Body.String())
	for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "/other&lt;b&gt;.txt", `href="/other%3cb%3e.txt"`} {
		if !strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
			t.Errorf("page lacks the escaped %q", s)
		}
	}
	for _, external := range []string{"<script", "<link", "src=", "http://", "https://", "@import"} {
		if strings.Contains(body, external) {
			t.Errorf("page loads or links something external: contains %q", external)
		}
	}
}

// The page takes the JSON API's query parameters.
func TestLocksPageFilters(t *testing.T) {
	ts, tokens := lockedTree(t)
	for _, c := range []struct {
		query string
		want  []string // principals listed
	}{
		{"?path=/docs", []string{"alice", "bob"}},
		{"?path=/docs&principal=alice", []string{"alice"}},
		{"?principal=bob", []string{"bob"}},
		{"?scope=shared", []string{"bob"}},
		{"?scope=exclusive", []string{"alice", "carol"}},
		{"?path=/docs&depth=1", []string{"alice", "bob"}},
		{"?path=/docs&depth=0", nil},
		{"?path=/docs/sub/deep.txt&depth=0&covering=true", []string{"bob"}},
		{"?owner=alice@example", []string{"alice"}},
		{"?owner=nobody", nil},
	} {
		w := ts.locksPage("GET", c.query)
		want(t, w, http.StatusOK, "GET /.lockdav/"+c.query)
		body := w.Body.String()
		if got := strings.Count(body, `<tr class="lock">`); got != len(c.want) {
			t.Errorf("%s: got %d rows, want %d", c.query, got, len(c.want))
		}
		for name, tok := range tokens {
			listed := strings.Contains(body, tok)
			if wantIt := listHas(c.want, name); listed != wantIt {
				t.Errorf("%s: %s's lock listed %v, want %v", c.query, name, listed, wantIt)
			}
		}
		if !strings.Contains(body, "matching the filter") || !strings.Contains(body, `<a href="/.lockdav/">show all</a>`) {
			t.Errorf("%s: page does not say it is filtered", c.query)
		}
		if len(c.want) == 0 && !strings.Contains(body, "No active locks match the filter.") {
			t.Errorf("%s: empty result not said", c.query)
		}
	}
	body := ts.locksPage("GET", "?path=/docs&principal=alice").Body.String()
	for _, s := range []string{`value="/docs"`, `value="alice"`, `href="/.lockdav/locks?path=/docs&amp;principal=alice"`} {
		if !strings.Contains(body, s) {
			t.Errorf("filtered page lacks %q (form echo or JSON link)", s)
		}
	}
}

func TestLocksPageBadQuery(t *testing.T) {
	ts, _ := lockedTree(t)
	for _, c := range []struct{ query, want string }{
		{"?depth=2", "depth must be 0, 1 or infinity"},
		{"?scope=weird", "scope must be exclusive or shared"},
		{"?covering=maybe", "covering must be true or false"},
		{"?path=relative", "path must be an absolute path"},
	} {
		w := ts.locksPage("GET", c.query)
		want(t, w, http.StatusBadRequest, "GET /.lockdav/"+c.query)
		body := w.Body.String()
		if !strings.Contains(body, "Invalid filter: "+c.want) || !strings.Contains(body, "<form") {
			t.Errorf("%s: got %s, want the form and %q", c.query, body, c.want)
		}
		if strings.Contains(body, `<tr class="lock">`) {
			t.Errorf("%s: a refused query still lists locks", c.query)
		}
	}
}

func TestLocksPageEmptyAndHead(t *testing.T) {
	ts := newTestServer(t, locksystem.DefaultPolicy)
	body := ts.locksPage("GET", "").Body.String()
	if !strings.Contains(body, "0 active locks") || !strings.Contains(body, "No active locks.") {
		t.Errorf("empty page: got %s", body)
	}
	w := ts.locksPage("HEAD", "")
	want(t, w, http.StatusOK, "HEAD /.lockdav/")
	if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD: got %d body bytes, Content-Type %q; want none and text/html", w.Body.Len(), w.Header().Get("Content-Type"))
	}
}

// An expired lock is not listed: the page asks the lock system as of the handler's clock.
func TestLocksPageExpiry(t *testing.T) {
	ts, tokens := lockedTree(t)
	ts.now = ts.now.Add(11 * time.Minute) // alice's 600 s lock is over; bob's hour is not
	body := ts.locksPage("GET", "").Body.String()
	if strings.Contains(body, tokens["alice"]) || !strings.Contains(body, tokens["bob"]) {
		t.Errorf("after 11 minutes: alice listed %v (want false), bob listed %v (want true)",
			strings.Contains(body, tokens["alice"]), strings.Contains(body, tokens["bob"]))
	}
}

// A user confined to a subtree sees what the JSON API shows that user: the locks in the tree,
// with paths in the user's URL space.
func TestLocksPageUserRoot(t *testing.T) {
	ts, tokens := lockedTree(t)
	body := ts.locksPage("GET", "", "/docs").Body.String()
	if strings.Contains(body, tokens["carol"]) || !strings.Contains(body, tokens["alice"]) || !strings.Contains(body, tokens["bob"]) {
		t.Errorf("confined to /docs: want alice's and bob's locks and not carol's\n%s", body)
	}
	for _, s := range []string{`<a href="/a.txt">/a.txt</a>`, `<a href="/sub">/sub</a>`} {
		if !strings.Contains(body, s) {
			t.Errorf("confined to /docs: page lacks %q (paths in the user's URL space)", s)
		}
	}
	if strings.Contains(body, "/docs/a.txt") {
		t.Errorf("confined to /docs: page shows the real path /docs/a.txt")
	}
}

func listHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withoutLiveScript returns the page without its own inline script, failing the test if the
// page lacks it or has it other than exactly once: what remains must load nothing.
func withoutLiveScript(t *testing.T, body string) string {
	t.Helper()
	own := "<script>" + liveScript + "</script>"
	if n := strings.Count(body, own); n != 1 {
		t.Fatalf("page has its live script %d times, want once, verbatim", n)
	}
	return strings.Replace(body, own, "", 1)
}

// TestLocksPageCSPAllowsItsScriptOnly: the policy names the hash of the script the page has, no
// other script source, and connections to the page's own origin only.
func TestLocksPageCSPAllowsItsScriptOnly(t *testing.T) {
	ts, _ := lockedTree(t)
	w := ts.locksPage("GET", "")
	body := w.Body.String()
	i, j := strings.Index(body, "<script>"), strings.Index(body, "</script>")
	if i < 0 || j < i {
		t.Fatal("page has no inline script")
	}
	sum := sha256.Sum256([]byte(body[i+len("<script>") : j]))
	csp := w.Header().Get("Content-Security-Policy")
	wantCSP := "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; connect-src 'self'; form-action 'self'"
	if csp != wantCSP {
		t.Errorf("Content-Security-Policy\n got %q\nwant %q", csp, wantCSP)
	}
	for _, id := range []string{`<table id="locks">`, `id="summary"`, `"/.lockdav/events" + location.search`} {
		if !strings.Contains(body, id) {
			t.Errorf("page lacks %q, which its script needs", id)
		}
	}
}
