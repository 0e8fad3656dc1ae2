package locksystem

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

func newWaitSystem(t *testing.T, o Options) *System {
	t.Helper()
	o.Logger = zerolog.Nop()
	s, err := New(time.Now(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestLockWaitFIFO: waiters for one path are granted one at a time, each exactly once, in the
// order they arrived, while the lock passes from holder to holder.
func TestLockWaitFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWaitSystem(t, Options{})
		held, err := s.Lock(time.Now(), Request{Path: "/f", Principal: "p0"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		order := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				l, err := s.LockWait(t.Context(), time.Now, Request{Path: "/f", Principal: fmt.Sprint("w", i)})
				if err != nil {
					t.Errorf("waiter %d: %v", i, err)
					return
				}
				order <- i
				time.Sleep(time.Second) // holds it a while
				if _, err := s.Release(time.Now(), l.Token, l.Principal, "", false); err != nil {
					t.Errorf("waiter %d release: %v", i, err)
				}
			})
			synctest.Wait() // waiter i is in line before i+1 arrives
		}
		if got := s.Waiting("/f"); got != n {
			t.Fatalf("Waiting = %d, want %d", got, n)
		}
		if _, err := s.Release(time.Now(), held.Token, "p0", "", false); err != nil {
			t.Fatal(err)
		}
		for want := range n {
			if got := <-order; got != want {
				t.Fatalf("grant %d went to waiter %d, want waiter %d", want, got, want)
			}
		}
		wg.Wait()
		if got := s.Waiting("/f"); got != 0 {
			t.Errorf("Waiting after all were served = %d, want 0", got)
		}
	})
}

// TestLockWaitExpiry: a waiter gets the lock when the one in its way expires, with no release
// and no other call to wake it.
func TestLockWaitExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWaitSystem(t, Options{Policy: Policy{Min: time.Second, Max: time.Hour, Default: time.Minute}})
		if _, err := s.Lock(time.Now(), Request{Path: "/e", Principal: "a", Timeout: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		l, err := s.LockWait(t.Context(), time.Now, Request{Path: "/e", Principal: "b"})
		if err != nil || l.Principal != "b" {
			t.Fatalf("LockWait = %+v, %v", l, err)
		}
		if waited := time.Since(start); waited < 5*time.Second || waited > 6*time.Second {
			t.Errorf("granted after %v, want when the 5s lock expired", waited)
		}
	})
}

// TestLockWaitGivesUp: a waiter whose context ends gets the conflict and never holds the lock;
// one whose wait ends as it is granted gives the lock back.
func TestLockWaitGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWaitSystem(t, Options{})
		held, _ := s.Lock(time.Now(), Request{Path: "/g", Principal: "a"})
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		_, err := s.LockWait(ctx, time.Now, Request{Path: "/g", Principal: "b"})
		var ce *ConflictError
		if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Token != held.Token {
			t.Fatalf("LockWait past its deadline = %v, want the conflict with %s", err, held.Token)
		}
		if got := s.Query(time.Now(), Query{Depth: DepthInfinity}); len(got) != 1 || s.Waiting("/g") != 0 {
			t.Errorf("after giving up: locks %+v, waiting %d; want only the holder's, none", got, s.Waiting("/g"))
		}
		gone, cancelGone := context.WithCancel(t.Context())
		cancelGone()
		if l, err := s.keepIfWanted(gone, time.Now, mustLock(t, s, "/h"), nil); err == nil || l.Token != "" {
			t.Errorf("keepIfWanted with an ended context = %+v, %v; want an error and no lock", l, err)
		}
		if got := s.Query(time.Now(), Query{Path: "/h"}); len(got) != 0 {
			t.Errorf("a lock granted as its waiter left is still held: %+v", got)
		}
	})
}

func mustLock(t *testing.T, s *System, p string) Lock {
	t.Helper()
	l, err := s.Lock(time.Now(), Request{Path: p, Principal: "c"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLockWaitCap: a principal may have MaxWaitersPerPrincipal requests waiting, no more.
func TestLockWaitCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWaitSystem(t, Options{MaxWaitersPerPrincipal: 1})
		_, _ = s.Lock(time.Now(), Request{Path: "/c", Principal: "a"})
		ctx, cancel := context.WithCancel(t.Context())
		go func() { _, _ = s.LockWait(ctx, time.Now, Request{Path: "/c", Principal: "b"}) }()
		synctest.Wait()
		if _, err := s.LockWait(ctx, time.Now, Request{Path: "/c", Principal: "b"}); !errors.Is(err, ErrTooManyWaiters) {
			t.Errorf("second waiter of b = %v, want ErrTooManyWaiters", err)
		}
		cancel()
		synctest.Wait()
	})
}

// TestLockWaitFuncGrantsThroughIt: every try goes through the grant function given, a wrapped
// conflict from it means wait, and Waiters and Conflicting see the waiter and what is in its way.
func TestLockWaitFuncGrantsThroughIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWaitSystem(t, Options{})
		held := mustLock(t, s, "/w")
		r := Request{Path: "/w", Principal: "b"}
		tries := 0
		grant := func(now time.Time) (Lock, error) {
			tries++
			l, err := s.Lock(now, r)
			if err != nil {
				return l, fmt.Errorf("wrapped: %w", err)
			}
			return l, nil
		}
		done := make(chan Lock, 1)
		go func() {
			l, err := s.LockWaitFunc(t.Context(), time.Now, r, grant)
			if err != nil {
				t.Errorf("LockWaitFunc: %v", err)
			}
			done <- l
		}()
		synctest.Wait()
		if s.Waiters() != 1 || tries != 1 {
			t.Fatalf("Waiters = %d, tries = %d; want 1 waiter after 1 try", s.Waiters(), tries)
		}
		if c := s.Conflicting(time.Now(), r); len(c) != 1 || c[0].Token != held.Token {
			t.Fatalf("Conflicting = %+v, want the holder's lock", c)
		}
		if _, err := s.Release(time.Now(), held.Token, "c", "", false); err != nil {
			t.Fatal(err)
		}
		if l := <-done; l.Principal != "b" || tries != 2 {
			t.Errorf("granted %+v after %d tries, want b's lock after 2", l, tries)
		}
		if s.Waiters() != 0 {
			t.Errorf("Waiters after the grant = %d", s.Waiters())
		}
	})
}
