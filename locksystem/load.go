package locksystem

// Start-up: the lock documents are the durable mirror of the index (DESIGN.md "Locks"), so New
// rebuilds the index from them. Locks survive restarts as RFC 4918 §6.6 lets them; a lock whose
// timeout passed while the server was down is gone.

import (
	"fmt"
	"slices"
	"time"
)

// load fills the empty index from the store, deleting the expired documents, and the older of
// two conflicting ones (possible only if a release failed to commit and was not undone). It runs
// before the System is shared, so it needs no lock.
func (s *System) load(now time.Time) error {
	docs, err := s.store.Load()
	if err != nil {
		return fmt.Errorf("locksystem: load: %w", err)
	}
	entries := make([]*entry, 0, len(docs))
	paths := make([]string, 0, len(docs))
	holders := make(map[string]*holder)
	for i := range docs {
		e, p, err := fromDocument(&docs[i], holders)
		if err != nil {
			return fmt.Errorf("locksystem: load: document %q: %w", docs[i].Token, err)
		}
		entries, paths = append(entries, e), append(paths, p)
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	// Newest first: of two conflicting documents, the later grant wins.
	slices.SortFunc(order, func(a, b int) int { return -cmpInt(entries[a].created, entries[b].created) })
	nowN := now.UnixNano()
	var drop []Change
	expired, conflicting := 0, 0
	for _, i := range order {
		e, p := entries[i], paths[i]
		_, dup := s.byToken[e.token]
		switch {
		case !e.live(nowN):
			expired++
		case dup || len(s.conflicting(nowN, p, e.scope, e.depth)) > 0:
			conflicting++
			s.log.Warn().Str("token", tokenString(e.token)).Str("path", p).
				Msg("stored lock conflicts with a newer one; dropped")
		default:
			s.insert(e, s.ensure(p))
			continue
		}
		drop = append(drop, Change{Delete: tokenString(e.token)})
	}
	s.count.expired.Add(uint64(expired))
	if len(drop) > 0 {
		if err := s.store.Submit(drop...)(); err != nil {
			return fmt.Errorf("locksystem: load: dropping %d documents: %w", len(drop), err)
		}
	}
	s.log.Info().Int("locks", len(s.byToken)).Int("expired", expired).Int("conflicting", conflicting).
		Msg("locks loaded")
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fromDocument checks a stored lock and turns it into an entry at the returned clean path. Its
// holder comes from holders, so that the locks of one principal share one.
func fromDocument(l *Lock, holders map[string]*holder) (*entry, string, error) {
	u, ok := parseToken(l.Token)
	if !ok {
		return nil, "", fmt.Errorf("%w: token is not urn:uuid", ErrInvalid)
	}
	p, err := cleanPath(l.Path)
	if err != nil {
		return nil, "", err
	}
	r := Request{Path: p, Scope: l.Scope, Depth: l.Depth, Principal: l.Principal}
	if err := r.validate(); err != nil {
		return nil, "", err
	}
	if l.Timeout < 0 || l.Timeout > maxTimeout {
		return nil, "", fmt.Errorf("%w: timeout %v", ErrInvalid, l.Timeout)
	}
	if holders[l.Principal] == nil {
		holders[l.Principal] = &holder{name: l.Principal}
	}
	e := &entry{
		token:     u,
		owner:     l.Owner,
		principal: holders[l.Principal],
		created:   l.Created.UnixNano(),
		refreshed: l.Refreshed.UnixNano(),
		timeout:   int64(l.Timeout),
		scope:     l.Scope,
		depth:     l.Depth,
		heapIdx:   -1,
	}
	if l.Client != (Client{}) {
		c := l.Client
		e.client = &c
	}
	if l.ReleaseOnUpdate {
		e.flags |= flagReleaseOnUpdate
	}
	if l.LockNull {
		e.flags |= flagLockNull
	}
	return e, p, nil
}
