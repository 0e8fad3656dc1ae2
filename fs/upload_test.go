package fs

// PUT: RFC 4918 Section 9.7; the upload must be atomic (no partial content).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

// failingReader yields n bytes of 'x' and then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	copy(p, bytes.Repeat([]byte("x"), k))
	r.n -= k
	return k, nil
}

var errDisconnect = errors.New("client went away")

// noTemp fails if a hidden upload file is left in dir that is not a spare
// in the pool (spare.go), or a spare that is not empty.
func noTemp(t *testing.T, f *FS, dir string) {
	t.Helper()
	names, err := afero.ReadDir(f.base, dir)
	if err != nil {
		t.Fatalf("read dir %s: %v", dir, err)
	}
	pooled := pooledSpares(f)
	for _, fi := range names {
		if !strings.HasPrefix(fi.Name(), tempPrefix) {
			continue
		}
		if !pooled[path.Join(dir, fi.Name())] {
			t.Fatalf("temporary file %s left in %s", fi.Name(), dir)
		}
		if fi.Size() != 0 {
			t.Fatalf("spare %s in %s holds %d bytes, want none", fi.Name(), dir, fi.Size())
		}
	}
}

// pooledSpares returns the names of the spares in f's pool.
func pooledSpares(f *FS) map[string]bool {
	f.spares.mu.Lock()
	defer f.spares.mu.Unlock()
	names := map[string]bool{}
	for e := f.spares.order.Front(); e != nil; e = e.Next() {
		sp := e.Value.(*spare)
		names[path.Join(sp.path, sp.name)] = true
	}
	return names
}

func text(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// failing returns a body that breaks off, like a client that disconnects.
func failing(n int) func() io.Reader {
	return func() io.Reader { return &failingReader{n: n, err: errDisconnect} }
}

// cutShort returns a body that yields n bytes and then io.ErrUnexpectedEOF.
func cutShort(n int) func() io.Reader {
	return func() io.Reader { return &failingReader{n: n, err: io.ErrUnexpectedEOF} }
}

func upload(f *FS, name string, body io.Reader, limit int64) (bool, error) {
	_, created, err := f.Upload(context.Background(), name, body, limit, nil)
	return created, err
}

func TestUpload(t *testing.T) {
	old := "old content"
	tests := []struct {
		name        string
		target      string
		body        func() io.Reader
		limit       int64
		wantCreated bool
		wantErr     error
		want        string // content of /d/f afterwards
	}{
		{"new file", "/d/new", text("hello"), 0, true, nil, old},
		{"overwrite", "/d/f", text("replaced"), 0, false, nil, "replaced"},
		{"overwrite empty", "/d/f", text(""), 0, false, nil, ""},
		{"at limit", "/d/f", text("12345"), 5, false, nil, "12345"},
		{"over limit", "/d/f", text("123456"), 5, false, ErrTooLarge, old},
		{"reader fails halfway", "/d/f", failing(1 << 20), 0, false, errDisconnect, old},
		// net/http's body answers io.ErrUnexpectedEOF when the client sends less than its
		// Content-Length: that is a failure, not the end of a shorter body.
		{"body cut short", "/d/f", cutShort(3), 0, false, io.ErrUnexpectedEOF, old},
		{"body cut short after a full buffer", "/d/f", cutShort(40 << 10), 0, false, io.ErrUnexpectedEOF, old},
		{"parent missing", "/nope/f", text("x"), 0, false, os.ErrNotExist, old},
		{"parent is a file", "/d/f/g", text("x"), 0, false, os.ErrNotExist, old},
		{"target is a dir", "/d", text("x"), 0, false, ErrIsDir, old},
		{"target is root", "/", text("x"), 0, false, ErrIsDir, old},
		{"hidden name", "/d/" + tempPrefix + "x", text("x"), 0, false, ErrHiddenName, old},
		{"invalid name", "/d/a\\b", text("x"), 0, false, ErrInvalidName, old},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, f *FS) {
				ctx := context.Background()
				mustOK(t, f.Mkdir(ctx, "/d", 0o755))
				mustOK(t, create(ctx, f, "/d/f", old))
				patch(t, f, "/d/f", set(prop(nsX, "kept")))

				created, err := upload(f, tt.target, tt.body(), tt.limit)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("%s: got error %v, want %v", tt.name, err, tt.wantErr)
				}
				if created != tt.wantCreated {
					t.Errorf("%s: created = %v, want %v", tt.name, created, tt.wantCreated)
				}
				if got := read(ctx, f, "/d/f"); got != tt.want {
					t.Errorf("%s: /d/f holds %q, want %q", tt.name, got, tt.want)
				}
				if got := deadProps(t, f, "/d/f"); len(got) != 1 {
					t.Errorf("%s: /d/f props %v, want kept", tt.name, got)
				}
				if tt.wantCreated {
					if got := read(ctx, f, tt.target); got != "hello" {
						t.Errorf("%s: %s holds %q, want %q", tt.name, tt.target, got, "hello")
					}
				}
				noTemp(t, f, "/d")
				noTemp(t, f, "/")
			})
		})
	}
}

// TestUploadOSLeavesNothing lists the real directory with os.ReadDir.
func TestUploadOSLeavesNothing(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	if _, err := upload(f, "/f", strings.NewReader("v1"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(f, "/f", &failingReader{n: 100, err: errDisconnect}, 0); !errors.Is(err, errDisconnect) {
		t.Fatalf("upload cut off: got %v, want %v", err, errDisconnect)
	}
	if _, err := upload(f, "/f", strings.NewReader("much too long"), 3); err == nil {
		t.Fatal("upload over its limit of 3 bytes: got nil error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.Upload(ctx, "/f", strings.NewReader("cancelled"), 0, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled upload: got %v, want context.Canceled", err)
	}
	refused := errors.New("lock gone meanwhile")
	notReady := func() error { return refused }
	if _, _, err := f.Upload(context.Background(), "/f", strings.NewReader("refused"), 0, notReady); err != refused { //nolint:errorlint // returned as it is
		t.Fatalf("upload whose ready refused: got %v, want %v itself", err, refused)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "f" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("root holds %q, want only f", names)
	}
	b, err := os.ReadFile(root + "/f")
	if err != nil || string(b) != "v1" {
		t.Fatalf("f holds %q (%v), want %q", b, err, "v1")
	}
}

// TestUploadETagChanges overwrites with same-size content at the same
// modification time, which a coarse clock produces, and wants new ETags.
func TestUploadETagChanges(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		etag := func() string {
			fi, err := f.Stat(ctx, "/f")
			if err != nil {
				t.Fatal(err)
			}
			s, err := fi.(webdav.ETager).ETag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if _, err := upload(f, "/f", strings.NewReader("aaaa"), 0); err != nil {
			t.Fatal(err)
		}
		fixed := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		seen := map[string]bool{}
		for _, body := range []string{"bbbb", "cccc", "dddd"} {
			mustOK(t, f.base.Chtimes("/f", fixed, fixed)) // pin the clock
			seen[etag()] = true
			if _, err := upload(f, "/f", strings.NewReader(body), 0); err != nil {
				t.Fatal(err)
			}
			if got := etag(); seen[got] {
				t.Fatalf("after writing %q the ETag %s was seen before", body, got)
			}
			fi, _ := f.Stat(ctx, "/f")
			if !fi.ModTime().After(fixed) {
				t.Fatalf("mtime %v not after %v", fi.ModTime(), fixed)
			}
		}
	})
}

// TestUploadKeepsMode keeps the permissions of the replaced file.
func TestUploadKeepsMode(t *testing.T) {
	f, _ := openOS(t, t.TempDir())
	if _, err := upload(f, "/f", strings.NewReader("v1"), 0); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat(context.Background(), "/f")
	if got := fi.Mode().Perm(); got != 0o644 {
		t.Fatalf("new file mode %v, want 0644", got)
	}
	mustOK(t, f.base.Chmod("/f", 0o640))
	if _, err := upload(f, "/f", strings.NewReader("v2"), 0); err != nil {
		t.Fatal(err)
	}
	fi, _ = f.Stat(context.Background(), "/f")
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Fatalf("overwritten file mode %v, want 0640", got)
	}
}

// TestUploadConcurrent: readers never see a partial body while writers race
// to replace the same file.
func TestUploadConcurrent(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		bodies := []string{strings.Repeat("a", 10000), strings.Repeat("b", 20000), strings.Repeat("c", 30000)}
		if _, err := upload(f, "/f", strings.NewReader(bodies[0]), 0); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		for _, b := range bodies {
			go func() {
				var err error
				for range 10 {
					if _, e := upload(f, "/f", strings.NewReader(b), 0); e != nil {
						err = e
					}
				}
				done <- err
			}()
		}
		for range 50 {
			got := read(context.Background(), f, "/f")
			if !slices.Contains(bodies, got) {
				t.Fatalf("read a partial body of %d bytes", len(got))
			}
		}
		for range bodies {
			mustOK(t, <-done)
		}
		noTemp(t, f, "/")
	})
}

// TestUploadFileInfo: the FileInfo Upload returns describes the target as
// it now is, under the target's name, so that a PUT answers the ETag a GET
// then reports.
func TestUploadFileInfo(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		for _, body := range []string{"first", "second, longer"} {
			fi, _, err := f.Upload(ctx, "/f", strings.NewReader(body), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			st, err := f.Stat(ctx, "/f")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Name(), "f"; got != want {
				t.Errorf("got name %q, want %q", got, want)
			}
			if got, want := fi.Size(), int64(len(body)); got != want {
				t.Errorf("got size %d, want %d", got, want)
			}
			if got, want := ETag(fi), ETag(st); got != want {
				t.Errorf("got ETag %s, want %s (Stat's)", got, want)
			}
			if got, want := fi.Mode(), st.Mode(); got != want {
				t.Errorf("got mode %v, want %v (Stat's)", got, want)
			}
			if _, ok := fi.(webdav.ETager); !ok {
				t.Errorf("got a FileInfo without ETag, want one like Stat's")
			}
		}
	})
}

// peekReader calls peek once, halfway through a body.
type peekReader struct {
	io.Reader
	peek func()
}

func (r *peekReader) Read(p []byte) (int, error) {
	if r.peek != nil {
		r.peek()
		r.peek = nil
	}
	return r.Reader.Read(p)
}

// TestUploadTempPrivate: while an upload is received, its temporary file
// is readable by its owner only, whatever the target's permissions.
func TestUploadTempPrivate(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	if _, err := upload(f, "/f", strings.NewReader("v1"), 0); err != nil {
		t.Fatal(err)
	}
	var seen []os.FileMode
	body := &peekReader{Reader: strings.NewReader("v2"), peek: func() {
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Error(err)
			return
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				fi, err := e.Info()
				if err != nil {
					t.Error(err)
					return
				}
				seen = append(seen, fi.Mode().Perm())
			}
		}
	}}
	if _, err := upload(f, "/f", body, 0); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != tempPerm {
		t.Fatalf("got temporary files with modes %v, want one with %v", seen, tempPerm)
	}
	fi, err := f.Stat(context.Background(), "/f")
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != newPerm {
		t.Fatalf("got mode %v after the upload, want %v", got, newPerm)
	}
}
