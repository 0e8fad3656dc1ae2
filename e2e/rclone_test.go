package e2e

// rclone (Debian package rclone) as a WebDAV client with vendor=other: a tree of files copied
// in and out byte for byte, listed, synced and deleted.
//
// Modification times: with vendor=other rclone cannot set a modification time on the server
// (only the owncloud/nextcloud vendors have a way to), so an uploaded file carries the time of
// its upload, and rclone compares by size alone. On the way back rclone sets each local file's
// time to the server's getlastmodified (RFC 4918 §15.7), which has whole seconds. The test
// asserts exactly that.

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// rcloneTree is the local tree the test uploads: names with a space and non-ASCII letters, a
// nested directory, an empty file and a binary file larger than one upload buffer.
func rcloneTree() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	bin := make([]byte, 300_000)
	for i := range bin {
		bin[i] = byte(rng.UintN(256))
	}
	return map[string][]byte{
		"a.txt":               []byte("alpha\n"),
		"with space.txt":      []byte("spaced out\n"),
		"naïve – ünïcode.txt": []byte("ünïcode\n"),
		"empty":               {},
		"sub/b.bin":           bin,
		"sub/deeper/c.txt":    []byte("gamma\n"),
	}
}

func TestRclone(t *testing.T) {
	bin := needBinary(t, "rclone", "rclone")
	l := startLive(t, liveOptions{})
	src := t.TempDir()
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, content := range rcloneTree() {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	remote := ":webdav,url='" + l.URL + "',vendor=other:tree"
	rc := func(args ...string) string {
		t.Helper()
		env := []string{"RCLONE_CONFIG=" + filepath.Join(t.TempDir(), "rclone.conf")}
		out, err := run(t, 60*time.Second, "", env, "", bin, args...)
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	before := time.Now().Add(-time.Second)
	rc("copy", src, remote)
	after := time.Now().Add(time.Second)
	for name, want := range rcloneTree() {
		got, ok := l.file(t, "/tree/"+name)
		if !ok || !bytes.Equal([]byte(got), want) {
			t.Errorf("server copy of %s: %d bytes (exists %v), want %d identical bytes", name, len(got), ok, len(want))
		}
		fi, err := os.Stat(filepath.Join(l.Root, "tree", filepath.FromSlash(name)))
		if err == nil && (fi.ModTime().Before(before) || fi.ModTime().After(after)) {
			t.Errorf("server mtime of %s: got %v, want the upload time (between %v and %v): vendor=other cannot set it",
				name, fi.ModTime(), before, after)
		}
	}

	listed := rcloneList(t, rc("lsjson", "-R", "--files-only", remote))
	wantNames := sortedKeys(rcloneTree())
	if got := sortedKeys(listed); strings.Join(got, "|") != strings.Join(wantNames, "|") {
		t.Errorf("lsjson paths: got %q, want %q", got, wantNames)
	}
	for name, e := range listed {
		fi, err := os.Stat(filepath.Join(l.Root, "tree", filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("lsjson lists %s, not on disk: %v", name, err)
			continue
		}
		if e.Size != fi.Size() {
			t.Errorf("lsjson size of %s: got %d, want %d", name, e.Size, fi.Size())
		}
		if d := fi.ModTime().Sub(e.ModTime); d < 0 || d >= time.Second {
			t.Errorf("lsjson modtime of %s: got %v, want the server's %v truncated to the second", name, e.ModTime, fi.ModTime())
		}
	}

	out := t.TempDir()
	rc("copy", remote, out)
	for name, want := range rcloneTree() {
		p := filepath.Join(out, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("downloaded %s: %d bytes (%v), want %d identical bytes", name, len(got), err, len(want))
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.ModTime().Equal(listed[name].ModTime) {
			t.Errorf("downloaded %s mtime: got %v, want the server's getlastmodified %v", name, fi.ModTime(), listed[name].ModTime)
		}
	}

	// sync: one file grows (rclone compares sizes when it has no modtimes), one is new, one is gone.
	writeLocal(t, src, "a.txt", "alpha, longer now\n")
	writeLocal(t, src, "new.txt", "brand new\n")
	if err := os.Remove(filepath.Join(src, "sub", "deeper", "c.txt")); err != nil {
		t.Fatal(err)
	}
	rc("sync", src, remote)
	for _, f := range []struct {
		name, want string
		exists     bool
	}{
		{"a.txt", "alpha, longer now\n", true},
		{"new.txt", "brand new\n", true},
		{"sub/deeper/c.txt", "", false},
	} {
		got, ok := l.file(t, "/tree/"+f.name)
		if ok != f.exists || got != f.want {
			t.Errorf("after sync, %s: got %q (exists %v), want %q (exists %v)", f.name, got, ok, f.want, f.exists)
		}
	}

	rc("delete", "--include", "*.bin", remote)
	if _, ok := l.file(t, "/tree/sub/b.bin"); ok {
		t.Errorf("after rclone delete --include *.bin: sub/b.bin still on the server")
	}
	if got, ok := l.file(t, "/tree/with space.txt"); !ok || got != "spaced out\n" {
		t.Errorf("rclone delete --include *.bin removed with space.txt too (got %q, exists %v)", got, ok)
	}
}

// rcloneEntry is one object of rclone lsjson.
type rcloneEntry struct {
	Path    string
	Size    int64
	ModTime time.Time
}

func rcloneList(t *testing.T, out string) map[string]rcloneEntry {
	t.Helper()
	start := strings.Index(out, "[")
	if start < 0 {
		t.Fatalf("rclone lsjson: no JSON array in %q", out)
	}
	var entries []rcloneEntry
	if err := json.NewDecoder(strings.NewReader(out[start:])).Decode(&entries); err != nil {
		t.Fatalf("rclone lsjson: %v in %q", err, out)
	}
	m := map[string]rcloneEntry{}
	for _, e := range entries {
		m[e.Path] = e
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
