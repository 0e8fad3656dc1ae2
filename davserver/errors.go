package davserver

// Errors become HTTP answers here (RFC 9110 §15 statuses, RFC 4918 §11 and §16 for WebDAV's own:
// 207, 423, 424 and DAV:error bodies), and nowhere else: handlers return errors, the layers
// below return their sentinel errors, and WriteError answers them.

import (
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"net"
	"net/http"
	"os"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// statusError is an error with the HTTP answer it deserves. reason is the short text the client
// sees; body, when set, is an XML body (RFC 4918 §16 precondition elements) sent instead of it.
// err is the detail for the log, never for the client.
type statusError struct {
	status int
	reason string
	body   []byte
	err    error
	// clientFault marks a server-error status that is the client's mistake, logged at debug as
	// the 4xx are: a Destination on another server is 502 (RFC 4918 §9.8.5, §9.9.4), yet nothing
	// failed here, and a client naming any host it likes must not fill the log with errors.
	clientFault bool
}

func (e *statusError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func (e *statusError) Unwrap() error { return e.err }

// fail returns a statusError with a short reason.
func fail(status int, reason string) error {
	return &statusError{status: status, reason: reason}
}

// Error is an error answered with status and reason, logging cause (which may be nil). The
// middleware's refusals (401, 403, 429, 500) are made with it.
func Error(status int, reason string, cause error) error {
	return &statusError{status: status, reason: reason, err: cause}
}

// StatusOf is the status and reason err is answered with, for the lock API, which answers them
// as JSON.
func StatusOf(err error) (status int, reason string) {
	se := statusOf(err)
	return se.status, se.reason
}

// failWith returns a statusError that logs cause.
func failWith(status int, reason string, cause error) error {
	return &statusError{status: status, reason: reason, err: cause}
}

// failXML returns a statusError whose body is an RFC 4918 §16 DAV:error element.
func failXML(status int, body []byte) error {
	return &statusError{status: status, reason: http.StatusText(status), body: body}
}

// statusOf maps any error to the answer the client gets: errors become statuses here, and only here.
func statusOf(err error) *statusError {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, locksystem.ErrTooMany):
		// 423, not 503: a 503 with Retry-After is retried by clients without end, while a refused
		// LOCK answered 423 is what WebDAV clients already handle — Office and LibreOffice open
		// the document read-only and say it is locked, davfs2 and Finder fall back to read-only —
		// and a principal holding that many locks is almost always a runaway client that
		// retrying would not help. The body names the limit (rfc4918.LockLimitBody).
		return &statusError{status: http.StatusLocked, reason: "too many locks held", body: rfc4918.LockLimitBody(), err: err}
	}
	status, reason := lowerStatus(err)
	return &statusError{status: status, reason: reason, err: err}
}

// lowerStatus is the answer to an error of the layers below: the request's path, the file
// system, the lock system, the connection.
func lowerStatus(err error) (int, string) {
	switch {
	case errors.Is(err, request.ErrTraversal):
		return http.StatusForbidden, "invalid path"
	case errors.Is(err, request.ErrBadPath):
		return http.StatusBadRequest, "invalid path"
	case errors.Is(err, iofs.ErrNotExist):
		return http.StatusNotFound, "not found"
	case errors.Is(err, iofs.ErrExist):
		return http.StatusMethodNotAllowed, "already exists"
	case errors.Is(err, fs.ErrHiddenName):
		// Uploads in progress are the server's, like the reserved namespace (request.Reserved).
		return http.StatusForbidden, "reserved for the server"
	case errors.Is(err, iofs.ErrPermission), errors.Is(err, fs.ErrOutsideRoot):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, fs.ErrInvalidName):
		return http.StatusBadRequest, "invalid name"
	case errors.Is(err, fs.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "body too large"
	case errors.Is(err, fs.ErrIsDir):
		return http.StatusMethodNotAllowed, "is a collection"
	case errors.Is(err, locksystem.ErrUnavailable):
		// The shared lock store (etcd) did not answer: nothing can be decided about locks, and a
		// guess could let two clients hold one lock. WriteError adds Retry-After.
		return http.StatusServiceUnavailable, "lock store unavailable; retry later"
	case errors.Is(err, fs.ErrTooManyProps):
		return http.StatusInsufficientStorage, "too many properties in one PROPPATCH"
	case errors.Is(err, locksystem.ErrOwnerTooLarge):
		return http.StatusRequestEntityTooLarge, "owner too large"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, "request body too slow (limits.body_timeout)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The client went away, or sent less than its Content-Length: its fault, not ours.
		return http.StatusBadRequest, "request body incomplete"
	case errors.Is(err, context.Canceled):
		return 499, "client closed request"
	case errors.Is(err, net.ErrClosed):
		// A read of the request body on a connection the server closed: at shutdown, a request
		// still running after limits.shutdown_timeout is cut off so. Nobody is listening, as
		// for a client gone; the server did as asked, so it is no server error (500) either.
		return 499, "connection closed by the server"
	}
	return http.StatusInternalServerError, "internal error"
}

// RetryAfter is the Retry-After of a 503, in seconds: long enough for an etcd cluster to elect a
// new leader, short enough that a client retrying does not notice much.
const RetryAfter = "2"

// WriteError writes err's answer and logs its detail. Every error answered as text or WebDAV
// XML goes through it: the server's middleware uses it for its refusals too.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if me, ok := asMultiStatus(err); ok {
		request.Log(r).Debug().Err(request.ClipErr(err)).Int("status", http.StatusMultiStatus).Msg("request failed")
		if werr := writeMultiStatus(w, me.responses); werr != nil {
			request.Log(r).Debug().Err(werr).Msg("write multistatus")
		}
		return
	}
	se := statusOf(err)
	level := request.FailLevel(se.status)
	if se.clientFault {
		level = zerolog.DebugLevel
	}
	// The error may quote what the client sent (a path, a header): request.ClipErr shortens it.
	request.Log(r).WithLevel(level).Err(request.ClipErr(err)).Int("status", se.status).Msg("request failed")
	if se.status == 499 {
		// Nobody is listening, and nothing is sent; the status is for the access log and the
		// request metrics, which would otherwise show net/http's 200 for a handler that wrote
		// nothing.
		w.WriteHeader(se.status)
		return
	}
	h := w.Header()
	if se.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", RetryAfter)
	}
	if se.body != nil {
		h.Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(se.status)
		_, _ = w.Write(se.body)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(se.status)
	_, _ = w.Write([]byte(se.reason + "\n"))
}
