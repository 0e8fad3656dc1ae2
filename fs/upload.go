package davfs

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
	"time"

	"github.com/spf13/afero"
)

// Upload stores body at name atomically: it goes to a hidden temporary file
// in the target's directory, which is renamed over the target only once
// fully received. On any failure the target is untouched and the temporary
// file removed.
//
// limit > 0 caps the body (ErrTooLarge beyond it). A missing parent yields
// an error matching os.ErrNotExist; a collection as target, ErrIsDir. created
// reports whether the target did not exist before. Dead properties of an
// existing target are kept.
//
// Upload does not fsync, by design. What it promises is about failed
// uploads: a client that disconnects, or a body over the limit, leaves the
// old content byte for byte and no temporary file behind; the rename gives
// that without any sync. Surviving a power loss is a different promise,
// which x/net's webdav.Dir (writing in place with O_TRUNC), Apache's
// mod_dav_fs and nginx do not make either, and which cost one file and one
// directory fsync (~1-3 ms each here) on every PUT. On ext4 (data=ordered,
// auto_da_alloc) a rename that replaces a file flushes the new data first,
// so a crash leaves the old content or the new one, not an empty file.
func (f *FS) Upload(ctx context.Context, name string, body io.Reader, limit int64) (created bool, err error) {
	n, err := cleanName(name)
	if err != nil {
		return false, err
	}
	if n == "/" {
		return false, fmt.Errorf("upload %s: %w", n, ErrIsDir)
	}
	if err := f.checkParent("upload", n); err != nil {
		return false, err
	}
	perm, err := f.targetPerm(n)
	if err != nil {
		return false, err
	}
	tmp, err := f.receive(ctx, path.Dir(n), body, limit, perm)
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", n, err)
	}
	unlock := f.lockFile(n)
	created, err = f.commit(tmp, n)
	unlock()
	if err != nil {
		f.discard(tmp.name)
		return false, fmt.Errorf("upload %s: %w", n, err)
	}
	return created, nil
}

// targetPerm refuses a target that is a collection and returns the
// permissions the new content gets: those of the target, 0644 for a new one.
func (f *FS) targetPerm(n string) (os.FileMode, error) {
	fi, err := f.base.Stat(n)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0o644, nil
	case err != nil:
		return 0, err
	case fi.IsDir():
		return 0, fmt.Errorf("upload %s: %w", n, ErrIsDir)
	}
	return fi.Mode().Perm(), nil
}

// temp is a received upload: its hidden name and its modification time.
type temp struct {
	name  string
	mtime time.Time
}

// receive writes body to a new hidden file in dir with permissions perm,
// and closes it. It leaves nothing behind when it fails.
func (f *FS) receive(ctx context.Context, dir string, body io.Reader, limit int64, perm os.FileMode) (temp, error) {
	file, name, err := f.createTemp(dir, perm)
	if err != nil {
		return temp{}, err
	}
	err = copyBody(file, ctxReader{ctx, body}, limit)
	var fi os.FileInfo
	if err == nil {
		fi, err = file.Stat()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil && fi.Mode().Perm() != perm { // the umask took some away
		err = f.base.Chmod(name, perm)
	}
	if err != nil {
		f.discard(name)
		return temp{}, err
	}
	return temp{name: name, mtime: fi.ModTime()}, nil
}

// createTemp creates a new hidden file in dir. It names the file itself:
// the Name of an afero.File is backend-specific (an OS path for rootFs).
func (f *FS) createTemp(dir string, perm os.FileMode) (afero.File, string, error) {
	for range 8 {
		name := path.Join(dir, tempPrefix+rand.Text())
		tmp, err := f.base.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, os.ErrExist) {
			return tmp, name, err
		}
	}
	return nil, "", fmt.Errorf("create temporary file in %s: too many collisions", dir)
}

func copyBody(w io.Writer, body io.Reader, limit int64) error {
	if limit <= 0 {
		_, err := io.Copy(w, body)
		return err
	}
	written, err := io.Copy(w, io.LimitReader(body, limit+1))
	if err != nil {
		return err
	}
	if written > limit {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return nil
}

// commit renames tmp over the target n, first making its modification time
// later than the target's; n must be locked (lockFile). Only what must agree
// with the target as it is now happens here: the rest was done unlocked.
func (f *FS) commit(tmp temp, n string) (created bool, err error) {
	old, err := f.base.Stat(n)
	created = errors.Is(err, os.ErrNotExist)
	switch {
	case err != nil && !created:
		return false, err
	case err == nil && old.IsDir():
		return false, ErrIsDir
	case !created && !tmp.mtime.After(old.ModTime()):
		if err := f.advanceMtime(tmp.name, old.ModTime()); err != nil {
			return false, err
		}
	}
	if err := f.base.Rename(tmp.name, n); err != nil {
		return false, err
	}
	if created {
		return true, f.fresh(n)
	}
	return false, nil
}

// mtimeSteps are tried in turn until the file system keeps a modification
// time later than the previous one: file systems with coarse timestamps
// round the small steps away.
var mtimeSteps = []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, 2 * time.Second}

// advanceMtime makes the modification time of name later than prev, so that
// the ETag of the new content differs from every earlier one of the target.
func (f *FS) advanceMtime(name string, prev time.Time) error {
	for _, step := range mtimeSteps {
		fi, err := f.base.Stat(name)
		if err != nil {
			return err
		}
		if fi.ModTime().After(prev) {
			return nil
		}
		t := prev.Add(step)
		if err := f.base.Chtimes(name, t, t); err != nil {
			return err
		}
	}
	return fmt.Errorf("modification time of %s does not advance past %s", name, prev)
}

// discard removes a temporary file, logging (only) if that fails.
func (f *FS) discard(name string) {
	if err := f.base.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.log.Error().Err(err).Str("path", name).Msg("cannot remove temporary upload")
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
