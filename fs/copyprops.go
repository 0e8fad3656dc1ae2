package fs

import (
	"context"
	"path"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

// copyKey marks a context as a COPY's; its value is a copyRoots.
type copyKey struct{}

// copyRoots are the clean source and destination paths of a COPY.
type copyRoots struct{ src, dst string }

// WithCopy marks ctx as that of a COPY of src to dst (RFC 4918 §9.8). Collections that Mkdir
// makes in dst's tree under ctx take the dead properties of their sources in src's: x/net's
// COPY walk duplicates those of files only, and §9.8.2 has a copy keep its source's dead
// properties whatever the resource.
func WithCopy(ctx context.Context, src, dst string) context.Context {
	return context.WithValue(ctx, copyKey{}, copyRoots{path.Clean("/" + src), path.Clean("/" + dst)})
}

// copySource is the source of the collection n when ctx is a COPY's and n lies in the tree
// of its destination.
func copySource(ctx context.Context, n string) (string, bool) {
	c, ok := ctx.Value(copyKey{}).(copyRoots)
	if !ok || !propkit.InTree(n, c.dst) {
		return "", false
	}
	return propkit.Rebase(n, c.dst, c.src), true
}

// mkdirProps gives the new collection n its dead properties: its source's in a COPY, else
// none (fresh). f.tree must be held for writing.
func (f *FS) mkdirProps(ctx context.Context, n string) error {
	if src, ok := copySource(ctx, n); ok {
		return f.props.Copy(src, n)
	}
	return f.fresh(n)
}
