// Package etcdstore keeps the lock table of several lockdav replicas in etcd: the
// locksystem.SharedStore that arbitrates grants with guarded transactions, expires locks with
// leases, and feeds every replica's index from one watch (docs/ARCHITECTURE.md "Several
// replicas").
//
// Keys, under the configured prefix P:
//
//	P locks/<path without its leading slash> NUL <token>   a lock document (JSON), on its lease
//	P locks.gone/<token>                                   why a lock was deleted, beside the delete
//	P locks.refreshed/<token>                              its latest refresh, on the lock's lease
//	P locks.sync                                           the barrier Sync writes
//
// NUL sorts before every byte a path may hold after it and paths hold none, so the locks rooted
// at a path are the keys with prefix "P locks/<path> NUL", and the locks below it those with
// prefix "P locks/<path>/": the ranges a grant's guard compares. The watch covers "P locks",
// which holds all three kinds of key.
package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockdav/lockdav/locksystem"
)

// Options configures a Store.
type Options struct {
	Client  *clientv3.Client // owned by the caller
	Prefix  string           // every key starts with it
	Timeout time.Duration    // bounds each etcd round trip; 0: DefaultTimeout
	Logger  zerolog.Logger
	// Observe, if set, is called after each operation on etcd (op: grant, refresh, release,
	// sync, load) with its time, its round trips included, and its error.
	Observe func(op string, d time.Duration, err error)
	// ObserveLag, if set, is called by each Sync with the time its barrier took to come back
	// through the watch: how far behind etcd the index is.
	ObserveLag func(d time.Duration)
}

// DefaultTimeout bounds an etcd round trip when Options.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// maxGuardRanges bounds the per-range compares of one grant, under etcd's default limit of 128
// operations per transaction; a deeper path is guarded by the whole lock range instead.
const maxGuardRanges = 100

// maxDeletesPerTxn bounds the deletions one transaction carries (two operations each).
const maxDeletesPerTxn = 60

// Store is the etcd SharedStore.
type Store struct {
	cli     *clientv3.Client
	timeout time.Duration
	log     zerolog.Logger
	observe func(op string, d time.Duration, err error)
	lag     func(d time.Duration)
	locks   string // P locks/
	gone    string // P locks.gone/
	sync    string // P locks.sync
	fresh   string // P locks.refreshed/
	watch   string // P locks

	barriers barriers // the barrier writes of Sync, shared by concurrent calls

	// mu guards every field below.
	mu           sync.Mutex
	leases       map[string]lockKey // by token: the key and lease of every stored lock
	loadRev      int64              // the revision Load read
	journal      clientv3.LeaseID   // the lease of release reasons (journalLease), 0 for none yet
	journalUntil time.Time          // when to take a new one
	applied      int64              // the revision the follower has been handed
	advanced     chan struct{}      // closed when applied moves
	follower     bool               // Follow was called
	closed       bool
	stop         context.CancelFunc
	done         chan struct{}
}

type lockKey struct {
	key   string
	lease clientv3.LeaseID
	ttl   int64 // the lease's, in seconds (ttl of the document's timeout)
	rev   int64 // the revision of the document this is of
}

var _ locksystem.SharedStore = (*Store)(nil)

// New returns a Store on o.Client; it reads nothing until Load.
func New(o Options) *Store {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Store{
		cli: o.Client, timeout: o.Timeout, log: o.Logger, observe: o.Observe, lag: o.ObserveLag,
		locks: o.Prefix + "locks/", gone: o.Prefix + "locks.gone/", sync: o.Prefix + "locks.sync",
		fresh:    o.Prefix + "locks.refreshed/",
		watch:    o.Prefix + "locks",
		leases:   make(map[string]lockKey),
		advanced: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// unavailable wraps an etcd error as locksystem.ErrUnavailable.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: etcd %s: %w", locksystem.ErrUnavailable, what, err)
}

// ended is the error of a wait whose context ended: the caller's own cancellation (its client
// went away) as it is, a deadline as ErrUnavailable.
func ended(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd %s: %w", what, err)
	}
	return unavailable(what, err)
}

// keyOf is the key of the lock at clean path p with token.
func (s *Store) keyOf(p, token string) string {
	return s.locks + strings.TrimPrefix(p, "/") + "\x00" + token
}

// tokenOf is the token in a lock key, "" if k is none.
func tokenOf(k string) string {
	if i := strings.LastIndexByte(k, 0); i >= 0 {
		return k[i+1:]
	}
	return ""
}

// Load returns every stored lock and remembers the revision they reflect, for Follow.
func (s *Store) Load() ([]locksystem.Lock, error) {
	start := time.Now()
	docs, rev, err := s.load()
	s.observed("load", start, err)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.loadRev = rev
	s.applied = max(s.applied, rev)
	s.mu.Unlock()
	return docs, nil
}

// load reads every stored lock, their keys and leases, and the revision they reflect.
func (s *Store) load() ([]locksystem.Lock, int64, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Get(ctx, s.locks, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, unavailable("load", err)
	}
	fresh, err := s.cli.Get(ctx, s.fresh, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision))
	if err != nil {
		return nil, 0, unavailable("load", err)
	}
	refreshes := make(map[string][]byte, len(fresh.Kvs))
	for _, kv := range fresh.Kvs {
		refreshes[strings.TrimPrefix(string(kv.Key), s.fresh)] = kv.Value
	}
	docs := make([]locksystem.Lock, 0, len(resp.Kvs))
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.leases)
	for _, kv := range resp.Kvs {
		var l locksystem.Lock
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			s.log.Warn().Err(err).Str("key", string(kv.Key)).Msg("lock document unreadable; ignored")
			continue
		}
		s.leases[l.Token] = lockKey{key: string(kv.Key), lease: clientv3.LeaseID(kv.Lease), ttl: ttl(l.Timeout), rev: kv.ModRevision}
		if v, ok := refreshes[l.Token]; ok {
			refreshOf(v, &l) // its latest refresh (renew)
		}
		docs = append(docs, l)
	}
	return docs, resp.Header.Revision, nil
}

// Submit commits changes now, in order, and returns a wait that reports the outcome once the
// follower has been handed the commit (at once when nothing follows).
func (s *Store) Submit(changes ...locksystem.Change) (wait func() error) {
	rev, err := s.commit(changes)
	return func() error {
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if err := s.awaitApplied(ctx, rev); err != nil && !errors.Is(err, locksystem.ErrClosed) {
			// The change is made: answering it failed would leave a lock nobody was told of,
			// or tell a client its release failed when it did not. The index catches up by
			// itself; what checks it meanwhile catches up first (Sync) or retries.
			s.log.Warn().Err(err).Int64("revision", rev).Msg("etcd watch behind a commit; answered without it")
		}
		return nil
	}
}

// commit runs changes through etcd and returns the revision of the last commit.
func (s *Store) commit(changes []locksystem.Change) (int64, error) {
	if s.isClosed() {
		return 0, locksystem.ErrClosed
	}
	for _, c := range changes {
		if (c.Put == nil && c.Delete == "") || (c.Put != nil && c.Put.Token == "") {
			return 0, fmt.Errorf("%w: change without token", locksystem.ErrInvalid)
		}
	}
	var rev int64
	for i := 0; i < len(changes); {
		c := &changes[i]
		var err error
		start, op := time.Now(), "release"
		switch {
		case c.Put != nil && c.Grant:
			op = "grant"
			rev, err = s.grant(c.Put, c.Since)
			i++
		case c.Put != nil:
			op = "refresh"
			rev, err = s.refresh(c.Put)
			i++
		default:
			j := i + 1
			for j < len(changes) && j-i < maxDeletesPerTxn && changes[j].Put == nil {
				j++
			}
			rev, err = s.delete(changes[i:j])
			i = j
		}
		s.observed(op, start, err)
		if err != nil {
			return 0, err
		}
	}
	return rev, nil
}

// observed reports an operation begun at start to Options.Observe.
func (s *Store) observed(op string, start time.Time, err error) {
	if s.observe != nil {
		s.observe(op, time.Since(start), err)
	}
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
