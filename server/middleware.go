package server

// The middleware every request goes through, outermost first: its id and logger, the access log
// and request metrics, panic recovery (a panic answers 500, is logged, and the server keeps
// serving), the body timeout (bodytimeout.go), the refusal of other hosts on a server that relies
// on loopback (host.go), the refusal of cross-origin writes (crossorigin.go), and authentication
// (authenticate.go).

import (
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/xid"
	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/server/request"
)

// middleware is what the middleware needs: the server's logger, clock, authenticator, limits
// and request metrics.
type middleware struct {
	log   zerolog.Logger
	now   func() time.Time
	auth  *auth.Authenticator // nil: identities come from the request's context
	stats *requestMetrics
	// bodyTimeout and bodyMinRate bound how slowly a request body may arrive (timedBody).
	bodyTimeout time.Duration
	bodyMinRate int64
	// loopbackOnly refuses requests for hosts other than loopback ones (refuseForeignHost).
	loopbackOnly bool
	// running counts the requests being handled, for Shutdown.
	running *inflight
}

// wrap wraps next in the middleware. The id, logger, access log, recovery and body timeout are
// one function: each layer of its own would cost a copy of the request, and the access log a
// wrapper of the writer, on every request.
func (m *middleware) wrap(next http.Handler) http.Handler {
	next = m.refuseForeignHost(m.refuseCrossOrigin(m.authenticate(next)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.running.enter()
		defer m.running.leave()
		start := time.Now()
		id := xid.NewWithTime(start).String()
		ctx, ri := request.Start(r.Context(), id, &m.log)
		r = r.WithContext(ctx)
		w.Header()["X-Request-Id"] = []string{id} // canonical already: Set would check it again
		m.timeBody(w, r)
		aw := &accessWriter{ResponseWriter: w}
		m.recoverer(aw, r, next)
		if aw.answered() >= 500 && ri.DelegateErr() != nil {
			ri.Logger().Error().Err(request.ClipErr(ri.DelegateErr())).Int("status", aw.answered()).Msg("request failed")
		}
		m.accessLog(r, aw.answered(), aw.bytes, time.Since(start))
	})
}

// accessLog writes one line per request, and counts it in the request metrics. What the client
// sent (method, path, headers) is shortened (request.Clip).
func (m *middleware) accessLog(r *http.Request, status, size int, d time.Duration) {
	m.stats.observe(r.Method, status, d)
	ev := m.log.Info()
	if status >= 500 {
		ev = m.log.Warn()
	}
	if id := request.ID(r.Context()); id != "" {
		ev = ev.Str("request_id", id)
	}
	ev = ev.Str("method", request.Clip(r.Method)).
		Str("path", request.Clip(r.URL.Path)).
		Int("status", status).
		Int("bytes", size).
		Dur("duration", d).
		Str("remote", r.RemoteAddr).
		Str("user_agent", request.Clip(r.UserAgent())).
		Str("principal", request.Principal(r))
	if tok := r.Header.Get("Lock-Token"); tok != "" {
		ev = ev.Str("lock_token", request.Clip(tok))
	}
	ev.Msg("request")
}

// recoverer serves r with next, turning a panic into a logged 500. http.ErrAbortHandler, which
// net/http uses to abort a response on purpose, goes on up.
func (m *middleware) recoverer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		request.Log(r).Error().
			Interface("panic", v).
			Bytes("stack", debug.Stack()).
			Msg("handler panic")
		davserver.WriteError(w, r, davserver.Error(http.StatusInternalServerError, "internal error", nil))
	}()
	next.ServeHTTP(w, r)
}

// accessWriter records the status and the number of body bytes a handler answered, for the
// access log. It passes on what net/http's own writer offers handlers: ReadFrom (sendfile for
// GET), Flush, and Unwrap for http.ResponseController.
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
