package davserver

// Per-user roots. A user confined to a subtree sees it as the whole tree: URL /x of a user with
// root /alice is the real path /alice/x. Everything inside davserver works on real paths — the
// file system, and the lock table, so that users whose roots overlap share one lock on one
// resource and users with disjoint roots never meet — and real paths become URL paths again only
// where they leave: hrefs in responses. A lock whose root lies above the user's root shows at "/".

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/locksystem"
)

type rootKey struct{}

// WithRoot returns ctx confining the request to the subtree root of the served tree.
func WithRoot(ctx context.Context, root string) context.Context {
	return context.WithValue(ctx, rootKey{}, root)
}

// rootOf is the real path of the request's URL "/"; "/" when unconfined.
func rootOf(r *http.Request) string { return rootCtx(r.Context()) }

func rootCtx(ctx context.Context) string {
	var root string
	if ri := infoOf(ctx); ri != nil && ri.authed {
		root = ri.root
	} else {
		root, _ = ctx.Value(rootKey{}).(string)
	}
	if root == "" {
		return "/"
	}
	return root
}

// toReal maps a cleaned URL path into the served tree.
func toReal(root, urlPath string) string {
	if root == "/" {
		return urlPath
	}
	return path.Join(root, urlPath)
}

// toURL maps a real path back to the user's URL space. A path above root (the root of a lock
// that covers the user's tree from above) is "/", the nearest the user can name.
func toURL(root, real string) string {
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

// inTree reports whether real lies at or below root.
func inTree(root, real string) bool {
	return root == "/" || real == root || strings.HasPrefix(real, root+"/")
}

// locksInView returns copies of locks with their paths in the URL space of root.
func locksInView(root string, locks []locksystem.Lock) []locksystem.Lock {
	if root == "/" || len(locks) == 0 {
		return locks
	}
	out := make([]locksystem.Lock, len(locks))
	for i, l := range locks {
		l.Path = toURL(root, l.Path)
		out[i] = l
	}
	return out
}

// rootFS is the webdav.FileSystem x/net's Handler sees: it works in URL paths, and rootFS
// prefixes each with the request's root. The user's root itself may not be removed or renamed,
// as the served tree's root may not.
type rootFS struct {
	webdav.FileSystem
}

func (f rootFS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	return f.FileSystem.Mkdir(ctx, toReal(rootCtx(ctx), name), perm)
}

func (f rootFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	return f.FileSystem.OpenFile(ctx, toReal(rootCtx(ctx), name), flag, perm)
}

func (f rootFS) RemoveAll(ctx context.Context, name string) error {
	root := rootCtx(ctx)
	if root != "/" && path.Clean("/"+name) == "/" {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrPermission}
	}
	return f.FileSystem.RemoveAll(ctx, toReal(root, name))
}

func (f rootFS) Rename(ctx context.Context, oldName, newName string) error {
	root := rootCtx(ctx)
	if root != "/" && (path.Clean("/"+oldName) == "/" || path.Clean("/"+newName) == "/") {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: os.ErrPermission}
	}
	return f.FileSystem.Rename(ctx, toReal(root, oldName), toReal(root, newName))
}

func (f rootFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	return f.FileSystem.Stat(ctx, toReal(rootCtx(ctx), name))
}

// lockInView returns l with its path in the URL space of root.
func lockInView(root string, l locksystem.Lock) locksystem.Lock {
	l.Path = toURL(root, l.Path)
	return l
}

// needsInView returns copies of needs with their paths in the URL space of root.
func needsInView(root string, needs []locksystem.Need) []locksystem.Need {
	if root == "/" {
		return needs
	}
	out := make([]locksystem.Need, len(needs))
	for i, n := range needs {
		n.Path = toURL(root, n.Path)
		out[i] = n
	}
	return out
}

// destDotDot reports whether a Destination header's path has a ".." segment in any encoding.
// rfc4918.ParseDestination would clean it away; it is refused instead, as a Request-URI with one is.
func destDotDot(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	return err == nil && hasDotDot(u.Path)
}
