package davserver

// Request-URIs (RFC 4918 §8.3): the path a request names, in the served tree. A user confined
// to a root (request.Root) sees it as the whole tree; everything inside davserver works on real
// paths, which become URL paths again only where they leave, in responses.

import (
	"context"
	"errors"
	iofs "io/fs"
	"net/http"
	"path"
	"syscall"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/server/request"
)

// requestPath is the request's cleaned absolute path in the served tree: its URL path under the
// request's root. Traversal attempts are refused with 403 rather than cleaned into something
// else; other malformed paths are 400 (request.CleanPath, statusOf). A name the tree refuses by
// itself (a hidden upload's, 403) is refused here, for every method, before any handler or x/net
// answers it with a status of its own.
func requestPath(r *http.Request) (string, error) {
	p, err := request.CleanPath(r.URL.Path)
	if err != nil {
		return "", err
	}
	p = request.ToReal(request.Root(r.Context()), p)
	if err := fs.CheckName(p); err != nil {
		return "", err
	}
	return p, nil
}

// checkParent answers a request that creates p when p's parent cannot hold it: 409 when the
// parent does not exist or is not a collection (RFC 4918 §9.7.1), else the parent's own error —
// 403 when a symlink leads it outside the root, 400 for a name the tree cannot hold — rather
// than a 409 that would send a client looking for a missing collection.
func (h *Handler) checkParent(ctx context.Context, p string) error {
	pfi, err := h.fs.Stat(ctx, parent(p))
	switch {
	case err != nil && !errors.Is(err, iofs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return err
	case err != nil || !pfi.IsDir():
		return fail(http.StatusConflict, "parent collection does not exist")
	}
	return nil
}

// parent is the collection that holds p ("/" for "/").
func parent(p string) string { return path.Dir(p) }
