package fs

// The root jail: no name, and no symlink inside the root, may lead a request
// to read or write outside the root.

import (
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/webdav"
)

const secret = "SECRET"

// jail builds base/root (the served tree) beside base/outside (a sentinel
// tree that must never be touched) and returns the FS and a check that the
// sentinel tree is unchanged.
func jail(t *testing.T) (*FS, string, func()) {
	t.Helper()
	root, outside := hostileTree(t, nil, nil)
	before := snapshot(t, outside)
	f, _ := openOS(t, root)
	return f, root, func() {
		t.Helper()
		if after := snapshot(t, outside); after != before {
			t.Fatalf("outside tree changed:\nbefore %s\nafter  %s", before, after)
		}
	}
}

// hostileTree makes a root and, beside it, an outside tree holding a secret, with symlinks in
// the root that lead out of it (relative, absolute, dangling) and inside it, plus the extra
// directories (relative to the root) and links the caller names.
func hostileTree(t *testing.T, dirs []string, extraLinks map[string]string) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	mustOK(t, os.MkdirAll(filepath.Join(outside, "odir"), 0o755))
	for _, d := range append([]string{"sub"}, dirs...) {
		mustOK(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	mustOK(t, os.WriteFile(filepath.Join(outside, "secret"), []byte(secret), 0o644))
	mustOK(t, os.WriteFile(filepath.Join(root, "sub", "x"), []byte("inside"), 0o644))
	links := map[string]string{
		"lf":   "../outside/secret",
		"ld":   "../outside",
		"af":   filepath.Join(outside, "secret"),
		"ad":   outside,
		"dang": "../outside/new",
		"in":   "sub",
		"ain":  filepath.Join(root, "sub"),
	}
	for name, target := range extraLinks {
		links[name] = strings.ReplaceAll(target, "$ROOT", root)
	}
	for name, target := range links {
		mustOK(t, os.Symlink(target, filepath.Join(root, name)))
	}
	return root, outside
}

// snapshot describes every entry under dir: name, size, mtime, content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.ModTime().Format(time.RFC3339Nano) + " ")
		if !d.IsDir() {
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(c)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestJailSymlinks: symlinks inside the root that point outside it, to a
// file or a directory, relative or absolute, refuse every access.
func TestJailSymlinks(t *testing.T) {
	ctx := context.Background()
	ops := []struct {
		name string
		do   func(f *FS, p string) error
	}{
		{"stat", func(f *FS, p string) error { _, err := f.Stat(ctx, p); return err }},
		{"open", func(f *FS, p string) error { return readAll(f, p) }},
		{"create", func(f *FS, p string) error { return create(ctx, f, p, "pwned") }},
		{"upload", func(f *FS, p string) error { _, err := upload(f, p, strings.NewReader("pwned"), 0); return err }},
		{"mkdir", func(f *FS, p string) error { return f.Mkdir(ctx, p+"/new", 0o755) }},
		{"rename to", func(f *FS, p string) error { return f.Rename(ctx, "/sub/x", p+"/moved") }},
	}
	targets := []string{"/lf", "/af", "/ld/secret", "/ad/secret", "/ld", "/ad", "/dang"}
	for _, op := range ops {
		for _, target := range targets {
			t.Run(op.name+target, func(t *testing.T) {
				f, _, unchanged := jail(t)
				err := op.do(f, target)
				if !errors.Is(err, ErrOutsideRoot) {
					t.Errorf("got %v, want ErrOutsideRoot", err)
				}
				if !errors.Is(err, os.ErrPermission) {
					t.Errorf("got %v, want it to match os.ErrPermission", err)
				}
				unchanged()
			})
		}
	}
}

func readAll(f *FS, p string) error {
	file, err := f.OpenFile(context.Background(), p, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer file.Close()
	b, err := io.ReadAll(file)
	if strings.Contains(string(b), secret) {
		return errors.New("read the sentinel: " + string(b))
	}
	return err
}

// TestJailListing: a listing shows the links, but following them fails.
func TestJailListing(t *testing.T) {
	f, _, unchanged := jail(t)
	ctx := context.Background()
	dir, err := f.OpenFile(ctx, "/", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := dir.Readdir(-1)
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	escaping := map[string]bool{"lf": true, "ld": true, "af": true, "ad": true, "dang": true}
	for _, fi := range infos {
		p := "/" + fi.Name()
		_, statErr := f.Stat(ctx, p)
		openErr := readAll(f, p)
		if escaping[fi.Name()] {
			if !errors.Is(statErr, ErrOutsideRoot) || !errors.Is(openErr, ErrOutsideRoot) {
				t.Errorf("%s: stat %v, open %v, want ErrOutsideRoot", p, statErr, openErr)
			}
		} else if statErr != nil {
			t.Errorf("%s: stat %v, want ok", p, statErr)
		}
	}
	unchanged()
}

// TestJailInsideLinks: symlinks that stay inside the root work, absolute
// ones too.
func TestJailInsideLinks(t *testing.T) {
	f, root, unchanged := jail(t)
	ctx := context.Background()
	for _, p := range []string{"/in/x", "/ain/x"} {
		if got := read(ctx, f, p); got != "inside" {
			t.Errorf("read %s: got %q, want %q", p, got, "inside")
		}
	}
	if _, err := upload(f, "/ain/up", strings.NewReader("up"), 0); err != nil {
		t.Fatalf("upload through an absolute inside link: %v", err)
	}
	// An upload holds its directory open through the link, and checks before its rename that
	// the link still leads there.
	if _, err := upload(f, "/in/up2", strings.NewReader("up2"), 0); err != nil {
		t.Fatalf("upload through a relative inside link: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "sub", "up2")); err != nil || string(b) != "up2" {
		t.Fatalf("sub/up2 holds %q (%v), want %q", b, err, "up2")
	}
	mustOK(t, f.Mkdir(ctx, "/ain/d", 0o755))
	mustOK(t, f.Rename(ctx, "/ain/up", "/in/d/up"))
	b, err := os.ReadFile(filepath.Join(root, "sub", "d", "up"))
	if err != nil || string(b) != "up" {
		t.Fatalf("sub/d/up holds %q (%v), want %q", b, err, "up")
	}
	unchanged()
}

// TestJailRemoveLink: removing a link removes the link, never its target.
func TestJailRemoveLink(t *testing.T) {
	f, root, unchanged := jail(t)
	ctx := context.Background()
	if err := f.RemoveAll(ctx, "/ad/odir"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("remove through a link: got %v, want ErrOutsideRoot", err)
	}
	for _, p := range []string{"/ld", "/ad", "/lf", "/af"} {
		mustOK(t, f.RemoveAll(ctx, p))
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	unchanged()
}

// TestJailNames: hostile names never touch anything outside the root.
func TestJailNames(t *testing.T) {
	ctx := context.Background()
	names := []string{
		"/../outside/secret",
		"../outside/secret",
		"/sub/../../outside/secret",
		"/%2e%2e/outside/secret",
		"%2e%2e%2foutside%2fsecret",
		"/..\\outside\\secret",
		"\\..\\outside\\secret",
		"/../outside/secret\x00",
		"/\x00../outside/secret",
		"//../outside/secret",
		"/./.././outside/secret",
		"/" + strings.Repeat("../", 2000) + "outside/secret",
	}
	for _, name := range names {
		t.Run(strings.ToValidUTF8(name[:min(len(name), 40)], "?"), func(t *testing.T) {
			f, _, unchanged := jail(t)
			if err := readAll(f, name); err == nil {
				t.Errorf("open %q: got nil error", name)
			}
			// Some of these names clean to a name inside the root, where the call may succeed;
			// what matters is that none reaches the outside tree, which unchanged checks, so
			// the calls' own errors are not.
			_ = create(ctx, f, name, "pwned")
			_, _ = upload(f, name, strings.NewReader("pwned"), 0)
			_ = f.Mkdir(ctx, name, 0o755)
			_ = f.Rename(ctx, "/sub/x", name)
			_ = f.RemoveAll(ctx, name)
			_ = f.RemoveAll(ctx, name+"/..")
			unchanged()
		})
	}
}

// TestJailUnderHandler: through x/net's Handler an escaping link is never
// served, and a listing of its directory still succeeds without it.
func TestJailUnderHandler(t *testing.T) {
	f, _, unchanged := jail(t)
	srv := httptest.NewServer(&webdav.Handler{FileSystem: f, LockSystem: webdav.NewMemLS()})
	defer srv.Close()
	c := davClient{t, srv.URL}
	for _, p := range []string{"/lf", "/af", "/ld/secret", "/ad/secret", "/%2e%2e/outside/secret", "/..%2foutside%2fsecret"} {
		code, body, _ := c.do("GET", p, "")
		if code == http.StatusOK || strings.Contains(body, secret) {
			t.Errorf("GET %s: got %d %q", p, code, body)
		}
	}
	for _, p := range []string{"/lf", "/ld/x", "/dang"} {
		if code, _, _ := c.do("PUT", p, "pwned"); code < 400 {
			t.Errorf("PUT %s: got %d, want an error status", p, code)
		}
	}
	resp := c.want("PROPFIND", "/", "", http.StatusMultiStatus, "Depth", "1")
	for _, want := range []string{"/sub/", "/in/", "/ain/"} {
		if !strings.Contains(resp, want) {
			t.Errorf("PROPFIND / lacks %s:\n%s", want, resp)
		}
	}
	for _, leak := range []string{"/lf<", "/af<", "/ld/<", "/ad/<", "/dang<", secret} {
		if strings.Contains(resp, leak) {
			t.Errorf("PROPFIND / shows %q:\n%s", leak, resp)
		}
	}
	unchanged()
}
