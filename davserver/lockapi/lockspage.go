package lockapi

// The locks page: GET /.lockdav/ (and /.lockdav) shows every active lock as an HTML page, for a
// person with a browser. It takes the query parameters of GET /.lockdav/locks (path, depth,
// covering, owner, principal, scope), so /.lockdav/?path=/docs&principal=alice is a bookmarkable
// filter, and links to the same query as JSON. It shows what the JSON API shows the same user:
// a user confined to a subtree sees the locks in it, with paths in that user's URL space. Like the collection listing it loads no external
// assets and html/template escapes every value.
//
// The page renders whole on the server and works without script. A small inline script
// (liveScript) keeps it current: it listens to GET /.lockdav/events with the page's own filters
// and, on each change, fetches the page again and swaps in its table and summary, so the rows
// are always the server's rendering and the filters the server's. Its Content-Security-Policy
// allows exactly that script, by hash, and connections to this origin only.

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
)

// serveLocksPage answers GET and HEAD on /.lockdav/ with the HTML list of active locks. A query
// the JSON API would refuse is answered 400 with the page, the message and the form.
func (h *Handler) serveLocksPage(w http.ResponseWriter, r *http.Request) error {
	h.locks.SyncRead(r.Context()) // the same answer from every replica
	now := h.now()
	page := locksPage{Now: now.UTC().Format(time.RFC3339), Form: formOf(r.URL.Query())}
	status := http.StatusOK
	q, err := parseQuery(r)
	var ae *apiStatusError
	switch {
	case errors.As(err, &ae):
		status, page.Error = ae.status, ae.body.Detail
	case err != nil:
		return err
	default:
		page.Rows = lockRows(h.queryLocks(r, q), now) // as the JSON API: a user's own tree, in its URL space
		page.Filtered = r.URL.RawQuery != ""
		page.JSON = apiLocks
		if r.URL.RawQuery != "" {
			page.JSON += "?" + r.URL.RawQuery
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", locksPageCSP)
	hd.Set("Cache-Control", "no-store") // locks change by the second
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	return locksTemplate.Execute(w, page)
}

// locksPage is what the template shows.
type locksPage struct {
	Now      string
	Form     lockForm
	Error    string
	Filtered bool
	JSON     string
	Rows     []lockRow
}

// lockForm echoes the filters into the form, so a filtered page can be refined.
type lockForm struct {
	Path, Owner, Principal, Scope, Depth string
	Covering                             bool
}

func formOf(v url.Values) lockForm {
	return lockForm{Path: v.Get("path"), Owner: v.Get("owner"), Principal: v.Get("principal"),
		Scope: v.Get("scope"), Depth: v.Get("depth"), Covering: v.Get("covering") == "true"}
}

// lockRow is one lock as a person reads it.
type lockRow struct {
	Principal, Scope, Depth, Since, Expires, Owner string
	Path, Href, Token, Client                      string
	Released                                       bool // released after its holder's first write
}

func lockRows(locks []locksystem.Lock, now time.Time) []lockRow {
	rows := make([]lockRow, len(locks))
	for i, l := range locks {
		rows[i] = lockRow{Principal: l.Principal, Scope: "exclusive", Depth: "0",
			Since: l.Created.UTC().Format(time.RFC3339), Expires: "never", Owner: rfc4918.OwnerText(l.Owner),
			Path: l.Path, Href: rfc4918.Href(l.Path), Token: l.Token, Client: clientText(l.Client),
			Released: l.ReleaseOnUpdate}
		if l.Scope == locksystem.Shared {
			rows[i].Scope = "shared"
		}
		if l.Depth == locksystem.DepthInfinity {
			rows[i].Depth = "infinity"
		}
		if !l.Expires.IsZero() {
			rows[i].Expires = "in " + l.Expires.Sub(now).Round(time.Second).String()
		}
	}
	return rows
}

func clientText(c locksystem.Client) string {
	switch {
	case c.IP == "":
		return c.UserAgent
	case c.UserAgent == "":
		return c.IP
	}
	return c.IP + " · " + c.UserAgent
}

// liveScript updates the page from the event stream. Events that arrive while a fetch is under
// way ask for one more fetch after it, so the last change is always shown. A "missed" event
// (the stream resumed past its history) refetches too: the page is a query, not a replay.
const liveScript = `(function () {
  var table = document.getElementById("locks");
  if (!table || !window.EventSource || !window.fetch) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true; again = false;
    fetch(location.href, {cache: "no-store"}).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      ["locks", "summary"].forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) old.replaceWith(fresh);
      });
    }).catch(function () {}).finally(function () {
      busy = false;
      if (again) refresh();
    });
  }
  var es = new EventSource("/.lockdav/events" + location.search);
  ["acquired", "refreshed", "released", "missed"].forEach(function (k) { es.addEventListener(k, refresh); });
})();`

// locksPageCSP lets the page run liveScript alone (CSP Level 3 hash source) and connect to its
// own origin (the event stream, the refetch); everything else stays 'none', as before.
var locksPageCSP = func() string {
	sum := sha256.Sum256([]byte(liveScript))
	return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; connect-src 'self'; form-action 'self'"
}()

var locksTemplate = template.Must(template.New("locks").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Active locks — lockdav</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:20px;margin:0 0 .4em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;background:#fafafa}
.scope{display:inline-block;border-radius:3px;padding:0 .4em;font-size:12px}
.exclusive{background:#fde8e8;border:1px solid #f5b5b5}.shared{background:#e8f0fd;border:1px solid #b5c9f5}
.token,.client{font:12px ui-monospace,monospace;color:#555;word-break:break-all}
.error{background:#fff4e5;border:1px solid #f0c36d;padding:.5em .8em;border-radius:3px}
form{margin:.8em 0 1.2em}form label{margin-right:.8em}input[type=text]{width:11em}
.summary{color:#555}.when{white-space:nowrap}
</style></head><body>
<nav><a href="/">/</a></nav>
<h1>Active locks</h1>
<form method="get" action="/.lockdav/">
<label>Path <input type="text" name="path" value="{{.Form.Path}}" placeholder="/"></label>
<label>Principal <input type="text" name="principal" value="{{.Form.Principal}}"></label>
<label>Owner contains <input type="text" name="owner" value="{{.Form.Owner}}"></label>
<label>Scope <select name="scope"><option value=""{{if eq .Form.Scope ""}} selected{{end}}>any</option><option value="exclusive"{{if eq .Form.Scope "exclusive"}} selected{{end}}>exclusive</option><option value="shared"{{if eq .Form.Scope "shared"}} selected{{end}}>shared</option></select></label>
<label>Depth <select name="depth"><option value=""{{if eq .Form.Depth ""}} selected{{end}}>at or below</option><option value="1"{{if eq .Form.Depth "1"}} selected{{end}}>on it and its members</option><option value="0"{{if eq .Form.Depth "0"}} selected{{end}}>on it only</option></select></label>
<label><input type="checkbox" name="covering" value="true"{{if .Form.Covering}} checked{{end}}> with locks above</label>
<button type="submit">Show</button>
</form>
{{if .Error}}<p class="error">Invalid filter: {{.Error}}</p>{{else}}
<p class="summary" id="summary">{{len .Rows}} active lock{{if ne (len .Rows) 1}}s{{end}}{{if .Filtered}} matching the filter · <a href="/.lockdav/">show all</a>{{end}} · as of {{.Now}} · <a href="{{.JSON}}">JSON</a></p>
<table id="locks"><thead><tr><th>Path</th><th>Scope</th><th>Depth</th><th>Held by</th><th>Owner</th><th>Since</th><th>Expires</th><th>Client</th><th>Token</th></tr></thead><tbody>
{{range .Rows}}<tr class="lock"><td><a href="{{.Href}}">{{.Path}}</a></td><td><span class="scope {{.Scope}}">{{.Scope}}</span></td><td>{{.Depth}}</td><td class="principal">{{.Principal}}</td><td>{{.Owner}}</td><td class="when">{{.Since}}</td><td class="when">{{.Expires}}{{if .Released}} or at first write{{end}}</td><td class="client">{{.Client}}</td><td class="token">{{.Token}}</td></tr>
{{else}}<tr><td colspan="9">No active locks{{if .Filtered}} match the filter{{end}}.</td></tr>{{end}}
</tbody></table>{{end}}
<script>` + liveScript + `</script>
</body></html>
`))
