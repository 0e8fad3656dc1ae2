package server

// Authentication (HTTP Basic, RFC 7617) and authorization. Who may do what is the auth package's
// table; here requests get their identity, and the answers when they have none: 401 with a
// Basic challenge (the same for an unknown user and a wrong password), 429 with Retry-After
// while a remote address is over the failed-login limit, 403 for a write by a read-only user.

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/server/request"
)

// challenge is the WWW-Authenticate header of a 401 (RFC 7617 §2, §2.1).
const challenge = `Basic realm="lockdav", charset="UTF-8"`

// authenticate is the middleware that gives each request its identity: principal, admin flag
// and root. Without an Authenticator every request passes with the identity its context has.
func (m *middleware) authenticate(next http.Handler) http.Handler {
	if m.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isHealthCheck(r) {
			next.ServeHTTP(w, r)
			return
		}
		id, err := m.identify(r)
		if err == nil {
			err = authorize(id, r)
		}
		if err != nil {
			m.refuse(w, r, err)
			return
		}
		if request.SetIdentity(r, id.Name, id.Root, id.Admin) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := request.WithRoot(request.WithPrincipal(r.Context(), id.Name), id.Root)
		if id.Admin {
			ctx = request.WithAdmin(ctx)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// isHealthCheck: load balancers probe /.lockdav/healthz without credentials.
func isHealthCheck(r *http.Request) bool {
	return r.URL.Path == request.Reserved+"healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

// identify checks the request's credentials; a request without any is anonymous.
func (m *middleware) identify(r *http.Request) (auth.Identity, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return auth.Identity{}, auth.ErrBadCredentials // another scheme, or garbled
		}
		anon := m.auth.Anonymous()
		if anon.Access == auth.None {
			return auth.Identity{}, auth.ErrNoCredentials
		}
		return anon, nil
	}
	id, err := m.auth.Authenticate(m.now(), request.RemoteIP(r), user, pass)
	var le *auth.LimitedError
	switch {
	case errors.As(err, &le):
		request.Log(r).Warn().Str("remote", r.RemoteAddr).Str("user", request.Clip(user)).
			Dur("retry_after", le.RetryAfter).Msg("login refused: too many failed logins from this address")
	case err != nil:
		request.Log(r).Warn().Str("remote", r.RemoteAddr).Str("user", request.Clip(user)).Msg("login failed")
	}
	return id, err
}

// errReadOnly: a write by a principal with read access.
var errReadOnly = errors.New("server: read-only access")

// authorize refuses a write to a principal with read access. Anonymous requests are refused
// with a challenge, so that a client can log in and retry.
func authorize(id auth.Identity, r *http.Request) error {
	if id.Access == auth.Write || isRead(r) {
		return nil
	}
	if id.Name == auth.Anonymous {
		return auth.ErrNoCredentials
	}
	return errReadOnly
}

// isRead reports whether a request only reads: OPTIONS, GET, HEAD and PROPFIND (on the lock API,
// GET and HEAD). Everything else — LOCK and UNLOCK included — is a write.
func isRead(r *http.Request) bool {
	switch r.Method {
	case http.MethodOptions, http.MethodGet, http.MethodHead, "PROPFIND":
		return true
	}
	return false
}

// refuse answers a request that failed authentication or authorization.
func (m *middleware) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var le *auth.LimitedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(le.RetryAfter)))
		davserver.WriteError(w, r, davserver.Error(http.StatusTooManyRequests, "too many failed logins, retry later", err))
	case errors.Is(err, errReadOnly):
		davserver.WriteError(w, r, davserver.Error(http.StatusForbidden, "read-only access", err))
	default:
		w.Header().Set("WWW-Authenticate", challenge)
		davserver.WriteError(w, r, davserver.Error(http.StatusUnauthorized, "authentication required", err))
	}
}

// retrySeconds is d as a Retry-After value: whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
