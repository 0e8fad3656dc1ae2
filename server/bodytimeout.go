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
	r.Body = &timedBody{ReadCloser: r.Body, rc: http.NewResponseController(w),
		deadline: time.Now().Add(m.bodyTimeout), minRate: m.bodyMinRate}
}

func (b *timedBody) Read(p []byte) (int, error) {
	// Not supported by the connection (ErrNotSupported): its own timeouts are all there is.
	_ = b.rc.SetReadDeadline(b.deadline.Add(time.Duration(b.n/b.minRate) * time.Second))
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
