package fs

// The kernel side of the root jail: openat2(2) with RESOLVE_BENEATH (Linux
// 5.6+) resolves a whole name in one call and refuses, symbolic links
// included, any step that would leave the directory it starts from. os.Root
// does the same with an openat and a close per component, which is most of
// what a Stat or an open costs on a deep name.
//
// Every fast call falls back to the os.Root walk when the kernel cannot
// answer alone: no openat2 (ENOSYS, or EPERM from a seccomp filter, found by
// a probe when the root is opened), EXDEV (the name leaves the root, or
// goes through an absolute symlink, which os.Root and jailFs.do handle
// inside the root and refuse outside), EAGAIN (a concurrent rename raced
// the resolution) and ELOOP (a link loop or a magic link). So behaviour
// never depends on the kernel; only the number of system calls does.
//
// What the one call saves is measured by BenchmarkRootFs (stat, open and
// rename, this path against the os.Root walk) and, per request, by
// davserver's BenchmarkPut and BenchmarkLockCycle run with and without it.

import (
	"errors"
	iofs "io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openDirFd opens dir as an O_PATH descriptor for openat2 and checks that
// it is the directory root holds. It returns -1 when openat2 is unavailable.
func openDirFd(dir string, root *os.Root) int {
	fd, err := openat2(unix.AT_FDCWD, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0)
	if err != nil {
		return -1
	}
	probe, err := openat2(fd, ".", unix.O_PATH|unix.O_CLOEXEC, 0, resolveBeneath)
	if err != nil {
		closePath(fd)
		return -1
	}
	closePath(probe)
	var st unix.Stat_t
	fi, rerr := root.Stat(".")
	rs, ok := sysStat(fi)
	if rerr != nil || !ok || unix.Fstat(fd, &st) != nil || st.Dev != rs.Dev || st.Ino != rs.Ino {
		closePath(fd)
		return -1
	}
	return fd
}

func sysStat(fi os.FileInfo) (*syscall.Stat_t, bool) {
	if fi == nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

func closeDirFd(fd int) error {
	if fd < 0 {
		return nil
	}
	return unix.Close(fd)
}

// closePath closes an O_PATH descriptor. Its error is dropped: such a
// descriptor has no data to flush, and Linux releases it even when close
// reports an error, so there is nothing to retry or report.
func closePath(fd int) { _ = unix.Close(fd) }

func openat2(dirfd int, name string, flags int, mode uint64, resolve uint64) (int, error) {
	// flags are open(2)'s O_ bits, all positive constants: the conversion keeps them.
	how := unix.OpenHow{Flags: uint64(flags), Mode: mode, Resolve: resolve} //nolint:gosec // see above
	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// fallBack says whether an error of a fast call means "ask os.Root".
func fallBack(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EXDEV) ||
		errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ELOOP)
}

// beneath opens n below the root with openat2.
func (r *jailFs) beneath(n string, flags int, perm os.FileMode) (int, error) {
	var mode uint64
	if flags&(os.O_CREATE|unix.O_TMPFILE) != 0 {
		mode = uint64(unixMode(perm))
	}
	fd, err := openat2(r.dirfd, n, flags|unix.O_CLOEXEC, mode, resolveBeneath)
	if err != nil {
		return -1, &os.PathError{Op: "openat", Path: n, Err: err}
	}
	return fd, nil
}

func unixMode(perm os.FileMode) uint32 {
	m := uint32(perm.Perm())
	if perm&os.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if perm&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if perm&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

// fastOpen opens n like os.Root.OpenFile, naming the file the same way.
func (r *jailFs) fastOpen(n string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := r.beneath(n, flag, perm)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), r.real+string(filepath.Separator)+n), nil
}

var _ emptyCreator = (*jailFs)(nil)

// createEmpty makes the empty file name below the root, failing if anything is there.
func (r *jailFs) createEmpty(name string, perm os.FileMode) (error, bool) {
	return r.fast("open", name, func(n string) error {
		fd, err := r.beneath(n, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	})
}

// fastStat stats n, following a final symlink, with an O_PATH descriptor.
func (r *jailFs) fastStat(n string) (os.FileInfo, error) {
	fd, err := r.beneath(n, unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	fi := &statInfo{name: filepath.Base(n)}
	err = ignoringEINTR(func() error { return syscall.Fstat(fd, &fi.sys) })
	closePath(fd)
	if err != nil {
		return nil, &os.PathError{Op: "stat", Path: n, Err: err}
	}
	return fi, nil
}

// statInfo is os's FileInfo for a stat made here: the same fields, and Sys
// the same *syscall.Stat_t.
type statInfo struct {
	name string
	sys  syscall.Stat_t
}

func (fi *statInfo) Name() string       { return fi.name }
func (fi *statInfo) Size() int64        { return fi.sys.Size }
func (fi *statInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *statInfo) Sys() any           { return &fi.sys }
func (fi *statInfo) ModTime() time.Time { return time.Unix(fi.sys.Mtim.Unix()) }

// Mode converts the kernel's mode as os does.
func (fi *statInfo) Mode() iofs.FileMode {
	m := iofs.FileMode(fi.sys.Mode & 0o777)
	switch fi.sys.Mode & syscall.S_IFMT {
	case syscall.S_IFBLK:
		m |= iofs.ModeDevice
	case syscall.S_IFCHR:
		m |= iofs.ModeDevice | iofs.ModeCharDevice
	case syscall.S_IFDIR:
		m |= iofs.ModeDir
	case syscall.S_IFIFO:
		m |= iofs.ModeNamedPipe
	case syscall.S_IFLNK:
		m |= iofs.ModeSymlink
	case syscall.S_IFSOCK:
		m |= iofs.ModeSocket
	}
	if fi.sys.Mode&syscall.S_ISGID != 0 {
		m |= iofs.ModeSetgid
	}
	if fi.sys.Mode&syscall.S_ISUID != 0 {
		m |= iofs.ModeSetuid
	}
	if fi.sys.Mode&syscall.S_ISVTX != 0 {
		m |= iofs.ModeSticky
	}
	return m
}

// parent opens the directory holding n and returns it with n's last element.
// ok is false for names whose last element is not a plain name.
func (r *jailFs) parent(n string) (fd int, base string, err error, ok bool) {
	dir, base := filepath.Split(n)
	if base == "" || base == "." || base == ".." {
		return -1, "", nil, false
	}
	if dir == "" {
		dir = "."
	}
	fd, err = r.beneath(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	return fd, base, err, true
}

// fastMkdir is os.Root.Mkdir: mkdirat in the parent, not following a final
// symlink.
func (r *jailFs) fastMkdir(n string, perm os.FileMode) error {
	if perm&^(iofs.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
		return unix.ENOSYS // let os.Root refuse the mode
	}
	fd, base, err, ok := r.parent(n)
	if !ok {
		return unix.ENOSYS
	}
	if err != nil {
		return err
	}
	defer closePath(fd)
	if err := ignoringEINTR(func() error { return unix.Mkdirat(fd, base, unixMode(perm)) }); err != nil {
		return &os.PathError{Op: "mkdirat", Path: n, Err: err}
	}
	return nil
}

// fastRemove is os.Root.Remove: unlink, else rmdir, in the parent.
func (r *jailFs) fastRemove(n string) error {
	fd, base, err, ok := r.parent(n)
	if !ok {
		return unix.ENOSYS
	}
	if err != nil {
		return err
	}
	defer closePath(fd)
	e := ignoringEINTR(func() error { return unix.Unlinkat(fd, base, 0) })
	if e == nil {
		return nil
	}
	e1 := ignoringEINTR(func() error { return unix.Unlinkat(fd, base, unix.AT_REMOVEDIR) })
	if e1 == nil {
		return nil
	}
	if e1 != unix.ENOTDIR {
		e = e1
	}
	return &os.PathError{Op: "removeat", Path: n, Err: e}
}

// fastRename is os.Root.Rename: renameat between the two parents, refusing
// to replace a directory by anything but itself.
func (r *jailFs) fastRename(o, n string) error {
	op, np, done, err, ok := r.parents(o, n)
	if !ok {
		return unix.ENOSYS
	}
	if err != nil {
		return linkError(o, n, err)
	}
	defer done()
	if err := renameChecked(op.fd, op.base, np.fd, np.base); err != nil {
		return linkError(o, n, err)
	}
	return nil
}

// dirEntry is a name's parent directory, open, and its last element.
type dirEntry struct {
	fd   int
	base string
}

// parents opens the directories holding a and b for a call that names both,
// once when they are the same directory (an upload's temporary file and its
// target are). done closes what it opened; ok is as for parent.
func (r *jailFs) parents(a, b string) (pa, pb dirEntry, done func(), err error, ok bool) {
	adir, bdir := filepath.Dir(a), filepath.Dir(b)
	pa.fd, pa.base, err, ok = r.parent(a)
	if !ok || err != nil {
		return dirEntry{}, dirEntry{}, nil, err, ok
	}
	if adir == bdir {
		if _, pb.base = filepath.Split(b); pb.base == "" || pb.base == "." || pb.base == ".." {
			closePath(pa.fd)
			return dirEntry{}, dirEntry{}, nil, nil, false
		}
		pb.fd = pa.fd
		return pa, pb, func() { closePath(pa.fd) }, nil, true
	}
	pb.fd, pb.base, err, ok = r.parent(b)
	if !ok || err != nil {
		closePath(pa.fd)
		return dirEntry{}, dirEntry{}, nil, err, ok
	}
	return pa, pb, func() { closePath(pa.fd); closePath(pb.fd) }, nil, true
}

// linkError reports a failed rename as os.Root does: a LinkError holding the
// system call's error.
func linkError(o, n string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &os.LinkError{Op: "renameat", Old: o, New: n, Err: err}
}

func renameChecked(ofd int, obase string, nfd int, nbase string) error {
	var nst unix.Stat_t
	if unix.Fstatat(nfd, nbase, &nst, unix.AT_SYMLINK_NOFOLLOW) == nil && nst.Mode&unix.S_IFMT == unix.S_IFDIR {
		var ost unix.Stat_t
		if err := unix.Fstatat(ofd, obase, &ost, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if obase == nbase || ost.Dev != nst.Dev || ost.Ino != nst.Ino {
			return unix.EEXIST
		}
	}
	return ignoringEINTR(func() error { return unix.Renameat(ofd, obase, nfd, nbase) })
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
