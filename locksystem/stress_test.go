package locksystem

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// holders registers the locks goroutines believe they hold. A goroutine registers a lock after
// Lock granted it and unregisters it before releasing it, so the registry is always a subset of
// the System's live locks: two conflicting entries in it mean two conflicting holders.
type holders struct {
	mu    sync.Mutex
	locks map[string]refLock
}

func (h *holders) add(l refLock) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.locks {
		if refConflict(o, l.path, l.scope, l.depth) {
			return fmt.Errorf("conflicting holders: %+v and %+v", o, l)
		}
	}
	h.locks[l.token] = l
	return nil
}

func (h *holders) drop(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.locks, token)
}

// TestStress has 64 goroutines contend for locks on overlapping paths (run it with -race).
func TestStress(t *testing.T) {
	s, err := New(t0, Options{Logger: zerolog.Nop(), Store: &countingStore{}})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/d", "/e"}
	h := &holders{locks: map[string]refLock{}}
	const workers, rounds = 64, 300
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	grants := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			who := fmt.Sprint("user", w%4)
			for i := 0; i < rounds; i++ {
				r := Request{Path: paths[rng.IntN(len(paths))], Scope: Scope(rng.IntN(2)), Depth: Depth(rng.IntN(2)), Principal: who}
				l, err := s.Lock(t0, r)
				if errors.Is(err, ErrLocked) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				grants++
				mu.Unlock()
				if err := h.add(refLock{token: l.Token, path: l.Path, scope: l.Scope, depth: l.Depth}); err != nil {
					errc <- err
					return
				}
				s.Missing(t0, who, []string{l.Token}, Need{Path: r.Path, Depth: DepthInfinity})
				h.drop(l.Token)
				if _, err := s.Release(t0, l.Token, who, l.Path, false); err != nil {
					errc <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if grants < workers {
		t.Errorf("only %d grants in %d attempts: the test did not contend", grants, workers*rounds)
	}
	if s.Len() != 0 {
		t.Errorf("after all releases: got Len %d, want 0", s.Len())
	}
	if err := s.consistent(t0); err != nil {
		t.Error(err)
	}
	t.Logf("%d of %d lock attempts granted", grants, workers*rounds)
}

// countingStore commits at once; it lets the stress test run the store path.
type countingStore struct {
	mu sync.Mutex
	n  int
}

func (c *countingStore) Submit(changes ...Change) func() error {
	c.mu.Lock()
	c.n += len(changes)
	c.mu.Unlock()
	return func() error { return nil }
}
func (c *countingStore) Load() ([]Lock, error) { return nil, nil }
func (c *countingStore) Close() error          { return nil }

// TestMassExpiry locks 100,000 resources that expire together and checks that no call collects
// more than maxExpirePerCall of them, that they are absent at once, and that a lock over all of
// them is granted without waiting for their collection.
func TestMassExpiry(t *testing.T) {
	const n = 100_000
	s, err := New(t0, Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var first Lock
	for i := 0; i < n; i++ {
		l, err := s.Lock(t0, Request{Path: fmt.Sprintf("/d%d/f%d", i%100, i), Principal: "p", Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = l
		}
	}
	later := t0.Add(time.Minute)
	calls := []struct {
		name string
		call func()
	}{
		{"Get", func() { s.Get(later, first.Token) }},
		{"Lock", func() {
			if _, err := s.Lock(later, Request{Path: "/", Depth: DepthInfinity, Principal: "q", Timeout: Infinite}); err != nil {
				t.Errorf("lock over expired locks: %v", err)
			}
		}},
		{"Covering", func() { s.Covering(later, first.Path) }},
		{"Missing", func() {
			if got := s.Missing(later, "z", nil, Need{Path: "/d0", Depth: DepthInfinity}); len(got) != 1 || got[0].Path != "/" {
				t.Errorf("Missing below expired locks: got %d locks, want only the new root lock", len(got))
			}
		}},
		{"Release", func() { _, _ = s.Release(later, first.Token, "p", "", false) }}, // racing: any answer will do
	}
	for _, c := range calls {
		before := s.popped
		c.call()
		if got := s.popped - before; got > maxExpirePerCall {
			t.Errorf("%s collected %d expired locks, want at most %d", c.name, got, maxExpirePerCall)
		}
	}
	if _, ok := s.Get(later, first.Token); ok {
		t.Error("an expired lock is still visible")
	}
	for calls := 0; s.Len() > 1; calls++ {
		before, beforeLen := s.popped, s.Len()
		if _, err := s.Lock(later, Request{Path: fmt.Sprint("/x", calls), Principal: "q", Timeout: time.Minute}); !errors.Is(err, ErrLocked) {
			t.Fatalf("lock under the root lock: got %v, want ErrLocked", err)
		}
		if got := s.popped - before; got != maxExpirePerCall && beforeLen-1 > maxExpirePerCall {
			t.Fatalf("call %d collected %d, want %d", calls, got, maxExpirePerCall)
		}
		if calls > n/maxExpirePerCall+1 {
			t.Fatalf("after %d calls %d locks remain", calls, s.Len())
		}
	}
	if s.popped != n {
		t.Errorf("collected %d expired locks, want %d", s.popped, n)
	}
	if err := s.consistent(later); err != nil {
		t.Error(err)
	}
}
