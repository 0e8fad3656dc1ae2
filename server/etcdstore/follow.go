package etcdstore

// The watch that feeds the follower (the System's index), Sync, and the store's lifecycle.

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockdav/lockdav/locksystem"
)

// rewatchDelay is the pause before a broken watch is opened again.
const rewatchDelay = 100 * time.Millisecond

// Follow starts the watch that hands apply every change after Load's revision.
func (s *Store) Follow(apply func(locksystem.Applied)) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.follower, s.stop = true, cancel
	next := s.loadRev + 1
	s.mu.Unlock()
	apply(locksystem.Applied{Rev: next - 1}) // the revision the loaded documents reflect
	go s.follow(ctx, next, apply)
}

func (s *Store) follow(ctx context.Context, next int64, apply func(locksystem.Applied)) {
	defer close(s.done)
	for ctx.Err() == nil {
		next = s.watchFrom(ctx, next, apply)
		select {
		case <-ctx.Done():
		case <-time.After(rewatchDelay):
		}
	}
}

// watchFrom watches from revision next until the watch breaks, and returns where to go on.
// WithRequireLeader ends the watch of a member cut off from its cluster, so that the client
// moves to one that is not.
func (s *Store) watchFrom(ctx context.Context, next int64, apply func(locksystem.Applied)) int64 {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, s.watch, clientv3.WithPrefix(), clientv3.WithRev(next)) {
		switch {
		case resp.CompactRevision != 0:
			return s.reload(apply, next)
		case resp.Err() != nil:
			if ctx.Err() == nil {
				s.log.Warn().Err(resp.Err()).Msg("etcd watch broken; watching again")
			}
			return next
		case len(resp.Events) > 0:
			next = s.deliver(resp.Events, apply) + 1
		}
	}
	return next
}

// reload hands apply every stored lock as a reset, after the history the watch needed was
// compacted away, and returns the revision to watch from (next again if etcd is unreachable).
func (s *Store) reload(apply func(locksystem.Applied), next int64) int64 {
	docs, rev, err := s.load()
	if err != nil {
		s.log.Warn().Err(err).Msg("etcd: reload after compaction")
		return next
	}
	changes := make([]locksystem.Change, len(docs))
	for i := range docs {
		changes[i] = locksystem.Change{Put: &docs[i]}
	}
	apply(locksystem.Applied{Rev: rev, Changes: changes, Reset: true})
	s.setApplied(rev)
	return rev + 1
}

// deliver hands apply the lock changes of events and returns their last revision. A release's
// reason is the locks.gone key its transaction wrote.
func (s *Store) deliver(events []*clientv3.Event, apply func(locksystem.Applied)) int64 {
	reasons := make(map[string]*clientv3.Event)
	for _, ev := range events {
		if k := string(ev.Kv.Key); ev.Type == mvccpb.PUT && strings.HasPrefix(k, s.gone) {
			reasons[strings.TrimPrefix(k, s.gone)] = ev
		}
	}
	var changes []locksystem.Change
	var last int64
	for _, ev := range events {
		last = max(last, ev.Kv.ModRevision)
		k := string(ev.Kv.Key)
		var c locksystem.Change
		ok := false
		switch {
		case strings.HasPrefix(k, s.locks):
			c, ok = s.change(ev, reasons)
		case strings.HasPrefix(k, s.fresh) && ev.Type == mvccpb.PUT:
			c, ok = s.refreshed(strings.TrimPrefix(k, s.fresh), ev.Kv.Value)
		}
		if ok {
			changes = append(changes, c)
		}
	}
	apply(locksystem.Applied{Rev: last, Changes: changes})
	s.setApplied(last)
	return last
}

// change is the Change of one event on a lock key; it updates the key and lease known of it.
func (s *Store) change(ev *clientv3.Event, reasons map[string]*clientv3.Event) (locksystem.Change, bool) {
	k := string(ev.Kv.Key)
	token := tokenOf(k)
	if ev.Type == mvccpb.DELETE {
		s.mu.Lock()
		delete(s.leases, token)
		s.mu.Unlock()
		c := locksystem.Change{Delete: token}
		if r := reasons[token]; r != nil && r.Kv.ModRevision == ev.Kv.ModRevision {
			c.Reason, c.By = reasonOf(r.Kv.Value)
		}
		return c, true
	}
	var l locksystem.Lock
	if err := json.Unmarshal(ev.Kv.Value, &l); err != nil {
		s.log.Warn().Err(err).Str("key", k).Msg("lock document unreadable; ignored")
		return locksystem.Change{}, false
	}
	s.remember(token, lockKey{key: k, lease: clientv3.LeaseID(ev.Kv.Lease), ttl: ttl(l.Timeout), rev: ev.Kv.ModRevision})
	return locksystem.Change{Put: &l}, true
}

// refreshed is the Change of a locks.refreshed key: a refresh of a lock the store knows, as a
// document of its token and times only (locksystem.SharedStore).
func (s *Store) refreshed(token string, v []byte) (locksystem.Change, bool) {
	s.mu.Lock()
	_, known := s.leases[token]
	s.mu.Unlock()
	l := &locksystem.Lock{Token: token}
	if !known || !refreshOf(v, l) {
		return locksystem.Change{}, false
	}
	return locksystem.Change{Put: l}, true
}

// Sync writes the barrier key and waits until the watch has delivered it: then every change
// committed before the call has been handed to the follower. (etcd's progress notifications
// would save the write, but the etcd of Debian 12, 3.4.23, can send one ahead of events not
// yet delivered to a watcher that is catching up: etcd-io/etcd#15220, fixed in 3.4.25.)
// Concurrent calls share barriers: a call joins the next barrier to be written, which starts
// after it (barriers.go).
func (s *Store) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	b := s.barriers.join(s.writeBarrier)
	select {
	case <-b.done:
	case <-ctx.Done():
		return ended("sync", ctx.Err())
	}
	if b.err != nil {
		return b.err
	}
	start := time.Now()
	err := s.awaitApplied(ctx, b.rev)
	if err == nil && s.lag != nil {
		s.lag(time.Since(start))
	}
	return err
}

// writeBarrier writes the barrier key and returns the revision it got.
func (s *Store) writeBarrier() (int64, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	start := time.Now()
	resp, err := s.cli.Put(ctx, s.sync, "")
	s.observed("sync", start, err)
	if err != nil {
		return 0, unavailable("sync", err)
	}
	return resp.Header.Revision, nil
}

// awaitApplied waits until the follower has been handed revision rev (at once without one).
func (s *Store) awaitApplied(ctx context.Context, rev int64) error {
	for {
		s.mu.Lock()
		done, ch, closed := !s.follower || s.applied >= rev, s.advanced, s.closed
		s.mu.Unlock()
		switch {
		case done:
			return nil
		case closed:
			return locksystem.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ended("watch behind", ctx.Err())
		}
	}
}

func (s *Store) setApplied(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.applied {
		s.applied = rev
		close(s.advanced)
		s.advanced = make(chan struct{})
	}
}

func (s *Store) appliedRev() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// Ping reads from etcd with a linearizable read, for the health check.
func (s *Store) Ping() error {
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cli.Get(ctx, s.sync); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close stops the watch; the client stays open (its owner closes it).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, following := s.stop, s.follower
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.mu.Unlock()
	if following {
		stop()
		<-s.done
	}
	return nil
}
