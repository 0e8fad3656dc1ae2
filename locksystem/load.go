package locksystem

// Start-up: the lock documents are the durable mirror of the index (DESIGN.md "Locks"), so New
// rebuilds the index from them. Locks survive restarts as RFC 4918 §6.6 lets them; a lock whose
// timeout passed while the server was down is gone.

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// batchLoader is a Store that hands its documents over in batches while it reads them, so that
// start-up indexes while the store decodes. The batch is the store's to reuse after fn returns.
type batchLoader interface {
	LoadBatches(fn func(batch []Lock) error) error
}

// load fills the empty index from the store, deleting the expired documents, and the older of
// two conflicting ones (possible only if a release failed to commit and was not undone). It runs
// before the System is shared, so it needs no lock.
func (s *System) load(now time.Time) error {
	l := loader{s: s, now: now.UnixNano(), holders: make(map[string]*holder)}
	var err error
	if bl, ok := s.store.(batchLoader); ok {
		err = bl.LoadBatches(l.add)
	} else {
		var docs []Lock
		if docs, err = s.store.Load(); err == nil {
			err = l.add(docs)
		}
	}
	if err != nil {
		return fmt.Errorf("locksystem: load: %w", err)
	}
	if l.conflict {
		l.resolve()
	}
	if len(l.drop) > 0 {
		if err := s.store.Submit(l.drop...)(); err != nil {
			return fmt.Errorf("locksystem: load: dropping %d documents: %w", len(l.drop), err)
		}
	}
	s.count.expired.Add(uint64(l.expired))
	s.log.Info().Int("locks", len(s.byToken)).Int("expired", l.expired).Int("conflicting", l.conflicting).
		Msg("locks loaded")
	return nil
}

// loader builds the index from stored documents as they arrive. Documents normally do not
// conflict, and then inserting them in any order gives the index that inserting them newest
// first would; at the first conflict it stops inserting, and resolve redoes the whole index
// newest first, so that of two conflicting documents the later grant wins.
type loader struct {
	s       *System
	now     int64
	holders map[string]*holder
	live    []loaded // every live document read, inserted or not
	// conflict is set at the first document that conflicts with (or repeats the token of) one
	// inserted before it; from then on documents are only collected.
	conflict    bool
	drop        []Change // deletions of expired and conflicting documents
	expired     int
	conflicting int
}

// loaded is a live document's entry, and its path while it is not in the index.
type loaded struct {
	e *entry
	p string
}

func (l *loader) add(docs []Lock) error {
	for i := range docs {
		e, p, err := fromDocument(&docs[i], l.holders)
		if err != nil {
			return fmt.Errorf("document %q: %w", docs[i].Token, err)
		}
		if !e.live(l.now) {
			l.expired++
			l.drop = append(l.drop, Change{Delete: docs[i].Token})
			continue
		}
		if !l.conflict {
			_, dup := l.s.byToken[e.token]
			l.conflict = dup || len(l.s.conflicting(l.now, p, e.scope, e.depth)) > 0
		}
		if l.conflict {
			l.live = append(l.live, loaded{e: e, p: p})
			continue
		}
		l.s.insert(e, l.s.ensure(p))
		l.live = append(l.live, loaded{e: e})
	}
	return nil
}

// resolve empties the index and fills it again newest first, dropping each document that
// conflicts with a newer one.
func (l *loader) resolve() {
	s := l.s
	for i := range l.live {
		if d := &l.live[i]; d.p == "" {
			d.p = d.e.node.path()
		}
	}
	s.root, s.heap, s.active = &node{}, nil, [2]int{}
	s.byToken, s.perPrincipal = make(map[uuid.UUID]*entry), make(map[string]*holder)
	slices.SortStableFunc(l.live, func(a, b loaded) int { return -cmpInt(a.e.created, b.e.created) })
	for _, d := range l.live {
		e := d.e
		_, dup := s.byToken[e.token]
		if dup || len(s.conflicting(l.now, d.p, e.scope, e.depth)) > 0 {
			l.conflicting++
			s.log.Warn().Str("token", tokenString(e.token)).Str("path", d.p).
				Msg("stored lock conflicts with a newer one; dropped")
			l.drop = append(l.drop, Change{Delete: tokenString(e.token)})
			continue
		}
		s.insert(e, s.ensure(d.p))
	}
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
