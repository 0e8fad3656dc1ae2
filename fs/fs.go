package fs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

// FS is a webdav.FileSystem over an afero.Fs, jailed to its root, with
// durable dead properties. Names are slash paths as x/net passes them.
type FS struct {
	// tree orders the changes that touch both the tree and the property
	// store, so that the two agree. Changes that may reach more than one
	// name (Mkdir, Rename, RemoveAll) hold it for writing. Changes to one
	// file (Create, OpenFile with O_CREATE, an upload's commit) hold it for
	// reading plus that name's lock in names: they run in parallel unless
	// they are at the same name.
	tree  sync.RWMutex
	names [nameStripes]sync.Mutex // by hash of the name; held with tree.RLock
	seed  maphash.Seed
	base  afero.Fs
	// parentChecked says that base itself answers os.ErrNotExist for a name
	// whose parent is missing or not a directory, so that creating a file
	// needs no Stat of the parent first. jailFs does: its openat walk fails
	// there. MemMapFs does not: it makes the missing parents.
	parentChecked bool
	props         PropStore
	log           zerolog.Logger
	spares        spares // replaced files kept for reuse (spare.go)
	shared        bool   // other processes write the tree too: no spares (SetShared)
}

// nameStripes is how many locks the names of single-file changes share: a
// collision makes two uploads wait for each other, nothing worse.
const nameStripes = 64

var _ webdav.FileSystem = (*FS)(nil)

// New returns an FS over base, e.g. afero.NewMemMapFs(). base is trusted to
// keep names inside itself; use NewOS for a directory of the OS.
func New(base afero.Fs, props PropStore, log zerolog.Logger) *FS {
	return &FS{base: base, props: props, log: log, seed: maphash.MakeSeed()}
}

// SetShared says that other processes write the tree too (several lockdav replicas over one
// shared file system, docs/ARCHITECTURE.md "Several replicas"): uploads then keep no spare
// files, which are this process's per-directory cache of files (spare.go), held open where
// another replica may delete the directory. Call it before the first upload.
func (f *FS) SetShared() { f.shared = true }

// lockFile locks the clean name n for a change to that file alone and
// returns the unlock.
func (f *FS) lockFile(n string) (unlock func()) {
	f.tree.RLock()
	m := &f.names[maphash.String(f.seed, n)%nameStripes]
	m.Lock()
	return func() {
		m.Unlock()
		f.tree.RUnlock()
	}
}

// Close removes the spare files and closes the base, if it has a Close.
func (f *FS) Close() error {
	f.dropSpares(f.spares.drain())
	if c, ok := f.base.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// NewOS returns an FS over the OS directory root, created (0700, as server.New makes it:
// the served files are the users', not the host's) if missing.
// Every access resolves symlinks and refuses, with ErrOutsideRoot, any that
// lead outside root; a symlink inside root to a place inside root is fine.
func NewOS(root string, props PropStore, log zerolog.Logger) (*FS, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create root: %w", err)
	}
	rfs, err := openRootFs(root)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	log.Debug().Str("root", rfs.real).Msg("file tree opened")
	f := New(rfs, props, log)
	f.parentChecked = true
	return f, nil
}

func (f *FS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	f.tree.Lock()
	defer f.tree.Unlock()
	if err := f.checkParent("mkdir", n); err != nil {
		return err
	}
	if err := f.base.Mkdir(n, perm); err != nil {
		return err
	}
	return f.mkdirProps(ctx, n)
}

func (f *FS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE == 0 {
		af, err := f.openExisting(n, flag, perm)
		if err != nil {
			return nil, err
		}
		return &file{File: af, fs: f, name: n}, nil
	}
	defer f.lockFile(n)()
	if err := f.checkParent("open", n); err != nil {
		return nil, err
	}
	_, statErr := f.base.Stat(n)
	af, err := f.base.OpenFile(n, flag, perm)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := f.fresh(n); err != nil {
			return nil, errors.Join(err, af.Close())
		}
	}
	return &file{File: af, fs: f, name: n}, nil
}

// openExisting opens n without creating it. A collection asked for with write access is opened
// read-only instead: x/net's PROPPATCH opens its target O_RDWR to reach the file's Patch, and
// PROPPATCH applies to collections too (RFC 4918 §9.2), whose dead properties live in the
// PropStore rather than in the directory, which the OS refuses to open for writing (EISDIR).
func (f *FS) openExisting(n string, flag int, perm os.FileMode) (afero.File, error) {
	af, err := f.base.OpenFile(n, flag, perm)
	if errors.Is(err, syscall.EISDIR) && flag&(os.O_WRONLY|os.O_RDWR) != 0 && flag&os.O_TRUNC == 0 {
		return f.base.OpenFile(n, os.O_RDONLY, 0)
	}
	return af, err
}

// Create makes name an empty file if nothing is there: a LOCK on an unmapped
// URL creates an empty resource (RFC 4918 §7.3, §9.10.4). An empty body needs
// none of Upload's temporary file: O_CREATE|O_EXCL either makes the whole
// (empty) resource or nothing, and never touches an existing one.
//
// created is false, with no error, when a file exists at name already. A
// collection at name yields ErrIsDir, a missing parent an error matching
// os.ErrNotExist. Stale dead properties at a new name are dropped, as for
// an upload.
func (f *FS) Create(ctx context.Context, name string) (created bool, err error) {
	n, err := cleanName(name)
	if err != nil {
		return false, err
	}
	if n == "/" {
		return false, fmt.Errorf("create %s: %w", n, ErrIsDir)
	}
	defer f.lockFile(n)()
	if !f.parentChecked {
		if err := f.checkParent("create", n); err != nil {
			return false, err
		}
	}
	created, err = f.createEmpty(n)
	if errors.Is(err, os.ErrExist) {
		return false, f.existing(n)
	}
	if err != nil {
		return created, err
	}
	return true, f.fresh(n)
}

// emptyCreator is a base that creates an empty file without opening an afero.File for it
// (jailFs on Linux): making an *os.File costs an fcntl, and closing it a finalizer's removal.
// ok is false where it cannot, and the caller opens the file instead.
type emptyCreator interface {
	createEmpty(name string, perm os.FileMode) (err error, ok bool)
}

// createEmpty makes the empty file n, which must not exist. created is true when the file
// was made, even if closing it then failed.
func (f *FS) createEmpty(n string) (created bool, err error) {
	if c, ok := f.base.(emptyCreator); ok {
		if err, ok := c.createEmpty(n, 0o644); ok {
			return err == nil, err
		}
	}
	af, err := f.base.OpenFile(n, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	return true, af.Close()
}

// existing is Create's answer for a name that exists: nil for a file.
func (f *FS) existing(n string) error {
	fi, err := f.base.Stat(n)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("create %s: %w", n, ErrIsDir)
	}
	return nil
}

func (f *FS) RemoveAll(ctx context.Context, name string) error {
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	if n == "/" {
		return &os.PathError{Op: "remove", Path: n, Err: os.ErrInvalid}
	}
	f.tree.Lock()
	defer f.tree.Unlock()
	f.dropSparesUnder(n)
	if err := f.base.RemoveAll(n); err != nil {
		return err
	}
	return f.props.RemoveTree(n)
}

// Rename moves oldName to newName with its dead properties. An existing
// newName is replaced; x/net removes it first anyway, but afero backends
// disagree on replacing directories, so Rename does it when either side is one.
func (f *FS) Rename(ctx context.Context, oldName, newName string) error {
	o, err := cleanName(oldName)
	if err != nil {
		return err
	}
	n, err := cleanName(newName)
	if err != nil {
		return err
	}
	if o == "/" || n == "/" || strings.HasPrefix(n, o+"/") {
		return &os.LinkError{Op: "rename", Old: o, New: n, Err: os.ErrInvalid}
	}
	if o == n {
		_, err := f.base.Stat(o)
		return err
	}
	f.tree.Lock()
	defer f.tree.Unlock()
	return f.rename(o, n)
}

// rename does the work of Rename on clean names; f.tree must be held for writing.
func (f *FS) rename(o, n string) error {
	src, err := f.base.Stat(o)
	if err != nil {
		return err
	}
	if err := f.checkParent("rename", n); err != nil {
		return err
	}
	if src.IsDir() {
		f.dropSparesUnder(o)
	}
	if dst, err := f.base.Stat(n); err == nil && (dst.IsDir() || src.IsDir()) {
		f.dropSparesUnder(n)
		if err := f.base.RemoveAll(n); err != nil {
			return err
		}
	}
	if err := f.base.Rename(o, n); err != nil {
		return err
	}
	return f.props.Move(o, n)
}

func (f *FS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.base.Stat(n)
	if err != nil {
		return nil, err
	}
	return fileInfo{fi}, nil
}

// checkParent makes a missing parent, or one that is not a directory, an
// os.ErrNotExist: what RFC 4918 calls a missing intermediate collection (409).
// Not every afero backend checks this itself.
func (f *FS) checkParent(op, n string) error {
	fi, err := f.base.Stat(path.Dir(n))
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: op, Path: n, Err: os.ErrNotExist}
	}
	return nil
}

// fresh drops properties left at a name that did not exist until now, by a
// crash between removing a tree and its properties or by changes made to the
// tree behind the server's back; n must be locked (lockFile, or f.tree for
// writing).
func (f *FS) fresh(n string) error {
	p, err := f.props.Get(n)
	if err != nil || p == nil {
		return err
	}
	f.log.Debug().Str("path", n).Int("props", len(p)).Msg("dropping stale dead properties")
	return f.props.RemoveTree(n)
}
