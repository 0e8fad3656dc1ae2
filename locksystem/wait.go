package locksystem

// Waiting for a lock instead of polling for it: a request that conflicts waits, holding
// nothing, until the locks in its way are released or expire, and then tries again. Waiters for
// the same path are served first come, first served, so none starves behind later arrivals.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTooManyWaiters: the principal has MaxWaitersPerPrincipal requests waiting already.
var ErrTooManyWaiters = errors.New("locksystem: too many waiting requests for principal")

// waitQueue is the line of waiters for one path; the head is the one that may try.
type waitQueue struct {
	line []*waiter
}

type waiter struct {
	principal string
	turn      chan struct{} // closed when the waiter reaches the head of its line
}

// LockWait is Lock that, while r conflicts, waits for the locks in its way to go and tries
// again, until ctx ends; clock reads the time for each try. Waiters for the same path are
// served in the order they called. When ctx ends first, it returns the last *ConflictError
// (or ctx's error if it never got to try); a lock granted as ctx ended is released again, so a
// waiter whose client went away never holds one.
func (s *System) LockWait(ctx context.Context, clock func() time.Time, r Request) (Lock, error) {
	return s.LockWaitFunc(ctx, clock, r, func(now time.Time) (Lock, error) { return s.Lock(now, r) })
}

// LockWaitFunc is LockWait with the try made by grant, which must take r through s.Lock (and
// may do more around it): the WebDAV front end grants through one function that also creates
// the lock-null resource (RFC 4918 §7.3), and waiting must not become a second way to grant.
// r gives the path and principal the line is kept by. grant's *ConflictError, wrapped or not,
// means "wait and try again"; any other outcome ends the wait.
func (s *System) LockWaitFunc(ctx context.Context, clock func() time.Time, r Request, grant func(now time.Time) (Lock, error)) (Lock, error) {
	p, err := cleanPath(r.Path)
	if err != nil {
		return Lock{}, err
	}
	w, err := s.enqueue(p, r.Principal)
	if err != nil {
		return Lock{}, err
	}
	defer s.dequeue(p, w)
	select {
	case <-w.turn:
	case <-ctx.Done():
		return Lock{}, fmt.Errorf("locksystem: wait for %s: %w", p, ctx.Err())
	}
	for {
		released := s.ev.releases() // before the try, so no release between them is missed
		l, err := grant(clock())
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return s.keepIfWanted(ctx, clock, l, err)
		}
		if !s.awaitChange(ctx, clock, released, ce.Conflicts) {
			return Lock{}, err
		}
	}
}

// awaitChange waits until a lock is released, the first of conflicts expires, or ctx ends; it
// reports false for the last.
func (s *System) awaitChange(ctx context.Context, clock func() time.Time, released <-chan struct{}, conflicts []Lock) bool {
	var expiry <-chan time.Time
	// An expiry already past is one the index does not go by (a shared store's lease runs out a
	// little after it): its release wakes the waiter instead.
	if first := earliestExpiry(conflicts); !first.IsZero() && (s.shared == nil || first.After(clock())) {
		t := time.NewTimer(max(first.Sub(clock()), 0) + time.Millisecond)
		defer t.Stop()
		expiry = t.C
	}
	select {
	case <-released:
	case <-expiry:
	case <-ctx.Done():
		return false
	}
	return true
}

// keepIfWanted returns what Lock returned, unless ctx ended meanwhile: then the lock goes back.
func (s *System) keepIfWanted(ctx context.Context, clock func() time.Time, l Lock, err error) (Lock, error) {
	if err != nil || ctx.Err() == nil {
		return l, err
	}
	if _, rerr := s.Release(clock(), l.Token, l.Principal, "", false); rerr != nil {
		return Lock{}, errors.Join(ctx.Err(), rerr)
	}
	return Lock{}, fmt.Errorf("locksystem: wait for %s: %w", l.Path, ctx.Err())
}

func earliestExpiry(ls []Lock) time.Time {
	var first time.Time
	for _, l := range ls {
		if !l.Expires.IsZero() && (first.IsZero() || l.Expires.Before(first)) {
			first = l.Expires
		}
	}
	return first
}

// enqueue puts a waiter for p at the end of its line; the first in line has its turn at once.
func (s *System) enqueue(p, principal string) (*waiter, error) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if s.maxWaiters > 0 && s.waiting[principal] >= s.maxWaiters {
		return nil, ErrTooManyWaiters
	}
	q := s.queues[p]
	if q == nil {
		q = &waitQueue{}
		s.queues[p] = q
	}
	w := &waiter{principal: principal, turn: make(chan struct{})}
	q.line = append(q.line, w)
	if len(q.line) == 1 {
		close(w.turn)
	}
	s.waiting[principal]++
	return w, nil
}

// dequeue takes w out of p's line and, if it was the head, gives the next waiter its turn.
func (s *System) dequeue(p string, w *waiter) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	q := s.queues[p]
	for i, x := range q.line {
		if x == w {
			q.line = append(q.line[:i], q.line[i+1:]...)
			if i == 0 && len(q.line) > 0 {
				close(q.line[0].turn)
			}
			break
		}
	}
	if len(q.line) == 0 {
		delete(s.queues, p)
	}
	if s.waiting[w.principal]--; s.waiting[w.principal] == 0 {
		delete(s.waiting, w.principal)
	}
}

// Waiting reports how many requests wait for a lock on path.
func (s *System) Waiting(path string) int {
	p, err := cleanPath(path)
	if err != nil {
		return 0
	}
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if q := s.queues[p]; q != nil {
		return len(q.line)
	}
	return 0
}

// Waiters reports how many requests wait for a lock, on any path: for the metrics, and for
// tests that must know a waiter is in line before the next arrives.
func (s *System) Waiters() int {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	n := 0
	for _, k := range s.waiting {
		n += k
	}
	return n
}

// Conflicting returns the live locks a lock r would conflict with now, without granting or
// publishing anything: what a waiter whose time ran out while still in line is told is in its
// way.
func (s *System) Conflicting(now time.Time, r Request) []Lock {
	p, err := cleanPath(r.Path)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	out := s.conflicting(now.UnixNano(), p, r.Scope, r.Depth)
	s.mu.Unlock()
	sortLocks(out)
	return out
}
