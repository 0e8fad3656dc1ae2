package davserver

import (
	"bytes"
	"io"
	"net/http"
)

// bufferXML reads a request's XML body into memory, refusing one over the size limit with 413
// before anything is parsed, so no parser ever sees an unbounded body.
func (h *Handler) bufferXML(r *http.Request) ([]byte, error) {
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
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return b, nil
}
