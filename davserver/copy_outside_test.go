package davserver

// A collection holding a symlink that leads outside the root: the link is a member no method
// may follow (403), but the collection itself stays usable. COPY copies the rest and names the
// member in a 207 Multi-Status (RFC 4918 §9.8.3, §9.8.8); DELETE, MOVE and PROPFIND succeed.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideTree makes /d/ with a file, a subcollection with a file, and two symlinks out of the
// root (to a file and to a directory), and returns the outside directory.
func outsideTree(t *testing.T, ts *testServer, root string) string {
	t.Helper()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.mkcol("/d/")
	ts.put("/d/a", "A")
	ts.mkcol("/d/sub/")
	ts.put("/d/sub/b", "B")
	for name, target := range map[string]string{"d/link": filepath.Join(outside, "secret"), "d/sub/linkdir": outside} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return outside
}

func TestCopyCollectionWithOutsideLink(t *testing.T) {
	ts, root := newOSTestServer(t)
	outsideTree(t, ts, root)
	want(t, ts.do("PROPPATCH", "/d/sub/b", proppatchBody), http.StatusMultiStatus, "PROPPATCH /d/sub/b")
	w := ts.do("COPY", "/d/", "", "Destination", "http://example.com/e/")
	want(t, w, http.StatusMultiStatus, "COPY /d/ /e/")
	body := w.Body.String()
	for _, member := range []string{"/d/link", "/d/sub/linkdir"} {
		resp := "<D:response><D:href>" + member + "</D:href><D:status>HTTP/1.1 403 Forbidden</D:status>"
		if !strings.Contains(body, resp) {
			t.Errorf("COPY /d/ /e/: no 403 response for %s in %s", member, body)
		}
	}
	if n := strings.Count(body, "<D:response>"); n != 2 {
		t.Errorf("COPY /d/ /e/: got %d responses, want 2: %s", n, body)
	}
	for p, content := range map[string]string{"/e/a": "A", "/e/sub/b": "B"} {
		if got, ok := ts.read(p); !ok || got != content {
			t.Errorf("%s after the COPY: got %q, %v; want %q", p, got, ok, content)
		}
	}
	// §9.8.2: the members copied keep their dead properties.
	props := ts.do("PROPFIND", "/e/sub/b", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:p xmlns:Z="urn:z"/></D:prop></D:propfind>`, "Depth", "0")
	if !strings.Contains(props.Body.String(), ">v</") {
		t.Errorf("PROPFIND /e/sub/b: dead property not copied: %s", props.Body.String())
	}
	for _, p := range []string{"e/link", "e/sub/linkdir"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("/%s after the COPY: got %v, want nothing there", p, err)
		}
	}
	// §9.8.4: the same COPY onto the copy replaces it, again with the 207; Overwrite: F is 412.
	want(t, ts.do("COPY", "/d/", "", "Destination", "http://example.com/e/"), http.StatusMultiStatus, "COPY /d/ onto /e/")
	want(t, ts.do("COPY", "/d/", "", "Destination", "http://example.com/e/", "Overwrite", "F"),
		http.StatusPreconditionFailed, "COPY /d/ onto /e/ with Overwrite: F")
	// §9.8.3: Depth 0 copies the collection alone, with no member to fail.
	want(t, ts.do("COPY", "/d/", "", "Destination", "http://example.com/z/", "Depth", "0"), http.StatusCreated, "COPY Depth 0")
	// A COPY of the link itself is the Request-URI's own failure: 403, not a 207.
	want(t, ts.do("COPY", "/d/link", "", "Destination", "http://example.com/l"), http.StatusForbidden, "COPY /d/link")
}

func TestOutsideLinkCollectionOtherMethods(t *testing.T) {
	ts, root := newOSTestServer(t)
	outside := outsideTree(t, ts, root)
	w := ts.do("PROPFIND", "/d/", "", "Depth", "1")
	want(t, w, http.StatusMultiStatus, "PROPFIND /d/ Depth 1")
	for _, member := range []string{"<D:href>/d/</D:href>", "<D:href>/d/a</D:href>", "<D:href>/d/sub/</D:href>"} {
		if !strings.Contains(w.Body.String(), member) {
			t.Errorf("PROPFIND /d/: %s missing from %s", member, w.Body.String())
		}
	}
	want(t, ts.do("PROPFIND", "/d/", "", "Depth", "infinity"), http.StatusMultiStatus, "PROPFIND /d/ Depth infinity")
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/m/"), http.StatusCreated, "MOVE /d/ /m/")
	want(t, ts.do("DELETE", "/m/", ""), http.StatusNoContent, "DELETE /m/")
	if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "SECRET" {
		t.Fatalf("the link's target after DELETE: got %q, %v; want it untouched", b, err)
	}
}
