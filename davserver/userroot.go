package davserver

// Per-user roots (the mapping itself is request's, paths.go): everything inside davserver works
// on real paths, and real paths become URL paths again only where they leave, in responses.

import (
	"context"
	"net/url"
	"os"
	"path"
	"strings"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// rootFS is the webdav.FileSystem x/net's Handler sees: it works in URL paths, and rootFS
// prefixes each with the request's root. The user's root itself may not be removed or renamed,
// as the served tree's root may not.
type rootFS struct {
	webdav.FileSystem
}

func (f rootFS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	return f.FileSystem.Mkdir(ctx, request.ToReal(request.Root(ctx), name), perm)
}

func (f rootFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	return f.FileSystem.OpenFile(ctx, request.ToReal(request.Root(ctx), name), flag, perm)
}

func (f rootFS) RemoveAll(ctx context.Context, name string) error {
	root := request.Root(ctx)
	if root != "/" && path.Clean("/"+name) == "/" {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrPermission}
	}
	return f.FileSystem.RemoveAll(ctx, request.ToReal(root, name))
}

func (f rootFS) Rename(ctx context.Context, oldName, newName string) error {
	root := request.Root(ctx)
	if root != "/" && (path.Clean("/"+oldName) == "/" || path.Clean("/"+newName) == "/") {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: os.ErrPermission}
	}
	return f.FileSystem.Rename(ctx, request.ToReal(root, oldName), request.ToReal(root, newName))
}

func (f rootFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	return f.FileSystem.Stat(ctx, request.ToReal(request.Root(ctx), name))
}

// needsInView returns copies of needs with their paths in the URL space of root.
func needsInView(root string, needs []locksystem.Need) []locksystem.Need {
	if root == "/" {
		return needs
	}
	out := make([]locksystem.Need, len(needs))
	for i, n := range needs {
		n.Path = request.ToURL(root, n.Path)
		out[i] = n
	}
	return out
}

// destDotDot reports whether a Destination header's path has a ".." segment in any encoding.
// rfc4918.ParseDestination would clean it away; it is refused instead, as a Request-URI with one is.
func destDotDot(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	return err == nil && request.HasDotDot(u.Path)
}
