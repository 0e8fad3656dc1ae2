package davserver

// What a listing shows (RFC 4918 §9.1) beyond testdata/propfind.golden: percent-encoded hrefs,
// the content type of a name without a known extension, symbolic links followed inside the root
// and left out otherwise, and nothing of the server's own namespace or of uploads in flight.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPropfindListing(t *testing.T) {
	ts, root := newOSTestServer(t)
	outside := t.TempDir()
	for name, body := range map[string]string{"noext": "x", "a b#c%.txt": "yy", ".lockdav-upload-1": "z"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for link, to := range map[string]string{"in": "a b#c%.txt", "out": filepath.Join(outside, "secret"), "dangling": "none"} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, ".lockdav"), 0o700); err != nil {
		t.Fatal(err)
	}
	w := ts.do("PROPFIND", "/", "", "Depth", "1")
	want(t, w, http.StatusMultiStatus, "PROPFIND /")
	got := listedProps(t, w.Body.Bytes())
	wantHrefs := map[string]string{"/": "", "/noext": "application/octet-stream",
		"/a%20b%23c%25.txt": "text/plain; charset=utf-8", "/in": "application/octet-stream"}
	if len(got) != len(wantHrefs) {
		t.Errorf("listed %v, want exactly %v", got, wantHrefs)
	}
	for href, ctype := range wantHrefs {
		if g, ok := got[href]; !ok || g != ctype {
			t.Errorf("%s: listed %v with getcontenttype %q, want %q", href, ok, g, ctype)
		}
	}
	if !strings.Contains(w.Body.String(), "<D:getcontentlength>2</D:getcontentlength>") {
		t.Errorf("the link in the root is not followed to its file (2 bytes):\n%s", w.Body.String())
	}
}

// listedProps parses a multistatus, which must be XML, into href → getcontenttype.
func listedProps(t *testing.T, body []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	d := xml.NewDecoder(bytes.NewReader(body))
	var href string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, body)
		}
		se, ok := tok.(xml.StartElement)
		switch {
		case !ok:
		case se.Name.Local == "href" && href == "":
			href = text(t, d, &se)
			out[href] = ""
		case se.Name.Local == "getcontenttype":
			out[href] = text(t, d, &se)
		case se.Name.Local == "response":
			href = ""
		}
	}
}
