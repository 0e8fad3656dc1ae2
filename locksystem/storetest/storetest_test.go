package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// memStore is a reference Store that keeps its "disk" in memory, one map per dir; it shows the
// suite asks nothing of a store beyond the locksystem.Store contract.
type memStore struct {
	mu     sync.Mutex // guards disk and closed
	disk   map[string]locksystem.Lock
	closed bool
}

var (
	disksMu sync.Mutex
	disks   = map[string]map[string]locksystem.Lock{}
)

func openMem(t *testing.T, dir string) locksystem.Store {
	disksMu.Lock()
	defer disksMu.Unlock()
	if disks[dir] == nil {
		disks[dir] = map[string]locksystem.Lock{}
	}
	return &memStore{disk: disks[dir]}
}

func (s *memStore) Submit(changes ...locksystem.Change) func() error {
	for _, c := range changes {
		if (c.Put == nil && c.Delete == "") || (c.Put != nil && c.Put.Token == "") {
			return func() error { return errors.New("bad change") }
		}
	}
	disksMu.Lock()
	defer disksMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() error { return errors.New("closed") }
	}
	for _, c := range changes {
		if c.Put != nil {
			s.disk[c.Put.Token] = *c.Put
		} else {
			delete(s.disk, c.Delete)
		}
	}
	return func() error { return nil }
}

// SubmitRelease is Submit: nothing of this store waits.
func (s *memStore) SubmitRelease(changes ...locksystem.Change) func() error {
	return s.Submit(changes...)
}

func (s *memStore) Load() ([]locksystem.Lock, error) {
	disksMu.Lock()
	defer disksMu.Unlock()
	var locks []locksystem.Lock
	for _, l := range s.disk {
		locks = append(locks, l)
	}
	return locks, nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func TestRunOnReferenceStore(t *testing.T) {
	Run(t, openMem)
}
