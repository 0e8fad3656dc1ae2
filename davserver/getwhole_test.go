package davserver

// GET and HEAD (RFC 9110 §9.3.1, §9.3.2) of a whole file: serveWhole answers as
// http.ServeContent does for requests without Range or preconditions.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeWholeAsServeContent(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"page.html": "<p>hi</p>",
		"noext":     "plain words",
		"bin":       "\x00\x01\x02PNG",
		"empty":     "",
		"big.txt":   strings.Repeat("x", 100<<10),
		"sniff":     "<html><body>sniffed</body></html>",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+name, func(t *testing.T) {
				want := answer(t, p, method, func(w http.ResponseWriter, r *http.Request, f *os.File, fi os.FileInfo) {
					http.ServeContent(w, r, "/"+name, fi.ModTime(), f)
				})
				got := answer(t, p, method, func(w http.ResponseWriter, r *http.Request, f *os.File, fi os.FileInfo) {
					if err := serveWhole(w, r, "/"+name, fi, f, f); err != nil {
						t.Fatal(err)
					}
				})
				if got.Code != want.Code || got.Body.String() != want.Body.String() {
					t.Errorf("status %d, %d body bytes; want %d, %d", got.Code, got.Body.Len(), want.Code, want.Body.Len())
				}
				for k := range want.Header() {
					if g, w := got.Header().Values(k), want.Header().Values(k); strings.Join(g, ",") != strings.Join(w, ",") {
						t.Errorf("%s: %q, want %q", k, g, w)
					}
				}
				for k := range got.Header() {
					if _, ok := want.Header()[k]; !ok {
						t.Errorf("%s: %q, which ServeContent does not send", k, got.Header().Values(k))
					}
				}
			})
		}
	}
}

func answer(t *testing.T, p, method string, serve func(http.ResponseWriter, *http.Request, *os.File, os.FileInfo)) *httptest.ResponseRecorder {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	serve(w, httptest.NewRequest(method, "/x", nil), f, fi)
	return w
}

// Requests with Range or a precondition go to http.ServeContent.
func TestWhole(t *testing.T) {
	for _, h := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set(h, "x")
		if whole(r) {
			t.Errorf("whole with %s = true", h)
		}
	}
	if r := httptest.NewRequest(http.MethodGet, "/x", nil); !whole(r) {
		t.Error("whole of a plain GET = false")
	}
}
