package davfs

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// blockingSync is an fsync stand-in that counts its calls and finishes one
// call per value sent on release.
type blockingSync struct {
	calls   atomic.Int32
	release chan error
}

func (b *blockingSync) fn(string) error {
	b.calls.Add(1)
	return <-b.release
}

// TestDirSyncerShares: callers that arrive while a sync runs do not count on
// it (it may have started before their rename) and share the next one.
func TestDirSyncerShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s dirSyncer
		b := &blockingSync{release: make(chan error)}
		var done atomic.Int32
		var wg sync.WaitGroup
		call := func() {
			wg.Go(func() {
				if err := s.sync("/d", b.fn); err != nil {
					t.Errorf("got error %v, want nil", err)
				}
				done.Add(1)
			})
		}
		call()
		synctest.Wait()
		for range 5 {
			call()
		}
		synctest.Wait()
		if got := b.calls.Load(); got != 1 {
			t.Fatalf("got %d syncs running, want 1", got)
		}
		b.release <- nil
		synctest.Wait()
		if got, want := done.Load(), int32(1); got != want {
			t.Fatalf("got %d callers done after the first sync, want %d", got, want)
		}
		if got := b.calls.Load(); got != 2 {
			t.Fatalf("got %d syncs, want 2: the five waiting callers share one", got)
		}
		b.release <- nil
		wg.Wait()
		if got := b.calls.Load(); got != 2 {
			t.Fatalf("got %d syncs in all, want 2", got)
		}
		if len(s.dirs) != 0 {
			t.Fatalf("got %d directories tracked after all syncs, want 0", len(s.dirs))
		}
	})
}

// TestDirSyncerDirsInParallel: syncs of different directories do not wait
// for each other.
func TestDirSyncerDirsInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s dirSyncer
		b := &blockingSync{release: make(chan error)}
		var wg sync.WaitGroup
		for _, dir := range []string{"/a", "/b", "/c"} {
			wg.Go(func() { _ = s.sync(dir, b.fn) })
		}
		synctest.Wait()
		if got := b.calls.Load(); got != 3 {
			t.Fatalf("got %d syncs running at once, want 3", got)
		}
		for range 3 {
			b.release <- nil
		}
		wg.Wait()
	})
}

// TestDirSyncerErrorShared: every caller sharing a failed sync sees its error.
func TestDirSyncerErrorShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s dirSyncer
		b := &blockingSync{release: make(chan error)}
		boom := errors.New("fsync failed")
		errs := make(chan error, 3)
		go func() { errs <- s.sync("/d", b.fn) }()
		synctest.Wait()
		for range 2 {
			go func() { errs <- s.sync("/d", b.fn) }()
		}
		synctest.Wait()
		b.release <- nil
		if err := <-errs; err != nil {
			t.Fatalf("got first sync error %v, want nil", err)
		}
		b.release <- boom
		for range 2 {
			if err := <-errs; !errors.Is(err, boom) {
				t.Fatalf("got shared sync error %v, want %v", err, boom)
			}
		}
	})
}
