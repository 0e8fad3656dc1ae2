// Package davserver serves the WebDAV tree (RFC 4918 classes 1 and 2): the methods whose lock
// rules x/net's webdav.Handler cannot keep — LOCK, UNLOCK, PUT, and the If header of RFC 4918
// §10.4 — the lock checks in front of every write (§7), GET with the HTML listing, PROPFIND
// (listings that stream, with the lock properties), and per-user roots. PROPPATCH, MKCOL,
// COPY, MOVE, DELETE and POST are delegated to
// golang.org/x/net/webdav.Handler once their locks have been checked; every adapter that
// delegation needs is in a file named xnet*.go. Parsing and writing RFC 4918's headers and XML
// is davserver/rfc4918's; middleware and the server's own paths (request.Reserved) are not
// davserver's either (see the server and davserver/lockapi packages).
package davserver

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

const defaultMaxXMLBody = 1 << 20

// Options configure a Handler.
type Options struct {
	FS         *fs.FS
	Locks      *locksystem.System
	Logger     zerolog.Logger
	MaxXMLBody int64 // request XML bodies above this get 413; 0 means 1 MiB
	MaxUpload  int64 // PUT bodies above this get 413; 0 means unlimited
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Handler serves the WebDAV tree. Each request's identity (principal, admin flag, root) is the
// one its context carries (package request); without one it is anonymous and unconfined.
type Handler struct {
	fs     *fs.FS
	locks  *locksystem.System
	log    zerolog.Logger
	maxXML int64
	maxPut int64
	now    func() time.Time
	dav    *webdav.Handler // the delegate for PROPPATCH, MKCOL, COPY, MOVE, DELETE, POST
}

// New returns a Handler over o.FS whose locks live in o.Locks.
func New(o Options) *Handler {
	h := &Handler{fs: o.FS, locks: o.Locks, log: o.Logger, maxXML: o.MaxXMLBody, maxPut: o.MaxUpload, now: o.Now}
	if h.maxXML <= 0 {
		h.maxXML = defaultMaxXMLBody
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.dav = &webdav.Handler{
		FileSystem: copyFS{userRootFS{o.FS}}, // x/net works in URL paths
		LockSystem: newRequestLocks(),
		Logger:     h.logDelegate,
	}
	return h
}

// allowed is the Allow header for 405 answers and OPTIONS (RFC 4918 §10.1, §18).
const allowed = "OPTIONS, GET, HEAD, POST, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK"

// ServeHTTP sends each request to its method's handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.syncLocks(r); err != nil {
		WriteError(w, r, err)
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
		WriteError(w, r, err)
	}
}

// syncLocks makes a write's lock checks see every lock granted before the request began, on
// any replica (locksystem.System.Sync: nothing to do with one process's own store), and a
// PROPFIND's lockdiscovery too, as far as the store answers in time (SyncRead). GET needs no
// lock state.
func (h *Handler) syncLocks(r *http.Request) error {
	switch r.Method {
	case http.MethodOptions, http.MethodGet, http.MethodHead:
		return nil
	case "PROPFIND": // lockdiscovery answers alike on every replica, unless the store is out of reach
		h.locks.SyncRead(r.Context())
		return nil
	case "UNLOCK":
		return nil // Release catches up itself if the token is one it does not know yet
	case "LOCK":
		// A new lock catches up itself where it must (a conflict, or a resource to create:
		// Grant); an If header (a refresh, or tokens for a locked parent) is checked here.
		if r.Header.Get("If") == "" {
			return nil
		}
	}
	return h.locks.Sync(r.Context())
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

// logDelegate logs what the x/net Handler reports at debug, and keeps it for the middleware,
// which logs it at error level when the delegate's answer was a server error.
func (h *Handler) logDelegate(r *http.Request, err error) {
	if err == nil {
		return
	}
	request.SetDelegateErr(r.Context(), err)
	if p, ok := r.Context().Value(delegateErrKey{}).(*error); ok {
		*p = err
	}
	h.log.Debug().Err(request.ClipErr(err)).Str("method", request.Clip(r.Method)).Str("path", request.Clip(r.URL.Path)).
		Msg("webdav delegate")
}
