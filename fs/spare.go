package fs

// Spare files: an upload that replaces a file (RFC 4918 §9.7) reuses the replaced file's inode
// as the temporary file of a later upload to the same directory, instead of freeing one inode
// and allocating another on every overwrite. On ext4 without a journal the inode allocator
// skips inodes freed in the last minute (fs/ext4/ialloc.c, recently_deleted), scanning the
// group's bitmap for each new file, so a steady stream of overwrites makes every file creation
// on the disk dearer; BENCHMARKS.md has the measurements.
//
// A spare belongs to a directory, not to a path: it is kept with a handle of the directory it
// is in, and found by that directory's identity (device and inode). The handle keeps the
// directory's inode from being freed, so no other directory can have that identity while the
// spare is kept: an upload into a directory deleted or moved and made again never finds the
// old one's spares. An earlier version remembered spares by path, and a PUT into a re-created
// collection then failed with 409.
//
// Spares are hidden files (tempPrefix): never listed, served or copied. A MOVE or DELETE of a
// collection removes the spares in it (dropUnder), so none is left behind in a moved one; Close
// removes all of them. The old content must be gone before an inode is reused, and nobody may
// still read it: see spare_linux.go.

import (
	"container/list"
	"errors"
	"os"
	"strings"
	"sync"
)

// dirID is the identity of a directory an upload holds open.
type dirID struct{ dev, ino uint64 }

// spareDir is an uploadDir whose replaced files can be kept as spares (rootDir on Linux).
type spareDir interface {
	uploadDir
	// id is the identity of the directory held.
	id() dirID
	// handle opens the directory held as a file, for the calls that take its descriptor.
	handle() (*os.File, error)
}

// spare is one kept file: its hidden name in dir, its descriptor, and where dir was when the
// spare was kept (for dropUnder; a server-side MOVE of it or of a parent removes the spare).
type spare struct {
	id   dirID
	dir  *os.File
	path string
	name string
	file *os.File
}

// close closes the spare's file and directory handle, removing the file first if rm.
func (sp *spare) close(rm bool) error {
	var err error
	if rm {
		err = removeIn(sp.dir, sp.name)
	}
	if cerr := sp.file.Close(); err == nil {
		err = cerr
	}
	if cerr := sp.dir.Close(); err == nil {
		err = cerr
	}
	return err
}

// Pool sizes: enough spares per directory for the uploads that run into it at once (each takes
// one and gives one back), and a bound on the descriptors kept open (two per spare). The least
// recently kept spare goes first.
const (
	maxSpares       = 128
	maxSparesPerDir = 32
)

// spares are the hidden files kept for reuse, by directory.
type spares struct {
	// mu guards order, byDir and drained; no I/O is done while it is held.
	mu      sync.Mutex
	order   list.List                 // of *spare, least recently kept first
	byDir   map[dirID][]*list.Element // of order, most recent last
	drained bool                      // by Close: an upload that ends later keeps nothing
}

// take removes a spare of the directory id from the pool.
func (s *spares) take(id dirID) (*spare, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.byDir[id]
	if len(es) == 0 {
		return nil, false
	}
	return s.remove(es[len(es)-1]), true
}

// put adds sp to the pool and returns the spares that no longer fit.
func (s *spares) put(sp *spare) (evicted []*spare) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drained {
		return []*spare{sp}
	}
	if s.byDir == nil {
		s.byDir = make(map[dirID][]*list.Element)
	}
	if es := s.byDir[sp.id]; len(es) >= maxSparesPerDir {
		evicted = append(evicted, s.remove(es[0]))
	}
	if s.order.Len() >= maxSpares {
		evicted = append(evicted, s.remove(s.order.Front()))
	}
	s.byDir[sp.id] = append(s.byDir[sp.id], s.order.PushBack(sp))
	return evicted
}

// dropUnder removes from the pool the spares in the directory p or below it, and returns them.
func (s *spares) dropUnder(p string) []*spare {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*spare
	for e := s.order.Front(); e != nil; {
		next := e.Next()
		if sp := e.Value.(*spare); sp.path == p || strings.HasPrefix(sp.path, p+"/") {
			out = append(out, s.remove(e))
		}
		e = next
	}
	return out
}

// drain empties the pool for good and returns what it held.
func (s *spares) drain() []*spare {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drained = true
	var all []*spare
	for s.order.Len() > 0 {
		all = append(all, s.remove(s.order.Front()))
	}
	return all
}

// remove takes e out of order and byDir; s.mu must be held.
func (s *spares) remove(e *list.Element) *spare {
	sp := s.order.Remove(e).(*spare)
	es := s.byDir[sp.id]
	for i, x := range es {
		if x == e {
			es = append(es[:i], es[i+1:]...)
			break
		}
	}
	if len(es) == 0 {
		delete(s.byDir, sp.id)
	} else {
		s.byDir[sp.id] = es
	}
	return sp
}

// dropSpares closes and removes spares, logging (only) what fails.
func (f *FS) dropSpares(sps []*spare) {
	for _, sp := range sps {
		if err := sp.close(true); err != nil {
			f.log.Error().Err(err).Str("path", sp.path+"/"+sp.name).Msg("cannot remove spare upload file")
		}
	}
}

// dropSparesUnder removes the spares in the directory n or below it, before a MOVE or DELETE
// of n; f.tree must be held for writing, which keeps uploads from keeping new ones meanwhile.
func (f *FS) dropSparesUnder(n string) {
	f.dropSpares(f.spares.dropUnder(n))
}

// takeSpare returns a spare of dir's that no one else has open, as an upload's temporary file,
// discarding those that fail the check.
func (f *FS) takeSpare(dir spareDir) (temp, bool) {
	for {
		sp, ok := f.spares.take(dir.id())
		if !ok {
			return temp{}, false
		}
		if claim(sp.file) {
			return temp{name: sp.name, file: sp.file, held: sp.dir}, true
		}
		f.dropSpares([]*spare{sp})
	}
}

// reclaimed is reclaim's verdict on the entry an exchange left at a hidden name.
type reclaimed int

const (
	reused  reclaimed = iota // a spare now
	unlink                   // not reusable (linked elsewhere, open, a symlink…): remove it
	swapped                  // a directory appeared there: exchange it back
)

// replace puts the received tmp in the place of base, the existing file in dir described by
// old: by an exchange that keeps the old file as a spare where dir allows, else by a rename.
// The target must be locked (lockFile). It takes over tmp.held.
func (f *FS) replace(dir uploadDir, tmp *temp, base string, old os.FileInfo) error {
	h := tmp.held
	tmp.held = nil
	sd, ok := dir.(spareDir)
	if !ok {
		return dir.Rename(tmp.name, base)
	}
	if h == nil {
		var err error
		if h, err = sd.handle(); err != nil {
			return dir.Rename(tmp.name, base)
		}
	}
	err := exchange(h, tmp.name, base)
	if err == nil {
		return f.recycle(sd, h, tmp.name, base, old.Mode().IsRegular())
	}
	f.closeHandle(h, sd)
	if errors.Is(err, errors.ErrUnsupported) {
		return dir.Rename(tmp.name, base)
	}
	return err
}

// recycle deals with the old file that an exchange left at the hidden name in dir (h is dir's
// handle, which recycle takes over), in the target base's place: kept as a spare, removed, or
// (a directory swapped in behind the server's back) exchanged back, reporting ErrIsDir.
// regular says what the target's Stat found there: anything else is not even opened.
func (f *FS) recycle(dir spareDir, h *os.File, name, base string, regular bool) error {
	file, verdict := (*os.File)(nil), unlink
	if regular {
		file, verdict = reclaim(h, name)
	}
	switch verdict {
	case reused:
		sp := &spare{id: dir.id(), dir: h, path: dir.path(), name: name, file: file}
		f.dropSpares(f.spares.put(sp))
		return nil
	case swapped:
		err := exchange(h, name, base)
		f.closeHandle(h, dir)
		if err != nil {
			return err
		}
		return ErrIsDir
	case unlink:
	}
	f.closeHandle(h, dir)
	f.discard(dir, name)
	return nil
}

// closeHandle closes a directory handle, logging (only) a failure: it is read-only.
func (f *FS) closeHandle(h *os.File, dir uploadDir) {
	if err := h.Close(); err != nil {
		f.log.Warn().Err(err).Str("path", dir.path()).Msg("cannot close a directory handle")
	}
}
