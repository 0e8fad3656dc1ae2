package davserver

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// bufferXML reads a request's XML body into memory (readXML) and checks it with checkXML, before
// anything parses it; the request's Body then reads the buffered bytes again.
func (h *Handler) bufferXML(r *http.Request) ([]byte, error) {
	b, err := h.readXML(r)
	if err != nil {
		return nil, err
	}
	if err := checkXML(b); err != nil {
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

// checkXML walks a body with the namespace-checking decoder of lockinfo.go. encoding/xml, and so
// x/net, accept what Namespaces in XML 1.0 forbids: xmlns:p="" (litmus propfind_invalid2), an
// undeclared prefix, a name that is not an XML name. Such a body is refused before any of it is
// stored or echoed: a PROPFIND for a property x:000 would otherwise answer <000 xmlns="x">,
// which is not XML. Whether the body is the right document is left to its parser.
func checkXML(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := newNSDecoder(bytes.NewReader(body))
	for {
		_, err := d.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
