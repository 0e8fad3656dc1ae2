package request

// Paths: the request's URL path as the served tree knows it. A user confined to a subtree sees
// it as the whole tree: URL /x of a user with root /alice is the real path /alice/x. Everything
// behind the handlers works on real paths — the file system, and the lock table, so that users
// whose roots overlap share one lock on one resource and users with disjoint roots never meet —
// and real paths become URL paths again only where they leave: hrefs and lock documents in
// responses. A lock whose root lies above the user's root shows at "/".

import (
	"errors"
	"path"
	"strings"

	"github.com/lockdav/lockdav/locksystem"
)

// Reserved is the URL prefix that belongs to the server (the lock API, pages, health and
// metrics), not to the served tree.
const Reserved = "/.lockdav/"

// IsReserved reports whether URL path p is the server's own, under Reserved.
func IsReserved(p string) bool {
	return p == strings.TrimSuffix(Reserved, "/") || strings.HasPrefix(p, Reserved)
}

// Errors of CleanPath; davserver answers them 403 and 400.
var (
	// ErrTraversal: a ".." segment, a backslash or a NUL byte, refused rather than cleaned into
	// something else.
	ErrTraversal = errors.New("request: path traversal")
	// ErrBadPath: a path that is not absolute, or holds a control character.
	ErrBadPath = errors.New("request: invalid path")
)

// CleanPath is the cleaned form of an absolute URL path. Traversal attempts (a ".." segment, a
// backslash, a NUL byte — in any encoding, since net/http has already decoded the path) are
// ErrTraversal; other control characters, and a relative path, ErrBadPath.
func CleanPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", ErrBadPath
	}
	if strings.ContainsAny(p, "\\\x00") || HasDotDot(p) {
		return "", ErrTraversal
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return "", ErrBadPath
		}
	}
	return path.Clean(p), nil
}

// HasDotDot reports whether a slash path has a ".." segment.
func HasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// ToReal maps a cleaned URL path into the served tree.
func ToReal(root, urlPath string) string {
	if root == "/" {
		return urlPath
	}
	return path.Join(root, urlPath)
}

// ToURL maps a real path back to the user's URL space. A path above root (the root of a lock
// that covers the user's tree from above) is "/", the nearest the user can name.
func ToURL(root, real string) string {
	switch {
	case root == "/":
		return real
	case real == root:
		return "/"
	case strings.HasPrefix(real, root+"/"):
		return real[len(root):]
	}
	return "/"
}

// InTree reports whether real lies at or below root.
func InTree(root, real string) bool {
	return root == "/" || real == root || strings.HasPrefix(real, root+"/")
}

// LockInView returns l with its path in the URL space of root.
func LockInView(root string, l locksystem.Lock) locksystem.Lock {
	l.Path = ToURL(root, l.Path)
	return l
}

// LocksInView returns copies of locks with their paths in the URL space of root.
func LocksInView(root string, locks []locksystem.Lock) []locksystem.Lock {
	if root == "/" || len(locks) == 0 {
		return locks
	}
	out := make([]locksystem.Lock, len(locks))
	for i, l := range locks {
		out[i] = LockInView(root, l)
	}
	return out
}
