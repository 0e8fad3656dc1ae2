package server

// DNS rebinding. With no users and auth.anonymous unset, anyone who reaches lockdav may read and
// write, and lockdav allows that only on a loopback address (config.ReliesOnLoopback): only
// programs on the same machine reach it. A browser on that machine is one of them, on behalf of
// any page it shows. A page of attacker.example whose name the attacker then re-points at
// 127.0.0.1 has the browser send requests to lockdav that, to the browser, go to its own origin:
// Host: attacker.example:8080, Origin: http://attacker.example:8080, Sec-Fetch-Site: same-origin.
// The cross-origin check (crossorigin.go) passes them, and the page reads the answers. What gives
// such a request away is its Host, which names the attacker's host, not this one: so such a
// server serves only requests whose Host is a loopback name or address, which no attacker can
// point anywhere else.
//
// Once users exist or auth.anonymous is set, the operator chose who may do what, and may well
// reach the server by a name of their own (a proxy, /etc/hosts): the Host is not checked.

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/davserver/lockapi"
	"github.com/lockdav/lockdav/server/request"
)

// errForeignHost is the reason a request for another host is given.
const errForeignHost = "this server answers only to a loopback host name (localhost, 127.0.0.1, [::1])"

// refuseForeignHost is the middleware that refuses, on a server that relies on loopback, a
// request whose Host is not a loopback one. It comes first, before the cross-origin check and
// authentication: the request is not for this server at all.
//
// The answer is 421 Misdirected Request (RFC 9110 §15.5.20): this server is unwilling to give an
// authoritative answer for a URI on that host — which is exactly the case — and, unlike 403, it
// says that the request, not the client's rights, is at fault. A client may retry a 421 on another
// connection; it gets the same answer there.
func (m *middleware) refuseForeignHost(next http.Handler) http.Handler {
	if !m.loopbackOnly {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLoopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		request.Log(r).Warn().Str("host", request.Clip(r.Host)).Str("method", request.Clip(r.Method)).
			Str("path", request.Clip(r.URL.Path)).Str("origin", request.Clip(r.Header.Get("Origin"))).
			Msg("request for another host refused: with no users and auth.anonymous unset, only loopback host names are served")
		if request.IsReserved(r.URL.Path) {
			lockapi.WriteError(w, r, http.StatusMisdirectedRequest, "misdirected request", errForeignHost)
			return
		}
		davserver.WriteError(w, r, davserver.Error(http.StatusMisdirectedRequest, errForeignHost, nil))
	})
}

// isLoopbackHost reports whether host, a Host header's value (a port optional), names this
// machine by loopback: "localhost", a name under .localhost (RFC 6761 §6.3: both always resolve to
// loopback, and browsers resolve them without DNS), each with or without the final dot, or an
// address in 127.0.0.0/8 or ::1 (an IPv4-mapped one too). An empty Host passes: only HTTP/1.0
// requests may omit it, and browsers, the only clients a rebinding can steer, always send it.
func isLoopbackHost(host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // an IPv6 literal without a port
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback()
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}
