package davserver

// Names on disk that no URL of the tree can reach (invalid UTF-8, control characters, a
// backslash) must not break the listing of their collection: PROPFIND (RFC 4918 §9.1) answers
// one whole, well-formed 207 Multi-Status (§13) without them, and the HTML listing leaves
// them out too.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// oddNames cannot be named by a request: the tree refuses them (fs.ErrInvalidName).
var oddNames = []string{"bad\xff.txt", "ctl\x01.txt", "new\nline.txt", "del\x7f.txt", "nel\u0085.txt", `back\slash.txt`}

// oddTree makes, directly on disk, good members beside odd ones at the root and in /sub, and an
// odd collection holding a good member.
func oddTree(t *testing.T, root string) {
	t.Helper()
	for _, dir := range []string{"sub", "bad\xffdir", "ctl\x02dir"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "m.txt"), []byte("m"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"", "sub"} {
		for _, name := range append([]string{"a.txt", "z.txt", "\u00e9t\u00e9 \ufffe.txt"}, oddNames...) {
			if err := os.WriteFile(filepath.Join(root, dir, name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// multistatusHrefs parses a 207 body strictly, token by token to EOF, and wants one root
// DAV:multistatus with nothing but white space after it; it returns the decoded hrefs.
func multistatusHrefs(t *testing.T, body []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	var hrefs []string
	depth, roots, inHref := 0, 0, false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("body is not well-formed XML: %v\n%q", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name != (xml.Name{Space: "DAV:", Local: "multistatus"}) {
					t.Fatalf("root element %v, want DAV:multistatus", tok.Name)
				}
			}
			depth++
			inHref = tok.Name == xml.Name{Space: "DAV:", Local: "href"} && depth == 3
		case xml.EndElement:
			depth--
			inHref = false
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				t.Fatalf("text %q outside the root element", tok)
			}
			if inHref {
				h, err := url.PathUnescape(string(tok))
				if err != nil {
					t.Fatalf("href %q: %v", tok, err)
				}
				hrefs = append(hrefs, h)
			}
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at EOF; want one, closed", roots, depth)
	}
	return hrefs
}

func TestPropfindOddNamesOnDisk(t *testing.T) {
	good := []string{"/", "/a.txt", "/sub/", "/z.txt", "/\u00e9t\u00e9 \ufffe.txt"}
	deep := []string{"/sub/a.txt", "/sub/m.txt", "/sub/z.txt", "/sub/\u00e9t\u00e9 \ufffe.txt"}
	for _, tc := range []struct {
		depth string
		want  []string
	}{
		{"1", good},
		{"infinity", append(slices.Clone(good), deep...)},
	} {
		t.Run("depth "+tc.depth, func(t *testing.T) {
			ts, root := newOSTestServer(t)
			oddTree(t, root)
			w := ts.do("PROPFIND", "/", "", "Depth", tc.depth)
			want(t, w, http.StatusMultiStatus, "PROPFIND / Depth "+tc.depth)
			got := multistatusHrefs(t, w.Body.Bytes())
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("hrefs:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestListingOddNamesOnDisk(t *testing.T) {
	ts, root := newOSTestServer(t)
	oddTree(t, root)
	w := ts.do("GET", "/", "")
	want(t, w, http.StatusOK, "GET /")
	body := w.Body.String()
	if !utf8.ValidString(body) {
		t.Errorf("listing is not UTF-8:\n%q", body)
	}
	if i := strings.IndexFunc(body, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r == 0x85 }); i >= 0 {
		t.Errorf("listing holds a control character at %d:\n%q", i, body)
	}
	for _, name := range []string{"a.txt", "z.txt", "sub", "%C3%A9t%C3%A9%20%EF%BF%BE.txt"} {
		if !strings.Contains(body, `href="/`+name) {
			t.Errorf("listing lacks %s:\n%s", name, body)
		}
	}
	for _, name := range []string{"bad%FF", "ctl%01", "new%0A", "del%7F", "nel%C2%85", "back%5C", "ctl%02dir"} {
		if strings.Contains(body, name) {
			t.Errorf("listing shows %s, which no URL reaches:\n%s", name, body)
		}
	}
}

// No request reaches an odd name, by any escaping: neither a LOCK nor a GET of its URL.
func TestOddNamesUnreachable(t *testing.T) {
	ts, root := newOSTestServer(t)
	oddTree(t, root)
	for _, name := range oddNames {
		target := "/" + url.PathEscape(name)
		for _, m := range []string{"LOCK", "GET"} {
			body := map[string]string{"LOCK": exclusiveBody}[m]
			if w := ts.do(m, target, body); w.Code < 400 || w.Code >= 500 {
				t.Errorf("%s %s: got %d, want 4xx", m, target, w.Code)
			}
		}
	}
	if n := ts.locks.Len(); n != 0 {
		t.Errorf("%d locks taken, want none", n)
	}
}
