package fs

// A listing's directory read without os.File.Readdir's costs per member: os allocates a
// FileInfo (with a whole Stat_t) for each and wraps every fstatat in the poller's reference
// counting, and file.Readdir wraps each once more. A PROPFIND of 2,000 members (RFC 4918 §9.1)
// is little else than those fstatat calls and these allocations.

import (
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dirStat is one member as a directory read and an lstat found it. It is an os.FileInfo through
// its pointer, so that a batch of them needs no allocation per member.
type dirStat struct {
	name  string
	size  int64
	mode  iofs.FileMode
	mtime time.Time
}

func (d *dirStat) Name() string        { return d.name }
func (d *dirStat) Size() int64         { return d.size }
func (d *dirStat) Mode() iofs.FileMode { return d.mode }
func (d *dirStat) ModTime() time.Time  { return d.mtime }
func (d *dirStat) IsDir() bool         { return d.mode.IsDir() }
func (d *dirStat) Sys() any            { return nil }

// dirBatch is a file's reusable buffers for ReadDirStat.
type dirBatch struct {
	buf      []byte // getdents64 records
	pos, end int
	names    []string
	stats    []dirStat
	infos    []os.FileInfo
}

// ReadDirStat reads up to count visible members with the attributes lstat gives (a symbolic
// link is reported as one), in directory order, as Readdir(count) does, or io.EOF at the end.
// The FileInfos are valid until the next call: a listing writes each before it reads on.
// Where the file is not an *os.File it is Readdir.
func (f *file) ReadDirStat(count int) ([]os.FileInfo, error) {
	osf, ok := f.File.(*os.File)
	if !ok || count <= 0 {
		return f.Readdir(count)
	}
	rc, err := osf.SyscallConn()
	if err != nil {
		return f.Readdir(count)
	}
	if f.batch == nil {
		f.batch = &dirBatch{buf: make([]byte, 32<<10)}
	}
	b := f.batch
	b.stats, b.infos = b.stats[:0], b.infos[:0]
	var readErr error
	if err := rc.Control(func(fd uintptr) { readErr = f.fillBatch(int(fd), count) }); err != nil { //nolint:gosec // a descriptor fits an int
		return nil, err
	}
	for i := range b.stats {
		b.infos = append(b.infos, &b.stats[i])
	}
	if len(b.infos) == 0 && readErr == nil {
		readErr = io.EOF
	}
	return b.infos, readErr
}

// fillBatch reads members into f.batch.stats until it holds count or the directory ends.
func (f *file) fillBatch(fd, count int) error {
	b := f.batch
	for len(b.stats) < count {
		if b.pos >= b.end {
			n, err := unix.Getdents(fd, b.buf)
			if err != nil {
				return &os.PathError{Op: "getdents", Path: f.name, Err: err}
			}
			if n <= 0 {
				return nil
			}
			b.pos, b.end = 0, n
		}
		used, _, names := unix.ParseDirent(b.buf[b.pos:b.end], count-len(b.stats), b.names[:0])
		b.pos += used
		b.names = names
		for _, name := range names {
			if err := f.statMember(fd, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// statMember appends name's attributes to the batch, if a listing may show it (visible): a
// member removed since the directory was read is left out, as os.File.Readdir does.
func (f *file) statMember(fd int, name string) error {
	if isHidden(name) {
		return nil
	}
	if err := checkMember(f.name, name); err != nil {
		f.fs.log.Warn().Err(err).Str("dir", f.name).Msg("listing skips a member no request can name")
		return nil
	}
	var st unix.Stat_t
	err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "lstat", Path: f.name + "/" + name, Err: err}
	}
	f.batch.stats = append(f.batch.stats, dirStat{name: name, size: st.Size, mode: fileMode(st.Mode),
		mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec)})
	return nil
}

// fileMode converts st_mode as os does.
func fileMode(m uint32) iofs.FileMode {
	mode := iofs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= iofs.ModeDir
	case syscall.S_IFLNK:
		mode |= iofs.ModeSymlink
	case syscall.S_IFIFO:
		mode |= iofs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= iofs.ModeSocket
	case syscall.S_IFCHR:
		mode |= iofs.ModeDevice | iofs.ModeCharDevice
	case syscall.S_IFBLK:
		mode |= iofs.ModeDevice
	}
	if m&syscall.S_ISUID != 0 {
		mode |= iofs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= iofs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= iofs.ModeSticky
	}
	return mode
}
