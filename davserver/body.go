package davserver

import (
	"bytes"
	"io"
	"net/http"

	"github.com/lockdav/lockdav/davserver/rfc4918"
)

// bufferXML reads a request's XML body into memory (readXML) and checks its namespaces
// (rfc4918.CheckXML) before anything parses it; the request's Body then reads the buffered bytes
// again.
func (h *Handler) bufferXML(r *http.Request) ([]byte, error) {
	b, err := h.readXML(r)
	if err != nil {
		return nil, err
	}
	if err := rfc4918.CheckXML(b); err != nil {
		return nil, failWith(http.StatusBadRequest, "malformed XML body", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return b, nil
}

// readXML reads a request's XML body into memory, refusing one over the size limit with 413
// before anything is parsed, so no parser ever sees an unbounded body.
func (h *Handler) readXML(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxXML {
		return nil, fail(http.StatusRequestEntityTooLarge, "XML body too large")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.maxXML+1))
	if err != nil {
		return nil, failWith(http.StatusBadRequest, "could not read body", err)
	}
	if int64(len(b)) > h.maxXML {
		return nil, fail(http.StatusRequestEntityTooLarge, "XML body too large")
	}
	return b, nil
}
