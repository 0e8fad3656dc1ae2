// Package lockapi serves everything under the server's reserved prefix, /.lockdav/ (see
// request.Reserved): the JSON lock API (api.go), the HTML locks page (lockspage.go), the health
// check and the metrics. It is lockdav's own interface to its locks, beside WebDAV: it grants
// locks through the same function as LOCK (davserver.Handler.Grant) and answers errors with the
// statuses WebDAV gives them (davserver.StatusOf), as JSON.
package lockapi

import (
	"cmp"
	"context"
	"errors"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

const defaultMaxBody = 1 << 20

// apiLocks is the lock API's collection of locks.
const apiLocks = request.Reserved + "locks"

// Options configure a Handler.
type Options struct {
	Dav     *davserver.Handler // grants locks for POST /.lockdav/locks
	Locks   *locksystem.System
	MaxBody int64 // JSON bodies above this get 413; 0 means 1 MiB
	// Health reports whether the server can take locks (the lock store is writable); nil means
	// always healthy. /.lockdav/healthz answers 503 when it fails.
	Health func() error
	// Metrics is what /.lockdav/metrics serves; nil serves none.
	Metrics prometheus.Gatherer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxWait bounds the "wait" of POST /.lockdav/locks (locks.max_wait); 0 means
	// DefaultMaxWait.
	MaxWait time.Duration
	// MaxStreams bounds the event streams one principal may have open
	// (limits.max_event_streams_per_principal); 0 means DefaultMaxStreams.
	MaxStreams int
	// Heartbeat is how often an idle event stream gets a comment; 0 means DefaultHeartbeat.
	Heartbeat time.Duration
}

// Defaults of Options, the same as config.Default's.
const (
	DefaultMaxWait    = 5 * time.Minute
	DefaultMaxStreams = 8
	// DefaultHeartbeat: proxies commonly close a connection idle for 30 to 60 seconds.
	DefaultHeartbeat = 15 * time.Second
)

// Handler serves the paths under request.Reserved.
type Handler struct {
	dav     *davserver.Handler
	locks   *locksystem.System
	maxBody int64
	health  func() error
	now     func() time.Time
	mux     *http.ServeMux

	maxWait   time.Duration
	streams   *streamLimit
	heartbeat time.Duration
	boot      string // this process's event IDs' prefix (events.go)
	stats     counters
	// closing ends when Close is called: event streams end and waiting requests give up, so
	// that the server's shutdown does not wait for them.
	closing context.Context
	close   context.CancelFunc
}

// New returns a Handler; requests outside request.Reserved are not its to serve.
func New(o Options) *Handler {
	h := &Handler{dav: o.Dav, locks: o.Locks, maxBody: o.MaxBody, health: o.Health, now: o.Now,
		maxWait: o.MaxWait, heartbeat: o.Heartbeat, boot: newBoot()}
	h.closing, h.close = context.WithCancel(context.Background())
	h.streams = newStreamLimit(cmp.Or(o.MaxStreams, DefaultMaxStreams))
	h.maxWait = cmp.Or(h.maxWait, DefaultMaxWait)
	h.heartbeat = cmp.Or(h.heartbeat, DefaultHeartbeat)
	if h.maxBody <= 0 {
		h.maxBody = defaultMaxBody
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.health == nil {
		h.health = func() error { return nil }
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	h.mux = h.routes(promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
	return h
}

// Close ends the open event streams and the waiting lock requests (they answer 503), and
// refuses new ones: the server calls it as its shutdown begins, since http.Server.Shutdown
// waits for every request to finish and these would not on their own.
func (h *Handler) Close() { h.close() }

// routes maps the reserved paths to their handlers. A pattern without a method answers the
// methods the others leave, with the API's own JSON 405 rather than ServeMux's text one.
// "{token...}" rather than "{token}": everything after locks/ is the token, as it always was;
// locks/ itself is the collection (isCollection).
func (h *Handler) routes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+request.Reserved+"healthz", h.serveHealth)
	mux.Handle("GET "+request.Reserved+"metrics", metrics)
	mux.Handle("GET "+request.Reserved+"{$}", fails(h.serveLocksPage, writeError))
	mux.Handle("GET "+strings.TrimSuffix(request.Reserved, "/"), fails(h.serveLocksPage, writeError))
	mux.Handle("GET "+apiEvents, fails(h.serveEvents, writeAPIError))
	mux.Handle(apiEvents, fails(notAllowed("GET, HEAD"), writeAPIError))
	mux.Handle("GET "+apiLocks, fails(h.apiQuery, writeAPIError))
	mux.Handle("POST "+apiLocks, fails(h.apiLock, writeAPIError))
	mux.Handle(apiLocks, fails(notAllowed("GET, HEAD, POST"), writeAPIError))
	mux.Handle("GET "+apiLocks+"/{$}", fails(h.apiQuery, writeAPIError))
	mux.Handle("GET "+apiLocks+"/{token...}", fails(h.apiGet, writeAPIError))
	mux.Handle("POST "+apiLocks+"/{$}", fails(h.apiLock, writeAPIError))
	mux.Handle("DELETE "+apiLocks+"/{token...}", fails(h.apiRelease, writeAPIError))
	mux.Handle(apiLocks+"/{token...}", fails(notAllowed("GET, HEAD, DELETE"), writeAPIError))
	mux.HandleFunc(request.Reserved, serveOther)
	mux.HandleFunc(strings.TrimSuffix(request.Reserved, "/"), serveOther)
	return mux
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff") // the server's pages and JSON are what they say
	if !isClean(r.URL.Path) {
		serveOther(w, r) // not one of ours; and ServeMux would redirect it to a path that may be
		return
	}
	if r.URL.RawPath != "" {
		// ServeMux matches the escaped path, where %2F divides no segments; the server's paths
		// have always been the decoded ones, as the tree's are.
		u := *r.URL
		u.RawPath = ""
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	h.mux.ServeHTTP(w, r)
}

// isClean reports whether p is as ServeMux would clean it, a trailing slash kept.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// fails adapts a handler that returns its error to http.Handler, answering the error with
// answer.
func fails(serve func(http.ResponseWriter, *http.Request) error, answer func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := serve(w, r); err != nil {
			answer(w, r, err)
		}
	})
}

// notAllowed answers 405 with the methods a lock API path has (RFC 9110 §15.5.6).
func notAllowed(allow string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if isCollection(r) {
			w.Header().Set("Allow", "GET, HEAD, POST")
		} else {
			w.Header().Set("Allow", allow)
		}
		return apiFail(http.StatusMethodNotAllowed, "method not allowed", "")
	}
}

// isCollection reports whether a request to a {token...} pattern names no token: locks/ is the
// collection, as locks is.
func isCollection(r *http.Request) bool {
	return r.PathValue("token") == "" && strings.HasSuffix(r.URL.Path, "/")
}

// serveOther answers the reserved paths that are nobody's: 404 to a read, 403 to anything else.
func serveOther(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		writeError(w, r, davserver.Error(http.StatusNotFound, "not found", nil))
		return
	}
	writeError(w, r, davserver.Error(http.StatusForbidden, "reserved for the server", nil))
}

// writeError answers err as WebDAV answers it, in text: the pages are for people.
func writeError(w http.ResponseWriter, r *http.Request, err error) { davserver.WriteError(w, r, err) }

// serveHealth answers 200 while the lock store takes writes, 503 otherwise.
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.health(); err != nil {
		request.Log(r).Error().Err(err).Msg("health check failed")
		msg := "lock store not writable\n"
		if errors.Is(err, locksystem.ErrUnavailable) {
			msg = "lock store unreachable (etcd)\n"
			w.Header().Set("Retry-After", davserver.RetryAfter)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(msg))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// wantJSON refuses a body whose Content-Type is not application/json (parameters such as
// charset aside) with 415 (RFC 9110 §15.5.16): no HTML form, and no fetch a browser sends
// without asking first, can send application/json, so a forged POST never gets this far.
func wantJSON(r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		return nil
	}
	return apiFail(http.StatusUnsupportedMediaType, "unsupported media type",
		"the body must be JSON sent with Content-Type: application/json, not "+quoteOrNone(r.Header.Get("Content-Type")))
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return `"` + s + `"`
}
