package server

import (
	"io"
	"net/http"
	"time"
)

// defaultBodyMinRate is the rate a body must keep up, in bytes per second, when the configuration
// names none: the one Apache's mod_reqtimeout uses (body=20,MinRate=500).
const defaultBodyMinRate = 500

// timedBody is a request body that must arrive within timeout, extended by a second for every
// minRate bytes received, as Apache's mod_reqtimeout does: a large upload at any useful speed is
// never cut off, while a client trickling bytes to hold a connection and a handler (a slowloris
// on the body) is, with 408. The limit is a read deadline on the connection, set before each
// read, so a read blocked on a silent client ends on time too.
//
// The deadline is set once already when the request starts, for the bodies no handler reads
// (GET, OPTIONS, DELETE, a 401…): before it answers a keep-alive HTTP/1.1 request, net/http
// reads and discards up to 256 KiB of an unread body itself, from the connection rather than
// through this wrapper, so without a deadline a client trickling that body holds the answer, and
// the connection, for as long as it likes. With it, net/http's read fails at the deadline, and
// it answers at once with "Connection: close", since what is left of the body must not be read
// as the next request. Bytes net/http discards extend nothing: the handler did not want them.
// net/http clears the deadline itself once the body has been read to its end (it then starts its
// background read, which must not time out), so a handler still running after that is not cut
// off. On HTTP/2 the deadline is the stream's, and an unread body holds nothing up.
type timedBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	deadline time.Time // start plus timeout
	minRate  int64
	n        int64
}

// timeBody wraps r's body, if it has one, in a timedBody.
func (m *middleware) timeBody(w http.ResponseWriter, r *http.Request) {
	if m.bodyTimeout <= 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	b := &timedBody{ReadCloser: r.Body, rc: http.NewResponseController(w),
		deadline: time.Now().Add(m.bodyTimeout), minRate: m.bodyMinRate}
	b.setDeadline()
	r.Body = b
}

// setDeadline sets the connection's read deadline: the start plus the timeout, a second more for
// every minRate bytes received. A connection that does not support it (ErrNotSupported) has its
// own timeouts, and they are all there is.
func (b *timedBody) setDeadline() {
	_ = b.rc.SetReadDeadline(b.deadline.Add(time.Duration(b.n/b.minRate) * time.Second))
}

func (b *timedBody) Read(p []byte) (int, error) {
	b.setDeadline()
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
