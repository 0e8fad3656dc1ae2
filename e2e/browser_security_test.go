package e2e

// Attacks through an admin's browser, in headless Chromium: a page a writer uploads must not run
// as the server's origin when the admin opens it (stored XSS), and a page on another site must
// not take or release locks with the admin's cached credentials (CSRF).

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/lockdav/lockdav/locksystem"
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

// locksOn lists the paths of live locks, as root sees them through the API.
func locksOn(t *testing.T, l *live) map[string]locksystem.Lock {
	t.Helper()
	r := l.do(t, "GET", "/.lockdav/locks", "", "Authorization", basicAuth("root"))
	var doc struct{ Locks []locksystem.Lock }
	if err := json.Unmarshal([]byte(r.Body), &doc); r.Status != 200 || err != nil {
		t.Fatalf("GET /.lockdav/locks: %d %v\n%s", r.Status, err, r.Body)
	}
	out := map[string]locksystem.Lock{}
	for _, lk := range doc.Locks {
		out[lk.Path] = lk
	}
	return out
}

func TestBrowserCrossSiteLockAPI(t *testing.T) {
	l := securityServer(t)
	for _, p := range []string{"/form.txt", "/fetch.txt", "/urlenc.txt"} {
		l.writeFile(t, p, "x\n")
	}
	bob := locksOn(t, l)["/secret/plan.txt"].Token
	if bob == "" {
		t.Fatal("no lock on /secret/plan.txt")
	}
	api := l.URL + "/.lockdav/locks"
	// text/plain forms send "name=value": this name and value make a JSON body.
	page := `<!DOCTYPE html><title>running</title>
<iframe name="sink"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="post" enctype="text/plain" target="sink" action="` + api + `">
<input name='{"path":"/form.txt","owner":"' value='csrf"}'></form>
<form id="urlenc" method="post" target="sink2" action="` + api + `">
<input name='{"path":"/urlenc.txt","owner":"' value='csrf"}'></form>
<script>
(async () => {
  let out = [];
  const frames = Promise.all(["sink", "sink2"].map(n => new Promise(ok => document.querySelector("iframe[name=" + n + "]").onload = ok)));
  document.getElementById("plain").submit();
  document.getElementById("urlenc").submit();
  try { await fetch(` + jsString(api) + `, {method: "POST", mode: "no-cors", credentials: "include",
    body: JSON.stringify({path: "/fetch.txt", owner: "csrf"})}); out.push("post sent"); } catch (e) { out.push("post: " + e); }
  try { await fetch(` + jsString(api+"/"+bob) + `, {method: "DELETE", credentials: "include"}); out.push("delete sent"); }
  catch (e) { out.push("delete: " + e); }
  await Promise.race([frames, new Promise(ok => setTimeout(ok, 5000))]);
  document.title = "done: " + out.join("; ");
})();
</script>`
	ctx := adminBrowser(t, l)
	openPage(t, ctx, attacker(t, page))
	var title string
	eventually(t, 15*time.Second, "the attacking page never finished", func() bool {
		title, _ = chromedp.Run(ctx, chromedp.Title())
		return strings.HasPrefix(title, "done")
	})
	t.Logf("attacking page: %s", title)

	locks := locksOn(t, l)
	for _, p := range []string{"/form.txt", "/urlenc.txt", "/fetch.txt"} {
		if lk, ok := locks[p]; ok {
			t.Errorf("a page on another origin took a lock on %s as %s", p, lk.Principal)
		}
	}
	if _, ok := locks["/secret/plan.txt"]; !ok {
		t.Errorf("a page on another origin released bob's lock")
	}

	// The admin's own lock page still works, and so does the API for a client that is no browser.
	visit(t, ctx, l.URL+"/.lockdav/", 200)
	r := l.do(t, "DELETE", "/.lockdav/locks/"+url.PathEscape(bob), "", "Authorization", basicAuth("root"))
	if r.Status != 204 {
		t.Errorf("DELETE bob's lock as root with curl's headers: got %d\n%s", r.Status, r.Body)
	}
}
