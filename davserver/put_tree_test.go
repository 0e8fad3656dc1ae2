package davserver

// PUT (RFC 4918 §9.7) into a collection that was deleted (§9.6) or moved (§9.9) and made again
// is a PUT into a new, existing collection: 201, and nothing of it left anywhere else.

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// hiddenUploads lists the upload temporary files (.lockdav-upload-*) anywhere below root.
func hiddenUploads(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".lockdav-upload-") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// An overwrite (the second PUT) must leave nothing in /d/ that a later PUT into a new /d/
// trips over.
func TestPutAfterCollectionDeleted(t *testing.T) {
	forEachTree(t, func(t *testing.T, ts *testServer) {
		ts.mkcol("/d/")
		want(t, ts.do("PUT", "/d/a", "one"), http.StatusCreated, "PUT /d/a")
		want(t, ts.do("PUT", "/d/a", "two"), http.StatusNoContent, "PUT /d/a again")
		want(t, ts.do("DELETE", "/d/", ""), http.StatusNoContent, "DELETE /d/")
		ts.mkcol("/d/")
		want(t, ts.do("PUT", "/d/b", "three"), http.StatusCreated, "PUT /d/b into the new /d/")
		if got, _ := ts.read("/d/b"); got != "three" {
			t.Fatalf("GET /d/b: got %q, want %q", got, "three")
		}
	})
}

// The same after a MOVE: the PUT into the new /d/ answers 201, and neither its body nor anything
// else is left as a hidden upload file in the moved collection, before or after the tree closes.
func TestPutAfterCollectionMoved(t *testing.T) {
	ts, root := newOSTestServer(t)
	ts.mkcol("/d/")
	want(t, ts.do("PUT", "/d/a", "one"), http.StatusCreated, "PUT /d/a")
	want(t, ts.do("PUT", "/d/a", "two"), http.StatusNoContent, "PUT /d/a again")
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/"), http.StatusCreated, "MOVE /d/ /e/")
	ts.mkcol("/d/")
	want(t, ts.do("PUT", "/d/b", "three"), http.StatusCreated, "PUT /d/b into the new /d/")
	if left := hiddenUploads(t, root); len(left) != 0 {
		t.Fatalf("after the PUT: hidden upload files left: %v", left)
	}
	if err := ts.fs.Close(); err != nil {
		t.Fatal(err)
	}
	if left := hiddenUploads(t, root); len(left) != 0 {
		t.Fatalf("after Close: hidden upload files left: %v", left)
	}
}
