// Package davserver is lockdav's HTTP face: middleware, the methods whose lock rules x/net's
// webdav.Handler cannot keep (LOCK, UNLOCK, PUT and the If header of RFC 4918 §10.4), the lock
// checks in front of every write (RFC 4918 §7), and the HTML listing. The other WebDAV methods
// are delegated to golang.org/x/net/webdav.Handler once their locks have been checked.
package davserver

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/auth"
	davfs "github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// Reserved is the URL prefix that belongs to the server, not to the served tree.
const Reserved = "/.lockdav/"

const defaultMaxXMLBody = 1 << 20

// Options configure a Handler.
type Options struct {
	FS         *davfs.FS
	Locks      *locksystem.System
	Logger     zerolog.Logger
	MaxXMLBody int64 // request XML bodies above this get 413; 0 means 1 MiB
	MaxUpload  int64 // PUT bodies above this get 413; 0 means unlimited
	// BodyTimeout is how long a request body may take to arrive, extended by a second for every
	// BodyMinRate bytes received; a body that falls behind gets 408. 0 means no limit.
	BodyTimeout time.Duration
	BodyMinRate int64 // bytes per second; 0 means defaultBodyMinRate
	// Auth authenticates requests (HTTP Basic) and confines users to their roots; nil means
	// every request is served with the principal, admin flag and root its context carries
	// (WithPrincipal, WithAdmin, WithRoot), anonymous with write access by default.
	Auth *auth.Authenticator
	// Metrics is where request metrics are registered and what /.lockdav/metrics serves (with
	// whatever else its owner registered there); nil means a registry of davserver's own.
	Metrics *prometheus.Registry
	// Health reports whether the server can take locks (the lock store is writable); nil means
	// always healthy. /.lockdav/healthz answers 503 when it fails.
	Health func() error
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Handler serves the WebDAV tree. It is an http.Handler with its middleware built in.
type Handler struct {
	fs     *davfs.FS
	locks  *locksystem.System
	log    zerolog.Logger
	maxXML int64
	maxPut int64
	// bodyTimeout and bodyMinRate bound how slowly a request body may arrive (timedBody).
	bodyTimeout time.Duration
	bodyMinRate int64
	now         func() time.Time
	auth        *auth.Authenticator
	health      func() error
	stats       *requestMetrics
	scrape      http.Handler    // /.lockdav/metrics
	dav         *webdav.Handler // the delegate for PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, DELETE, POST
	chain       http.Handler
}

// New returns a Handler over o.FS whose locks live in o.Locks.
func New(o Options) *Handler {
	h := &Handler{fs: o.FS, locks: o.Locks, log: o.Logger, maxXML: o.MaxXMLBody, maxPut: o.MaxUpload, now: o.Now, auth: o.Auth}
	if h.maxXML <= 0 {
		h.maxXML = defaultMaxXMLBody
	}
	h.bodyTimeout, h.bodyMinRate = o.BodyTimeout, o.BodyMinRate
	if h.bodyMinRate <= 0 {
		h.bodyMinRate = defaultBodyMinRate
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.health = o.Health
	if h.health == nil {
		h.health = func() error { return nil }
	}
	reg := o.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	h.stats, h.scrape = newRequestMetrics(reg), metricsHandler(reg)
	h.dav = &webdav.Handler{
		FileSystem: copyFS{rootFS{&lockFS{FileSystem: o.FS, locks: o.Locks}}}, // x/net works in URL paths
		LockSystem: newRequestLocks(),
		Logger:     h.logDelegate,
	}
	h.chain = h.middleware(http.HandlerFunc(h.route))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.chain.ServeHTTP(w, r)
}

// allowed is the Allow header for 405 answers and OPTIONS (RFC 4918 §10.1, §18).
const allowed = "OPTIONS, GET, HEAD, POST, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK"

// route sends each request to its method's handler.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == strings.TrimSuffix(Reserved, "/") || strings.HasPrefix(r.URL.Path, Reserved) {
		h.serveReserved(w, r)
		return
	}
	var err error
	switch r.Method {
	case http.MethodOptions:
		err = h.handleOptions(w, r)
	case http.MethodGet, http.MethodHead:
		err = h.handleGet(w, r)
	case http.MethodPut:
		err = h.handlePut(w, r)
	case "LOCK":
		err = h.handleLock(w, r)
	case "UNLOCK":
		err = h.handleUnlock(w, r)
	case "PROPFIND":
		err = h.handlePropfind(w, r)
	case http.MethodPost:
		// x/net answers POST on a file with the file, as it does GET (RFC 4918 §9.5 leaves POST's
		// meaning to the server): a form elsewhere posting to an uploaded page would have the
		// browser render it. Nobody needs it shown in place, so it is always a download.
		userContent(w.Header())
		w.Header().Set("Content-Disposition", "attachment")
		err = h.handleWrite(w, r)
	case http.MethodDelete, "MKCOL", "COPY", "MOVE", "PROPPATCH":
		err = h.handleWrite(w, r)
	default:
		w.Header().Set("Allow", allowed)
		err = fail(http.StatusMethodNotAllowed, "method not allowed")
	}
	if err != nil {
		writeError(w, r, err)
	}
}

// handleOptions answers OPTIONS (RFC 4918 §10.1: the DAV header names classes 1 and 2).
func (h *Handler) handleOptions(w http.ResponseWriter, r *http.Request) error {
	if _, err := requestPath(r); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Allow", allowed)
	hd.Set("DAV", "1, 2")
	hd.Set("MS-Author-Via", "DAV") // Windows' WebDAV redirector wants it to treat us as DAV
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// serveReserved answers under /.lockdav/: the server's own endpoints, never WebDAV.
func (h *Handler) serveReserved(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff") // the server's pages and JSON are what they say
	isRead := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case isRead && r.URL.Path == Reserved+"healthz":
		h.serveHealth(w, r)
		return
	case isRead && r.URL.Path == Reserved+"metrics":
		h.scrape.ServeHTTP(w, r)
		return
	}
	if isRead && (r.URL.Path == Reserved || r.URL.Path == strings.TrimSuffix(Reserved, "/")) {
		if err := h.serveLocksPage(w, r); err != nil {
			writeError(w, r, err)
		}
		return
	}
	if h.serveAPI(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		writeError(w, r, fail(http.StatusNotFound, "not found"))
	default:
		writeError(w, r, fail(http.StatusForbidden, "reserved for the server"))
	}
}

// serveHealth answers 200 while the lock store takes writes, 503 otherwise.
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.health(); err != nil {
		logFor(r).Error().Err(err).Msg("health check failed")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("lock store not writable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// logDelegate logs what the x/net Handler reports at debug, and keeps it for the middleware,
// which logs it at error level when the delegate's answer was a server error.
func (h *Handler) logDelegate(r *http.Request, err error) {
	if err == nil {
		return
	}
	if ri := infoOf(r.Context()); ri != nil {
		ri.delegateErr = err
	}
	h.log.Debug().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("webdav delegate")
}
