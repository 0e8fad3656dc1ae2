package boltstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// TestLoadBatches: every document arrives once, in token order, in batches of at most
// decodeChunk; fn's error stops the load and is returned, and fn is not called again.
func TestLoadBatches(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{})
	const n = 3*decodeChunk + 5
	var changes []locksystem.Change
	for i := range n {
		l := testLock(fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i))
		changes = append(changes, locksystem.Change{Put: &l})
	}
	if err := s.Submit(changes...)(); err != nil {
		t.Fatal(err)
	}
	next, batches := 0, 0
	err := s.LoadBatches(func(batch []locksystem.Lock) error {
		batches++
		if len(batch) == 0 || len(batch) > decodeChunk {
			t.Errorf("batch %d holds %d locks, want 1..%d", batches, len(batch), decodeChunk)
		}
		for _, l := range batch {
			if want := changes[next].Put.Token; l.Token != want {
				t.Fatalf("lock %d: token %s, want %s", next, l.Token, want)
			}
			next++
		}
		return nil
	})
	if err != nil || next != n {
		t.Fatalf("LoadBatches = %v after %d locks, want nil after %d", err, next, n)
	}

	stop := errors.New("enough")
	calls := 0
	err = s.LoadBatches(func([]locksystem.Lock) error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("LoadBatches with fn failing at batch 2 = %v after %d calls, want %v after 2", err, calls, stop)
	}
	if _, err := s.Load(); err != nil {
		t.Errorf("Load after a stopped LoadBatches: %v", err)
	}
}
