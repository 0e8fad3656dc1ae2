package davserver

// Writes delegated to x/net's Handler once their lock requirements hold: DELETE (RFC 4918 §9.6),
// MKCOL (§9.3), COPY (§9.8), MOVE (§9.9), PROPPATCH (§9.2) and POST (§9.5). Locks end with their
// resource (§7.7: DELETE and MOVE remove the source's locks; COPY copies none).

import (
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// handleWrite checks a write's locks and If header, delegates it, and updates the lock table.
func (h *Handler) handleWrite(w http.ResponseWriter, r *http.Request) error {
	src, err := requestPath(r)
	if err != nil {
		return err
	}
	if err := checkDepth(r); err != nil {
		return err
	}
	if err := checkMkcolBody(r); err != nil {
		return err
	}
	dst, err := destination(r)
	if err != nil {
		return err
	}
	if r.Method == "PROPPATCH" {
		// The body is in before the locks are checked: one slower to arrive than a lock had
		// left must not be applied over the lock someone took meanwhile (RFC 4918 §7).
		if err := h.bufferXML(r); err != nil {
			return err
		}
	}
	now := h.now()
	tokens, err := h.check(r, now, src, h.writeNeeds(r, src, dst)...)
	if err != nil {
		return err
	}
	if r.Method == "COPY" {
		r = r.WithContext(fs.WithCopy(r.Context(), src, dst)) // collections keep their dead props
	}
	r.Header.Del("If") // evaluated in full above; x/net's own If handling is token-only
	var derr error     // what x/net reports through logDelegate
	r = r.WithContext(context.WithValue(r.Context(), delegateErrKey{}, &derr))
	sw := &statusWriter{ResponseWriter: w} // to learn the status the delegate answered
	if err := h.delegate(sw, r, src); err != nil {
		return err
	}
	if sw.held {
		if r.Method == http.MethodDelete || r.Method == "MOVE" {
			if _, err := h.fs.Stat(r.Context(), src); errors.Is(err, iofs.ErrNotExist) {
				// The tree changed before the property store failed: the source's locks end
				// with it all the same.
				h.afterWrite(r, now, src, tokens)
			}
		}
		return heldAnswer(sw, derr)
	}
	if sw.status >= 200 && sw.status < 300 {
		h.afterWrite(r, now, src, tokens)
	}
	return nil
}

// delegate hands a checked write to x/net; a COPY goes through serveCopy, which reports the
// members it could not copy (RFC 4918 §9.8.3).
func (h *Handler) delegate(w http.ResponseWriter, r *http.Request, src string) error {
	if r.Method == "COPY" {
		return h.serveCopy(w, r, src)
	}
	h.dav.ServeHTTP(w, r)
	return nil
}

// destination is the COPY or MOVE target path (RFC 4918 §10.3), "" for other methods.
func destination(r *http.Request) (string, error) {
	if r.Method != "COPY" && r.Method != "MOVE" {
		return "", nil
	}
	d := r.Header.Get("Destination")
	if d == "" {
		return "", fail(http.StatusBadRequest, "missing Destination header")
	}
	if destDotDot(d) {
		return "", fail(http.StatusForbidden, "invalid destination path") // as for a Request-URI
	}
	p, err := rfc4918.ParseDestination(d, schemeOf(r), r.Host)
	switch {
	case errors.Is(err, rfc4918.ErrForeignDestination):
		return "", &statusError{status: http.StatusBadGateway, reason: "destination is on another server", err: err, clientFault: true}
	case err != nil:
		return "", failWith(http.StatusBadRequest, "invalid Destination header", err)
	}
	if p, err = request.CleanPath(p); err != nil {
		return "", err
	}
	if request.IsReserved(p) {
		return "", fail(http.StatusForbidden, "reserved for the server")
	}
	p = request.ToReal(request.Root(r.Context()), p)
	// A name the tree refuses by itself (a hidden upload's: 403) is refused here, before x/net
	// answers it with statuses of its own (409 for MKCOL, 500 for a COPY).
	if err := fs.CheckName(p); err != nil {
		return "", err
	}
	return p, nil
}

// schemeOf is the scheme the client used to reach the server: https over TLS, or when a
// TLS-terminating proxy in front says so in X-Forwarded-Proto. The header can be forged, but all
// it decides is whether a Destination or If tag naming this host with https means this server.
func schemeOf(r *http.Request) string {
	if r.TLS != nil || strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https") {
		return "https"
	}
	return "http"
}

// checkDepth refuses a Depth header that is not one of RFC 4918 §10.2's values.
func checkDepth(r *http.Request) error {
	if d := r.Header.Get("Depth"); d != "" {
		if _, err := rfc4918.ParseDepth(d); err != nil {
			return failWith(http.StatusBadRequest, "invalid Depth header", err)
		}
	}
	return nil
}

// writeNeeds lists what a write touches, for the lock check: the resources it changes, and the
// collections whose membership it changes (RFC 4918 §7.4, §7.5; a DELETE or MOVE source is
// changed with all its members, §9.6.1, §9.9.2).
func (h *Handler) writeNeeds(r *http.Request, src, dst string) []locksystem.Need {
	zero := func(p string) locksystem.Need { return locksystem.Need{Path: p, Depth: locksystem.DepthZero} }
	deep := func(p string) locksystem.Need { return locksystem.Need{Path: p, Depth: locksystem.DepthInfinity} }
	switch r.Method {
	case http.MethodDelete:
		return []locksystem.Need{deep(src), zero(parent(src))}
	case "MKCOL":
		return []locksystem.Need{zero(src), zero(parent(src))}
	case "COPY":
		return h.targetNeeds(r, dst)
	case "MOVE":
		return append([]locksystem.Need{deep(src), zero(parent(src))}, h.targetNeeds(r, dst)...)
	default: // PROPPATCH, POST
		return []locksystem.Need{zero(src)}
	}
}

// targetNeeds is what writing a COPY or MOVE destination touches: the destination and what it
// replaces, and its parent's membership when the destination is new.
func (h *Handler) targetNeeds(r *http.Request, dst string) []locksystem.Need {
	needs := []locksystem.Need{{Path: dst, Depth: locksystem.DepthInfinity}}
	if _, err := h.fs.Stat(r.Context(), dst); err != nil {
		needs = append(needs, locksystem.Need{Path: parent(dst), Depth: locksystem.DepthZero})
	}
	return needs
}

// afterWrite updates the lock table after a successful write.
func (h *Handler) afterWrite(r *http.Request, now time.Time, src string, tokens []string) {
	p := request.Principal(r)
	switch r.Method {
	case http.MethodDelete, "MOVE":
		// Locks stay with URLs, not content: the source's locks end (§7.7), and those on a
		// MOVE destination stay, since only their holder could replace it.
		h.locks.RemoveTree(now, src)
	case "PROPPATCH", http.MethodPost:
		h.locks.ReleaseOnUpdate(now, p, tokens, src)
	}
}

// statusWriter records the status x/net answered a write with, which decides whether the lock
// table changes (afterWrite).
//
// An error answer of x/net is held back, with its body (x/net writes only the status text),
// until the delegate returns: x/net answers 500, 405 or 403 for errors of the file or property
// store alike, and some of those have a truer answer (heldAnswer), which it reports only after
// writing its own.
type statusWriter struct {
	http.ResponseWriter
	status int    // of the first WriteHeader or Write; 0 until then
	held   bool   // an error answer not written yet
	body   []byte // its body, while held
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		if status >= http.StatusBadRequest {
			w.held = true
			return
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.held {
		w.body = append(w.body, p[:min(len(p), maxHeldBody-len(w.body))]...)
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// maxHeldBody bounds the body of a held answer: x/net's are a status text.
const maxHeldBody = 4 << 10

// delegateErrKey keys, in a delegated request's context, where logDelegate puts x/net's error.
type delegateErrKey struct{}

// heldAnswer answers a delegated write that x/net answered with an error: as the error it
// reported maps when that is an answer of its own (a shared store out of reach is 503, too
// many properties 507), else x/net's answer (a 500 through WriteError, which logs it).
func heldAnswer(sw *statusWriter, derr error) error {
	if derr != nil {
		if st := statusOf(derr).status; st == http.StatusServiceUnavailable || st == http.StatusInsufficientStorage {
			return derr
		}
	}
	if sw.status == http.StatusInternalServerError {
		return failWith(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError), derr)
	}
	sw.ResponseWriter.WriteHeader(sw.status)
	_, _ = sw.ResponseWriter.Write(sw.body)
	return nil
}

// ReadFrom keeps sendfile(2) for POST, which x/net answers with the file.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// destDotDot reports whether a Destination header's path has a ".." segment in any encoding.
// rfc4918.ParseDestination would clean it away; it is refused instead, as a Request-URI with one
// is.
func destDotDot(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	return err == nil && request.HasDotDot(u.Path)
}

// checkMkcolBody answers 415 to a MKCOL with a body (RFC 4918 §9.3: lockdav understands none).
// x/net looks at Content-Length only, so a body of unknown length (chunked, an HTTP/2 stream)
// is read here: one byte tells.
func checkMkcolBody(r *http.Request) error {
	if r.Method != "MKCOL" || r.ContentLength >= 0 {
		return nil
	}
	n, err := io.ReadFull(r.Body, make([]byte, 1))
	switch {
	case n > 0:
		return fail(http.StatusUnsupportedMediaType, "MKCOL with a body is not supported")
	case err != nil && !errors.Is(err, io.EOF):
		return err
	}
	return nil
}
