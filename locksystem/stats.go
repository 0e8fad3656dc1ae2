package locksystem

// Counters for /.lockdav/metrics: locks held by scope, and events since New. Reading them takes
// the mutex for a moment and walks nothing.

import "sync/atomic"

// Stats are the System's figures for metrics.
type Stats struct {
	// Active client locks by scope (the Handler view's temporary locks are not client locks).
	// A lock whose timeout has passed counts until it is collected, as in Len: every lock
	// operation collects up to 64 of them.
	Exclusive int
	Shared    int
	// Monotonic counters since New.
	Acquired       uint64 // locks granted (and stored)
	Refreshed      uint64 // refreshes granted (and stored)
	Released       uint64 // live locks removed: UNLOCK, forced release, DELETE/MOVE of the resource, release on update
	Expired        uint64 // locks collected after their timeout passed, at start-up included
	Conflicts      uint64 // lock requests refused because of conflicting locks
	ForcedReleases uint64 // releases of another principal's lock (an admin's); also counted in Released
}

// counters are the monotonic part of Stats; they are updated after the mutex is released, once
// the store has confirmed the change, hence atomics.
type counters struct {
	acquired, refreshed, released, expired, conflicts, forced atomic.Uint64
}

// Stats returns the current figures.
func (s *System) Stats() Stats {
	s.mu.Lock()
	st := Stats{Exclusive: s.active[Exclusive], Shared: s.active[Shared]}
	s.mu.Unlock()
	c := &s.count
	st.Acquired, st.Refreshed, st.Released = c.acquired.Load(), c.refreshed.Load(), c.released.Load()
	st.Expired, st.Conflicts, st.ForcedReleases = c.expired.Load(), c.conflicts.Load(), c.forced.Load()
	return st
}
