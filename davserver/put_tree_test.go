package davserver

// PUT (RFC 4918 §9.7) into a collection that was deleted (§9.6) or moved (§9.9) and made again
// is a PUT into a new, existing collection: 201, and nothing of it left anywhere else. A PUT whose
// collection is moved, replaced or deleted while its body arrives answers 409 and leaves nothing
// behind, unless the collection is back at its URL by the time the body is in.

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
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

// slowPut starts a PUT of /d/f.txt whose body arrives in two parts and returns once the handler
// has read the first, and so has made its temporary file: io.Pipe's Write returns only when the
// reader has taken the bytes. finish sends the second part and returns the PUT's answer.
func slowPut(ts *testServer) (finish func() int) {
	ts.t.Helper()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		w := httptest.NewRecorder()
		ts.h.ServeHTTP(w, httptest.NewRequest("PUT", "/d/f.txt", pr))
		done <- w.Code
	}()
	if _, err := pw.Write([]byte("part1\n")); err != nil {
		ts.t.Fatal(err)
	}
	return func() int {
		if _, err := pw.Write([]byte("part2\n")); err != nil {
			ts.t.Fatal(err)
		}
		_ = pw.Close()
		return <-done
	}
}

// The audit's case: the PUT's collection is moved while the body arrives. The PUT answers 409
// (its parent is gone from the URL it named), and its temporary file, with the whole body, must
// not stay in the moved collection, where no request could remove it (such names get 403).
func TestPutCollectionMovedDuringUpload(t *testing.T) {
	ts, root := newOSTestServer(t)
	ts.mkcol("/d/")
	finish := slowPut(ts)
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/"), http.StatusCreated, "MOVE /d/ /e/")
	if code := finish(); code != http.StatusConflict {
		t.Errorf("PUT /d/f.txt after MOVE /d/ /e/: got %d, want 409", code)
	}
	if left := hiddenUploads(t, root); len(left) != 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(root, "e", "f.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("e/f.txt: got %v, want no such file", err)
	}
}

// The collection is moved away and a new one made at its URL: the upload belongs to neither. The
// PUT answers 409; nothing appears in the new /d/, nothing stays in /e/.
func TestPutCollectionReplacedDuringUpload(t *testing.T) {
	ts, root := newOSTestServer(t)
	ts.mkcol("/d/")
	finish := slowPut(ts)
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/"), http.StatusCreated, "MOVE /d/ /e/")
	ts.mkcol("/d/")
	if code := finish(); code != http.StatusConflict {
		t.Errorf("PUT /d/f.txt into a replaced /d/: got %d, want 409", code)
	}
	if left := hiddenUploads(t, root); len(left) != 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
	for _, p := range []string{"d/f.txt", "e/f.txt"} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want no such file", p, err)
		}
	}
}

// The collection is deleted while the body arrives: 409, and no file anywhere.
func TestPutCollectionDeletedDuringUpload(t *testing.T) {
	ts, root := newOSTestServer(t)
	ts.mkcol("/d/")
	finish := slowPut(ts)
	want(t, ts.do("DELETE", "/d/", ""), http.StatusNoContent, "DELETE /d/")
	if code := finish(); code != http.StatusConflict {
		t.Errorf("PUT /d/f.txt after DELETE /d/: got %d, want 409", code)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("root holds %s, want nothing", e.Name())
	}
}

// The collection is moved away and back while the body arrives: it is the PUT's parent again,
// so the PUT succeeds there, with the whole body, and leaves nothing behind.
func TestPutCollectionMovedBackDuringUpload(t *testing.T) {
	ts, root := newOSTestServer(t)
	ts.mkcol("/d/")
	finish := slowPut(ts)
	want(t, ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/"), http.StatusCreated, "MOVE /d/ /e/")
	want(t, ts.do("MOVE", "/e/", "", "Destination", "http://example.com/d/"), http.StatusCreated, "MOVE /e/ /d/")
	if code := finish(); code != http.StatusCreated {
		t.Errorf("PUT /d/f.txt after MOVE /d/ /e/ and back: got %d, want 201", code)
	}
	if got, _ := ts.read("/d/f.txt"); got != "part1\npart2\n" {
		t.Errorf("/d/f.txt holds %q, want the whole body", got)
	}
	if left := hiddenUploads(t, root); len(left) != 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
}

// The same MOVE and DELETE during an upload that overwrites, and so on Linux writes into the
// spare its collection kept from an earlier overwrite: 409, and nothing left in /e/ or anywhere.
func TestPutIntoSpareCollectionGoneDuringUpload(t *testing.T) {
	for _, gone := range []struct {
		name string
		do   func(ts *testServer) *httptest.ResponseRecorder
		code int
	}{
		{"MOVE", func(ts *testServer) *httptest.ResponseRecorder {
			return ts.do("MOVE", "/d/", "", "Destination", "http://example.com/e/")
		}, http.StatusCreated},
		{"DELETE", func(ts *testServer) *httptest.ResponseRecorder { return ts.do("DELETE", "/d/", "") }, http.StatusNoContent},
	} {
		t.Run(gone.name, func(t *testing.T) {
			ts, root := newOSTestServer(t)
			ts.mkcol("/d/")
			want(t, ts.do("PUT", "/d/f.txt", "one"), http.StatusCreated, "PUT /d/f.txt")
			want(t, ts.do("PUT", "/d/f.txt", "two"), http.StatusNoContent, "PUT /d/f.txt again")
			finish := slowPut(ts)
			want(t, gone.do(ts), gone.code, gone.name+" /d/")
			if code := finish(); code != http.StatusConflict {
				t.Errorf("PUT /d/f.txt after %s /d/: got %d, want 409", gone.name, code)
			}
			if left := hiddenUploads(t, root); len(left) != 0 {
				t.Errorf("temporary upload files left behind: %v", left)
			}
			if err := ts.fs.Close(); err != nil {
				t.Fatal(err)
			}
			if left := hiddenUploads(t, root); len(left) != 0 {
				t.Errorf("after Close: temporary upload files left behind: %v", left)
			}
		})
	}
}
