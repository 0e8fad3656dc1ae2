package davserver

// Adapts to x/net: concessions to golang.org/x/net/webdav's Handler, which davserver delegates
// PROPPATCH, MKCOL, COPY, MOVE, DELETE and POST to. Here: the webdav.LockSystem it is given (the
// lock core, locksystem, knows no HTTP and no x/net; these adapters translate between the two)
// and the FileSystem it sees, which works in URL paths (userRootFS). The other file system it sees
// is xnet_copy.go's (COPY of a collection with members it cannot open).

import (
	"context"
	"errors"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

var (
	_ webdav.LockSystem = xnetLocks{}
	_ webdav.LockSystem = (*requestLocks)(nil)
)

// LockSystem returns s as an x/net webdav.LockSystem, for a plain webdav.Handler that uses lockdav's
// lock core instead of webdav.NewMemLS: its locks are exclusive, held by locksystem.Anonymous
// and stored like any other. Its methods return x/net's sentinel errors unwrapped, because the
// Handler compares them with ==. (davserver's own Handler does not use it: it checks locks
// before delegating, and gives x/net requestLocks.)
func LockSystem(s *locksystem.System) webdav.LockSystem { return xnetLocks{s} }

// xnetLocks is the webdav.LockSystem view of a System.
type xnetLocks struct{ s *locksystem.System }

// Confirm reports whether the tokens in conditions let an anonymous client write name0 and name1
// (empty names are ignored): each name needs one of the tokens to name a lock covering it, and
// no lock covering it may lack its token (RFC 4918 §7.4). The release function does nothing: a
// confirmed lock is not held for the request, so a refresh that arrives while a PUT with the
// same token is uploading succeeds.
func (x xnetLocks) Confirm(now time.Time, name0, name1 string, conditions ...webdav.Condition) (func(), error) {
	var tokens []string
	for _, c := range conditions {
		if c.Token != "" && !c.Not {
			tokens = append(tokens, c.Token)
		}
	}
	for _, name := range []string{name0, name1} {
		if name != "" && !x.confirm(now, name, tokens) {
			return nil, webdav.ErrConfirmationFailed
		}
	}
	return func() {}, nil
}

func (x xnetLocks) confirm(now time.Time, name string, tokens []string) bool {
	p, err := request.CleanPath(name)
	if err != nil || len(x.s.Missing(now, locksystem.Anonymous, tokens, locksystem.Need{Path: p})) > 0 {
		return false
	}
	for _, t := range tokens {
		if l, ok := x.s.Get(now, t); ok && l.Principal == locksystem.Anonymous && l.Covers(p) {
			return true
		}
	}
	return false
}

// Create grants an exclusive lock to Anonymous. A negative Duration asks for an infinite one.
func (x xnetLocks) Create(now time.Time, d webdav.LockDetails) (string, error) {
	r := locksystem.Request{Path: d.Root, Scope: locksystem.Exclusive, Depth: locksystem.DepthInfinity,
		Owner: d.OwnerXML, Principal: locksystem.Anonymous, Timeout: xnetTimeout(d.Duration)}
	if d.ZeroDepth {
		r.Depth = locksystem.DepthZero
	}
	l, err := x.s.Lock(now, r)
	switch {
	case errors.Is(err, locksystem.ErrLocked), errors.Is(err, locksystem.ErrTooMany):
		return "", webdav.ErrLocked
	case err != nil:
		return "", err
	}
	return l.Token, nil
}

// Refresh refreshes an Anonymous lock. Another principal's token gets ErrLocked (423): it does
// not satisfy that lock.
func (x xnetLocks) Refresh(now time.Time, token string, duration time.Duration) (webdav.LockDetails, error) {
	l, err := x.s.Refresh(now, token, locksystem.Anonymous, "", xnetTimeout(duration))
	switch {
	case errors.Is(err, locksystem.ErrNoSuchLock):
		return webdav.LockDetails{}, webdav.ErrNoSuchLock
	case errors.Is(err, locksystem.ErrForbidden):
		return webdav.LockDetails{}, webdav.ErrLocked
	case err != nil:
		return webdav.LockDetails{}, err
	}
	d := webdav.LockDetails{Root: l.Path, Duration: l.Timeout, OwnerXML: l.Owner, ZeroDepth: l.Depth == locksystem.DepthZero}
	if l.Timeout == locksystem.Infinite {
		d.Duration = -1 // x/net's "infinite"
	}
	return d, nil
}

// Unlock releases an Anonymous lock; another principal's token gets ErrForbidden.
func (x xnetLocks) Unlock(now time.Time, token string) error {
	_, err := x.s.Release(now, token, locksystem.Anonymous, "", false)
	switch {
	case errors.Is(err, locksystem.ErrNoSuchLock):
		return webdav.ErrNoSuchLock
	case errors.Is(err, locksystem.ErrForbidden):
		return webdav.ErrForbidden
	}
	return err
}

// xnetTimeout turns x/net's duration, negative for infinite, into a locksystem timeout.
func xnetTimeout(d time.Duration) time.Duration {
	if d < 0 {
		return locksystem.Infinite
	}
	return d
}

// requestLocks is the LockSystem davserver gives its x/net Handler. davserver evaluates If
// headers and lock requirements before delegating, so here Confirm always succeeds; and for
// every PUT, DELETE, MKCOL, COPY or MOVE without an If header the Handler takes a zero-depth,
// never-expiring lock for the length of the request, which is not a client's lock: Create keeps
// it in memory only (never stored, never queried, never in conflict with client locks), Unlock
// forgets it, and Refresh finds no lock.
type requestLocks struct {
	// mu guards next and live.
	mu   sync.Mutex
	next uint64
	live map[string]struct{}
}

// requestTokenPrefix marks the request locks' tokens; they never leave the request that made them.
const requestTokenPrefix = "urn:lockdav:request:" //nolint:gosec // G101: a URI prefix, not a credential

func newRequestLocks() *requestLocks { return &requestLocks{live: make(map[string]struct{})} }

func (*requestLocks) Confirm(time.Time, string, string, ...webdav.Condition) (func(), error) {
	return func() {}, nil
}

func (q *requestLocks) Create(time.Time, webdav.LockDetails) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	t := requestTokenPrefix + strconv.FormatUint(q.next, 10)
	q.live[t] = struct{}{}
	return t, nil
}

func (*requestLocks) Refresh(time.Time, string, time.Duration) (webdav.LockDetails, error) {
	return webdav.LockDetails{}, webdav.ErrNoSuchLock
}

func (q *requestLocks) Unlock(_ time.Time, token string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.live[token]; !ok {
		return webdav.ErrNoSuchLock
	}
	delete(q.live, token)
	return nil
}

// held returns how many request locks are outstanding.
func (q *requestLocks) held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.live)
}

// userRootFS is the webdav.FileSystem x/net's Handler sees: it works in URL paths, and userRootFS
// prefixes each with the request's root. The user's root itself may not be removed or renamed,
// as the served tree's root may not.
type userRootFS struct {
	webdav.FileSystem
}

func (f userRootFS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	return f.FileSystem.Mkdir(ctx, request.ToReal(request.Root(ctx), name), perm)
}

func (f userRootFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	return f.FileSystem.OpenFile(ctx, request.ToReal(request.Root(ctx), name), flag, perm)
}

func (f userRootFS) RemoveAll(ctx context.Context, name string) error {
	root := request.Root(ctx)
	if root != "/" && path.Clean("/"+name) == "/" {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrPermission}
	}
	return f.FileSystem.RemoveAll(ctx, request.ToReal(root, name))
}

func (f userRootFS) Rename(ctx context.Context, oldName, newName string) error {
	root := request.Root(ctx)
	if root != "/" && (path.Clean("/"+oldName) == "/" || path.Clean("/"+newName) == "/") {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: os.ErrPermission}
	}
	return f.FileSystem.Rename(ctx, request.ToReal(root, oldName), request.ToReal(root, newName))
}

func (f userRootFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	return f.FileSystem.Stat(ctx, request.ToReal(request.Root(ctx), name))
}
