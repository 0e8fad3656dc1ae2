package locksystem

// Start-up: the lock documents are the durable mirror of the index (docs/ARCHITECTURE.md "The lock model"), so New
// rebuilds the index from them. Locks survive restarts as RFC 4918 §6.6 lets them; a lock whose
// timeout passed while the server was down is gone.

import (
	"fmt"
	"runtime/debug"
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
	defer loadGC()()
	l := loader{s: s, now: now.UnixNano(), holders: make(map[string]*holder), clients: make(map[Client]*Client)}
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
	s.count.expired.Add(uint64(l.expired)) //nolint:gosec // G115: a count, never negative
	s.log.Info().Int("locks", len(s.byToken)).Int("expired", l.expired).Int("conflicting", l.conflicting).
		Msg("locks loaded")
	return nil
}

// loadGCPercent is the collector's GOGC while the index is built. Nearly everything a load
// allocates stays live, so each collection of the default GOGC (one per doubling of the heap)
// marks again what the one before marked, for little garbage: a million documents took about
// 0.9 CPU-s of marking. The heap grows by the garbage between collections, which is small here
// (the documents' token and path strings and the batches), and a memory limit still applies.
const loadGCPercent = 400

// loadGC raises GOGC to loadGCPercent, unless it is higher or off already, and returns the
// function that puts it back.
func loadGC() (restore func()) {
	old := debug.SetGCPercent(loadGCPercent)
	if old < 0 || old >= loadGCPercent {
		debug.SetGCPercent(old)
		return func() {}
	}
	return func() { debug.SetGCPercent(old) }
}

// loader builds the index from stored documents as they arrive. Documents normally do not
// conflict, and then inserting them in any order gives the index that inserting them newest
// first would; at the first conflict it stops inserting, and resolve redoes the whole index
// newest first, so that of two conflicting documents the later grant wins.
type loader struct {
	s       *System
	now     int64
	holders map[string]*holder
	clients map[Client]*Client // one copy of each client, for the locks that share it
	// conflict is set at the first document that conflicts with (or repeats the token of) one
	// inserted before it; from then on documents are only collected, in later.
	conflict    bool
	later       []loaded
	drop        []Change // deletions of expired and conflicting documents
	expired     int
	conflicting int
}

// loaded is a live document's entry and path while it is not in the index.
type loaded struct {
	e *entry
	p string
}

func (l *loader) add(docs []Lock) error {
	for i := range docs {
		e, p, err := l.fromDocument(&docs[i])
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
			n := l.s.ensure(p) // left empty on a conflict; resolve starts from a new root
			if l.conflict = dup || l.s.conflictsAt(l.now, n, e.scope, e.depth); !l.conflict {
				l.s.insert(e, n)
				continue
			}
		}
		l.later = append(l.later, loaded{e: e, p: p})
	}
	return nil
}

// maxSharedClients bounds the loader's clients: documents of a million distinct clients share
// nothing, and then the map would only cost.
const maxSharedClients = 4096

// conflictsAt reports whether a lock (n, sc, d) would conflict with a live lock in the index:
// conflicting's rule, for a node that exists, and without listing the conflicts.
func (s *System) conflictsAt(now int64, n *node, sc Scope, d Depth) bool {
	in := func(list *entry) bool {
		for e := list; e != nil; e = e.next {
			if e.live(now) && e.conflicts(sc) {
				return true
			}
		}
		return false
	}
	for a := n.parent; a != nil; a = a.parent {
		if in(a.inf) {
			return true
		}
	}
	if in(n.zero) || in(n.inf) {
		return true
	}
	return d == DepthInfinity && !visitBelow(n, now, func(e *entry) bool { return !e.conflicts(sc) })
}

// resolve empties the index and fills it again newest first, dropping each document that
// conflicts with a newer one. The documents inserted before the first conflict go first, in
// the index's order: they do not conflict with one another, so their order decides nothing.
func (l *loader) resolve() {
	s := l.s
	var all []loaded
	for _, e := range subtree(s.root, nil) {
		all = append(all, loaded{e: e, p: e.node.path()})
	}
	all = append(all, l.later...)
	s.root, s.heap, s.active = &node{}, nil, [2]int{}
	s.byToken, s.perPrincipal = make(map[uuid.UUID]*entry), make(map[string]*holder)
	slices.SortStableFunc(all, func(a, b loaded) int { return -cmpInt(a.e.created, b.e.created) })
	for _, d := range all {
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

// fromDocument checks a stored lock and turns it into an entry at the returned clean path. The
// locks of one principal share one holder, and equal clients one Client.
func (l *loader) fromDocument(doc *Lock) (*entry, string, error) {
	u, ok := parseToken(doc.Token)
	if !ok {
		return nil, "", fmt.Errorf("%w: token is not urn:uuid", ErrInvalid)
	}
	p, err := cleanPath(doc.Path)
	if err != nil {
		return nil, "", err
	}
	r := Request{Path: p, Scope: doc.Scope, Depth: doc.Depth, Principal: doc.Principal}
	if err := r.validate(); err != nil {
		return nil, "", err
	}
	if (doc.Timeout <= 0 && doc.Timeout != Infinite) || doc.Timeout > maxTimeout {
		return nil, "", fmt.Errorf("%w: timeout %v", ErrInvalid, doc.Timeout)
	}
	h := l.holders[doc.Principal]
	if h == nil {
		h = &holder{name: doc.Principal}
		l.holders[doc.Principal] = h
	}
	e := &entry{
		token:     u,
		owner:     doc.Owner,
		principal: h,
		client:    l.client(doc.Client),
		created:   doc.Created.UnixNano(),
		timeout:   nanos(doc.Timeout),
		scope:     doc.Scope,
		depth:     doc.Depth,
		heapIdx:   -1,
	}
	e.refreshed, e.durable = loadedTimes(doc, l.now)
	if doc.ReleaseOnUpdate {
		e.flags |= flagReleaseOnUpdate
	}
	if doc.LockNull {
		e.flags |= flagLockNull
	}
	return e, p, nil
}

// client returns a Client equal to c for an entry (nil for none), the same one for equal c
// while there are few enough to remember: entries never change their Client.
func (l *loader) client(c Client) *Client {
	if c == (Client{}) {
		return nil
	}
	if p := l.clients[c]; p != nil {
		return p
	}
	p := new(Client) // not &c, which would move c to the heap on every call
	*p = c
	if len(l.clients) < maxSharedClients {
		l.clients[c] = p
	}
	return p
}
