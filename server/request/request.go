// Package request is what lockdav knows of one request beyond net/http: who sent it (principal,
// admin flag, the subtree they are confined to, the client), its id and logger, and the rules
// that map its URL path into the served tree (paths.go). The server's middleware fills it in;
// the protocol handlers (davserver) and the lock API (davserver/lockapi) read it. It sits below
// all three so that none of them imports another for it.
package request

import (
	"context"
	"net"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/locksystem"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	adminKey
	rootKey
	infoKey
)

// Info is a request's own state, which the middleware keeps in its context: the request's id,
// its logger, and the identity authentication found, which the access log reads too (it sees the
// request as it came in). Keeping the identity here rather than in context values of its own
// spares a copy of the request and three context values per request.
type Info struct {
	id string
	// log names id; it is made on the first use (Logger), since most requests log nothing but
	// their access line, and zerolog's With allocates a 500-byte context for every logger.
	base  *zerolog.Logger
	log   zerolog.Logger
	ready bool
	// Set once by SetIdentity, before the handler runs; authed says it has.
	authed    bool
	principal string
	root      string
	admin     bool
	// delegateErr is what the x/net delegate reported, logged at error level if it answered 5xx.
	delegateErr error
}

// Start gives a request its Info: its id, and the logger its own logger derives from.
func Start(ctx context.Context, id string, base *zerolog.Logger) (context.Context, *Info) {
	ri := &Info{id: id, base: base}
	return context.WithValue(ctx, infoKey, ri), ri
}

// infoOf is the Info of ctx, or nil for a request that did not come through the middleware.
func infoOf(ctx context.Context) *Info {
	ri, _ := ctx.Value(infoKey).(*Info)
	return ri
}

// ID is the request's id, as sent in X-Request-Id; "" for a request without an Info.
func ID(ctx context.Context) string {
	if ri := infoOf(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// Logger is the request's logger, made on the first call. Only the request's own goroutine
// calls it.
func (ri *Info) Logger() *zerolog.Logger {
	if !ri.ready {
		ri.log = ri.base.With().Str("request_id", ri.id).Logger()
		ri.ready = true
	}
	return &ri.log
}

// DelegateErr is what SetDelegateErr recorded for the request.
func (ri *Info) DelegateErr() error { return ri.delegateErr }

// SetDelegateErr records what x/net's Handler reported for the request, for the middleware to
// log at error level if the answer was a server error.
func SetDelegateErr(ctx context.Context, err error) {
	if ri := infoOf(ctx); ri != nil {
		ri.delegateErr = err
	}
}

// nopLogger is the logger of a request that did not come through the middleware.
var nopLogger = zerolog.Nop()

// Log is the request's logger.
func Log(r *http.Request) *zerolog.Logger {
	if ri := infoOf(r.Context()); ri != nil {
		return ri.Logger()
	}
	return &nopLogger
}

// FailLevel is the log level of a failed request: the client's faults are debug detail, the
// server's are errors.
func FailLevel(status int) zerolog.Level {
	if status >= 500 {
		return zerolog.ErrorLevel
	}
	return zerolog.DebugLevel
}

// SetIdentity records what authentication found, for the handlers and the access log. It
// reports false when r has no Info, and the identity must go into context values instead.
func SetIdentity(r *http.Request, name, root string, admin bool) bool {
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

// WithRoot returns ctx confining the request to the subtree root of the served tree.
func WithRoot(ctx context.Context, root string) context.Context {
	return context.WithValue(ctx, rootKey, root)
}

// IsAdmin reports whether the request's principal is an admin.
func IsAdmin(r *http.Request) bool {
	if ri := infoOf(r.Context()); ri != nil && ri.authed {
		return ri.admin
	}
	v, _ := r.Context().Value(adminKey).(bool)
	return v
}

// Principal is the request's authenticated principal, or locksystem.Anonymous.
func Principal(r *http.Request) string {
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

// Root is the real path of the request's URL "/"; "/" when unconfined. It takes a context
// because x/net's FileSystem calls see only the request's context.
func Root(ctx context.Context) string {
	var root string
	if ri := infoOf(ctx); ri != nil && ri.authed {
		root = ri.root
	} else {
		root, _ = ctx.Value(rootKey).(string)
	}
	if root == "" {
		return "/"
	}
	return root
}

// Client describes where a request came from, for lock documents.
func Client(r *http.Request) locksystem.Client {
	return locksystem.Client{IP: RemoteIP(r), UserAgent: r.UserAgent()}
}

// RemoteIP is the peer's IP, without its port.
func RemoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}
