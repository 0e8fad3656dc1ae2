package davserver

import (
	"context"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/lockdav/lockdav/locksystem"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	adminKey
	infoKey
)

// requestInfo is what inner middleware learns for the outer access log: the access log sees the
// request as it was before authentication put the principal in its context.
type requestInfo struct {
	principal string // set once by authenticate, before the handler runs
}

// withInfo adds an empty requestInfo to the request's context.
func withInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey, &requestInfo{})))
	})
}

// setInfoPrincipal records the authenticated principal for the access log.
func setInfoPrincipal(r *http.Request, name string) {
	if ri, ok := r.Context().Value(infoKey).(*requestInfo); ok {
		ri.principal = name
	}
}

// logPrincipal is the principal the access log names.
func logPrincipal(r *http.Request) string {
	if ri, ok := r.Context().Value(infoKey).(*requestInfo); ok && ri.principal != "" {
		return ri.principal
	}
	return principal(r)
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
	v, _ := r.Context().Value(adminKey).(bool)
	return v
}

// principal is the request's authenticated principal, or locksystem.Anonymous.
func principal(r *http.Request) string {
	if p, ok := r.Context().Value(principalKey).(string); ok && p != "" {
		return p
	}
	return locksystem.Anonymous
}

// client describes where a request came from, for lock documents.
func client(r *http.Request) locksystem.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return locksystem.Client{IP: ip, UserAgent: r.UserAgent()}
}

// middleware wraps next with, outermost first: the request logger and id, the access log, panic
// recovery (so a panic answers 500, is logged, and the server keeps serving), and authentication.
func (h *Handler) middleware(next http.Handler) http.Handler {
	next = h.authenticate(next)
	next = h.recoverer(next)
	next = hlog.AccessHandler(h.accessLog)(next)
	next = withInfo(next)
	next = hlog.RequestIDHandler("request_id", "X-Request-Id")(next)
	return hlog.NewHandler(h.log)(next)
}

// accessLog writes one line per request.
func (h *Handler) accessLog(r *http.Request, status, size int, d time.Duration) {
	h.stats.observe(r.Method, status, d)
	ev := hlog.FromRequest(r).Info()
	if status >= 500 {
		ev = hlog.FromRequest(r).Warn()
	}
	ev = ev.Str("method", r.Method).
		Str("path", r.URL.Path).
		Int("status", status).
		Int("bytes", size).
		Dur("duration", d).
		Str("remote", r.RemoteAddr).
		Str("user_agent", r.UserAgent()).
		Str("principal", logPrincipal(r))
	if tok := r.Header.Get("Lock-Token"); tok != "" {
		ev = ev.Str("lock_token", tok)
	}
	ev.Msg("request")
}

// recoverer turns a panic in a handler into a logged 500.
func (h *Handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			hlog.FromRequest(r).Error().
				Interface("panic", v).
				Bytes("stack", debug.Stack()).
				Msg("handler panic")
			writeError(w, r, fail(http.StatusInternalServerError, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// logFor is the request's logger.
func logFor(r *http.Request) *zerolog.Logger { return hlog.FromRequest(r) }
