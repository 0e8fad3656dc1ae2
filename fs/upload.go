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
// in the target's directory, is synced, and is renamed over the target only
// once fully received. On any failure the target is untouched and the
// temporary file removed.
//
// limit > 0 caps the body (ErrTooLarge beyond it). A missing parent yields
// an error matching os.ErrNotExist; a collection as target, ErrIsDir. created
// reports whether the target did not exist before. Dead properties of an
// existing target are kept.
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
	if err := f.checkTarget(n); err != nil {
		return false, err
	}
	tmp, err := f.receive(ctx, path.Dir(n), body, limit)
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", n, err)
	}
	f.mu.Lock()
	created, err = f.commit(tmp, n)
	f.mu.Unlock()
	if err != nil {
		f.discard(tmp)
		return false, fmt.Errorf("upload %s: %w", n, err)
	}
	f.syncDir(path.Dir(n))
	return created, nil
}

// checkTarget refuses a target that is a collection.
func (f *FS) checkTarget(n string) error {
	fi, err := f.base.Stat(n)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("upload %s: %w", n, ErrIsDir)
	}
	return nil
}

// receive writes body to a new hidden file in dir, syncs and closes it, and
// returns its name. It leaves nothing behind when it fails.
func (f *FS) receive(ctx context.Context, dir string, body io.Reader, limit int64) (string, error) {
	tmp, name, err := f.createTemp(dir)
	if err != nil {
		return "", err
	}
	err = copyBody(tmp, ctxReader{ctx, body}, limit)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.discard(name)
		return "", err
	}
	return name, nil
}

// createTemp creates a new hidden file in dir. It names the file itself:
// the Name of an afero.File is backend-specific (an OS path for rootFs).
func (f *FS) createTemp(dir string) (afero.File, string, error) {
	for range 8 {
		name := path.Join(dir, tempPrefix+rand.Text())
		tmp, err := f.base.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
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

// commit gives tmp the mode of the target, a modification time later than
// the target's, and renames it over the target; f.mu must be held.
func (f *FS) commit(tmp, n string) (created bool, err error) {
	old, err := f.base.Stat(n)
	created = errors.Is(err, os.ErrNotExist)
	switch {
	case err != nil && !created:
		return false, err
	case err == nil && old.IsDir():
		return false, ErrIsDir
	}
	perm := os.FileMode(0o644)
	if !created {
		perm = old.Mode().Perm()
	}
	if err := f.base.Chmod(tmp, perm); err != nil {
		return false, err
	}
	if !created {
		if err := f.advanceMtime(tmp, old.ModTime()); err != nil {
			return false, err
		}
	}
	if err := f.base.Rename(tmp, n); err != nil {
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

// syncDir makes the renames done in dir so far durable, sharing one fsync
// with the uploads that finish at the same time; f.mu must not be held.
// Failure is logged, not returned: the new content is in place, and the
// client's view is already correct.
func (f *FS) syncDir(dir string) {
	if err := f.dirSync.sync(dir, f.fsyncDir); err != nil {
		f.log.Warn().Err(err).Str("path", dir).Msg("directory sync failed")
	}
}

func (f *FS) fsyncDir(dir string) error {
	d, err := f.base.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
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
