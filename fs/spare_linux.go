package davfs

// The kernel side of spare files (spare.go). An upload that replaces a file
// swaps it with the upload's hidden temporary file (renameat2 with
// RENAME_EXCHANGE: the target gets the new content in one atomic step, as
// with rename), and the old file, now at the hidden name, is emptied for
// reuse only when the kernel grants a write lease on it. A write lease is
// granted only when no other descriptor, in any process, has the file open
// (fcntl(2), "Leases"): a GET still sending the old content, or a program
// on the host reading it, keeps it from reuse, and it is removed as a
// rename would have removed it. A reader that tries to open the file while
// the lease is held breaks the lease; reclaim sees the break before it
// truncates and gives the file up.
//
// The lease is held for microseconds and then released: a spare sitting in
// the pool holds none, so a program on the host that opens one is never
// made to wait. claim takes the lease again just before an upload writes
// into a spare, so nothing opened since reads another file's content. A
// broken lease signals the process with SIGIO, which the Go runtime ignores
// unless signal.Notify asks for it; lockdav asks only for SIGINT and SIGTERM.

import (
	"errors"
	"os"
	"syscall"

	"github.com/spf13/afero"
	"golang.org/x/sys/unix"
)

var _ recycler = (*rootFs)(nil)

// exchange swaps a and b, both resolved below the root with openat2. It
// answers errors.ErrUnsupported where the fast path or the flag is not
// available, so the caller renames instead.
func (r *rootFs) exchange(a, b string) error {
	if r.dirfd < 0 {
		return errors.ErrUnsupported
	}
	a, b = rel(a), rel(b)
	pa, pb, done, err, ok := r.parents(a, b)
	if !ok || fallBack(err) {
		return errors.ErrUnsupported
	}
	if err != nil {
		return linkError(a, b, err)
	}
	defer done()
	err = ignoringEINTR(func() error { return unix.Renameat2(pa.fd, pa.base, pb.fd, pb.base, unix.RENAME_EXCHANGE) })
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EXDEV) {
		return errors.ErrUnsupported
	}
	if err != nil {
		return linkError(a, b, err)
	}
	return nil
}

// reclaim opens the file at the hidden name a and, if it is a regular file
// of this process's user with no other link and no other open descriptor,
// empties it and returns it open as a spare.
func (r *rootFs) reclaim(a string) (*os.File, reclaimed) {
	// Without O_NONBLOCK: os.NewFile would try to add the descriptor to the poller, which
	// refuses regular files, and only regular files are reclaimed (recycle).
	fd, err := r.beneath(rel(a), unix.O_RDWR|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.EISDIR) {
		return nil, swapped
	}
	if err != nil {
		return nil, unlink
	}
	st, ok := reusable(fd)
	if !ok || !lease(fd) {
		unix.Close(fd)
		return nil, unlink
	}
	ok = leaseIntact(fd) && empty(fd, st)
	ok = unlease(fd) && ok
	if !ok {
		unix.Close(fd)
		return nil, unlink
	}
	return os.NewFile(uintptr(fd), r.real+string(os.PathSeparator)+rel(a)), reused
}

// claim checks, with a lease taken and released at once, that no
// descriptor but spare's own has its file open.
func (r *rootFs) claim(spare *os.File) bool {
	fd := int(spare.Fd())
	if !lease(fd) {
		return false
	}
	intact := leaseIntact(fd)
	return unlease(fd) && intact
}

// reusable says whether the file open at fd may hold another file's content
// later: a regular file with one link, owned by this process's user (so it
// carries no one else's ownership into the next upload). It returns the
// file's status.
func reusable(fd int) (unix.Stat_t, bool) {
	var st unix.Stat_t
	if ignoringEINTR(func() error { return unix.Fstat(fd, &st) }) != nil {
		return st, false
	}
	return st, st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Nlink == 1 && int(st.Uid) == euid
}

// euid is this process's effective user ID, read once: os.Geteuid is a system call each time,
// and reusable runs on every PUT that replaces a file.
var euid = os.Geteuid()

// empty truncates the file open at fd, whose status is st, and gives it
// tempPerm, each only if it needs it: the empty resource of a LOCK on an
// unmapped URL, replaced by the first PUT, needs neither.
func empty(fd int, st unix.Stat_t) bool {
	if st.Size != 0 && unix.Ftruncate(fd, 0) != nil {
		return false
	}
	return os.FileMode(st.Mode).Perm() == tempPerm || unix.Fchmod(fd, uint32(tempPerm)) == nil
}

// lease takes a write lease on fd: granted only when no other descriptor has
// the file open. Where leases are off (fs.leases-enable = 0) or the file
// system has none, the answer is no, and nothing is reused.
func lease(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	return err == nil
}

// leaseIntact says whether fd's write lease is still whole: a reader's open
// since lease started breaking it.
func leaseIntact(fd int) bool {
	t, err := unix.FcntlInt(uintptr(fd), unix.F_GETLEASE, 0)
	return err == nil && t == unix.F_WRLCK
}

func unlease(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
	return err == nil
}

// writeback asks the kernel to start writing an upload's data
// (sync_file_range with SYNC_FILE_RANGE_WRITE: it does not wait for it).
// Where that fails, the exchange goes ahead: the same as on file systems
// without auto_da_alloc.
func (r *rootFs) writeback(file afero.File) {
	if f, ok := file.(*os.File); ok {
		_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
}
