package fs

// The FS under x/net's webdav.Handler: PUT (RFC 4918 §9.7), PROPPATCH
// (§9.2), PROPFIND (§9.1), COPY (§9.8), MOVE (§9.9), DELETE (§9.6).

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

type davClient struct {
	t   *testing.T
	url string
}

func (c davClient) do(method, path, body string, hdr ...string) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (c davClient) want(method, path, body string, want int, hdr ...string) string {
	c.t.Helper()
	got, resp, _ := c.do(method, path, body, hdr...)
	if got != want {
		c.t.Fatalf("%s %s: got %d, want %d\n%s", method, path, got, want, resp)
	}
	return resp
}

const (
	setProp = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:lockdav:test">
<D:set><D:prop><Z:colour xml:lang="en">r&amp;d &lt;red&gt; &#x10400;</Z:colour></D:prop></D:set></D:propertyupdate>`
	findProp = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:lockdav:test">
<D:prop><Z:colour/></D:prop></D:propfind>`
	propValue = "r&amp;d &lt;red&gt; \U00010400"
)

func TestUnderHandler(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		srv := httptest.NewServer(&webdav.Handler{FileSystem: f, LockSystem: webdav.NewMemLS()})
		defer srv.Close()
		c := davClient{t, srv.URL}

		c.want("PUT", "/a", "hello", http.StatusCreated)
		c.want("PROPPATCH", "/a", setProp, http.StatusMultiStatus)
		c.want("MKCOL", "/c", "", http.StatusCreated)
		c.want("PUT", "/c/b", "bee", http.StatusCreated)
		c.want("PROPPATCH", "/c/b", setProp, http.StatusMultiStatus)
		c.want("PUT", "/a", "hello again", http.StatusCreated) // x/net answers 201 to every PUT

		wantProp := func(path, depth string, n int) {
			t.Helper()
			resp := c.want("PROPFIND", path, findProp, http.StatusMultiStatus, "Depth", depth)
			if got := strings.Count(resp, propValue); got != n {
				t.Fatalf("PROPFIND %s: value found %d times, want %d\n%s", path, got, n, resp)
			}
		}
		wantProp("/a", "0", 1)
		c.want("COPY", "/a", "", http.StatusCreated, "Destination", srv.URL+"/a2")
		wantProp("/a2", "0", 1)
		c.want("COPY", "/c", "", http.StatusCreated, "Destination", srv.URL+"/c2")
		wantProp("/c2", "1", 1)
		c.want("MOVE", "/c", "", http.StatusCreated, "Destination", srv.URL+"/m")
		wantProp("/m", "1", 1)
		c.want("PROPFIND", "/c", findProp, http.StatusNotFound, "Depth", "0")

		mustOK(t, afero.WriteFile(f.base, "/m/"+tempPrefix+"42", []byte("partial"), 0o600))
		resp := c.want("PROPFIND", "/m", "", http.StatusMultiStatus, "Depth", "1")
		if strings.Contains(resp, tempPrefix) {
			t.Fatalf("listing shows a temporary file:\n%s", resp)
		}
		c.want("GET", "/m/"+tempPrefix+"42", "", http.StatusNotFound)

		c.want("DELETE", "/m", "", http.StatusNoContent)
		c.want("MKCOL", "/m", "", http.StatusCreated)
		c.want("PUT", "/m/b", "new", http.StatusCreated)
		wantProp("/m", "1", 0)

		_, body, hdr := c.do("GET", "/a", "")
		fi, err := f.Stat(context.Background(), "/a")
		mustOK(t, err)
		if body != "hello again" || hdr.Get("ETag") != ETag(fi) {
			t.Fatalf("GET /a: body %q ETag %q, want %q %q", body, hdr.Get("ETag"), "hello again", ETag(fi))
		}
	})
}
