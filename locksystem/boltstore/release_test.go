package boltstore

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lockdav/lockdav/locksystem"
)

// gatedSync replaces the log's fdatasync: each call reports on entered, then waits for open
// to be closed, then returns fail(call number, from 1) or syncs.
type gatedSync struct {
	entered   chan int
	open      chan struct{}
	opened    sync.Once
	completed atomic.Int64
	calls     atomic.Int64
	fail      func(call int64) bool
}

// newGatedSync returns a closed gate, opened when the test ends so that Close does not wait
// for it; call it after opening the store.
func newGatedSync(t *testing.T, fail func(int64) bool) *gatedSync {
	g := &gatedSync{entered: make(chan int, 64), open: make(chan struct{}), fail: fail}
	t.Cleanup(g.release)
	return g
}

// release opens the gate.
func (g *gatedSync) release() { g.opened.Do(func() { close(g.open) }) }

func (g *gatedSync) sync(fd int) error {
	n := g.calls.Add(1)
	g.entered <- int(n)
	<-g.open
	defer g.completed.Add(1)
	if g.fail != nil && g.fail(n) {
		return errors.New("injected sync failure")
	}
	return unix.Fdatasync(fd)
}

// next returns the number of the next sync call to start, failing the test if none starts in
// 10 s.
func (g *gatedSync) next(t *testing.T) int {
	t.Helper()
	select {
	case n := <-g.entered:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no sync started")
		return 0
	}
}

// within runs wait in a goroutine and returns its error, failing the test if it does not
// return in 10 s (a wait that depends on a blocked sync never does).
func within(t *testing.T, what string, wait func() error) error {
	t.Helper()
	c := make(chan error, 1)
	go func() { c <- wait() }()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

// putLocks commits one lock per token with Submit.
func putLocks(t *testing.T, s *Store, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		l := testLock(tok)
		if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReleaseAnsweredBeforeSync: a release is answered once its record is written, while the
// log's sync is still held back; a kill -9 then keeps it; and the committer syncs it by itself.
func TestReleaseAnsweredBeforeSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	putLocks(t, s, "urn:uuid:a", "urn:uuid:b")
	g := newGatedSync(t, nil)
	s.wal.fdatasync = g.sync // read by the committer after Submit's lock: no race

	err := within(t, "SubmitRelease's wait", s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:a"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := g.completed.Load(); n != 0 {
		t.Fatalf("%d syncs completed before the release was answered, want 0", n)
	}
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:b") // kill -9 after the answer

	if n := g.next(t); n != 1 { // no other batch comes: the committer syncs the release
		t.Fatalf("sync call %d, want 1", n)
	}
	g.release()
	putLocks(t, s, "urn:uuid:c")
	if n := g.calls.Load(); n != 2 {
		t.Errorf("%d syncs for a release then a grant, want 2", n)
	}
	wantTokens(t, tokensOf(t, s), "urn:uuid:b", "urn:uuid:c")
}

// TestReleasesShareTheNextSync: releases written while no grant comes are synced once, and a
// grant's sync covers the releases written before it.
func TestReleasesShareTheNextSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	putLocks(t, s, "urn:uuid:a", "urn:uuid:b", "urn:uuid:c")
	var syncs atomic.Int64
	s.wal.fdatasync = func(fd int) error { syncs.Add(1); return unix.Fdatasync(fd) }
	for _, tok := range []string{"urn:uuid:a", "urn:uuid:b"} {
		if err := s.SubmitRelease(locksystem.Change{Delete: tok})(); err != nil {
			t.Fatal(err)
		}
	}
	putLocks(t, s, "urn:uuid:d")
	// The timer may sync the first release before the second is written (if the test is slow),
	// never more than once per release.
	if n := syncs.Load(); n < 1 || n > 3 {
		t.Errorf("%d syncs for two releases and a grant, want 1 to 3", n)
	}
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:c", "urn:uuid:d")
}

// TestFailedReleaseSync: when the sync of answered releases fails, the committer checkpoints
// them into bbolt at once (no second passes in the bubble: not the idle checkpoint), so that
// a crash does not undo them.
func TestFailedReleaseSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "locks.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		putLocks(t, s, "urn:uuid:a", "urn:uuid:b")
		var calls atomic.Int64
		s.wal.fdatasync = func(fd int) error {
			if calls.Add(1) == 1 {
				return errors.New("injected sync failure")
			}
			return unix.Fdatasync(fd)
		}
		if err := s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:a"})(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(syncDelay)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Errorf("%d syncs, want 2: the release's, failing, and the reset's", n)
		}
		if got := s.Stats().Checkpoints; got != 1 {
			t.Errorf("Stats().Checkpoints = %d, want 1", got)
		}
		wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:b") // kill -9
		if err := s.Ping(); err != nil {
			t.Errorf("Ping after the checkpoint: %v", err)
		}
	})
}

// TestFailedSyncOfMixedBatch: a batch holding a release and a grant whose sync fails answers
// the release (it was answered when written), fails the grant, and is checkpointed at once;
// a restart, after a kill -9 or after Close, has the release and not the grant.
func TestFailedSyncOfMixedBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "locks.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		putLocks(t, s, "urn:uuid:a", "urn:uuid:b")
		g := &gatedSync{entered: make(chan int, 64), open: make(chan struct{}),
			fail: func(call int64) bool { return call == 2 }}
		defer g.release()
		s.wal.fdatasync = g.sync

		x := testLock("urn:uuid:x")
		waitX := s.Submit(locksystem.Change{Put: &x})
		g.next(t) // the committer is in x's sync: the next two changes share a batch
		waitA := s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:a"})
		c := testLock("urn:uuid:c")
		waitC := s.Submit(locksystem.Change{Put: &c})
		g.release()
		if err := waitX(); err != nil {
			t.Fatalf("x: %v", err)
		}
		if err := waitA(); err != nil {
			t.Fatalf("release of a: %v", err)
		}
		if err := waitC(); err == nil {
			t.Fatal("c acknowledged although its sync failed")
		}
		synctest.Wait()
		if got := s.Stats().Checkpoints; got != 1 {
			t.Errorf("Stats().Checkpoints = %d after the failed sync, want 1", got)
		}
		wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:b", "urn:uuid:x")
		wantTokens(t, tokensOf(t, s), "urn:uuid:b", "urn:uuid:x")
	})
}

// TestReleaseAndPutOfOneKeyInOneBatch: a key changed by a release and a put in the same batch
// ends as the record has it, in whichever order they came: a lock granted and released at once
// is gone, and a token put again after its release (a store user may reuse one) is there.
func TestReleaseAndPutOfOneKeyInOneBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	putLocks(t, s, "urn:uuid:a")
	g := newGatedSync(t, nil)
	s.wal.fdatasync = g.sync
	x := testLock("urn:uuid:x")
	waits := []func() error{s.Submit(locksystem.Change{Put: &x})}
	g.next(t) // the committer is in x's sync: what follows shares one batch
	a, y := testLock("urn:uuid:a"), testLock("urn:uuid:y")
	waits = append(waits,
		s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:a"}),
		s.Submit(locksystem.Change{Put: &a}),
		s.Submit(locksystem.Change{Put: &y}),
		s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:y"}))
	g.release()
	for _, w := range waits {
		if err := within(t, "a wait", w); err != nil {
			t.Fatal(err)
		}
	}
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:a", "urn:uuid:x") // replayed
	wantTokens(t, tokensOf(t, s), "urn:uuid:a", "urn:uuid:x")               // checkpointed
}

// powerLoss copies the store's files as a power loss after the log's latest sync leaves them:
// bbolt as it is (it syncs its own commits), the log without the bytes from synced on, which
// no sync covered. It returns the copy's path.
func powerLoss(t *testing.T, path string, synced int64) string {
	t.Helper()
	dst := snapshot(t, path)
	f, err := os.OpenFile(dst+walSuffix, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, st.Size()-synced), synced); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestGrantSyncCoversEarlierRelease: a release answered before its sync is covered by the
// sync of the next grant, because a fdatasync of the log covers every record written before
// it: once that grant is answered, no power loss can bring the released lock back beside it.
// Before the grant, a power loss may bring it back (README: until its timeout).
func TestGrantSyncCoversEarlierRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // time stands still: the 2 ms sync of releases never fires
		path := filepath.Join(t.TempDir(), "locks.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		putLocks(t, s, "urn:uuid:a")
		var synced, syncs atomic.Int64 // the log's end at its latest sync; syncs since the release
		synced.Store(s.wal.off)
		s.wal.fdatasync = func(fd int) error { // on the committer, which owns s.wal
			end := s.wal.off
			syncs.Add(1)
			if err := unix.Fdatasync(fd); err != nil {
				return err
			}
			synced.Store(end)
			return nil
		}
		if err := s.SubmitRelease(locksystem.Change{Delete: "urn:uuid:a"})(); err != nil {
			t.Fatal(err)
		}
		if n := syncs.Load(); n != 0 {
			t.Fatalf("%d syncs before the release was answered, want 0", n)
		}
		wantTokens(t, tokens(t, snapshot(t, path)))                               // kill -9
		wantTokens(t, tokens(t, powerLoss(t, path, synced.Load())), "urn:uuid:a") // power loss
		putLocks(t, s, "urn:uuid:c")
		if n := syncs.Load(); n != 1 {
			t.Errorf("%d syncs for a release and a grant, want the grant's alone", n)
		}
		wantTokens(t, tokens(t, powerLoss(t, path, synced.Load())), "urn:uuid:c")
	})
}
