package fs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// uploadDir is the directory an upload writes its temporary file in, held for the whole upload.
// Every name given to it is a plain name in that directory.
//
// An upload's body can take minutes to arrive, and in the meantime the directory may be moved
// or deleted (MOVE and DELETE do not wait for uploads). Remembered by its path, the temporary
// file would then be somewhere the upload no longer knows: the final rename and the removal
// that follows its failure both missed it, and the whole body stayed, hidden, in the moved
// directory, where no request can remove it (such names get 403). A handle of the directory
// itself follows it wherever it goes, so the removal always finds the file.
type uploadDir interface {
	OpenFile(name string, flag int, perm os.FileMode) (afero.File, error)
	Stat(name string) (os.FileInfo, error)
	Chmod(name string, mode os.FileMode) error
	Chtimes(name string, atime, mtime time.Time) error
	Rename(oldName, newName string) error
	Remove(name string) error
	// check reports, with an error matching os.ErrNotExist, that the directory is no longer
	// the one at the path it was opened by. The caller holds the lock that keeps the tree
	// from changing (lockFile), so that the answer still holds at the rename it precedes.
	check() error
	// path is the directory's name in the tree when it was opened, for logs.
	path() string
	Close() error
}

// dirOpener is a base that can hold a directory open as an uploadDir (jailFs).
type dirOpener interface {
	openDir(name string) (uploadDir, error)
}

// openUploadDir holds the directory dir (a clean name) open for an upload. A missing dir, or
// one that is not a directory, yields an error matching os.ErrNotExist.
func (f *FS) openUploadDir(dir string) (uploadDir, error) {
	o, ok := f.base.(dirOpener)
	if !ok {
		return pathDir{fs: f.base, dir: dir}, nil
	}
	d, err := o.openDir(dir)
	if err != nil || !f.shared {
		return d, err
	}
	return noSpares{d}, nil
}

// noSpares is an uploadDir that keeps no spare files (it is not a spareDir), for a tree other
// processes write too (SetShared).
type noSpares struct{ uploadDir }

// rootDir is an uploadDir of jailFs: an os.Root of the directory. Its calls name one entry of
// the directory and cost a system call each, like jailFs's fast path, with no walk from the
// tree's root.
type rootDir struct {
	*os.Root
	fs   *jailFs
	dir  string      // the name the directory was opened by
	own  bool        // false for the tree's own root, which Close must leave open
	held os.FileInfo // the directory's own, when opened: its identity
}

var _ dirOpener = (*jailFs)(nil)

func (r *jailFs) openDir(name string) (uploadDir, error) {
	if name == "/" {
		// The root of the tree cannot be moved or deleted through the server: no handle to
		// open, no identity to check.
		return &rootDir{Root: r.root, fs: r, dir: name, held: r.rootInfo}, nil
	}
	var d *os.Root
	err := r.do("open", name, true, func(n string) (err error) {
		d, err = r.root.OpenRoot(n)
		return err
	})
	if err != nil {
		return nil, r.notDirRoot(name, err)
	}
	held, err := d.Stat(".")
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	return &rootDir{Root: d, fs: r, dir: name, own: true, held: held}, nil
}

// notDirRoot turns os.Root.OpenRoot's refusal of a name that is not a directory (an error of
// its own, with no errno to match) into a missing directory, as jailFs.notDir does ENOTDIR: for
// an upload it is a missing parent (409). It looks only on that failure path.
func (r *jailFs) notDirRoot(name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return err
	}
	if fi, serr := r.Stat(name); serr == nil && !fi.IsDir() {
		return &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%w)", os.ErrNotExist, syscall.ENOTDIR)}
	}
	return err
}

func (d *rootDir) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	// O_NONBLOCK for the same reason as jailFs.OpenFile: fewer system calls per open.
	f, err := d.Root.OpenFile(name, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (d *rootDir) check() error {
	if !d.own {
		return nil
	}
	there, err := d.fs.Stat(d.dir)
	if err != nil {
		return err
	}
	if !sameFile(d.held, there) {
		return &os.PathError{Op: "upload", Path: d.dir, Err: fmt.Errorf("%w (moved or replaced during the upload)", os.ErrNotExist)}
	}
	return nil
}

func (d *rootDir) path() string { return d.dir }

var _ spareDir = (*rootDir)(nil)

func (d *rootDir) id() dirID { return idOf(d.held) }

// handle opens the directory held, not the one now at its name.
func (d *rootDir) handle() (*os.File, error) { return d.Open(".") }

func (d *rootDir) Close() error {
	if !d.own {
		return nil
	}
	return d.Root.Close()
}

// pathDir is the uploadDir of a base without directory handles (MemMapFs): names are joined to
// the directory's path, as they always were. It cannot follow a moved directory: the rename
// then fails (409) and the temporary file may stay where the directory went. The OS tree
// (jailFs) does not use it.
type pathDir struct {
	fs  afero.Fs
	dir string
}

func (d pathDir) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	return d.fs.OpenFile(path.Join(d.dir, name), flag, perm)
}

func (d pathDir) Stat(name string) (os.FileInfo, error) { return d.fs.Stat(path.Join(d.dir, name)) }

func (d pathDir) Chmod(name string, mode os.FileMode) error {
	return d.fs.Chmod(path.Join(d.dir, name), mode)
}

func (d pathDir) Chtimes(name string, atime, mtime time.Time) error {
	return d.fs.Chtimes(path.Join(d.dir, name), atime, mtime)
}

func (d pathDir) Rename(oldName, newName string) error {
	return d.fs.Rename(path.Join(d.dir, oldName), path.Join(d.dir, newName))
}

func (d pathDir) Remove(name string) error { return d.fs.Remove(path.Join(d.dir, name)) }

func (d pathDir) check() error { return nil }

func (d pathDir) path() string { return d.dir }

func (d pathDir) Close() error { return nil }
