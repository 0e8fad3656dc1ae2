package davserver

// Adapts to x/net: PROPFIND's lock properties, DAV:lockdiscovery (RFC 4918 §15.8) and
// DAV:supportedlock (§15.10). x/net leaves lockdiscovery as a TODO and hard-codes supportedlock
// to exclusive locks only, but its PROPFIND looks a property up in a file's DeadProps before its
// live ones (x/net/webdav prop.go, props). So for PROPFIND requests the FileSystem handed to x/net
// wraps each file and adds the two computed properties to the stored dead ones; davfs itself
// stays ignorant of locks.

import (
	"context"
	"encoding/xml"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

var (
	nameLockDiscovery = xml.Name{Space: "DAV:", Local: "lockdiscovery"}
	nameSupportedLock = xml.Name{Space: "DAV:", Local: "supportedlock"}
)

type propfindKey struct{}

// propfindState is one PROPFIND request's view. x/net walks a PROPFIND in one goroutine, so it
// needs no mutex.
type propfindState struct {
	now time.Time
	// names is true for allprop and propname requests. There x/net lists supportedlock as a live
	// property and then looks each listed name up in DeadProps: the first DeadProps call on a
	// resource (the listing) leaves supportedlock out so it is not listed twice, later calls (the
	// lookup) put it in so ours, not x/net's exclusive-only one, is the value reported.
	names bool
	calls map[string]int
}

// withPropfind marks ctx as a PROPFIND request's.
func withPropfind(ctx context.Context, now time.Time, names bool) context.Context {
	return context.WithValue(ctx, propfindKey{}, &propfindState{now: now, names: names, calls: map[string]int{}})
}

// lockFS is the webdav.FileSystem x/net's Handler sees.
type lockFS struct {
	webdav.FileSystem
	locks *locksystem.System
}

// OpenFile wraps files opened for a PROPFIND, and hides the reserved namespace in the root's listing.
func (f *lockFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	file, err := f.FileSystem.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	st, ok := ctx.Value(propfindKey{}).(*propfindState)
	if !ok || flag != os.O_RDONLY {
		return file, nil
	}
	return &lockFile{File: file, name: strings.TrimSuffix(name, "/"), root: request.Root(ctx), locks: f.locks, st: st}, nil
}

// lockFile adds computed lock properties to a file's dead properties.
type lockFile struct {
	webdav.File
	name  string // real path
	root  string // the request's root: lock roots are shown in its URL space
	locks *locksystem.System
	st    *propfindState
}

// DeadProps implements webdav.DeadPropsHolder.
func (f *lockFile) DeadProps() (map[xml.Name]webdav.Property, error) {
	props := map[xml.Name]webdav.Property{}
	if dph, ok := f.File.(webdav.DeadPropsHolder); ok {
		stored, err := dph.DeadProps()
		if err != nil {
			return nil, err
		}
		for k, v := range stored {
			props[k] = v
		}
	}
	name := f.name
	if name == "" {
		name = "/"
	}
	props[nameLockDiscovery] = webdav.Property{
		XMLName:  nameLockDiscovery,
		InnerXML: []byte(rfc4918.LockDiscovery(request.LocksInView(f.root, f.locks.Covering(f.st.now, name)), f.st.now)),
	}
	f.st.calls[name]++
	if !f.st.names || f.st.calls[name] > 1 {
		props[nameSupportedLock] = webdav.Property{XMLName: nameSupportedLock, InnerXML: []byte(rfc4918.SupportedLock())}
	}
	return props, nil
}

// Patch implements webdav.DeadPropsHolder; PROPFIND never patches.
func (f *lockFile) Patch(p []webdav.Proppatch) ([]webdav.Propstat, error) {
	if dph, ok := f.File.(webdav.DeadPropsHolder); ok {
		return dph.Patch(p)
	}
	return nil, webdav.ErrNotImplemented
}

// ETag implements webdav.ETager with the wrapped file's ETag.
func (f *lockFile) ETag(ctx context.Context) (string, error) {
	if et, ok := f.File.(webdav.ETager); ok {
		return et.ETag(ctx)
	}
	return "", webdav.ErrNotImplemented
}

// ContentType implements webdav.ContentTyper with the wrapped file's content type.
func (f *lockFile) ContentType(ctx context.Context) (string, error) {
	if ct, ok := f.File.(webdav.ContentTyper); ok {
		return ct.ContentType(ctx)
	}
	return "", webdav.ErrNotImplemented
}

// Readdir hides the reserved namespace from the listing of the request's root (where its URL
// would lead to the server's own endpoints).
func (f *lockFile) Readdir(n int) ([]fs.FileInfo, error) {
	fis, err := f.File.Readdir(n)
	if f.name != "" && f.name != "/" && f.name != f.root {
		return fis, err
	}
	kept := fis[:0]
	for _, fi := range fis {
		if fi.Name() != strings.Trim(request.Reserved, "/") {
			kept = append(kept, fi)
		}
	}
	return kept, err
}
