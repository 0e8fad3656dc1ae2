package e2e

// Headless Chromium (Debian package chromium, driven over the DevTools protocol by chromedp; no
// browser is downloaded) loads a collection listing and the /.lockdav/ locks page, checks the
// lock badges against locks taken with LOCK, and saves screenshots as test artifacts under
// e2e/artifacts/.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium with a fresh profile and returns a tab's context. The
// browser is stopped when the test ends, or after limit if it hangs.
func browser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	bin := needBinary(t, "chromium", "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	watchdog := time.AfterFunc(limit, cancelAlloc)
	t.Cleanup(func() {
		watchdog.Stop()
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser; it must not run under a deadline of its own.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx
}

// visit loads url and fails the test unless it answers want.
func visit(t *testing.T, ctx context.Context, url string, want int64) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	if resp.Status != want {
		t.Fatalf("loading %s: got HTTP %d, want %d", url, resp.Status, want)
	}
}

// rowsText returns the visible text of every element that sel matches, as the browser renders it.
func rowsText(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	js := `Array.from(document.querySelectorAll(` + jsString(sel) + `)).map(e => e.innerText.replace(/\s+/g, " ").trim())`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Fatalf("reading %q: %v", sel, err)
	}
	return got
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// screenshot saves the whole page as a PNG under e2e/artifacts/.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join("artifacts", name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("%s: not a PNG", p)
	}
	t.Logf("screenshot: e2e/%s (%d bytes)", p, len(png))
}

// rowWith returns the row that contains name, or "".
func rowWith(rows []string, name string) string {
	for _, r := range rows {
		if strings.Contains(r, name) {
			return r
		}
	}
	return ""
}

// browserTree locks /docs/report.txt (alice, exclusive, depth 0) and /docs/drafts (bob, shared,
// depth infinity) with WebDAV LOCK, and returns their tokens.
func browserTree(t *testing.T, l *live) (alice, bob string) {
	t.Helper()
	l.writeFile(t, "/docs/report.txt", "the report\n")
	l.writeFile(t, "/docs/notes.txt", "not locked\n")
	l.writeFile(t, "/docs/drafts/first.txt", "draft\n")
	l.writeFile(t, "/docs/<img src=x onerror=alert(1)>.txt", "markup in a name\n")
	r := l.do(t, "LOCK", "/docs/report.txt", lockinfoBody("mailto:alice@example.org"),
		"Authorization", basicAuth("alice"), "Depth", "0", "Timeout", "Second-3600")
	if r.Status != 200 {
		t.Fatalf("LOCK report.txt: got %d\n%s", r.Status, r.Body)
	}
	shared := strings.Replace(lockinfoBody("bob"), "<D:exclusive/>", "<D:shared/>", 1)
	s := l.do(t, "LOCK", "/docs/drafts", shared, "Authorization", basicAuth("bob"), "Timeout", "Second-600")
	if s.Status != 200 {
		t.Fatalf("LOCK drafts: got %d\n%s", s.Status, s.Body)
	}
	return strings.Trim(r.Header.Get("Lock-Token"), "<>"), strings.Trim(s.Header.Get("Lock-Token"), "<>")
}

func TestBrowserListing(t *testing.T) {
	l := startLive(t, liveOptions{users: []string{"alice", "bob"}})
	browserTree(t, l)
	ctx := browser(t, 90*time.Second)

	visit(t, ctx, l.URL+"/docs/", 200)
	rows := rowsText(t, ctx, "tbody tr")
	if len(rows) != 4 {
		t.Errorf("listing rows: got %d %q, want 4", len(rows), rows)
	}
	report, notes, drafts := rowWith(rows, "report.txt"), rowWith(rows, "notes.txt"), rowWith(rows, "drafts/")
	if !strings.Contains(report, "alice: exclusive") || !leftAbout(report, "1h0m0s", "59m") {
		t.Errorf("report.txt row: got %q, want alice's exclusive badge expiring in about 1h", report)
	}
	if !strings.Contains(drafts, "bob: shared") || !leftAbout(drafts, "10m0s", "9m") {
		t.Errorf("drafts/ row: got %q, want bob's shared badge expiring in about 10m", drafts)
	}
	if strings.Contains(notes, "exclusive") || strings.Contains(notes, "shared") {
		t.Errorf("notes.txt row: got %q, want no lock badge", notes)
	}
	if odd := rowWith(rows, "<img src=x onerror=alert(1)>.txt"); odd == "" {
		t.Errorf("a name with markup is not shown as text: rows %q", rows)
	}
	if got := rowsText(t, ctx, "link, script, img, iframe, object, embed"); len(got) != 0 {
		t.Errorf("listing loads external assets: %q", got)
	}
	screenshot(t, ctx, "listing-docs.png")

	// Inside the depth-infinity lock, the collection itself carries bob's badge.
	visit(t, ctx, l.URL+"/docs/drafts/", 200)
	page := rowsText(t, ctx, "body > p .lock")
	if len(page) != 1 || !strings.Contains(page[0], "locked by bob (shared, depth infinity)") {
		t.Errorf("drafts/ page badge: got %q, want bob's depth-infinity lock", page)
	}
	if first := rowWith(rowsText(t, ctx, "tbody tr"), "first.txt"); !strings.Contains(first, "bob: shared") {
		t.Errorf("first.txt row: got %q, want bob's inherited lock", first)
	}
	screenshot(t, ctx, "listing-drafts.png")

	// Breadcrumb back to the root, which never lists the server's own namespace.
	visit(t, ctx, l.URL+"/", 200)
	if crumbs := rowsText(t, ctx, "nav a"); len(crumbs) == 0 || crumbs[0] != "/" {
		t.Errorf("breadcrumb: got %q, want it to start at /", crumbs)
	}
	if rowWith(rowsText(t, ctx, "tbody tr"), ".lockdav") != "" {
		t.Errorf("the root listing shows .lockdav")
	}
}

// leftAbout says whether row shows a lock taken moments ago with the timeout whole: the time
// left is rounded to the second, so a page shown within half a second of the LOCK says "in
// 1h0m0s" and a later one "in 59m…" (less).
func leftAbout(row, whole, less string) bool {
	return strings.Contains(row, "in "+whole) || strings.Contains(row, "in "+less)
}

func TestBrowserLocksPage(t *testing.T) {
	l := startLive(t, liveOptions{users: []string{"alice", "bob"}})
	alice, bob := browserTree(t, l)
	if r := l.do(t, "GET", "/.lockdav/", ""); r.Status != 200 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /.lockdav/: got %d %q, want 200 text/html — lockapi's routes must send GET and HEAD "+
			"on /.lockdav/ and /.lockdav to serveLocksPage (davserver/lockapi/lockspage.go)",
			r.Status, r.Header.Get("Content-Type"))
	}
	ctx := browser(t, 90*time.Second)

	visit(t, ctx, l.URL+"/.lockdav/", 200)
	rows := rowsText(t, ctx, "tr.lock")
	if len(rows) != 2 {
		t.Fatalf("locks page rows: got %d %q, want 2", len(rows), rows)
	}
	a, b := rowWith(rows, alice), rowWith(rows, bob)
	for _, c := range []struct {
		row   string
		wants []string
	}{
		{a, []string{"/docs/report.txt", "exclusive", "alice", "mailto:alice@example.org", "Go-http-client"}},
		{b, []string{"/docs/drafts", "shared", "infinity", "bob"}},
	} {
		for _, w := range c.wants {
			if !strings.Contains(c.row, w) {
				t.Errorf("locks page row %q lacks %q", c.row, w)
			}
		}
	}
	if !leftAbout(a, "1h0m0s", "59m") || !leftAbout(b, "10m0s", "9m") {
		t.Errorf("locks page rows %q and %q: want them expiring in about 1h and 10m", a, b)
	}
	screenshot(t, ctx, "locks-page.png")

	// The filter is in the URL, as on the JSON API.
	visit(t, ctx, l.URL+"/.lockdav/?path=/docs&principal=bob", 200)
	if rows := rowsText(t, ctx, "tr.lock"); len(rows) != 1 || !strings.Contains(rows[0], bob) {
		t.Errorf("filtered by principal=bob: got %q, want bob's lock only", rows)
	}
	visit(t, ctx, l.URL+"/.lockdav/?depth=7", 400)
	if msg := rowsText(t, ctx, ".error"); len(msg) != 1 || !strings.Contains(msg[0], "depth") {
		t.Errorf("bad filter: got %q, want a message naming depth", msg)
	}

	// Released with UNLOCK, gone from the page.
	if r := l.do(t, "UNLOCK", "/docs/report.txt", "", "Authorization", basicAuth("alice"), "Lock-Token", "<"+alice+">"); r.Status != 204 {
		t.Fatalf("UNLOCK: got %d", r.Status)
	}
	visit(t, ctx, l.URL+"/.lockdav/", 200)
	if rows := rowsText(t, ctx, "tr.lock"); len(rows) != 1 || rowWith(rows, alice) != "" {
		t.Errorf("after UNLOCK: got %q, want bob's lock only", rows)
	}
}

// TestBrowserLocksPageLive: the locks page, left open, shows a lock taken through the API and
// drops one released, without being reloaded: its script follows /.lockdav/events, which its
// Content-Security-Policy must let it run and connect to.
func TestBrowserLocksPageLive(t *testing.T) {
	l := startLive(t, liveOptions{})
	l.writeFile(t, "/docs/live.txt", "watched\n")
	ctx := browser(t, 90*time.Second)
	visit(t, ctx, l.URL+"/.lockdav/?path=/docs", 200)
	if rows := rowsText(t, ctx, "tr.lock"); len(rows) != 0 {
		t.Fatalf("locks page before any lock: %q", rows)
	}
	// A mark the page loses if it is reloaded: the rows must come without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	waitStreamOpen(t, l)
	r := l.do(t, "POST", "/.lockdav/locks", `{"path": "/docs/live.txt", "owner": "live test"}`, "Content-Type", "application/json")
	if r.Status != 201 {
		t.Fatalf("POST /.lockdav/locks: %d %s", r.Status, r.Body)
	}
	rows := waitRows(t, ctx, 1)
	if !strings.Contains(rows[0], "/docs/live.txt") || !strings.Contains(rows[0], "live test") {
		t.Errorf("live row %q, want the lock on /docs/live.txt owned by \"live test\"", rows[0])
	}
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !still {
		t.Errorf("the page was reloaded to show the lock (%v)", err)
	}
	screenshot(t, ctx, "locks-page-live.png")
	var doc struct{ Token string }
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if r := l.do(t, "DELETE", "/.lockdav/locks/"+doc.Token, ""); r.Status != 204 {
		t.Fatalf("DELETE: %d", r.Status)
	}
	waitRows(t, ctx, 0)
}

// waitStreamOpen waits until the page's event stream is open (lockdav_event_streams_open 1):
// a lock taken before would not be an event to it.
func waitStreamOpen(t *testing.T, l *live) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(l.do(t, "GET", "/.lockdav/metrics", "").Body, "\nlockdav_event_streams_open 1\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the locks page opened no event stream")
		}
	}
}

// waitRows waits up to ten seconds for the page to show n lock rows, and returns them.
func waitRows(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rows := rowsText(t, ctx, "tr.lock")
		if len(rows) == n {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("locks page shows %d rows %q, want %d without a reload", len(rows), rows, n)
		}
	}
}
