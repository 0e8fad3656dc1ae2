//go:build linux

package fs

// Spare files (spare.go): an overwrite keeps the replaced file for reuse only
// when nobody can still read its old content; the content every reader and
// every target sees is always what an atomic rename would have given.

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inode returns the inode number of the OS file at p.
func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// put uploads body to name and fails the test on an error.
func put(t *testing.T, f *FS, name, body string) {
	t.Helper()
	if _, err := upload(f, name, strings.NewReader(body), 0); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hidden lists the hidden files in the OS directory dir.
func hidden(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if isHidden(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// withSpare returns an OS-backed FS whose root holds /f, written twice: v2, and v1's old file
// kept as a spare.
func withSpare(t *testing.T) (string, *FS) {
	t.Helper()
	root := t.TempDir()
	f, _ := openOS(t, root)
	put(t, f, "/f", "v1")
	put(t, f, "/f", "v2")
	return root, f
}

func TestSpareReusesReplacedInode(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	target := filepath.Join(root, "f")
	put(t, f, "/f", "v1")
	first := inode(t, target)
	put(t, f, "/f", "v2") // v1's inode becomes a spare
	if got := inode(t, target); got == first {
		t.Fatalf("overwrite kept inode %d: not atomic", got)
	}
	put(t, f, "/f", "v3") // written into v1's old inode
	if got := inode(t, target); got != first {
		t.Errorf("third upload has inode %d, want the spare %d", got, first)
	}
	if got := mustRead(t, target); got != "v3" {
		t.Errorf("f holds %q, want v3", got)
	}
	if got := hidden(t, root); len(got) != 1 {
		t.Errorf("hidden files %q, want one spare", got)
	}
	noTemp(t, f, "/")
}

// A GET that still sends the old content keeps it whole: the old file is
// removed as a rename removes it, not emptied for reuse.
func TestSpareNotReusedWhileOpen(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	ctx := context.Background()
	put(t, f, "/f", "old content")
	old := inode(t, filepath.Join(root, "f"))
	reader, err := f.OpenFile(ctx, "/f", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	put(t, f, "/f", "new content")
	put(t, f, "/f", "newer content")
	put(t, f, "/f", "newest")
	got, err := io.ReadAll(reader)
	if err != nil || string(got) != "old content" {
		t.Fatalf("open reader got %q (%v), want the old content", got, err)
	}
	if ino := inode(t, filepath.Join(root, "f")); ino == old {
		t.Fatalf("the inode a reader held open (%d) was reused", old)
	}
}

// A spare opened by someone else after it was kept is not written into.
func TestSpareOpenedMeanwhileIsDropped(t *testing.T) {
	root, f := withSpare(t)
	spares := hidden(t, root)
	if len(spares) != 1 {
		t.Fatalf("hidden files %q, want one spare", spares)
	}
	snoop, err := os.Open(filepath.Join(root, spares[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer snoop.Close()
	put(t, f, "/f", "secret")
	got, err := io.ReadAll(snoop)
	if err != nil || len(got) != 0 {
		t.Fatalf("a descriptor on the spare reads %q (%v), want nothing", got, err)
	}
	if got := mustRead(t, filepath.Join(root, "f")); got != "secret" {
		t.Errorf("f holds %q, want secret", got)
	}
	noTemp(t, f, "/")
}

// The other link of a hard-linked file keeps the old content.
func TestSpareKeepsHardLinks(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	put(t, f, "/f", "shared")
	if err := os.Link(filepath.Join(root, "f"), filepath.Join(root, "g")); err != nil {
		t.Fatal(err)
	}
	put(t, f, "/f", "replaced")
	put(t, f, "/f", "again")
	if got := mustRead(t, filepath.Join(root, "g")); got != "shared" {
		t.Fatalf("the other link holds %q, want %q", got, "shared")
	}
	if got := mustRead(t, filepath.Join(root, "f")); got != "again" {
		t.Fatalf("f holds %q, want again", got)
	}
}

// A symlink replaced by an upload is removed, never opened as a spare.
func TestSpareReplacesSymlink(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	put(t, f, "/real", "pointed to")
	if err := os.Symlink("real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	put(t, f, "/link", "own content")
	if fi, err := os.Lstat(filepath.Join(root, "link")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("link is %v (%v), want a regular file", fi.Mode(), err)
	}
	if got := mustRead(t, filepath.Join(root, "real")); got != "pointed to" {
		t.Fatalf("the symlink's target holds %q, want it untouched", got)
	}
	if got := hidden(t, root); len(got) != 0 {
		t.Fatalf("hidden files %q, want none", got)
	}
}

// An empty upload into a spare still gets the time of the upload.
func TestSpareEmptyUploadModTime(t *testing.T) {
	root, f := withSpare(t)
	long := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range hidden(t, root) {
		mustOK(t, os.Chtimes(filepath.Join(root, s), long, long))
	}
	before := time.Now().Add(-time.Second)
	put(t, f, "/g", "") // a new file, so no older target pushes its time
	fi, err := os.Stat(filepath.Join(root, "g"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 || fi.ModTime().Before(before) {
		t.Fatalf("g: %d bytes, modified %v; want empty, modified after %v", fi.Size(), fi.ModTime(), before)
	}
	if got := hidden(t, root); len(got) != 0 {
		t.Fatalf("hidden files %q, want the spare used", got)
	}
}

// A failed upload into a spare leaves the target and no hidden file.
func TestSpareFailedUpload(t *testing.T) {
	root, f := withSpare(t)
	if _, err := upload(f, "/f", strings.NewReader("much too long"), 3); err == nil {
		t.Fatal("upload over the limit succeeded")
	}
	if got := mustRead(t, filepath.Join(root, "f")); got != "v2" {
		t.Fatalf("f holds %q, want v2", got)
	}
	if got := hidden(t, root); len(got) != 0 {
		t.Fatalf("hidden files %q, want none", got)
	}
}

// Close removes every spare.
func TestSpareClose(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	ctx := context.Background()
	for _, d := range []string{"/a", "/b", "/c"} {
		mustOK(t, f.Mkdir(ctx, d, 0o755))
		put(t, f, d+"/f", "v1")
		put(t, f, d+"/f", "v2")
		if got := hidden(t, filepath.Join(root, d)); len(got) != 1 {
			t.Fatalf("%s: hidden files %q, want one spare", d, got)
		}
	}
	mustOK(t, f.Close())
	for _, d := range []string{"a", "b", "c"} {
		if got := hidden(t, filepath.Join(root, d)); len(got) != 0 {
			t.Fatalf("after Close %s holds %q, want no hidden file", d, got)
		}
	}
}

// A directory moved or deleted behind the server's back, with a spare in it, and made again at
// its path: an upload into the new one neither finds the old one's spare (that was a 409 when
// spares were remembered by path) nor writes anything into the old one; an upload into the
// moved one, at its new path, still reuses it.
func TestSpareFollowsItsDirectory(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	ctx := context.Background()
	mustOK(t, f.Mkdir(ctx, "/d", 0o755))
	put(t, f, "/d/f", "v1")
	spareIno := inode(t, filepath.Join(root, "d", "f"))
	put(t, f, "/d/f", "v2")
	mustOK(t, os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")))
	mustOK(t, os.Mkdir(filepath.Join(root, "d"), 0o755))
	if created, err := upload(f, "/d/g", strings.NewReader("new"), 0); err != nil || !created {
		t.Fatalf("upload into the new /d: created %v, %v; want a new file", created, err)
	}
	if got := hidden(t, filepath.Join(root, "d")); len(got) != 0 {
		t.Errorf("new /d holds hidden files %q, want none", got)
	}
	if got := hidden(t, filepath.Join(root, "e")); len(got) != 1 {
		t.Fatalf("/e holds hidden files %q, want its spare", got)
	}
	put(t, f, "/e/f", "v3")
	if got := inode(t, filepath.Join(root, "e", "f")); got != spareIno {
		t.Errorf("upload into the moved directory has inode %d, want its spare %d", got, spareIno)
	}
	mustOK(t, os.RemoveAll(filepath.Join(root, "e")))
	mustOK(t, os.Mkdir(filepath.Join(root, "e"), 0o755))
	if created, err := upload(f, "/e/f", strings.NewReader("again"), 0); err != nil || !created {
		t.Fatalf("upload into a re-made /e: created %v, %v; want a new file", created, err)
	}
	noTemp(t, f, "/d")
	noTemp(t, f, "/e")
}

// A MOVE or DELETE through the server removes the spares of the collection it moves or
// deletes, there and then: none is left in a moved collection.
func TestSpareDroppedByMoveAndDelete(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	ctx := context.Background()
	for _, d := range []string{"/a", "/a/sub", "/b", "/keep"} {
		mustOK(t, f.Mkdir(ctx, d, 0o755))
		put(t, f, d+"/f", "v1")
		put(t, f, d+"/f", "v2")
	}
	mustOK(t, f.Rename(ctx, "/a", "/moved"))
	mustOK(t, f.RemoveAll(ctx, "/b"))
	for _, d := range []string{"moved", "moved/sub"} {
		if got := hidden(t, filepath.Join(root, d)); len(got) != 0 {
			t.Errorf("%s holds hidden files %q after the MOVE, want none", d, got)
		}
	}
	if got := hidden(t, filepath.Join(root, "keep")); len(got) != 1 {
		t.Errorf("keep holds hidden files %q, want its spare", got)
	}
	if n := len(pooledSpares(f)); n != 1 {
		t.Errorf("%d spares pooled, want 1", n)
	}
}

// A shared tree (several replicas, SetShared) keeps no spares: overwrites leave no hidden file
// that another replica's DELETE of the directory would trip over.
func TestSharedTreeKeepsNoSpares(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	f.SetShared()
	put(t, f, "/f", "v1")
	put(t, f, "/f", "v2")
	put(t, f, "/f", "v3")
	if h := hidden(t, root); len(h) != 0 {
		t.Fatalf("hidden files after overwrites of a shared tree: %v", h)
	}
	if got := mustRead(t, filepath.Join(root, "f")); got != "v3" {
		t.Fatalf("content = %q, want v3", got)
	}
}
