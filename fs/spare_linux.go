package fs

// The kernel side of spare files (spare.go). An upload that replaces a file swaps it with the
// upload's hidden temporary file (renameat2 with RENAME_EXCHANGE: the target gets the new
// content in one atomic step, as with rename), and the old file, now at the hidden name, is
// emptied for reuse only when the kernel grants a write lease on it. A write lease is granted
// only when no other descriptor, in any process, has the file open (fcntl(2), "Leases"): a GET
// still sending the old content, or a program on the host reading it, keeps it from reuse, and
// it is removed as a rename would have removed it. A reader that opens the file while the
// lease is held breaks the lease; reclaim sees the break before it truncates and gives the
// file up.
//
// The lease is held only while reclaim or claim runs: a spare in the pool holds none, so a
// program on the host that opens one is never made to wait. claim takes the lease again just
// before an upload writes into a spare, so nothing opened since reads another file's content.
// A broken lease signals the process with SIGIO, which the Go runtime ignores unless
// signal.Notify asks for it; lockdav asks only for SIGINT and SIGTERM.

import (
	"errors"
	"os"
	"syscall"

	"github.com/spf13/afero"
	"golang.org/x/sys/unix"
)

// idOf is the identity of the directory fi describes.
func idOf(fi os.FileInfo) dirID {
	st, ok := sysStat(fi)
	if !ok {
		return dirID{}
	}
	return dirID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // not uint64 on every GOARCH
}

// fdOf is the descriptor of a directory handle.
func fdOf(dir *os.File) int { return int(dir.Fd()) } //nolint:gosec // descriptors fit in an int

// exchange swaps the entries a and b of dir atomically. It answers errors.ErrUnsupported where
// the file system or kernel cannot, so the caller renames instead.
func exchange(dir *os.File, a, b string) error {
	fd := fdOf(dir)
	err := ignoringEINTR(func() error { return unix.Renameat2(fd, a, fd, b, unix.RENAME_EXCHANGE) })
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return errors.ErrUnsupported
	}
	if err != nil {
		return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
	}
	return nil
}

// removeIn removes the file name from dir; not finding it is no failure.
func removeIn(dir *os.File, name string) error {
	err := ignoringEINTR(func() error { return unix.Unlinkat(fdOf(dir), name, 0) })
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	return nil
}

// reclaim opens the file that an exchange left at name in dir and, if it is a regular file of
// this process's user with no other link and no other open descriptor, empties it and returns
// it open as a spare.
func reclaim(dir *os.File, name string) (*os.File, reclaimed) {
	// Without O_NONBLOCK: os.NewFile would try to add the descriptor to the poller, which
	// refuses regular files, and only regular files are reclaimed.
	fd, err := unix.Openat(fdOf(dir), name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EISDIR) {
		return nil, swapped
	}
	if err != nil {
		return nil, unlink
	}
	st, ok := reusable(fd)
	if !ok || !lease(fd) {
		_ = unix.Close(fd)
		return nil, unlink
	}
	ok = leaseIntact(fd) && empty(fd, st)
	ok = unlease(fd) && ok
	if !ok {
		_ = unix.Close(fd)
		return nil, unlink
	}
	return os.NewFile(uintptr(fd), name), reused
}

// claim checks, with a lease taken and released at once, that no descriptor but spare's own
// has its file open.
func claim(spare *os.File) bool {
	fd := int(spare.Fd()) //nolint:gosec // descriptors fit in an int
	if !lease(fd) {
		return false
	}
	intact := leaseIntact(fd)
	return unlease(fd) && intact
}

// reusable says whether the file open at fd may hold another file's content later: a regular
// file with one link, owned by this process's user (so it carries no one else's ownership into
// the next upload). It returns the file's status.
func reusable(fd int) (unix.Stat_t, bool) {
	var st unix.Stat_t
	if ignoringEINTR(func() error { return unix.Fstat(fd, &st) }) != nil {
		return st, false
	}
	return st, st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Nlink == 1 && int(st.Uid) == euid
}

// euid is this process's effective user ID, read once: os.Geteuid is a system call each time.
var euid = os.Geteuid()

// empty truncates the file open at fd, whose status is st, and gives it tempPerm, each only if
// it needs it: the empty resource of a LOCK on an unmapped URL, replaced by the first PUT,
// needs neither.
func empty(fd int, st unix.Stat_t) bool {
	if st.Size != 0 && unix.Ftruncate(fd, 0) != nil {
		return false
	}
	return os.FileMode(st.Mode).Perm() == tempPerm || unix.Fchmod(fd, uint32(tempPerm)) == nil
}

// lease takes a write lease on fd: granted only when no other descriptor has the file open.
// Where leases are off (fs.leases-enable = 0) or the file system has none, the answer is no,
// and nothing is reused.
func lease(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	return err == nil
}

// leaseIntact says whether fd's write lease is still whole: a reader's open since lease
// started breaking it.
func leaseIntact(fd int) bool {
	t, err := unix.FcntlInt(uintptr(fd), unix.F_GETLEASE, 0)
	return err == nil && t == unix.F_WRLCK
}

func unlease(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
	return err == nil
}

// writeback asks the kernel to start writing an upload's data (sync_file_range with
// SYNC_FILE_RANGE_WRITE: it does not wait for it), as ext4 does itself for a file renamed over
// another (auto_da_alloc) but not for an exchange: a crash after the exchange then leaves the
// old content or the new one, not an empty file. Where that fails, the exchange goes ahead:
// the same as on file systems without auto_da_alloc.
func writeback(file afero.File) {
	if f, ok := file.(*os.File); ok {
		_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE) //nolint:gosec // descriptors fit in an int
	}
}
