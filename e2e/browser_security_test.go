package e2e

// Attacks through an admin's browser, in headless Chromium: a page a writer uploads must not run
// as the server's origin when the admin opens it (stored XSS), and a page on another site must
// not take or release locks with the admin's cached credentials (CSRF).

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// attackScript reads every lock and writes a file with whatever credentials the browser has for
// the page's origin, then PUTs what it managed to /pwned-<m>.txt, m from the page's query. It
// has no '<' or '&', so it can stand in HTML and SVG alike.
const attackScript = `(async () => {
  const m = new URLSearchParams(location.search).get("m") || "none";
  let out = [];
  try { const r = await fetch("/.lockdav/locks"); out.push("read " + r.status + " " + (await r.text()).includes("/secret/")); }
  catch (e) { out.push("read failed: " + e); }
  try { const r = await fetch("/pwned-" + m + ".txt", {method: "PUT", body: out.join("; ")}); out.push("put " + r.status); }
  catch (e) { out.push("put failed: " + e); }
  document.title = out.join("; ");
})();`

var (
	xssHTML = `<!DOCTYPE html><html><head><title>waiting</title></head><body><script>` + attackScript + `</script></body></html>`
	xssSVG  = `<svg xmlns="http://www.w3.org/2000/svg"><script><![CDATA[` + attackScript + `]]></script></svg>`
)

// securityServer is a live server where anonymous requests may do nothing, mallory may write
// under /up only, and root is an admin; bob holds a lock on /secret/plan.txt.
func securityServer(t *testing.T) *live {
	t.Helper()
	l := startLive(t, liveOptions{users: []string{"mallory", "bob"}, admins: []string{"root"},
		roots: map[string]string{"mallory": "/up"}, anonymous: "none"})
	l.writeFile(t, "/secret/plan.txt", "the plan\n")
	r := l.do(t, "LOCK", "/secret/plan.txt", lockinfoBody("bob"), "Authorization", basicAuth("bob"), "Depth", "0")
	if r.Status != 200 {
		t.Fatalf("LOCK /secret/plan.txt as bob: got %d\n%s", r.Status, r.Body)
	}
	return l
}

// adminBrowser is a Chromium that has logged in as root (URL credentials, answered by the
// server's 401, are cached for the origin as a user's typed ones are) and denies downloads.
func adminBrowser(t *testing.T, l *live) context.Context {
	t.Helper()
	ctx := browser(t, 120*time.Second)
	deny := cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny}
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, deny); err != nil {
		t.Fatal(err)
	}
	visit(t, ctx, "http://root:"+userPassword("root")+"@"+l.Host+"/", 200)
	// Without the cached credentials the server would answer 401: the attacks below run as root.
	visit(t, ctx, l.URL+"/.lockdav/", 200)
	return ctx
}

// openPage navigates to u; a download or a refused answer ends the navigation with an error, which
// is no failure here: what counts is whether a script ran.
func openPage(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	switch {
	case err != nil:
		t.Logf("open %s: %v", u, err)
	default:
		t.Logf("open %s: HTTP %d, Content-Type %v, Content-Disposition %v, CSP %v", u, resp.Status,
			resp.Headers["Content-Type"], resp.Headers["Content-Disposition"], resp.Headers["Content-Security-Policy"])
	}
}

// noMarker fails the test if the attack script of scenario m wrote its marker within a few
// seconds (it takes milliseconds when it runs).
func noMarker(t *testing.T, l *live, m string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got, ok := l.file(t, "/pwned-"+m+".txt"); ok {
			t.Errorf("%s: the uploaded page ran as the admin and wrote /pwned-%s.txt: %q", m, m, got)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// attacker serves page from another loopback port: another origin than the live server's.
func attacker(t *testing.T, page string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestBrowserStoredXSS(t *testing.T) {
	l := securityServer(t)
	for p, body := range map[string]string{"/x.html": xssHTML, "/x.svg": xssSVG, "/page": xssHTML} {
		if r := l.do(t, "PUT", p, body, "Authorization", basicAuth("mallory")); r.Status != 201 {
			t.Fatalf("PUT %s as mallory: got %d\n%s", p, r.Status, r.Body)
		}
	}
	ctx := adminBrowser(t, l)

	for m, p := range map[string]string{"html": "/up/x.html", "svg": "/up/x.svg", "sniffed": "/up/page"} {
		openPage(t, ctx, l.URL+p+"?m="+m)
		noMarker(t, l, m)
	}
	// x/net answers POST on a file with its content: a form elsewhere posting to the page
	// makes the admin's browser render it as a top-level document.
	form := `<!DOCTYPE html><form method="post" action="` + l.URL + `/up/x.html?m=post"></form>` +
		`<script>document.forms[0].submit()</script>`
	openPage(t, ctx, attacker(t, form))
	noMarker(t, l, "post")

	// The admin can still fetch what mallory uploaded, as a download.
	if r := l.do(t, "GET", "/up/x.html", "", "Authorization", basicAuth("root")); r.Status != 200 || r.Body != xssHTML {
		t.Errorf("GET /up/x.html as root: got %d, want 200 with the page", r.Status)
	}
}
