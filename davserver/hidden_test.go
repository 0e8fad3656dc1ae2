package davserver

// The names of uploads in progress (.lockdav-upload-*) belong to the server, like /.lockdav/:
// every method that names one, as its Request-URI or as a COPY or MOVE Destination (RFC 4918
// §10.3), is refused with 403, and nothing is created there.

import (
	"net/http"
	"strings"
	"testing"
)

func TestHiddenNamesForbidden(t *testing.T) {
	const dest = "http://example.com"
	forEachTree(t, func(t *testing.T, ts *testServer) {
		ts.mkcol("/d/")
		ts.put("/d/f", "x")
		for _, hidden := range []string{"/.lockdav-upload-x", "/d/.lockdav-upload-x", "/d/.lockdav-upload-x/y"} {
			cases := []struct {
				method, target, body string
				extra                []any
			}{
				{"MKCOL", hidden, "", nil},
				{"PUT", hidden, "body", nil},
				{"PUT", hidden, "body", []any{"If-None-Match", "*"}},
				{"LOCK", hidden, exclusiveBody, nil},
				{"COPY", "/d/f", "", []any{"Destination", dest + hidden}},
				{"COPY", "/d/", "", []any{"Destination", dest + hidden}},
				{"MOVE", "/d/f", "", []any{"Destination", dest + hidden}},
				{"COPY", hidden, "", []any{"Destination", dest + "/d/g"}},
				{"MOVE", hidden, "", []any{"Destination", dest + "/d/g"}},
				{"DELETE", hidden, "", nil},
				{"PROPPATCH", hidden, proppatchBody, nil},
				{"UNLOCK", hidden, "", []any{"Lock-Token", "<urn:uuid:00000000-0000-4000-8000-000000000000>"}},
				{"OPTIONS", hidden, "", nil},
				{"GET", hidden, "", nil},
				{"PROPFIND", hidden, "", nil},
				{"POST", hidden, "", nil},
			}
			for _, c := range cases {
				what := c.method + " " + c.target
				if len(c.extra) > 0 {
					what += " " + c.extra[1].(string)
				}
				if w := ts.do(c.method, c.target, c.body, c.extra...); w.Code != http.StatusForbidden {
					t.Errorf("%s: got status %d, want 403; body: %s", what, w.Code, w.Body.String())
				}
			}
		}
		if got, ok := ts.read("/d/f"); !ok || got != "x" {
			t.Fatalf("/d/f after the refused requests: got %q, %v; want %q", got, ok, "x")
		}
		w := ts.do("PROPFIND", "/d/", "", "Depth", "1")
		want(t, w, http.StatusMultiStatus, "PROPFIND /d/")
		if n := strings.Count(w.Body.String(), "<D:response>"); n != 2 {
			t.Fatalf("PROPFIND /d/: got %d responses, want 2 (/d/ and /d/f): %s", n, w.Body.String())
		}
	})
}
