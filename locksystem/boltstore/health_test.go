package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/lockdav/lockdav/locksystem"
)

// observed records what Options.Observe is called with.
type observed struct {
	mu      sync.Mutex
	batches []int
	took    []time.Duration
}

func (o *observed) observe(batch int, commit time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches = append(o.batches, batch)
	o.took = append(o.took, commit)
}

func (o *observed) get() ([]int, []time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.batches...), append([]time.Duration(nil), o.took...)
}

// TestObserve: every commit is observed once, before its waiters wake, with its batch size
// and a positive duration; the batch sizes add up to the changes submitted.
func TestObserve(t *testing.T) {
	var obs observed
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{Observe: obs.observe})
	const n = 300
	waits := make([]func() error, n)
	for i := range waits {
		l := testLock("urn:uuid:o" + strings.Repeat("x", i%40) + string(rune('a'+i%26)))
		waits[i] = s.Submit(locksystem.Change{Put: &l})
	}
	for _, w := range waits {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	batches, took := obs.get()
	if got, want := uint64(len(batches)), s.Stats().Commits; got != want {
		t.Errorf("Observe called %d times, want %d (one per commit)", got, want)
	}
	sum := 0
	for i, b := range batches {
		sum += b
		if b < 1 || took[i] <= 0 {
			t.Errorf("commit %d observed as batch %d in %v, want batch >= 1 and time > 0", i, b, took[i])
		}
	}
	if sum != n {
		t.Errorf("observed batches add up to %d changes, want %d", sum, n)
	}
}

// TestObserveFailedCommit: a commit that fails is observed too.
func TestObserveFailedCommit(t *testing.T) {
	var obs observed
	s, err := open(filepath.Join(t.TempDir(), "locks.db"), Options{Observe: obs.observe, WALSize: walMinSize}, &bolt.Options{MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	big := testLock("urn:uuid:big")
	big.Owner = strings.Repeat("x", 1<<20)
	if err := s.Submit(locksystem.Change{Put: &big})(); !errors.Is(err, bolterrors.ErrMaxSizeReached) {
		t.Fatalf("put beyond MaxSize: wait = %v, want ErrMaxSizeReached", err)
	}
	if batches, _ := obs.get(); len(batches) != 1 || batches[0] != 1 {
		t.Errorf("observed batches %v, want [1]", batches)
	}
}

// TestPing: Ping commits a stamp to the meta bucket, leaves the lock documents alone, and fails
// once the store cannot be written.
func TestPing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	l := testLock("urn:uuid:kept")
	if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Ping(); err != nil {
			t.Fatalf("Ping #%d = %v, want nil", i, err)
		}
	}
	got, err := s.Load()
	if err != nil || len(got) != 1 || got[0].Token != l.Token {
		t.Fatalf("Load after Ping = %v, %v; want only %s", got, err, l.Token)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
	boltUpdate(t, path, func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(pingKey); len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			t.Errorf("meta/ping = %x, want an 8-byte stamp", v)
		}
		return nil
	})
}

// TestPingUnwritable: when bbolt refuses the write, Ping says so.
func TestPingUnwritable(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{})
	if err := s.db.Close(); err != nil { // the file is gone from under the store
		t.Fatal(err)
	}
	err := s.Ping()
	if !errors.Is(err, bolterrors.ErrDatabaseNotOpen) || !strings.HasPrefix(err.Error(), "boltstore: ping: ") {
		t.Errorf("Ping on a closed file = %v, want boltstore: ping: ... ErrDatabaseNotOpen", err)
	}
}

// TestPingCheckpointFailing: while checkpoints into bbolt fail (its file is full) the log still
// takes commits, but not for long: Ping fails from the first failed checkpoint on, so healthz
// answers 503 before LOCKs do, and succeeds again once a checkpoint works.
func TestPingCheckpointFailing(t *testing.T) {
	s, err := open(filepath.Join(t.TempDir(), "locks.db"), Options{WALSize: 1 << 20}, &bolt.Options{MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var put []locksystem.Lock
	for i := 0; s.flush() == nil; i++ {
		if i == 100 {
			t.Fatal("100 locks of 4 KiB checkpointed into a 64 KiB bbolt file")
		}
		l := testLock(fmt.Sprintf("urn:uuid:full-%d", i))
		l.Owner = strings.Repeat("x", 4<<10)
		if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
			t.Fatalf("commit %d into the log: %v", i, err)
		}
		put = append(put, l)
	}
	if err := s.Ping(); err == nil {
		t.Fatal("Ping = nil while checkpoints fail, want an error")
	}
	for _, l := range put { // deleting what did not fit lets the next checkpoint succeed
		if err := s.Submit(locksystem.Change{Delete: l.Token})(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.flush(); err != nil {
		t.Fatalf("checkpoint after the deletes: %v", err)
	}
	if err := s.Ping(); err != nil {
		t.Errorf("Ping after a checkpoint succeeded = %v, want nil", err)
	}
}
