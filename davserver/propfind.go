package davserver

// PROPFIND (RFC 4918 §9.1), served by davserver itself rather than x/net (ARCHITECTURE.md: a
// method is taken over where x/net's Handler stands in the way of a requirement). x/net reads a
// whole directory, sorts it, then stats and opens every member twice, reads its dead properties
// and the lock table one member at a time, and encodes through encoding/xml: a listing of 2,000
// members cost several times nginx's. Here a collection is read in chunks with the attributes
// Readdir returns (no open per member), each chunk's dead properties come from one store read
// and its lock properties from one lock query per collection, and each response is written into
// a buffered writer as soon as it is known, so that memory does not grow with the member count.

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// listChunk is how many members are read, and their properties fetched, at a time.
const listChunk = 256

// handlePropfind serves PROPFIND once the request's If header holds (§10.4).
func (h *Handler) handlePropfind(w http.ResponseWriter, r *http.Request) error {
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	depth, err := propfindDepth(r)
	if err != nil {
		return err
	}
	now := h.now()
	if _, err := h.check(r, now, p); err != nil {
		return err
	}
	fi, err := h.fs.Stat(r.Context(), p)
	if err != nil {
		return err // a symlink out of the root is 403, a missing resource 404
	}
	pf, err := h.readPropfind(r)
	if err != nil {
		return err
	}
	l := &lister{h: h, ctx: r.Context(), now: now, root: request.Root(r.Context()), pf: pf,
		needDead: needsDead(pf)}
	// The resource's own dead properties are read before the answer starts, so that a property
	// store out of reach (etcd) is a plain 503, not a multistatus cut short.
	dead, err := l.deadProps(p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	l.pw = rfc4918.NewPropWriter(w)
	h.finishListing(r, l, l.walk(p, fi, dead, depth))
	return nil
}

// needsDead reports whether pf asks for any dead property: allprop and propname show them all,
// and a list of names does unless each is one of the live DAV: properties. A listing that needs
// none (what Finder and Explorer ask) reads no property store, and goes on with the store out
// of reach.
func needsDead(pf rfc4918.Propfind) bool {
	if pf.Kind != rfc4918.Prop {
		return true
	}
	for _, n := range pf.Names {
		if !isLive(n, false) && !isLive(n, true) {
			return true
		}
	}
	return false
}

// deadProps returns p's dead properties, if the request needs them.
func (l *lister) deadProps(p string) (map[xml.Name]webdav.Property, error) {
	if !l.needDead {
		return nil, nil
	}
	return l.h.fs.DeadProps(p)
}

// finishListing ends the body. After an error the multistatus is left unclosed: the status is
// sent, and a client must not take a listing cut short for a whole one (§9.1 has no way to say
// "and more"), so the body it gets is not a document it can read.
func (h *Handler) finishListing(r *http.Request, l *lister, err error) {
	if err == nil {
		err = l.pw.Close()
	} else {
		err = errors.Join(err, l.pw.Flush())
	}
	if err != nil && r.Context().Err() == nil {
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("PROPFIND listing cut short")
	}
}

// propfindDepth is the Depth header of a PROPFIND: 0, 1 or infinity (-1), infinity when absent
// (§9.1, §10.2).
func propfindDepth(r *http.Request) (int, error) {
	v := r.Header.Get("Depth")
	if v == "" {
		return -1, nil
	}
	d, err := rfc4918.ParseDepth(v)
	if err != nil {
		return 0, failWith(http.StatusBadRequest, "invalid Depth header", err)
	}
	return d, nil
}

// readPropfind reads and parses the body (§9.1, §14.20); a malformed one is 400.
func (h *Handler) readPropfind(r *http.Request) (rfc4918.Propfind, error) {
	b, err := h.readXML(r)
	if err != nil {
		return rfc4918.Propfind{}, err
	}
	pf, err := rfc4918.ParsePropfind(b)
	switch {
	case errors.Is(err, rfc4918.ErrNoRoot), errors.Is(err, rfc4918.ErrPropfind):
		return rfc4918.Propfind{}, failWith(http.StatusBadRequest, "malformed propfind body", err)
	case err != nil:
		return rfc4918.Propfind{}, failWith(http.StatusBadRequest, "malformed XML body", err)
	}
	return pf, nil
}

// lister writes one PROPFIND's responses.
type lister struct {
	h    *Handler
	ctx  context.Context
	now  time.Time
	root string // the request's root: hrefs and lock roots are in its URL space
	pf   rfc4918.Propfind
	pw   *rfc4918.PropWriter
	// needDead: the request asks for dead properties (needsDead); otherwise none are read.
	needDead bool
	val      []byte // scratch for one property value
	types    typeCache
	dates    dateCache
}

// resource is what one response describes.
type resource struct {
	href  []byte // percent-encoded, a collection's ending in "/"
	top   bool   // the root of the request's URL space, whose displayname is hidden
	fi    fs.FileInfo
	dead  map[xml.Name]webdav.Property
	locks []locksystem.Lock // covering it, in the request's URL space
}

// walk writes the response for p and, as depth asks, for its members.
func (l *lister) walk(p string, fi fs.FileInfo, dead map[xml.Name]webdav.Property, depth int) error {
	u := request.ToURL(l.root, p)
	href := []byte(rfc4918.Href(u))
	if fi.IsDir() && u != "/" {
		href = append(href, '/')
	}
	l.write(&resource{href: href, top: u == "/", fi: fi, dead: dead,
		locks: request.LocksInView(l.root, l.h.locks.Covering(l.now, p))})
	if !fi.IsDir() || depth == 0 {
		return nil
	}
	return l.members(p, href, depth)
}

// members writes the responses for the members of collection dir, whose href is href, chunk
// by chunk; with depth infinity, for theirs too. A collection that cannot be read is skipped,
// as one whose members cannot be listed (x/net did the same).
func (l *lister) members(dir string, href []byte, depth int) error {
	f, err := l.h.fs.OpenFile(l.ctx, dir, os.O_RDONLY, 0)
	if err != nil {
		return skippable(err)
	}
	defer f.Close()
	c := chunk{dir: dir, prefix: href, locks: l.dirLocks(dir), depth: depth}
	read := f.Readdir
	if ds, ok := f.(dirStatReader); ok {
		read = ds.ReadDirStat
	}
	for {
		fis, err := read(listChunk)
		if werr := l.chunk(&c, fis); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) || (err == nil && len(fis) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := l.ctx.Err(); err != nil {
			return err
		}
	}
}

// dirStatReader is a collection that reads its members without os.File.Readdir's allocations
// (fs.file on Linux): what it returns is valid until its next call, which chunk allows for.
type dirStatReader interface {
	ReadDirStat(count int) ([]fs.FileInfo, error)
}

// skippable is nil for an error that leaves a resource out of a listing rather than end it:
// one that names the resource (os.PathError: gone, refused, outside the root).
func skippable(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) || errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// chunk is a collection being listed, and its members read so far.
type chunk struct {
	dir    string
	prefix []byte // the collection's href, ending in "/"
	locks  dirLocks
	depth  int
	names  []string
	fis    []fs.FileInfo
	href   []byte // scratch for a member's href
}

// chunk writes the responses of one batch of members.
func (l *lister) chunk(c *chunk, fis []fs.FileInfo) error {
	c.names, c.fis = c.names[:0], c.fis[:0]
	for _, fi := range fis {
		if fi, ok := l.member(c.dir, fi); ok {
			c.names, c.fis = append(c.names, fi.Name()), append(c.fis, fi)
		}
	}
	var dead map[string]map[xml.Name]webdav.Property
	if l.needDead {
		var err error
		if dead, err = l.h.fs.DeadPropsOf(c.dir, c.names); err != nil {
			return err
		}
	}
	for i, fi := range c.fis {
		c.href = rfc4918.AppendHrefSegment(append(c.href[:0], c.prefix...), fi.Name())
		if fi.IsDir() {
			c.href = append(c.href, '/')
		}
		l.write(&resource{href: c.href, fi: fi, dead: dead[c.names[i]], locks: c.locks.of(c.names[i])})
		if fi.IsDir() && c.depth < 0 {
			if err := l.members(memberPath(c.dir, c.names[i]), slices.Clone(c.href), c.depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// member returns the attributes of a member Readdir listed, following a symbolic link
// (through the jail: one out of the root is left out, as is one that leads nowhere). ok is
// false for a member left out: also the server's own namespace in the root's listing, whose
// URL leads to the server's endpoints rather than to it.
func (l *lister) member(dir string, fi fs.FileInfo) (fs.FileInfo, bool) {
	name := fi.Name()
	if (dir == "/" || dir == l.root) && name == strings.Trim(request.Reserved, "/") {
		return nil, false
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return fi, true
	}
	p := memberPath(dir, name)
	st, err := l.h.fs.Stat(l.ctx, p)
	if err != nil {
		l.h.log.Debug().Err(err).Str("path", p).Msg("listing skips a symbolic link it cannot follow")
		return nil, false
	}
	return st, true
}

// memberPath is the path of the member name of the clean collection dir.
func memberPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// dirLocks are the locks of a collection's members, from one query (§15.8: lockdiscovery).
type dirLocks struct {
	inherited []locksystem.Lock            // depth-infinity locks on the collection or above: every member's
	byMember  map[string][]locksystem.Lock // locks rooted at a member, by its name
}

// dirLocks queries the locks that cover dir's members, in the request's URL space.
func (l *lister) dirLocks(dir string) dirLocks {
	var d dirLocks
	q := locksystem.Query{Path: dir, Covering: true, Members: true}
	for _, lk := range l.h.locks.Query(l.now, q) {
		switch {
		case lk.Path != dir && parent(lk.Path) == dir:
			if d.byMember == nil {
				d.byMember = map[string][]locksystem.Lock{}
			}
			name := lk.Path[strings.LastIndexByte(lk.Path, '/')+1:]
			d.byMember[name] = append(d.byMember[name], request.LockInView(l.root, lk))
		case lk.Depth == locksystem.DepthInfinity:
			d.inherited = append(d.inherited, request.LockInView(l.root, lk))
		}
	}
	return d
}

// of returns the locks covering the member called name.
func (d dirLocks) of(name string) []locksystem.Lock {
	own := d.byMember[name]
	if len(own) == 0 {
		return d.inherited
	}
	return append(append([]locksystem.Lock(nil), d.inherited...), own...)
}
