package fs

// The openat2 fast path and the os.Root walk must give the same answers:
// the same data, and errors of the same kind, on every kind of name.

import (
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// twinRoots builds two identical trees with the links of jail and opens one
// jailFs on each: fast (openat2 where the kernel has it) and slow (os.Root
// only).
func twinRoots(t *testing.T) (fast, slow *jailFs) {
	t.Helper()
	open := func() *jailFs {
		root, _ := hostileTree(t, []string{"sub/d", "empty"},
			map[string]string{"ainx": "$ROOT/sub/x", "loop": "loop"})
		r, err := openRootFs(root)
		mustOK(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	fast, slow = open(), open()
	mustOK(t, closeDirFd(slow.dirfd))
	slow.dirfd = -1
	return fast, slow
}

// kind sorts an error into the classes callers tell apart.
func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrOutsideRoot):
		return "outside"
	case errors.Is(err, os.ErrNotExist):
		return "not-exist"
	case errors.Is(err, os.ErrExist):
		return "exist"
	case errors.Is(err, os.ErrPermission):
		return "permission"
	default:
		return "other"
	}
}

var twinNames = []string{
	"/", "/sub", "/sub/x", "/sub/x/y", "/sub/none", "/none/x", "/in/x", "/ain/x", "/ainx",
	"/lf", "/ld", "/ld/secret", "/af", "/ad", "/ad/secret", "/dang", "/loop", "/../sub/x",
	"/sub/../../outside/secret", "/empty",
}

func TestOpenat2SameAsRootRead(t *testing.T) {
	fast, slow := twinRoots(t)
	if runtime.GOOS == "linux" && fast.dirfd < 0 {
		t.Log("openat2 is not available here: both sides take the os.Root walk")
	}
	for _, name := range twinNames {
		t.Run(name, func(t *testing.T) {
			gotFi, gotErr := fast.Stat(name)
			wantFi, wantErr := slow.Stat(name)
			if kind(gotErr) != kind(wantErr) {
				t.Errorf("stat: got %v, want %v", gotErr, wantErr)
			}
			if gotErr == nil && wantErr == nil && (gotFi.Name() != wantFi.Name() || gotFi.Mode() != wantFi.Mode() || gotFi.Size() != wantFi.Size()) {
				t.Errorf("stat: got %s %v %d, want %s %v %d",
					gotFi.Name(), gotFi.Mode(), gotFi.Size(), wantFi.Name(), wantFi.Mode(), wantFi.Size())
			}
			got, gotErr := readRoot(fast, name)
			want, wantErr := readRoot(slow, name)
			if kind(gotErr) != kind(wantErr) || got != want {
				t.Errorf("read: got %q, %v, want %q, %v", got, gotErr, want, wantErr)
			}
		})
	}
}

func readRoot(r *jailFs, name string) (string, error) {
	f, err := r.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestOpenat2SameAsRootWrite(t *testing.T) {
	type op struct {
		name string
		do   func(r *jailFs) error
	}
	create := func(name string) func(*jailFs) error {
		return func(r *jailFs) error {
			f, err := r.Create(name)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	tests := []op{
		{"create /new", create("/new")},
		{"create /in/new", create("/in/new")},
		{"create /ain/new", create("/ain/new")},
		{"create /ld/new", create("/ld/new")},
		{"create /ad/new", create("/ad/new")},
		{"create /dang", create("/dang")},
		{"create /sub/x/new", create("/sub/x/new")},
		{"mkdir /m", func(r *jailFs) error { return r.Mkdir("/m", 0o755) }},
		{"mkdir /sub", func(r *jailFs) error { return r.Mkdir("/sub", 0o755) }},
		{"mkdir /in/m", func(r *jailFs) error { return r.Mkdir("/in/m", 0o755) }},
		{"mkdir /ain/m", func(r *jailFs) error { return r.Mkdir("/ain/m", 0o755) }},
		{"mkdir /ld/m", func(r *jailFs) error { return r.Mkdir("/ld/m", 0o755) }},
		{"mkdir /", func(r *jailFs) error { return r.Mkdir("/", 0o755) }},
		{"remove /sub/x", func(r *jailFs) error { return r.Remove("/sub/x") }},
		{"remove /ain/x", func(r *jailFs) error { return r.Remove("/ain/x") }},
		{"remove /lf", func(r *jailFs) error { return r.Remove("/lf") }},
		{"remove /ld/secret", func(r *jailFs) error { return r.Remove("/ld/secret") }},
		{"remove /ad/secret", func(r *jailFs) error { return r.Remove("/ad/secret") }},
		{"remove /sub", func(r *jailFs) error { return r.Remove("/sub") }},
		{"remove /empty", func(r *jailFs) error { return r.Remove("/empty") }},
		{"remove /none", func(r *jailFs) error { return r.Remove("/none") }},
		{"rename /sub/x /y", func(r *jailFs) error { return r.Rename("/sub/x", "/y") }},
		{"rename /ain/x /in/y", func(r *jailFs) error { return r.Rename("/ain/x", "/in/y") }},
		{"rename /sub/x /ld/y", func(r *jailFs) error { return r.Rename("/sub/x", "/ld/y") }},
		{"rename /ad/secret /y", func(r *jailFs) error { return r.Rename("/ad/secret", "/y") }},
		{"rename /sub/x /empty", func(r *jailFs) error { return r.Rename("/sub/x", "/empty") }},
		{"rename /sub /empty", func(r *jailFs) error { return r.Rename("/sub", "/empty") }},
		{"rename /none /y", func(r *jailFs) error { return r.Rename("/none", "/y") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, slow := twinRoots(t)
			gotErr, wantErr := tt.do(fast), tt.do(slow)
			if kind(gotErr) != kind(wantErr) {
				t.Errorf("got %v, want %v", gotErr, wantErr)
			}
			if got, want := treeOf(t, fast), treeOf(t, slow); got != want {
				t.Errorf("trees differ:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// treeOf describes the root and the tree beside it, relative to their base:
// each entry's name, type and, for files and links, content.
func treeOf(t *testing.T, r *jailFs) string {
	t.Helper()
	base := filepath.Dir(r.real)
	var b strings.Builder
	err := filepath.WalkDir(base, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		b.WriteString(rel + " " + d.Type().String())
		switch {
		case d.Type()&iofs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			b.WriteString(" -> " + strings.ReplaceAll(target, base, "BASE"))
		case d.Type().IsRegular():
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + string(c))
		}
		b.WriteString("\n")
		return nil
	})
	mustOK(t, err)
	return b.String()
}

// TestOpenat2InUse: on a kernel with openat2 the fast path is taken.
func TestOpenat2InUse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("openat2 is Linux only")
	}
	fast, _ := twinRoots(t)
	if fast.dirfd < 0 {
		t.Skip("this kernel has no usable openat2 (before 5.6, or filtered)")
	}
	if _, ok := fast.fast("stat", "/sub/x", func(n string) error { _, err := fast.fastStat(n); return err }); !ok {
		t.Errorf("stat of /sub/x: got the os.Root path, want openat2")
	}
	if _, ok := fast.fast("stat", "/ad", func(n string) error { _, err := fast.fastStat(n); return err }); ok {
		t.Errorf("stat of /ad (absolute link out): got an openat2 answer, want the os.Root path")
	}
}

// BenchmarkRootFs compares the openat2 path with the os.Root walk on the
// calls a lock cycle and a PUT make, on a name three directories deep.
func BenchmarkRootFs(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", "b", "c"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "b", "c", "f"), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, side := range []string{"openat2", "os.Root"} {
		r, err := openRootFs(root)
		if err != nil {
			b.Fatal(err)
		}
		if side == "os.Root" {
			if err := closeDirFd(r.dirfd); err != nil {
				b.Fatal(err)
			}
			r.dirfd = -1
		}
		b.Run("stat/"+side, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Stat("/a/b/c/f"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("open/"+side, func(b *testing.B) {
			for b.Loop() {
				f, err := r.Open("/a/b/c/f")
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run("rename/"+side, func(b *testing.B) {
			for b.Loop() {
				if err := r.Rename("/a/b/c/f", "/a/b/c/g"); err != nil {
					b.Fatal(err)
				}
				if err := r.Rename("/a/b/c/g", "/a/b/c/f"); err != nil {
					b.Fatal(err)
				}
			}
		})
		r.Close()
	}
}

// TestOpenat2StatInfo: the FileInfo of the fast Stat says what os.Stat says.
func TestOpenat2StatInfo(t *testing.T) {
	fast, _ := twinRoots(t)
	mustOK(t, os.Chmod(filepath.Join(fast.real, "sub", "d"), 0o1750|os.ModeSticky))
	for _, name := range []string{"/", "/sub/x", "/sub/d", "/in"} {
		got, err := fast.Stat(name)
		mustOK(t, err)
		want, err := os.Stat(filepath.Join(fast.real, name))
		mustOK(t, err)
		if got.Name() != want.Name() && name != "/" {
			t.Errorf("%s: got name %q, want %q", name, got.Name(), want.Name())
		}
		if got.Mode() != want.Mode() || got.Size() != want.Size() || !got.ModTime().Equal(want.ModTime()) || got.IsDir() != want.IsDir() {
			t.Errorf("%s: got %v %d %v, want %v %d %v", name, got.Mode(), got.Size(), got.ModTime(), want.Mode(), want.Size(), want.ModTime())
		}
		gs, ok := got.Sys().(*syscall.Stat_t)
		ws := want.Sys().(*syscall.Stat_t)
		if !ok || gs.Ino != ws.Ino || gs.Dev != ws.Dev {
			t.Errorf("%s: got Sys %T %+v, want the same inode as %+v", name, got.Sys(), gs, ws)
		}
	}
}
