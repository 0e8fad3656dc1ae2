package locksystem

// Several replicas over one lock table (docs/ARCHITECTURE.md "Several replicas"). With a
// SharedStore (etcd) the store, not this process's memory, is the arbiter: a grant commits only
// through a store transaction that fails when a conflicting lock was stored since the index was
// read, and the index changes only as the store's change feed says (apply), for this replica's
// changes as for every other's. Checks stay in memory; Sync makes the index catch up with the
// store first, so that what a check or a refusal sees includes every change committed before it.
// Timeouts ride on the store's leases (its clock, not the replicas'): an index entry of a shared
// store never expires by this process's clock; it goes when the store deletes its document.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SharedStore is a Store that several Systems share, one per replica.
//
// Submit of a Change with Grant commits the document only if no lock that could conflict with
// it was stored after revision Since, and otherwise fails with ErrStale; a Put without Grant (a
// refresh) commits only while the document exists, and otherwise fails with ErrNoSuchLock, as
// does a single Delete with Reason Unlocked or Forced (a release asked for) of one gone. The
// wait of every Submit returns only once apply has been handed the commit, so that the index
// reflects a change before its answer leaves (or, once the change is made, until the timeout:
// a late watch does not turn a made change into a failed one). A Put that Follow hands over
// for a lock the index holds is a refresh, and may carry only Token, Refreshed, Timeout and
// Expires. Load returns the stored documents and remembers
// the revision they reflect; Follow starts from there.
type SharedStore interface {
	Store
	// Follow starts handing apply, from one goroutine, every change committed by any replica
	// after the documents Load returned, in commit order, until Close.
	Follow(apply func(Applied))
	// Sync returns once apply has been handed every change committed before Sync was called,
	// or with an error wrapping ErrUnavailable.
	Sync(ctx context.Context) error
}

// Applied is a batch of committed changes a SharedStore hands its follower.
type Applied struct {
	Rev     int64    // the store's revision these changes bring the index to
	Changes []Change // Put: a lock granted or refreshed; Delete: released, with Reason
	// Reset: Changes are Puts of every stored lock, and the index forgets the others (the
	// follower fell behind what the store keeps of its history).
	Reset bool
}

// ErrStale: a grant's guard found a change since the revision the index reflected; the System
// catches up and decides again.
var ErrStale = errors.New("locksystem: lock table changed since it was read")

// maxStaleTries bounds how often one Lock catches up and decides again after losing a race;
// each try is bounded by the store's timeout, so a LOCK ends within a few of them. A race is
// lost only to a change on the same ancestors or subtree, after which the caught-up index
// usually refuses or the next try wins.
const maxStaleTries = 8

// Sync makes the index reflect every change committed to a shared store before the call (nil
// at once without one). davserver calls it before the lock checks of a write.
func (s *System) Sync(ctx context.Context) error {
	if s.shared == nil {
		return nil
	}
	return s.shared.Sync(ctx)
}

// readSyncTimeout bounds how long a read waits to catch up before it answers from the index as
// it is; readRetry is how long reads do not try again after one gave up.
const (
	readSyncTimeout = time.Second
	readRetry       = time.Second
)

// SyncRead is Sync for a read that reports lock state (lockdiscovery, the lock API's queries),
// which goes on whatever happens: it catches up as Sync does, so that every replica answers
// alike, but gives up after readSyncTimeout, and within readRetry of a read that gave up it
// does not try. With the store out of reach, reads answer from the index, at most what the
// watch had delivered behind (docs/ARCHITECTURE.md "Several replicas").
func (s *System) SyncRead(ctx context.Context) {
	if s.shared == nil {
		return
	}
	if last := s.readFailed.Load(); last != 0 && time.Since(time.Unix(0, last)) < readRetry {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, readSyncTimeout)
	defer cancel()
	if err := s.shared.Sync(ctx); err != nil {
		s.readFailed.Store(time.Now().UnixNano())
		return
	}
	s.readFailed.Store(0)
}

// loadShared fills the index from a shared store's documents and starts following it. Its
// documents are live by definition: the store deletes each when its lease runs out.
func (s *System) loadShared() error {
	docs, err := s.store.Load()
	if err != nil {
		return fmt.Errorf("locksystem: load: %w", err)
	}
	for i := range docs {
		if err := s.applyPut(&docs[i], nil); err != nil {
			s.log.Warn().Err(err).Str("token", docs[i].Token).Msg("stored lock ignored")
		}
	}
	s.log.Info().Int("locks", len(s.byToken)).Msg("locks loaded")
	s.shared.Follow(s.apply)
	return nil
}

// apply brings the index to a.Rev and publishes the events of the changes.
func (s *System) apply(a Applied) {
	now := time.Now().UTC()
	var evs []Event
	s.mu.Lock()
	if a.Reset {
		evs = s.resetTo(a.Changes, now)
	}
	for i := range a.Changes {
		c := &a.Changes[i]
		if c.Put == nil {
			evs = s.applyDelete(c, now, evs)
			continue
		}
		if err := s.applyPut(c.Put, func(ev Event) { ev.Time = now; evs = append(evs, ev) }); err != nil {
			s.log.Warn().Err(err).Str("token", c.Put.Token).Msg("stored lock ignored")
		}
	}
	s.rev = a.Rev
	s.mu.Unlock()
	s.ev.publish(evs...)
}

// applyPut inserts a stored lock, or updates the entry of its token (a refresh), and reports
// which through ev (nil: no event). The caller holds s.mu, or is New.
func (s *System) applyPut(doc *Lock, ev func(Event)) error {
	u, ok := parseToken(doc.Token)
	if !ok {
		return fmt.Errorf("%w: token %q", ErrInvalid, doc.Token)
	}
	if e := s.byToken[u]; e != nil {
		if e.refreshed == doc.Refreshed.UnixNano() && e.timeout == nanos(doc.Timeout) {
			return nil // as known: a reload's copy
		}
		e.refreshed, e.timeout = doc.Refreshed.UnixNano(), nanos(doc.Timeout)
		raiseMaxExp(e.node, e.expiry())
		if ev != nil {
			ev(Event{Kind: Refreshed, Lock: e.lock()})
		}
		return nil
	}
	l := loader{s: s, holders: make(map[string]*holder), clients: make(map[Client]*Client)}
	e, p, err := l.fromDocument(doc)
	if err != nil {
		return err
	}
	e.principal = s.holder(doc.Principal)
	e.refreshed, e.durable = doc.Refreshed.UnixNano(), never
	e.flags |= flagLeased
	s.insert(e, s.ensure(p))
	if ev != nil {
		ev(Event{Kind: Acquired, Lock: e.lock()})
	}
	return nil
}

// applyDelete removes the entry of a deleted document and appends its Released event. The
// caller holds s.mu.
func (s *System) applyDelete(c *Change, now time.Time, evs []Event) []Event {
	u, ok := parseToken(c.Delete)
	e := s.byToken[u]
	if !ok || e == nil {
		return evs
	}
	l := e.lock()
	s.remove(e)
	reason := c.Reason
	if reason == NoReason {
		reason = Expired // the store deleted it: its lease ran out
		s.count.expired.Add(1)
	}
	return append(evs, Event{Kind: Released, Reason: reason, By: c.By, Time: now, Lock: l})
}

// resetTo removes every entry whose token is not among puts, as expired. The caller holds s.mu.
func (s *System) resetTo(puts []Change, now time.Time) []Event {
	keep := make(map[string]bool, len(puts))
	for _, c := range puts {
		if c.Put != nil {
			keep[c.Put.Token] = true
		}
	}
	var evs []Event
	for u, e := range s.byToken {
		if t := tokenString(u); !keep[t] {
			evs = s.applyDelete(&Change{Delete: t}, now, evs)
			_ = e
		}
	}
	return evs
}

// lockShared is Lock on a shared store: decide from the index, commit through the store's
// guarded transaction, and when the guard or a refusal may rest on a stale index, catch up and
// decide again.
func (s *System) lockShared(now time.Time, p string, r *Request) (Lock, error) {
	synced := false
	for range maxStaleTries {
		l, conflicts, since, err := s.proposeGrant(now, p, r)
		switch {
		case err != nil:
			return Lock{}, err
		case len(conflicts) > 0 && synced:
			return Lock{}, s.refuse(now, p, r, conflicts)
		case len(conflicts) == 0:
			err = s.store.Submit(Change{Put: &l, Grant: true, Since: since})()
			s.donePending(r.Principal)
			if err == nil {
				s.count.acquired.Add(1)
				event(s.log.Info(), &l).Msg("lock acquired")
				return l, nil
			}
			if !errors.Is(err, ErrStale) {
				return Lock{}, fmt.Errorf("locksystem: lock on %s not stored: %w", p, err)
			}
		}
		if err := s.Sync(context.Background()); err != nil {
			return Lock{}, err
		}
		synced = true
	}
	return Lock{}, fmt.Errorf("%w: lock on %s lost %d races in a row", ErrUnavailable, p, maxStaleTries)
}

// proposeGrant checks r against the index and returns the lock to commit, or the conflicts,
// with the revision the index reflects.
func (s *System) proposeGrant(now time.Time, p string, r *Request) (Lock, []Lock, int64, error) {
	tok, err := uuid.NewRandom()
	if err != nil {
		return Lock{}, nil, 0, fmt.Errorf("locksystem: new token: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Lock{}, nil, 0, ErrClosed
	}
	if c := s.conflicting(now.UnixNano(), p, r.Scope, r.Depth); len(c) > 0 {
		return Lock{}, c, s.rev, nil
	}
	held := s.pending[r.Principal]
	if h := s.perPrincipal[r.Principal]; h != nil {
		held += h.n
	}
	if s.maxPer > 0 && held >= s.maxPer {
		return Lock{}, nil, 0, fmt.Errorf("%w: %s holds %d", ErrTooMany, r.Principal, held)
	}
	s.pending[r.Principal]++ // until the grant is in the index or failed (donePending)
	now = now.UTC()
	l := Lock{Token: tokenString(tok), Path: p, Scope: r.Scope, Depth: r.Depth, Owner: r.Owner,
		Principal: r.Principal, Timeout: s.policy.Grant(r.Timeout), Created: now, Refreshed: now,
		Client: r.Client, ReleaseOnUpdate: r.ReleaseOnUpdate, LockNull: r.LockNull}
	if l.Timeout != Infinite {
		l.Expires = now.Add(l.Timeout)
	}
	return l, nil, s.rev, nil
}

// donePending ends a grant proposeGrant counted for principal: it is in the index now (the
// store's wait returns once the watch brought it), or failed.
func (s *System) donePending(principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[principal]--; s.pending[principal] <= 0 {
		delete(s.pending, principal)
	}
}

// lookupShared is lookup on a shared store: a token the index does not know, or no longer
// covers, may be one granted or refreshed elsewhere a moment ago, so it catches up once.
func (s *System) lookupShared(now time.Time, token, principal, p string, force bool) (Lock, error) {
	for synced := false; ; synced = true {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Lock{}, ErrClosed
		}
		e, err := s.lookup(now.UnixNano(), token, principal, p, force)
		var l Lock
		if err == nil {
			l = e.lock()
		}
		s.mu.Unlock()
		if err == nil || synced {
			return l, err
		}
		if err := s.Sync(context.Background()); err != nil {
			return Lock{}, err
		}
	}
}

// refreshShared is Refresh on a shared store: the store renews the lock's lease and replaces
// its document, unless it was released or expired meanwhile.
func (s *System) refreshShared(now time.Time, token, principal, p string, granted time.Duration) (Lock, error) {
	l, err := s.lookupShared(now, token, principal, p, false)
	if err != nil {
		return Lock{}, err
	}
	now = now.UTC()
	l.Refreshed, l.Timeout, l.Expires = now, granted, time.Time{}
	if granted != Infinite {
		l.Expires = now.Add(granted)
	}
	if err := s.store.Submit(Change{Put: &l})(); err != nil {
		return Lock{}, fmt.Errorf("locksystem: refresh of %s not stored: %w", token, err)
	}
	s.count.refreshed.Add(1)
	event(s.log.Info(), &l).Int64("timeout_seconds", int64(l.Timeout/time.Second)).Msg("lock refreshed")
	return l, nil
}

// releaseShared is Release on a shared store.
func (s *System) releaseShared(now time.Time, token, principal, p string, force bool) (Lock, error) {
	l, err := s.lookupShared(now, token, principal, p, force)
	if err != nil {
		return Lock{}, err
	}
	c := Change{Delete: l.Token, Reason: Unlocked}
	if force && l.Principal != principal {
		c.Reason, c.By = Forced, principal
		s.count.forced.Add(1)
	}
	if err := s.store.Submit(c)(); err != nil {
		return Lock{}, fmt.Errorf("locksystem: release of %s not stored: %w", token, err)
	}
	s.count.released.Add(1)
	event(s.log.Info(), &l).Str("reason", c.Reason.String()).Msg("lock released")
	return l, nil
}

// releaseAllShared deletes the stored documents of ls for reason (RemoveTree, ReleaseOnUpdate
// on a shared store) and returns ls sorted; the index follows the store.
func (s *System) releaseAllShared(ls []Lock, reason Reason, why string) []Lock {
	if len(ls) == 0 {
		return nil
	}
	changes := make([]Change, len(ls))
	for i := range ls {
		changes[i] = Change{Delete: ls[i].Token, Reason: reason}
	}
	err := s.store.Submit(changes...)()
	if err == nil {
		s.count.released.Add(uint64(len(ls)))
	}
	s.logReleased(ls, err, why)
	sortLocks(ls)
	return ls
}
