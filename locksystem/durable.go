package locksystem

// Refreshes with slack. Windows and Office refresh their locks every few minutes, and a refresh
// that waited for an fsync each time cost the refresh workload more than half its throughput
// (BENCHMARKS.md). So the stored document of a lock carries, as its expires, a later expiry
// than the real one: the time of its write plus twice the timeout (slackExpiry). A refresh whose
// new expiry is not later than that is answered from memory; the in-memory expiry stays the
// real one. A restart cannot tell which refresh a client was answered last, and every answer
// promised no more than the stored expiry, nor more than a timeout past the restart, so the
// loaded lock counts as refreshed at the restart, within the stored expiry (loadedTimes): at most
// one timeout longer than a client was told, never shorter.
//
// A refresh answered from memory relies on a document that may still be on its way to the
// disk (a grant or a refresh waiting for its commit): it waits for that commit (persisting).

import (
	"time"
)

// slackExpiry is the expiry a document written at now gives a lock of timeout: now plus twice
// the timeout, at most maxTimeout past now and never less than the real expiry; never for a
// lock without timeout.
func slackExpiry(now, timeout int64) int64 {
	if timeout == 0 {
		return never
	}
	slack := max(timeout, min(2*timeout, nanos(maxTimeout)))
	if slack > never-1-now {
		return never - 1
	}
	return now + slack
}

// needsWrite reports whether e's stored document no longer covers its expiry: a later expiry,
// or a lock without timeout whose document gives it one, or a document without one for a lock
// that has one now (after a crash it would never expire).
func (e *entry) needsWrite() bool {
	exp := e.expiry()
	return exp > e.durable || (e.durable == never) != (exp == never)
}

// stored is l as e's document keeps it: expires is e.durable.
func (e *entry) stored(l Lock) Lock {
	if e.timeout != 0 {
		l.Expires = time.Unix(0, e.durable).UTC()
	}
	return l
}

// persisting is a document write that has not returned yet, which refreshes answered from
// memory wait for.
type persisting struct {
	wait func() error
}

// persist writes e's document (with e.durable as its expires), l being e.lock(), and notes the
// write until it returns. The caller holds s.mu and calls wait after releasing it.
func (s *System) persist(e *entry, l Lock) (wait func() error) {
	if s.store == nil {
		return noWait
	}
	c := e.stored(l)
	p := &persisting{wait: s.store.Submit(Change{Put: &c})}
	s.persisting[e] = p
	return func() error {
		err := p.wait()
		s.mu.Lock()
		if s.persisting[e] == p {
			delete(s.persisting, e)
		}
		s.mu.Unlock()
		return err
	}
}

// persistRefresh writes e's document after a refresh, unless the stored one covers its new
// expiry; then the refresh waits only for a write of it still in flight. The caller holds s.mu
// and calls wait after releasing it.
func (s *System) persistRefresh(e *entry, l Lock, now int64) (wait func() error) {
	if s.store == nil {
		return noWait
	}
	if !e.needsWrite() {
		if p := s.persisting[e]; p != nil {
			return p.wait // e's latest write, the one that stores e.durable
		}
		return noWait
	}
	e.durable = slackExpiry(now, e.timeout)
	return s.persist(e, l)
}

// loadedTimes returns the refreshed time and the stored expiry a loaded document's lock gets, in
// Unix nanoseconds. Every refresh answered from memory happened before the restart and told
// its client an expiry no later than the stored one, so the lock counts as refreshed at the
// restart (now), if the stored expiry allows that much, else as late as it allows: it then
// lives at least as long as any client was told, and keeps its timeout. A document of an older
// lockdav (expires = refreshed + timeout) keeps its refreshed time.
func loadedTimes(doc *Lock, now int64) (refreshed, durable int64) {
	refreshed = doc.Refreshed.UnixNano()
	timeout := nanos(doc.Timeout)
	if timeout == 0 {
		return refreshed, never
	}
	durable = slackSum(refreshed, timeout)
	if !doc.Expires.IsZero() {
		durable = max(durable, doc.Expires.UnixNano())
	}
	return max(refreshed, min(durable-timeout, now)), durable
}

// slackSum is refreshed + timeout, saturated below never as entry.expiry is.
func slackSum(refreshed, timeout int64) int64 {
	if timeout > never-1-refreshed {
		return never - 1
	}
	return refreshed + timeout
}
