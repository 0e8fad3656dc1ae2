package fs

// PUT is covered by RFC 4918 Section 9.7 (and RFC 9110 Section 9.3.4):
// a PUT to an existing resource replaces its content, dead properties stay.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"time"

	"github.com/spf13/afero"
)

// Upload stores body at name atomically: it goes to a hidden temporary file
// in the target's directory, which is renamed over the target only once
// fully received. On any failure the target is untouched and the temporary
// file removed.
//
// limit > 0 caps the body (ErrTooLarge beyond it). A missing parent yields
// an error matching os.ErrNotExist; a collection as target, ErrIsDir. fi
// describes the new content (its ETag is the target's from now on); created
// reports whether the target did not exist before. Dead properties of an
// existing target are kept, and so are its permissions (0644 for a new one).
//
// Upload looks the target up once, just before the rename: a collection as
// target is found only after the body has been received, so callers that
// can refuse one sooner (davserver stats the target for its preconditions
// anyway) should.
//
// Upload does not fsync, by design. What it promises is about failed
// uploads: a client that disconnects, or a body over the limit, leaves the
// old content byte for byte and no temporary file behind; the rename gives
// that without any sync. Surviving a power loss is a different promise,
// which x/net's webdav.Dir (writing in place with O_TRUNC), Apache's
// mod_dav_fs and nginx do not make either, and which cost one file and one
// directory fsync (~1-3 ms each here) on every PUT. On ext4 (data=ordered,
// auto_da_alloc) a rename that replaces a file flushes the new data first,
// so a crash leaves the old content or the new one, not an empty file; the
// exchange that keeps a spare (spare.go) starts that flush itself.
//
// The temporary file is a spare of the target's directory (spare.go), else
// a new file made there. Upload holds that directory open (uploadDir) from
// then on: the file is written, put in place and, on failure, removed
// through that handle, never by its path.
// If the directory is moved, replaced or deleted before the body is in, the
// upload fails as for a missing parent (os.ErrNotExist; 409 for a PUT) and
// the temporary file is removed wherever the directory went. A directory
// moved away and back in the meantime is the target's directory again, and
// the upload succeeds.
//
// ready, if not nil, is called once the body is in, with the target locked
// against other uploads, just before it is replaced; an error from it
// abandons the upload and is returned as it is. A body can take longer to
// arrive than whatever allowed the write when it began (a lock) lasts.
func (f *FS) Upload(ctx context.Context, name string, body io.Reader, limit int64, ready func() error) (fi os.FileInfo, created bool, err error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, false, err
	}
	if n == "/" {
		return nil, false, fmt.Errorf("upload %s: %w", n, ErrIsDir)
	}
	if !f.parentChecked {
		if err := f.checkParent("upload", n); err != nil {
			return nil, false, err
		}
	}
	dir, err := f.openUploadDir(path.Dir(n))
	if err != nil {
		return nil, false, fmt.Errorf("upload %s: %w", n, err)
	}
	defer f.closeDir(dir, n)
	tmp, err := f.receive(ctx, dir, body, limit)
	if err != nil {
		return nil, false, fmt.Errorf("upload %s: %w", n, err)
	}
	unlock := f.lockFile(n)
	if ready != nil {
		if err := ready(); err != nil {
			unlock()
			f.drop(dir, tmp)
			return nil, false, err
		}
	}
	fi, created, err = f.commit(dir, &tmp, n)
	unlock()
	if err != nil {
		f.drop(dir, tmp)
		return nil, false, fmt.Errorf("upload %s: %w", n, err)
	}
	f.release(dir, tmp)
	return fileInfo{named{fi, path.Base(n)}}, created, nil
}

// closeDir closes an upload's directory. A failure is only logged: the
// handle is read-only, there is nothing of the upload's in it to lose.
func (f *FS) closeDir(dir uploadDir, n string) {
	if err := dir.Close(); err != nil {
		f.log.Warn().Err(err).Str("path", n).Msg("cannot close an upload's directory")
	}
}

// tempPerm is the mode of an upload in progress: nobody else may read it
// before it gets the target's permissions, just before the rename.
const tempPerm os.FileMode = 0o600

// newPerm is the mode of a file created by an upload.
const newPerm os.FileMode = 0o644

// temp is a received upload, still open: its hidden name in its uploadDir,
// and its file. held is, for a spare (spare.go), the handle of the directory
// the spare was kept with, which the next spare keeps.
type temp struct {
	name string
	file afero.File
	held *os.File
}

// receive writes body to a hidden file in dir: a spare of dir's if there is
// one, else a new file. The file stays open for commit; receive leaves
// nothing behind when it fails.
func (f *FS) receive(ctx context.Context, dir uploadDir, body io.Reader, limit int64) (temp, error) {
	tmp, err := f.openTemp(dir)
	if err != nil {
		return temp{}, err
	}
	written, err := copyBody(tmp.file, ctxReader{ctx, body}, limit)
	if err == nil && written == 0 && tmp.held != nil {
		// No write set the spare's modification time: the new content's
		// time is now, not when the spare was emptied.
		now := time.Now()
		err = dir.Chtimes(tmp.name, now, now)
	}
	if err != nil {
		err = errors.Join(err, tmp.file.Close())
		f.drop(dir, tmp)
		return temp{}, err
	}
	return tmp, nil
}

// openTemp returns a spare of dir's, or a new hidden file in dir.
func (f *FS) openTemp(dir uploadDir) (temp, error) {
	if sd, ok := dir.(spareDir); ok {
		if tmp, ok := f.takeSpare(sd); ok {
			return tmp, nil
		}
	}
	file, name, err := createTemp(dir, tempPerm)
	if err != nil {
		return temp{}, err
	}
	return temp{name: name, file: file}, nil
}

// createTemp creates a new hidden file in dir and returns it with its name
// there. It names the file itself: the Name of an afero.File is
// backend-specific (an OS path for jailFs).
func createTemp(dir uploadDir, perm os.FileMode) (afero.File, string, error) {
	for range 8 {
		name := tempPrefix + rand.Text()
		tmp, err := dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, os.ErrExist) {
			return tmp, name, err
		}
	}
	return nil, "", fmt.Errorf("create temporary file in %s: too many collisions", dir.path())
}

// copyBufs are the buffers uploads are copied through. io.Copy to an
// *os.File takes its ReadFrom, which allocates 32 KiB for every call: for a
// small PUT that was most of its garbage.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// copyBody copies body to w, at most limit bytes when limit > 0, and
// returns how many it wrote.
func copyBody(w io.Writer, body io.Reader, limit int64) (int64, error) {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	if limit <= 0 {
		return copyFull(w, body, *buf)
	}
	written, err := copyFull(w, io.LimitReader(body, limit+1), *buf)
	if err != nil {
		return written, err
	}
	if written > limit {
		return written, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return written, nil
}

// copyFull is io.CopyBuffer that fills buf before each write: a body reads
// in the pieces that reached the socket (the rest of the header's read,
// then the remainder), and a small upload then costs one write, not two.
// Only io.EOF ends the copy cleanly; any other error, io.ErrUnexpectedEOF
// from a body cut short included, is returned.
func copyFull(w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var written int64
	for {
		n, rerr := fill(r, buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
		}
		if errors.Is(rerr, io.EOF) {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// fill reads into buf until it is full or r fails, returning r's error as is.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// commit gives tmp the target's permissions and a modification time later
// than the target's, closes it and puts it in the place of the target n,
// once sure that dir is still n's directory; n must be locked (lockFile),
// which keeps MOVE and DELETE from changing the tree until the rename is
// done. Only what must agree with the target as it is now happens here: the
// rest was done unlocked. fi describes tmp as renamed.
func (f *FS) commit(dir uploadDir, tmp *temp, n string) (fi os.FileInfo, created bool, err error) {
	old, err := f.base.Stat(n)
	created = errors.Is(err, os.ErrNotExist)
	switch {
	case created:
		old = nil
	case err != nil:
		return nil, false, errors.Join(err, tmp.file.Close())
	case old.IsDir():
		return nil, false, errors.Join(ErrIsDir, tmp.file.Close())
	}
	if fi, err = finish(dir, tmp, old); err != nil {
		return nil, false, err
	}
	// The handle follows its directory: renamed through it after a MOVE,
	// the upload would land in the moved collection, under a URL the client
	// never named.
	if err := dir.check(); err != nil {
		return nil, false, err
	}
	if !created {
		return fi, false, f.replace(dir, tmp, path.Base(n), old)
	}
	if err := dir.Rename(tmp.name, path.Base(n)); err != nil {
		return nil, false, err
	}
	return fi, true, f.fresh(n)
}

// finish closes tmp with the permissions of old (the target, nil for a new
// one) and a modification time later than old's, and returns its FileInfo.
func finish(dir uploadDir, tmp *temp, old os.FileInfo) (os.FileInfo, error) {
	fi, err := setPerm(dir, tmp, old)
	if _, ok := dir.(spareDir); ok && err == nil && old != nil && old.Size() > 0 {
		// replace will exchange rather than rename: start the flush a rename
		// would have. Over an empty file there is nothing to protect: a crash
		// that loses the new data leaves the old, empty, content.
		writeback(tmp.file)
	}
	// Some backends (MemMapFs) set the modification time on Close: close
	// before advancing it, and look again unless Close is the OS's.
	if cerr := tmp.file.Close(); err == nil {
		err = cerr
	}
	if _, ok := tmp.file.(*os.File); !ok && err == nil {
		fi, err = dir.Stat(tmp.name)
	}
	if err == nil && old != nil && !fi.ModTime().After(old.ModTime()) {
		fi, err = advanceMtime(dir, tmp.name, old.ModTime())
	}
	return fi, err
}

// setPerm gives the open upload tmp the permissions of old (newPerm when old
// is nil) and returns its FileInfo. Through the descriptor where the
// backend's files allow: one system call and no path walk. It sets them
// without looking first: an upload's file almost always has tempPerm, and
// the target almost never has it.
func setPerm(dir uploadDir, tmp *temp, old os.FileInfo) (os.FileInfo, error) {
	perm := newPerm
	if old != nil {
		perm = old.Mode().Perm()
	}
	var err error
	if c, ok := tmp.file.(interface{ Chmod(os.FileMode) error }); ok {
		err = c.Chmod(perm)
	} else {
		err = dir.Chmod(tmp.name, perm)
	}
	if err != nil {
		return nil, err
	}
	return tmp.file.Stat()
}

// named is a FileInfo under another name: an upload's, described by its
// temporary file before the rename.
type named struct {
	os.FileInfo
	name string
}

func (fi named) Name() string { return fi.name }

// mtimeSteps are tried in turn until the file system keeps a modification
// time later than the previous one: file systems with coarse timestamps
// round the small steps away.
var mtimeSteps = []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, 2 * time.Second}

// advanceMtime makes the modification time of name in dir later than prev,
// so that the ETag of the new content differs from every earlier one of the
// target, and returns name's FileInfo.
func advanceMtime(dir uploadDir, name string, prev time.Time) (os.FileInfo, error) {
	for _, step := range mtimeSteps {
		fi, err := dir.Stat(name)
		if err != nil {
			return nil, err
		}
		if fi.ModTime().After(prev) {
			return fi, nil
		}
		t := prev.Add(step)
		if err := dir.Chtimes(name, t, t); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("modification time of %s does not advance past %s", name, prev)
}

// drop removes a failed upload's temporary file tmp, closed, from dir, and
// closes the directory handle it came with, if any.
func (f *FS) drop(dir uploadDir, tmp temp) {
	f.discard(dir, tmp.name)
	f.release(dir, tmp)
}

// release closes the directory handle tmp came with, unless a new spare took
// it over (replace).
func (f *FS) release(dir uploadDir, tmp temp) {
	if tmp.held != nil {
		f.closeHandle(tmp.held, dir)
	}
}

// discard removes the temporary file name from dir, logging (only) if that
// fails. Not finding it is no failure: a DELETE of the directory during the
// upload removes it too.
func (f *FS) discard(dir uploadDir, name string) {
	if err := dir.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.log.Error().Err(err).Str("path", path.Join(dir.path(), name)).Msg("cannot remove temporary upload")
	}
}

// ctxReader stops a body copy once the request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
