package davserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/xid"
	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/locksystem"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	adminKey
	infoKey
)

// requestInfo is a request's own state, which the middleware keeps in its context: the request's
// id, its logger, and the identity authenticate found, which the access log reads too (it sees
// the request as it came in). Keeping the identity here rather than in context values of its own
// spares a copy of the request and three context values per request.
type requestInfo struct {
	id string
	// log names id; it is made on the first use (logger), since most requests log nothing but
	// their access line, and zerolog's With allocates a 500-byte context for every logger.
	base  *zerolog.Logger
	log   zerolog.Logger
	ready bool
	// Set once by authenticate, before the handler runs; authed says it has.
	authed    bool
	principal string
	root      string
	admin     bool
	// delegateErr is what the x/net delegate reported, logged at error level if it answered 5xx.
	delegateErr error
}

// infoOf is the requestInfo of ctx, or nil for a request that did not come through the
// middleware.
func infoOf(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(infoKey).(*requestInfo)
	return ri
}

// setIdentity records what authenticate found, for the handlers and the access log. It reports
// false when r has no requestInfo, and the identity must go into context values instead.
func setIdentity(r *http.Request, name, root string, admin bool) bool {
	ri := infoOf(r.Context())
	if ri == nil {
		return false
	}
	ri.authed, ri.principal, ri.root, ri.admin = true, name, root, admin
	return true
}

// WithPrincipal returns ctx carrying the authenticated principal of a request.
func WithPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, principalKey, name)
}

// WithAdmin returns ctx marking the request's principal as an admin, who may release any lock.
func WithAdmin(ctx context.Context) context.Context {
	return context.WithValue(ctx, adminKey, true)
}

// isAdmin reports whether the request's principal is an admin.
func isAdmin(r *http.Request) bool {
	if ri := infoOf(r.Context()); ri != nil && ri.authed {
		return ri.admin
	}
	v, _ := r.Context().Value(adminKey).(bool)
	return v
}

// principal is the request's authenticated principal, or locksystem.Anonymous.
func principal(r *http.Request) string {
	var p string
	if ri := infoOf(r.Context()); ri != nil && ri.authed {
		p = ri.principal
	} else {
		p, _ = r.Context().Value(principalKey).(string)
	}
	if p == "" {
		return locksystem.Anonymous
	}
	return p
}

// client describes where a request came from, for lock documents.
func client(r *http.Request) locksystem.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return locksystem.Client{IP: ip, UserAgent: r.UserAgent()}
}

// middleware wraps next with, outermost first: the request's id and logger, the access log,
// panic recovery (so a panic answers 500, is logged, and the server keeps serving), the refusal
// of cross-origin writes (crossorigin.go), and authentication. The first three are one function: each layer of its own cost a copy of the
// request, and the access log a wrapper of the writer, on every request.
func (h *Handler) middleware(next http.Handler) http.Handler {
	next = h.refuseCrossOrigin(h.authenticate(next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := xid.NewWithTime(start).String()
		ri := &requestInfo{id: id, base: &h.log}
		r = r.WithContext(context.WithValue(r.Context(), infoKey, ri))
		w.Header().Set("X-Request-Id", id)
		h.timeBody(w, r)
		aw := &accessWriter{ResponseWriter: w}
		h.recoverer(aw, r, next)
		if aw.answered() >= 500 && ri.delegateErr != nil {
			ri.logger().Error().Err(ri.delegateErr).Int("status", aw.answered()).Msg("request failed")
		}
		h.accessLog(r, aw.answered(), aw.bytes, time.Since(start))
	})
}

// accessLog writes one line per request.
func (h *Handler) accessLog(r *http.Request, status, size int, d time.Duration) {
	h.stats.observe(r.Method, status, d)
	ev := h.log.Info()
	if status >= 500 {
		ev = h.log.Warn()
	}
	if ri := infoOf(r.Context()); ri != nil {
		ev = ev.Str("request_id", ri.id)
	}
	ev = ev.Str("method", r.Method).
		Str("path", r.URL.Path).
		Int("status", status).
		Int("bytes", size).
		Dur("duration", d).
		Str("remote", r.RemoteAddr).
		Str("user_agent", r.UserAgent()).
		Str("principal", principal(r))
	if tok := r.Header.Get("Lock-Token"); tok != "" {
		ev = ev.Str("lock_token", tok)
	}
	ev.Msg("request")
}

// recoverer serves r with next, turning a panic into a logged 500. http.ErrAbortHandler, which
// net/http uses to abort a response on purpose, goes on up.
func (h *Handler) recoverer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		logFor(r).Error().
			Interface("panic", v).
			Bytes("stack", debug.Stack()).
			Msg("handler panic")
		writeError(w, r, fail(http.StatusInternalServerError, "internal error"))
	}()
	next.ServeHTTP(w, r)
}

// nopLogger is the logger of a request that did not come through the middleware.
var nopLogger = zerolog.Nop()

// logFor is the request's logger.
func logFor(r *http.Request) *zerolog.Logger {
	if ri := infoOf(r.Context()); ri != nil {
		return ri.logger()
	}
	return &nopLogger
}

// logger is the request's logger, made on the first call. Only the request's own goroutine
// calls it.
func (ri *requestInfo) logger() *zerolog.Logger {
	if !ri.ready {
		ri.log = ri.base.With().Str("request_id", ri.id).Logger()
		ri.ready = true
	}
	return &ri.log
}

// accessWriter records the status and the number of body bytes a handler answered, for the
// access log and for handleWrite, which acts on the status of x/net's answer. It passes on what
// net/http's own writer offers handlers: ReadFrom (sendfile for GET), Flush, and Unwrap for
// http.ResponseController.
type accessWriter struct {
	http.ResponseWriter
	status int // of the first WriteHeader; 0 until then
	bytes  int
}

func (w *accessWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *accessWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

func (w *accessWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.bytes += int(n)
	return n, err
}

func (w *accessWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answered is the status the client got: net/http sends 200 for a handler that wrote nothing.
func (w *accessWriter) answered() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
