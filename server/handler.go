package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/davserver/lockapi"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// handlerOptions configure the http.Handler of a server.
type handlerOptions struct {
	FS         *fs.FS
	Locks      *locksystem.System
	Logger     zerolog.Logger
	MaxXMLBody int64 // request XML and JSON bodies above this get 413; 0 means 1 MiB
	MaxUpload  int64 // PUT bodies above this get 413; 0 means unlimited
	// BodyTimeout is how long a request body may take to arrive, extended by a second for every
	// BodyMinRate bytes received; a body that falls behind gets 408. 0 means no limit.
	BodyTimeout time.Duration
	BodyMinRate int64 // bytes per second; 0 means defaultBodyMinRate
	// Auth authenticates requests (HTTP Basic) and confines users to their roots; nil means
	// every request is served with the identity its context carries (request.WithPrincipal,
	// WithAdmin, WithRoot), anonymous with write access by default.
	Auth *auth.Authenticator
	// LoopbackOnly refuses requests whose Host is not a loopback name or address (host.go): the
	// server is open to anyone only because it listens on loopback (config.ReliesOnLoopback).
	LoopbackOnly bool
	// Metrics is where request metrics are registered and what /.lockdav/metrics serves (with
	// whatever else its owner registered there); nil means a registry of its own.
	Metrics *prometheus.Registry
	// Health reports whether the server can take locks; nil means always healthy.
	Health func() error
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Running counts the requests being handled, for Shutdown to wait on; nil means a counter
	// of the handler's own.
	Running *inflight
	// MaxWait and MaxStreams are lockapi.Options' (locks.max_wait,
	// limits.max_event_streams_per_principal); 0 means lockapi's defaults.
	MaxWait    time.Duration
	MaxStreams int
}

// newHandler is the server's handler: the middleware, then the lock API under request.Reserved
// and the WebDAV tree everywhere else.
func newHandler(o handlerOptions) http.Handler {
	h, _ := newHandlerAPI(o)
	return h
}

// newHandlerAPI is newHandler that also returns the lock API, which the server closes at
// shutdown (its event streams and waiting requests would not end on their own), with its
// metrics registered.
func newHandlerAPI(o handlerOptions) (http.Handler, *lockapi.Handler) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Running == nil {
		o.Running = newInflight()
	}
	reg := o.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	dav := davserver.New(davserver.Options{FS: o.FS, Locks: o.Locks, Logger: o.Logger,
		MaxXMLBody: o.MaxXMLBody, MaxUpload: o.MaxUpload, Now: o.Now})
	api := lockapi.New(lockapi.Options{Dav: dav, Locks: o.Locks, MaxBody: o.MaxXMLBody,
		Health: o.Health, Metrics: reg, Now: o.Now, MaxWait: o.MaxWait, MaxStreams: o.MaxStreams})
	reg.MustRegister(newAPICollector(api.Stats, o.Locks.Waiters))
	m := &middleware{log: o.Logger, now: o.Now, auth: o.Auth, stats: newRequestMetrics(reg),
		bodyTimeout: o.BodyTimeout, bodyMinRate: o.BodyMinRate, loopbackOnly: o.LoopbackOnly, running: o.Running}
	if m.bodyMinRate <= 0 {
		m.bodyMinRate = defaultBodyMinRate
	}
	return m.wrap(route(dav, api)), api
}

// route sends the server's own paths to the lock API and the rest to the WebDAV tree. It is no
// http.ServeMux: a ServeMux redirects a path with "..", "//" or "." segments to its cleaned form,
// where WebDAV refuses a traversal with 403 (RFC 4918 §8.3 names no cleaning) and a client that
// follows the redirect with a PUT or LOCK would write somewhere it did not name.
func route(dav, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if request.IsReserved(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		dav.ServeHTTP(w, r)
	})
}
