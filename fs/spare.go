package davfs

// Spare files: an upload that replaces a file reuses the replaced file's
// inode as the temporary file of a later upload to the same directory,
// instead of freeing one inode and allocating another on every PUT.
//
// On ext4 without a journal the inode allocator skips every inode freed in
// the last minute, six while its inode table block is not yet written back
// (fs/ext4/ialloc.c, recently_deleted), scanning the group's bitmap from its
// start for each new file. At a few thousand PUTs a second that scan made
// every file creation cost ~140 µs of kernel CPU on this project's benchmark
// machine, and 45% of all CPU during a lock cycle.
// Reuse frees nothing, so creations stay cheap for every writer of the disk.
//
// The old content must be gone before an inode is reused, and nobody may
// still read it: the base's reclaim and claim take a write lease
// (fcntl F_SETLEASE), which the kernel grants only when no other
// descriptor, in any process, has the file open. See spare_linux.go.

import (
	"container/list"
	"os"
	"path"
	"sync"

	"github.com/spf13/afero"
)

// recycler is a base whose replaced files can be reused (rootFs on Linux).
type recycler interface {
	// exchange swaps the entries at names a and b atomically, both in place
	// (renameat2 RENAME_EXCHANGE). errors.ErrUnsupported: use Rename.
	exchange(a, b string) error
	// reclaim makes the file that an exchange left at the hidden name a a
	// spare: empty, mode tempPerm, open for writing. It answers what to do
	// with a when that is not possible.
	reclaim(a string) (*os.File, reclaimed)
	// claim reports whether no descriptor but spare's own has its file
	// open, just before an upload writes into it.
	claim(spare *os.File) bool
	// writeback starts writing file's data to disk, as ext4 does itself
	// for a file renamed over another (auto_da_alloc) but not for an
	// exchange: with data=ordered, a crash after the exchange then leaves
	// the old content or the new one, not an empty file.
	writeback(file afero.File)
}

// reclaimed is reclaim's verdict on the entry at a hidden name.
type reclaimed int

const (
	reused  reclaimed = iota // a spare now
	unlink                   // not reusable (linked elsewhere, open, a symlink…): remove it
	swapped                  // a directory appeared there: exchange it back
)

// Pool sizes: enough spares per directory for the uploads that run into it
// at once (each takes one and gives one back), and a bound on the
// descriptors kept open. The least recently returned spare goes first.
const (
	maxSpares       = 128
	maxSparesPerDir = 32
)

// spares are the hidden files kept for reuse, by directory.
type spares struct {
	// mu guards order, byDir and drained; no I/O is done while it is held.
	mu      sync.Mutex
	order   list.List                  // of *spare, least recently added first
	byDir   map[string][]*list.Element // of order, most recent last
	drained bool                       // by Close: an upload that ends later keeps nothing
}

// spare is one kept file: its hidden name and its descriptor.
type spare struct {
	name string
	file *os.File
}

// take removes a spare in dir from the pool.
func (s *spares) take(dir string) (*spare, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.byDir[dir]
	if len(es) == 0 {
		return nil, false
	}
	e := es[len(es)-1]
	s.setDir(dir, es[:len(es)-1])
	s.order.Remove(e)
	return e.Value.(*spare), true
}

// put adds sp to the pool and returns the spares that no longer fit.
func (s *spares) put(sp *spare) (evicted []*spare) {
	dir := path.Dir(sp.name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drained {
		return []*spare{sp}
	}
	if s.byDir == nil {
		s.byDir = make(map[string][]*list.Element)
	}
	if es := s.byDir[dir]; len(es) >= maxSparesPerDir {
		evicted = append(evicted, s.remove(es[0]))
	}
	if s.order.Len() >= maxSpares {
		evicted = append(evicted, s.remove(s.order.Front()))
	}
	s.byDir[dir] = append(s.byDir[dir], s.order.PushBack(sp))
	return evicted
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
	dir := path.Dir(sp.name)
	es := s.byDir[dir]
	for i, x := range es {
		if x == e {
			es = append(es[:i], es[i+1:]...)
			break
		}
	}
	s.setDir(dir, es)
	return sp
}

// setDir stores the spares of dir, dropping the entry when there are none;
// s.mu must be held.
func (s *spares) setDir(dir string, es []*list.Element) {
	if len(es) == 0 {
		delete(s.byDir, dir)
		return
	}
	s.byDir[dir] = es
}

// takeSpare returns a spare of dir that no one else has open, ready for an
// upload, discarding those that fail the check.
func (f *FS) takeSpare(rec recycler, dir string) (temp, bool) {
	for {
		sp, ok := f.spares.take(dir)
		if !ok {
			return temp{}, false
		}
		if rec.claim(sp.file) {
			return temp{name: sp.name, file: sp.file, reused: true}, true
		}
		f.dropSpare(sp)
	}
}

// recycle deals with the old file that an exchange left at the hidden name
// a, in the target's place: kept as a spare, removed, or (a directory
// swapped in behind the server's back) exchanged back, reporting ErrIsDir.
// regular says what the target's Stat found there (following a symlink):
// anything else is not even opened. The target's name must be locked
// (lockFile), so that no reader in this process opens the old file meanwhile.
func (f *FS) recycle(rec recycler, a, target string, regular bool) error {
	file, verdict := (*os.File)(nil), unlink
	if regular {
		file, verdict = rec.reclaim(a)
	}
	switch verdict {
	case reused:
		for _, sp := range f.spares.put(&spare{name: a, file: file}) {
			f.dropSpare(sp)
		}
		return nil
	case swapped:
		if err := rec.exchange(a, target); err != nil {
			return err
		}
		return ErrIsDir
	case unlink:
	}
	f.discard(a)
	return nil
}

// dropSpare closes a spare and removes its file.
func (f *FS) dropSpare(sp *spare) {
	if err := sp.file.Close(); err != nil {
		f.log.Error().Err(err).Str("path", sp.name).Msg("cannot close spare upload file")
	}
	f.discard(sp.name)
}

// Close removes the spare files and closes the base, if it has a Close.
func (f *FS) Close() error {
	for _, sp := range f.spares.drain() {
		f.dropSpare(sp)
	}
	if c, ok := f.base.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
