package davserver

// Native fuzz targets for the PROPFIND (RFC 4918 §9.1, §14.20) and PROPPATCH (§9.2, §14.19)
// bodies, fed through the whole Handler over an in-memory tree.
// Seeds live in testdata/fuzz/<target>/. The properties hold for any input: no panic, no 5xx,
// and a 207 answer is well-formed XML.

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// fuzzHandler is a Handler over a small in-memory tree: /f.txt, /dir/, /dir/g.txt.
func fuzzHandler(f *testing.F) *Handler {
	f.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fsys := fs.New(afero.NewMemMapFs(), fs.NewMemProps(), zerolog.Nop())
	ls, err := locksystem.New(now, locksystem.Options{Logger: zerolog.Nop()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ls.Close() })
	ctx := context.Background()
	if err := fsys.Mkdir(ctx, "/dir", 0o755); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{"/f.txt", "/dir/g.txt"} {
		if _, _, err := fsys.Upload(ctx, p, strings.NewReader("content"), 0, nil); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := ls.Lock(now, locksystem.Request{Path: "/dir", Depth: locksystem.DepthInfinity,
		Principal: "someone-else", Owner: "<D:href xmlns:D=\"DAV:\">x</D:href>"}); err != nil {
		f.Fatal(err)
	}
	return New(Options{FS: fsys, Locks: ls, Logger: zerolog.Nop(), MaxXMLBody: 64 << 10, Now: func() time.Time { return now }})
}

// serveFuzz sends one request and checks the properties every answer has.
func serveFuzz(t *testing.T, h *Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code >= 500 {
		t.Fatalf("%s %s with body %q = %d, want < 500; answer %s", method, target, body, w.Code, w.Body.String())
	}
	if w.Code == http.StatusMultiStatus {
		if err := oneDocument(w.Body.Bytes()); err != nil {
			t.Fatalf("%s %s with body %q: 207 body is not well-formed XML: %v\n%s", method, target, body, err, w.Body.String())
		}
	}
	return w
}

// oneDocument reports whether b is one well-formed XML document.
func oneDocument(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 || roots != 1 {
				return errors.New("unbalanced or not one root element")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func FuzzPropfindBody(f *testing.F) {
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string, depth uint8) {
		d := []string{"0", "1", "infinity"}[depth%3]
		for _, target := range []string{"/", "/f.txt", "/dir/"} {
			serveFuzz(t, h, "PROPFIND", target, body, "Depth", d)
		}
	})
}

func FuzzProppatchBody(f *testing.F) {
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := serveFuzz(t, h, "PROPPATCH", "/f.txt", body)
		if w.Code == http.StatusMultiStatus {
			// Whatever was stored comes back out as well-formed XML.
			serveFuzz(t, h, "PROPFIND", "/f.txt", "", "Depth", "0")
			serveFuzz(t, h, "PROPFIND", "/f.txt", `<propfind xmlns="DAV:"><propname/></propfind>`, "Depth", "0")
		}
		// The locked member refuses without a token, whatever the body.
		if w := serveFuzz(t, h, "PROPPATCH", "/dir/g.txt", body); w.Code < 300 && w.Code != http.StatusMultiStatus {
			t.Fatalf("PROPPATCH of a locked resource without its token = %d", w.Code)
		}
	})
}
