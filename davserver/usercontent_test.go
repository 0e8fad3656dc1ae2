package davserver

// User content is served so that it never runs as the server's origin: every GET, HEAD and POST
// answer on the tree says nosniff and CSP sandbox, and types a browser would run script in are
// downloads.

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// wantSandboxed checks the headers every answer with user content carries.
func wantSandboxed(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", what, got)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != userContentCSP {
		t.Errorf("%s: Content-Security-Policy %q, want %q", what, got, userContentCSP)
	}
}

func TestUserContentHeaders(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	const script = `<html><script>fetch("/.lockdav/locks")</script></html>`
	files := []struct {
		name, body string
		attachment bool
	}{
		{"/a.txt", script, false}, // text/plain by its name, nosniff keeps it text
		{"/a.png", "\x89PNG\r\n\x1a\n", false},
		{"/a.html", script, true},
		{"/a.htm", script, true},
		{"/a.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, true},
		{"/a.xml", `<x:html xmlns:x="http://www.w3.org/1999/xhtml"><x:script>alert(1)</x:script></x:html>`, true},
		{"/a.xhtml", script, true},
		{"/a.pdf", "%PDF-1.4", true},
		{"/noext", script, true}, // sniffed as text/html
		{"/a.unknown-ext", "\x00\x01binary", true},
	}
	for _, f := range files {
		ts.put(f.name, f.body)
	}
	for _, f := range files {
		for _, c := range []struct {
			method string
			hdr    []any
			status int
		}{
			{"GET", nil, 200},
			{"HEAD", nil, 200},
			{"GET", []any{"Range", "bytes=0-2"}, 206},
			{"POST", nil, 200}, // x/net answers POST on a file with its content, as GET
		} {
			w := ts.do(c.method, f.name, "", c.hdr...)
			what := c.method + " " + f.name
			want(t, w, c.status, what)
			wantSandboxed(t, w, what)
			wantCD := f.attachment || c.method == "POST" // POST answers are always downloads
			if got := w.Header().Get("Content-Disposition"); (got == "attachment") != wantCD || (!wantCD && got != "") {
				t.Errorf("%s: Content-Disposition %q (type %q), attachment wanted: %v", what, got, w.Header().Get("Content-Type"), wantCD)
			}
		}
	}
}

// Answers without the content carry the headers too: a 304 is a cached page's new headers
// (RFC 9110 §15.4.5), and error bodies are shown by browsers.
func TestUserContentHeadersWithoutContent(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	ts.put("/a.html", "<p>hi</p>")
	etag := ts.do("GET", "/a.html", "").Header().Get("ETag")
	for _, c := range []struct {
		what, method, path string
		hdr                []any
		status             int
	}{
		{"304", "GET", "/a.html", []any{"If-None-Match", etag}, http.StatusNotModified},
		{"412", "GET", "/a.html", []any{"If-Match", `"other"`}, http.StatusPreconditionFailed},
		{"416", "GET", "/a.html", []any{"Range", "bytes=100-200"}, http.StatusRequestedRangeNotSatisfiable},
		{"404", "GET", "/missing.html", nil, http.StatusNotFound},
		{"HEAD 404", "HEAD", "/missing.html", nil, http.StatusNotFound},
	} {
		w := ts.do(c.method, c.path, "", c.hdr...)
		want(t, w, c.status, c.what)
		wantSandboxed(t, w, c.what)
	}
}

// The values GET sets are shared between answers (get.go); what a wrapper adds to one answer's
// headers must not show in the next answer's.
func TestGetHeaderValuesNotShared(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	ts.put("/a.bin", "x")
	keys := []string{"X-Content-Type-Options", "Content-Security-Policy", "Content-Type", "Content-Disposition",
		"Accept-Ranges", "Last-Modified", "Content-Length"}
	first := ts.do("GET", "/a.bin", "")
	want(t, first, http.StatusOK, "GET /a.bin")
	for _, k := range keys {
		first.Header().Add(k, "added")
	}
	second := ts.do("GET", "/a.bin", "")
	for _, k := range keys {
		if got := second.Header().Values(k); len(got) != 1 || got[0] == "added" {
			t.Errorf("second GET: %s is %q, want its own single value", k, got)
		}
	}
}
