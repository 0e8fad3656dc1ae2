package server

// Cross-site request forgery. A page on any site the admin visits can have the browser send
// requests to lockdav with the credentials it has cached for it: HTML forms post
// application/x-www-form-urlencoded, multipart/form-data and text/plain bodies, and fetch in
// no-cors mode sends GET, HEAD and POST with them, all without asking lockdav first. Every other
// method, and any other Content-Type, needs a CORS preflight (an OPTIONS that must grant it with
// Access-Control-Allow-* headers), which lockdav never grants. So two rules:
//
//   - a request other than GET, HEAD and OPTIONS that a browser marks as cross-origin is refused
//     with 403, before authentication, on the lock API and the tree alike: a cross-site POST to a
//     file would otherwise count as a write for its locks (release_on_update) and have x/net
//     answer it with the file. The other WebDAV methods need a preflight, so the check costs
//     them nothing; PROPFIND, safe by RFC 4918 §9.1 but not to net/http, is checked too.
//   - the lock API reads a body only under Content-Type: application/json (415 otherwise),
//     which no form and no no-cors fetch can send (lockapi's wantJSON).
//
// Browsers say where a request comes from with Sec-Fetch-Site, or in older ones with Origin;
// net/http.CrossOriginProtection checks both. Clients that are no browser (curl, the CLI,
// WebDAV clients) send neither and are not affected.

import (
	"net/http"

	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/davserver/lockapi"
	"github.com/lockdav/lockdav/server/request"
)

// refuseCrossOrigin is the middleware that answers 403 to cross-origin requests that are not
// safe, before authenticate: a forged request gets no login prompt and costs no failed login.
func (m *middleware) refuseCrossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			refuseForgery(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errCrossOrigin is the reason a forged request is given.
const errCrossOrigin = "cross-origin request refused"

// refuseForgery answers a cross-origin request: as JSON on the lock API, as text elsewhere.
func refuseForgery(w http.ResponseWriter, r *http.Request, err error) {
	// Before authentication: anyone can send these, so all of it is shortened (request.Clip).
	request.Log(r).Warn().Err(err).Str("method", request.Clip(r.Method)).Str("path", request.Clip(r.URL.Path)).
		Str("origin", request.Clip(r.Header.Get("Origin"))).
		Str("sec_fetch_site", request.Clip(r.Header.Get("Sec-Fetch-Site"))).
		Msg("cross-origin request refused")
	if !request.IsReserved(r.URL.Path) {
		davserver.WriteError(w, r, davserver.Error(http.StatusForbidden, errCrossOrigin, err))
		return
	}
	lockapi.WriteError(w, r, http.StatusForbidden, errCrossOrigin, "a browser sent it from a page on another origin")
}
