package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// Request bodies, shared by every worker.
var (
	lockBody = []byte(`<?xml version="1.0" encoding="utf-8"?>` +
		`<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner><D:href>lockdav-bench</D:href></D:owner>` +
		`</D:lockinfo>`)
	allpropBody = []byte(`<?xml version="1.0" encoding="utf-8"?>` +
		`<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`)
	payload = bytes.Repeat([]byte("lockdav-bench 4 KiB payload\n"), 4096/28+1)[:4096]
)

// Statuses a step accepts.
var (
	okLock    = []int{http.StatusOK, http.StatusCreated}
	okPut     = []int{http.StatusOK, http.StatusCreated, http.StatusNoContent}
	okUnlock  = []int{http.StatusNoContent, http.StatusOK}
	okGet     = []int{http.StatusOK}
	okRefresh = []int{http.StatusOK}
	okMulti   = []int{http.StatusMultiStatus}
	okAPILock = []int{http.StatusCreated}
)

// locksAPI is lockdav's lock API, which contended-wait locks through.
const locksAPI = "/.lockdav/locks"

// lockTimeout is asked for every lock; long enough that no lock expires during a run.
const lockTimeout = "Second-600"

// errStatus: the server answered with a status the step does not accept.
var errStatus = errors.New("unexpected status")

// call sends one request to t and returns its response with the body read into sink (nil
// discards it). hdr holds header names and values in pairs.
func (t *target) call(method, path string, body []byte, sink *bytes.Buffer, want []int,
	hdr ...string) (*http.Response, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, t.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	w := io.Discard
	if sink != nil {
		sink.Reset()
		w = sink
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	if !slices.Contains(want, resp.StatusCode) {
		return resp, fmt.Errorf("%s %s: %w %d, want one of %v", method, path, errStatus,
			resp.StatusCode, want)
	}
	return resp, nil
}

// lock takes an exclusive depth-0 lock on path and returns its token as a Coded-URL
// ("<urn:…>"), ready for Lock-Token and, in parentheses, for If.
func (t *target) lock(path string) (string, *http.Response, error) {
	resp, err := t.call("LOCK", path, lockBody, nil, okLock,
		"Depth", "0", "Timeout", lockTimeout, "Content-Type", "application/xml; charset=utf-8")
	if err != nil {
		return "", resp, err
	}
	tok := resp.Header.Get("Lock-Token")
	if len(tok) < 3 || tok[0] != '<' || tok[len(tok)-1] != '>' {
		return "", resp, fmt.Errorf("LOCK %s: Lock-Token %q is not a Coded-URL", path, tok)
	}
	return tok, resp, nil
}

// unlock releases the lock with token tok (a Coded-URL) on path.
func (t *target) unlock(path, tok string) error {
	_, err := t.call("UNLOCK", path, nil, nil, okUnlock, "Lock-Token", tok)
	return err
}

// put writes body to path, with the lock token tok (a Coded-URL) in If when tok is not "".
func (t *target) put(path string, body []byte, tok string) error {
	if tok == "" {
		_, err := t.call("PUT", path, body, nil, okPut)
		return err
	}
	_, err := t.call("PUT", path, body, nil, okPut, "If", "("+tok+")")
	return err
}
