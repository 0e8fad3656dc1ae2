package davserver

// Request bodies (RFC 4918 §8.2, §8.4): XML bodies are read whole, up to a limit, before
// anything parses them.

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/lockdav/lockdav/davserver/rfc4918"
)

// A PROPPATCH body, which x/net parses, is read into memory and checked here first, then handed
// to x/net to parse again: its Handler reads the request's Body itself and takes no parsed
// document, and encoding/xml, which it parses with, accepts namespace errors that must be refused
// before any property is stored (rfc4918.CheckXML). PROPFIND bodies are davserver's own, parsed
// once by rfc4918.ParsePropfind.

// bufferXML reads a PROPPATCH body into memory (readXML), checks its namespaces
// (rfc4918.CheckXML), and leaves it for x/net to read again.
func (h *Handler) bufferXML(r *http.Request) error {
	b, err := h.readXML(r)
	if err != nil {
		return err
	}
	if err := rfc4918.CheckXML(b); err != nil {
		return failWith(http.StatusBadRequest, "malformed XML body", err)
	}
	replay(r, b)
	return nil
}

// replay makes r's Body read the buffered body b again, for x/net.
func replay(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
}

// readXML reads a request's XML body into memory, refusing one over the size limit with 413
// before anything is parsed, so no parser ever sees an unbounded body.
func (h *Handler) readXML(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxXML {
		return nil, fail(http.StatusRequestEntityTooLarge, "XML body too large")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.maxXML+1))
	if err != nil {
		return nil, BodyReadError(err)
	}
	if int64(len(b)) > h.maxXML {
		return nil, fail(http.StatusRequestEntityTooLarge, "XML body too large")
	}
	return b, nil
}

// BodyReadError is the answer to a request body that could not be read, for the XML bodies and
// the lock API's JSON alike: 408 Request Timeout (RFC 9110 §15.5.9) when it fell behind
// limits.body_timeout and limits.body_min_rate — the read deadline the server's middleware sets
// ends the read with os.ErrDeadlineExceeded —, as a PUT's is; 400 (§15.5.1) when it ended before
// its Content-Length (io.ErrUnexpectedEOF) or was otherwise malformed: the client's fault either
// way, never the server's.
func BodyReadError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		status, reason := lowerStatus(err)
		return failWith(status, reason, err)
	}
	return failWith(http.StatusBadRequest, "could not read body", err)
}
