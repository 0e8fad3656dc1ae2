// Package davfs is the file tree lockdav serves: a webdav.FileSystem over an
// afero.Fs, jailed to its root, with atomic uploads and durable dead properties.
// It knows nothing of locks or HTTP.
package davfs

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

var (
	// ErrOutsideRoot reports a name that resolves, through a symlink, to a place outside the root.
	ErrOutsideRoot = errors.New("davfs: path leads outside the root")
	// ErrTooLarge reports an upload body longer than the allowed limit.
	ErrTooLarge = errors.New("davfs: upload exceeds the size limit")
	// ErrIsDir reports an upload whose target is a collection.
	ErrIsDir = errors.New("davfs: target is a directory")
	// ErrInvalidName reports a name that is not acceptable in the tree.
	ErrInvalidName = errors.New("davfs: invalid name")
)

// FS is a webdav.FileSystem over an afero.Fs, jailed to its root, with durable dead properties.
type FS struct {
	base  afero.Fs
	props PropStore
	log   zerolog.Logger
}

var _ webdav.FileSystem = (*FS)(nil)

// New returns an FS over base.
func New(base afero.Fs, props PropStore, log zerolog.Logger) *FS {
	return &FS{base: base, props: props, log: log}
}

// NewOS returns an FS over the OS tree at root.
func NewOS(root string, props PropStore, log zerolog.Logger) (*FS, error) {
	return nil, errors.New("not implemented")
}

func (f *FS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	return errors.New("not implemented")
}
func (f *FS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	return nil, errors.New("not implemented")
}
func (f *FS) RemoveAll(ctx context.Context, name string) error { return errors.New("not implemented") }
func (f *FS) Rename(ctx context.Context, oldName, newName string) error {
	return errors.New("not implemented")
}
func (f *FS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	return nil, errors.New("not implemented")
}

// Upload stores body at name atomically.
func (f *FS) Upload(ctx context.Context, name string, body io.Reader, limit int64) (created bool, err error) {
	return false, errors.New("not implemented")
}

// ETag returns a quoted strong ETag for fi.
func ETag(fi os.FileInfo) string { return "" }

// PropStore holds durable dead properties keyed by cleaned slash path.
type PropStore interface {
	Get(name string) (map[xml.Name]webdav.Property, error)
	Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error)
	Move(oldName, newName string) error
	Copy(oldName, newName string) error
	RemoveTree(name string) error
	Close() error
}

// NewMemProps returns an in-memory PropStore.
func NewMemProps() PropStore { return nil }

// BoltProps is a PropStore in a bbolt file.
type BoltProps struct{}

// OpenProps opens the bbolt file at path.
func OpenProps(path string, log zerolog.Logger) (*BoltProps, error) {
	return nil, errors.New("not implemented")
}

func (b *BoltProps) Get(name string) (map[xml.Name]webdav.Property, error) { return nil, nil }
func (b *BoltProps) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	return nil, nil
}
func (b *BoltProps) Move(oldName, newName string) error { return nil }
func (b *BoltProps) Copy(oldName, newName string) error { return nil }
func (b *BoltProps) RemoveTree(name string) error       { return nil }
func (b *BoltProps) Close() error                       { return nil }
