package davserver

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"syscall"
)

// requestPath is the request's cleaned absolute path in the served tree: its URL path under the
// request's root (see userroot.go). Traversal attempts (a ".." segment, a backslash, a NUL byte —
// in any encoding, since net/http has already decoded the path) are refused with 403 rather than
// cleaned into something else; other control characters are 400.
func requestPath(r *http.Request) (string, error) {
	p, err := cleanPath(r.URL.Path)
	if err != nil {
		return "", err
	}
	return toReal(rootOf(r), p), nil
}

func cleanPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", fail(http.StatusBadRequest, "invalid path")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return "", fail(http.StatusForbidden, "invalid path")
	}
	if hasDotDot(p) {
		return "", fail(http.StatusForbidden, "invalid path")
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return "", fail(http.StatusBadRequest, "invalid path")
		}
	}
	return path.Clean(p), nil
}

// hasDotDot reports whether a slash path has a ".." segment.
func hasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// checkParent answers a request that creates p when p's parent cannot hold it: 409 when the
// parent does not exist or is not a collection (RFC 4918 §9.7.1), else the parent's own error —
// 403 when a symlink leads it outside the root, 400 for a name the tree cannot hold — rather
// than a 409 that would send a client looking for a missing collection.
func (h *Handler) checkParent(ctx context.Context, p string) error {
	pfi, err := h.fs.Stat(ctx, parent(p))
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return err
	case err != nil || !pfi.IsDir():
		return fail(http.StatusConflict, "parent collection does not exist")
	}
	return nil
}

// parent is the collection that holds p ("/" for "/").
func parent(p string) string { return path.Dir(p) }

// isReserved reports whether p is the server's reserved namespace.
func isReserved(p string) bool {
	return p == strings.TrimSuffix(Reserved, "/") || strings.HasPrefix(p, Reserved)
}
