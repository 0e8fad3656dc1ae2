package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// jailFs is an afero.Fs over an os.Root: every call resolves symbolic links
// with openat-style walks that refuse to leave the root, so a link swapped in
// between a check and a use cannot lead outside either.
//
// os.Root refuses absolute symlinks even when they point inside the root. For
// those, jailFs resolves the name itself and, if the result lies inside the
// root, retries with the resolved name — through os.Root again, so the retry
// is as safe as the first attempt.
//
// Where the kernel has openat2(2), the common operations resolve the whole
// name in one call below dirfd instead (see openat2_linux.go), and take the
// os.Root path only when that call cannot decide alone.
type jailFs struct {
	root  *os.Root
	dirfd int    // an O_PATH descriptor of the root for openat2, or -1
	real  string // the root directory with its own symlinks resolved
	// escapes is os's unexported "path escapes from parent" error, captured
	// at start-up so that it is matched by identity rather than by text.
	escapes error
	// rootInfo describes the root directory, for uploads into it (rootDir).
	rootInfo os.FileInfo
}

var _ afero.Fs = (*jailFs)(nil)

func openRootFs(dir string) (*jailFs, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, err
	}
	_, err = root.Lstat("..")
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return nil, errors.Join(fmt.Errorf("os.Root let %q through: %v", "..", err), root.Close())
	}
	info, err := root.Stat(".")
	if err != nil {
		return nil, errors.Join(err, root.Close())
	}
	return &jailFs{root: root, dirfd: openDirFd(real, root), real: real, escapes: pe.Err, rootInfo: info}, nil
}

// rel turns an afero name ("/a/b") into a name relative to the root.
func rel(name string) string {
	name = strings.TrimLeft(filepath.Clean(filepath.FromSlash(rooted(name))), string(filepath.Separator))
	if name == "" {
		return "."
	}
	return name
}

// do runs fn on name and, if os.Root saw an escape, once more on the name
// resolved by hand. follow says whether fn follows a final symlink.
func (r *jailFs) do(op, name string, follow bool, fn func(string) error) error {
	n := rel(name)
	err := fn(n)
	if !errors.Is(err, r.escapes) {
		return notDir(op, name, err)
	}
	if alt, ok := r.inside(n, follow); ok && alt != n {
		if err = fn(alt); !errors.Is(err, r.escapes) {
			return err
		}
	}
	return &os.PathError{Op: op, Path: name, Err: ErrOutsideRoot}
}

// fast runs fn on the relative name with the kernel's resolution; ok is false
// when the caller must take the os.Root path instead.
func (r *jailFs) fast(op, name string, fn func(n string) error) (err error, ok bool) {
	if r.dirfd < 0 {
		return nil, false
	}
	err = fn(rel(name))
	if fallBack(err) {
		return nil, false
	}
	return notDir(op, name, err), true
}

// notDir reports ENOTDIR as not-exist, like MemMapFs: nothing exists below a
// file.
func notDir(op, name string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return &os.PathError{Op: op, Path: name, Err: fmt.Errorf("%w (%w)", os.ErrNotExist, syscall.ENOTDIR)}
	}
	return err
}

// inside resolves the symlinks of name (and of its last element when follow)
// and returns the result relative to the root, if it lies inside.
func (r *jailFs) inside(name string, follow bool) (string, bool) {
	full := filepath.Join(r.real, name)
	if follow {
		if p, err := filepath.EvalSymlinks(full); err == nil {
			return r.relTo(p)
		}
	}
	dir, base := filepath.Split(full)
	p, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", false
	}
	return r.relTo(filepath.Join(p, base))
}

func (r *jailFs) relTo(p string) (string, bool) {
	n, err := filepath.Rel(r.real, p)
	if err != nil || n == ".." || strings.HasPrefix(n, ".."+string(filepath.Separator)) {
		return "", false
	}
	return n, true
}

func (r *jailFs) Name() string { return "rootfs" }

func (r *jailFs) Close() error { return errors.Join(closeDirFd(r.dirfd), r.root.Close()) }

func (r *jailFs) Create(name string) (afero.File, error) {
	return r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

func (r *jailFs) Open(name string) (afero.File, error) {
	return r.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens with O_NONBLOCK. For regular files and directories the flag
// changes nothing in the kernel, but it spares os the four fcntl calls it
// makes on every other open to try the file with the runtime poller: an
// open, fstat and close (what PROPFIND does twice per member) takes 6
// system calls instead of 10. For a FIFO in the tree it makes the open
// return at once rather than wait, perhaps forever, for the other end.
func (r *jailFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	var f *os.File
	if err, ok := r.fast("open", name, func(n string) (err error) {
		f, err = r.fastOpen(n, flag|syscall.O_NONBLOCK, perm)
		return err
	}); ok {
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	err := r.do("open", name, true, func(n string) (err error) {
		f, err = r.root.OpenFile(n, flag|syscall.O_NONBLOCK, perm)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (r *jailFs) Mkdir(name string, perm os.FileMode) error {
	if err, ok := r.fast("mkdir", name, func(n string) error { return r.fastMkdir(n, perm) }); ok {
		return err
	}
	return r.do("mkdir", name, false, func(n string) error { return r.root.Mkdir(n, perm) })
}

func (r *jailFs) MkdirAll(name string, perm os.FileMode) error {
	return r.do("mkdir", name, false, func(n string) error { return r.root.MkdirAll(n, perm) })
}

func (r *jailFs) Remove(name string) error {
	if err, ok := r.fast("remove", name, r.fastRemove); ok {
		return err
	}
	return r.do("remove", name, false, r.root.Remove)
}

func (r *jailFs) RemoveAll(name string) error {
	return r.do("remove", name, false, r.root.RemoveAll)
}

func (r *jailFs) Rename(oldName, newName string) error {
	o, n := rel(oldName), rel(newName)
	if r.dirfd >= 0 {
		if err := r.fastRename(o, n); !fallBack(err) {
			return err
		}
	}
	err := r.root.Rename(o, n)
	if !errors.Is(err, r.escapes) {
		return err
	}
	altO, okO := r.inside(o, false)
	altN, okN := r.inside(n, false)
	if okO && okN && (altO != o || altN != n) {
		if err = r.root.Rename(altO, altN); !errors.Is(err, r.escapes) {
			return err
		}
	}
	return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: ErrOutsideRoot}
}

func (r *jailFs) Stat(name string) (os.FileInfo, error) {
	var fi os.FileInfo
	if err, ok := r.fast("stat", name, func(n string) (err error) {
		fi, err = r.fastStat(n)
		return err
	}); ok {
		return fi, err
	}
	err := r.do("stat", name, true, func(n string) (err error) {
		fi, err = r.root.Stat(n)
		return err
	})
	return fi, err
}

func (r *jailFs) Chmod(name string, mode os.FileMode) error {
	return r.do("chmod", name, true, func(n string) error { return r.root.Chmod(n, mode) })
}

func (r *jailFs) Chown(name string, uid, gid int) error {
	return r.do("chown", name, true, func(n string) error { return r.root.Chown(n, uid, gid) })
}

func (r *jailFs) Chtimes(name string, atime, mtime time.Time) error {
	return r.do("chtimes", name, true, func(n string) error { return r.root.Chtimes(n, atime, mtime) })
}
