package locksystem

// Which locks a request touches: RFC 4918 §7.4 (write locks and collections), §7.5 (submitting
// tokens), §9.6.1 and §9.9.2 (DELETE and MOVE of a collection), and the lock queries of the
// JSON API.

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// visitBelow calls fn for every live lock rooted strictly below n until fn returns false, and
// reports whether it got to the end. The caller holds s.mu.
func visitBelow(n *node, now int64, fn func(*entry) bool) bool {
	for k := range n.children() {
		if k.maxExp > now && !visitSubtree(k, now, fn) {
			return false
		}
	}
	return true
}

// visitSubtree is visitBelow for n and below. Having seen the whole subtree, it sets n.maxExp to
// the exact latest expiry in it, so a subtree of expired locks is skipped from then on.
func visitSubtree(n *node, now int64, fn func(*entry) bool) bool {
	var latest int64
	for _, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil; e = e.next {
			latest = max(latest, e.expiry())
			if e.live(now) && !fn(e) {
				return false
			}
		}
	}
	for k := range n.children() {
		if k.maxExp > now && !visitSubtree(k, now, fn) {
			return false
		}
		latest = max(latest, k.maxExp)
	}
	n.maxExp = latest
	return true
}

// covering calls fn for every live lock covering clean path p: depth-infinity locks on its
// ancestors, then the locks rooted at p. It returns p's node, or nil. The caller holds s.mu.
func (s *System) covering(now int64, p string, fn func(*entry)) *node {
	n := s.root
	for rest := p; rest != "/" && rest != ""; {
		for e := n.inf; e != nil; e = e.next {
			if e.live(now) {
				fn(e)
			}
		}
		var seg string
		seg, rest = nextSegment(rest)
		if n = n.child(seg); n == nil {
			return nil
		}
	}
	for _, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil; e = e.next {
			if e.live(now) {
				fn(e)
			}
		}
	}
	return n
}

// Covering returns the live locks whose scope includes path: those rooted at it and the
// depth-infinity ones on its ancestors, sorted by path. A malformed path has none.
func (s *System) Covering(now time.Time, path string) []Lock {
	p, err := cleanPath(path)
	if err != nil {
		return nil
	}
	var out []Lock
	s.mu.Lock()
	s.covering(now.UnixNano(), p, func(e *entry) { out = append(out, e.lock()) })
	s.mu.Unlock()
	sortLocks(out)
	return out
}

// Query returns the live locks q selects, sorted by path then creation. A malformed q.Path
// selects none; callers that need to tell the user validate it first.
func (s *System) Query(now time.Time, q Query) []Lock {
	if q.Path == "" {
		q.Path = "/"
	}
	p, err := cleanPath(q.Path)
	if err != nil {
		return nil
	}
	nowN := now.UnixNano()
	var out []Lock
	add := func(e *entry) bool {
		if q.match(e) {
			out = append(out, e.lock())
		}
		return true
	}
	s.mu.Lock()
	n := s.find(p)
	if q.Covering {
		s.covering(nowN, p, func(e *entry) {
			if e.node != n {
				add(e)
			}
		})
	}
	if n != nil {
		rootedAt(n, nowN, add)
		switch {
		case q.Depth == DepthInfinity:
			visitBelow(n, nowN, add)
		case q.Members:
			for k := range n.children() {
				rootedAt(k, nowN, add)
			}
		}
	}
	s.mu.Unlock()
	sortLocks(out)
	return out
}

// rootedAt calls fn for each live lock rooted at n.
func rootedAt(n *node, now int64, fn func(*entry) bool) {
	for _, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil; e = e.next {
			if e.live(now) {
				fn(e)
			}
		}
	}
}

func (q *Query) match(e *entry) bool {
	return (q.Owner == "" || strings.Contains(e.owner, q.Owner)) &&
		(q.Principal == "" || e.principal.name == q.Principal) &&
		(q.Scope == nil || e.scope == *q.Scope)
}

// Missing returns the live locks that the needs touch and that tokens, submitted by principal,
// do not satisfy, sorted by path, without duplicates. A token counts only for a lock of
// principal. For each locked resource a write touches, every exclusive lock covering it needs
// its token; of the shared locks covering it, one token suffices (docs/ARCHITECTURE.md "The lock model").
// Need{P, DepthZero} touches P; Need{P, DepthInfinity} touches P and every lock root below it.
// A need with a malformed path touches nothing.
func (s *System) Missing(now time.Time, principal string, tokens []string, needs ...Need) []Lock {
	nowN := now.UnixNano()
	s.mu.Lock()
	var buf [4]uuid.UUID
	m := missing{now: nowN, held: submittedTokens(principal, tokens, buf[:0])}
	for _, nd := range needs {
		p, err := cleanPath(nd.Path)
		if err != nil {
			continue
		}
		var inherited [8]*entry
		cover := inherited[:0]
		n := s.covering(nowN, p, func(e *entry) { cover = append(cover, e) })
		m.check(cover)
		if n != nil && nd.Depth == DepthInfinity {
			ancestors := cover[:0:0]
			for _, e := range cover {
				if e.node != n || e.depth == DepthInfinity {
					ancestors = append(ancestors, e)
				}
			}
			m.below(n, ancestors)
		}
	}
	var out []Lock
	for e := range m.out {
		out = append(out, e.lock())
	}
	s.mu.Unlock()
	sortLocks(out)
	return out
}

// heldSet is the set of locks whose tokens a request submitted: a handful, so a slice.
type heldSet []*entry

func (h heldSet) has(e *entry) bool {
	for _, x := range h {
		if x == e {
			return true
		}
	}
	return false
}

// held returns the live locks of principal named by tokens. The caller holds s.mu.
func (s *System) held(now int64, principal string, tokens []string) heldSet {
	var held heldSet
	for _, t := range tokens {
		if u, ok := parseToken(t); ok {
			if e := s.byToken[u]; e != nil && e.live(now) && e.principal.name == principal && !held.has(e) {
				held = append(held, e)
			}
		}
	}
	return held
}

// submitted names the locks whose tokens a request submitted: those of principal with one of
// tokens. A check tells them by comparing each covering lock's token with the few submitted,
// rather than looking each token up in byToken: with a million locks, that lookup is a cache
// miss or two, and the covering locks are in the cache already.
type submitted struct {
	principal string
	tokens    []uuid.UUID
}

// submittedTokens parses tokens into buf; a token that is not a lock token names no lock.
func submittedTokens(principal string, tokens []string, buf []uuid.UUID) submitted {
	for _, t := range tokens {
		if u, ok := parseToken(t); ok {
			buf = append(buf, u)
		}
	}
	return submitted{principal: principal, tokens: buf}
}

// has reports whether the request submitted e's token, e being a live lock in the index (whose
// token names no other).
func (h *submitted) has(e *entry) bool {
	for _, t := range h.tokens {
		if t == e.token {
			return e.principal.name == h.principal
		}
	}
	return false
}

// missing accumulates the unsatisfied locks of one Missing call.
type missing struct {
	now  int64
	held submitted
	out  map[*entry]struct{}
}

// check applies the rule to one resource covered by the live locks cover.
func (m *missing) check(cover []*entry) {
	sharedOK, anyShared := false, false
	for _, e := range cover {
		switch {
		case e.scope == Exclusive && !m.held.has(e):
			m.add(e)
		case e.scope == Shared:
			anyShared = true
			sharedOK = sharedOK || m.held.has(e)
		}
	}
	if !anyShared || sharedOK {
		return
	}
	for _, e := range cover {
		if e.scope == Shared {
			m.add(e)
		}
	}
}

func (m *missing) add(e *entry) {
	if m.out == nil {
		m.out = make(map[*entry]struct{})
	}
	m.out[e] = struct{}{}
}

// below checks every lock root below n; inherited are the live depth-infinity locks covering n's
// members from n and its ancestors.
func (m *missing) below(n *node, inherited []*entry) {
	for k := range n.children() {
		if k.maxExp <= m.now {
			continue
		}
		cover := inherited[:len(inherited):len(inherited)]
		own := false
		rootedAt(k, m.now, func(e *entry) bool {
			cover, own = append(cover, e), true
			return true
		})
		if own {
			m.check(cover)
		}
		next := inherited[:len(inherited):len(inherited)]
		for e := k.inf; e != nil; e = e.next {
			if e.live(m.now) {
				next = append(next, e)
			}
		}
		m.below(k, next)
	}
}

// RemoveTree drops every lock rooted at or below path, as DELETE and MOVE do to their source
// (RFC 4918 §9.6.1, §9.9.2), and returns the live ones. The deletions are stored before it
// returns; a store failure is logged, since the resource is gone either way.
func (s *System) RemoveTree(now time.Time, path string) []Lock {
	p, err := cleanPath(path)
	if err != nil {
		return nil
	}
	nowN := now.UnixNano()
	var dropped, expired []Lock
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	gone := s.expire(nowN)
	var victims []*entry
	if n := s.find(p); n != nil {
		victims = subtree(n, victims)
	}
	if s.shared != nil {
		ls := locksOf(victims)
		s.mu.Unlock()
		return s.releaseAllShared(ls, Removed, "resource removed")
	}
	changes := make([]Change, 0, len(victims))
	for _, e := range victims {
		l := e.lock()
		if e.live(nowN) {
			dropped = append(dropped, l)
		} else {
			expired = append(expired, l)
		}
		changes = append(changes, Change{Delete: l.Token})
		s.remove(e)
	}
	wait := noWait
	if len(changes) > 0 {
		wait = s.submitRelease(changes...)
	}
	s.mu.Unlock()
	s.count.expired.Add(uint64(len(expired)))
	s.count.released.Add(uint64(len(dropped)))
	s.expired(nowN, append(gone, expired...))
	s.logReleased(dropped, wait(), "resource removed")
	s.ev.publish(released(now, Removed, dropped)...)
	sortLocks(dropped)
	return dropped
}

// locksOf returns the locks of entries.
func locksOf(entries []*entry) []Lock {
	ls := make([]Lock, len(entries))
	for i, e := range entries {
		ls[i] = e.lock()
	}
	return ls
}

// subtree appends every lock rooted at or below n, expired or not.
func subtree(n *node, out []*entry) []*entry {
	for _, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil; e = e.next {
			out = append(out, e)
		}
	}
	for k := range n.children() {
		out = subtree(k, out)
	}
	return out
}

// ReleaseOnUpdate is called after a successful write to path: it releases and returns the locks with
// ReleaseOnUpdate that cover path and whose token principal submitted.
func (s *System) ReleaseOnUpdate(now time.Time, principal string, tokens []string, path string) []Lock {
	p, err := cleanPath(path)
	if err != nil {
		return nil
	}
	nowN := now.UnixNano()
	var done []Lock
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	gone := s.expire(nowN)
	var changes []Change
	for _, e := range s.held(nowN, principal, tokens) {
		if e.flags&flagReleaseOnUpdate != 0 && e.covers(p) {
			l := e.lock()
			done = append(done, l)
			changes = append(changes, Change{Delete: l.Token})
			if s.shared == nil {
				s.remove(e)
			}
		}
	}
	if s.shared != nil {
		s.mu.Unlock()
		return s.releaseAllShared(done, Updated, "updated")
	}
	wait := noWait
	if len(changes) > 0 {
		wait = s.submitRelease(changes...)
	}
	s.mu.Unlock()
	s.count.released.Add(uint64(len(done)))
	s.expired(nowN, gone)
	s.logReleased(done, wait(), "updated")
	s.ev.publish(released(now, Updated, done)...)
	sortLocks(done)
	return done
}

// logReleased logs locks released for a reason other than UNLOCK.
func (s *System) logReleased(ls []Lock, err error, reason string) {
	for i := range ls {
		event(s.log.Info(), &ls[i]).Str("reason", reason).Msg("lock released")
	}
	if err != nil {
		s.log.Error().Err(err).Int("locks", len(ls)).Msg("lock release not stored")
	}
}
