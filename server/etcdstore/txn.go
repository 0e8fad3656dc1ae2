package etcdstore

// The transactions of grants, refreshes and releases.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockdav/lockdav/locksystem"
)

// goneTTL is how long the reason of a release stays readable beside its delete, for followers
// that watch from a little earlier; a second lease replaces the first halfway.
const goneTTL = 60

// guards are the compares of a grant of a lock (p, d) made by an index at revision since: no
// key changed after since in the ranges whose locks could conflict with it. This is the per-key
// guard over the ancestor chain plus a subtree guard (not one revision guard on the whole lock
// prefix): grants on unrelated paths then never invalidate one another, and a replica retries
// only when something that could conflict with its grant changed. The ranges are the locks
// rooted at each ancestor (only their depth-infinity ones conflict, but the depth is in the
// value, not the key) and at p, and for a depth-infinity lock every lock below p. A deleted key
// fails no compare: a release since the index read only removes a conflict.
func (s *Store) guards(p string, d locksystem.Depth, since int64) []clientv3.Cmp {
	rel := strings.TrimPrefix(p, "/")
	ranges := []string{s.locks + "\x00"} // the root's own locks
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			ranges = append(ranges, s.locks+rel[:i]+"\x00")
		}
	}
	if rel != "" {
		ranges = append(ranges, s.locks+rel+"\x00")
	}
	if d == locksystem.DepthInfinity {
		below := s.locks // below the root: every lock
		if rel != "" {
			below += rel + "/"
		}
		ranges = append(ranges, below)
	}
	if len(ranges) > maxGuardRanges {
		ranges = []string{s.locks}
	}
	cmps := make([]clientv3.Cmp, len(ranges))
	for i, r := range ranges {
		cmps[i] = clientv3.Compare(clientv3.ModRevision(r).WithPrefix(), "<", since+1)
	}
	return cmps
}

// ttl is the lease of a lock of timeout, in seconds: rounded up, plus one second for the time
// between the lease's grant and the answer that tells the client its timeout. 0: no lease.
func ttl(timeout time.Duration) int64 {
	if timeout == locksystem.Infinite {
		return 0
	}
	return int64((timeout+time.Second-1)/time.Second) + 1
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// newLease grants the lease of a lock of timeout; 0 for none.
func (s *Store) newLease(ctx context.Context, timeout time.Duration) (clientv3.LeaseID, error) {
	t := ttl(timeout)
	if t == 0 {
		return 0, nil
	}
	r, err := s.cli.Grant(ctx, t)
	if err != nil {
		return 0, unavailable("lease grant", err)
	}
	return r.ID, nil
}

func withLease(id clientv3.LeaseID) []clientv3.OpOption {
	if id == 0 {
		return nil
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}
}

// grant stores l if the guards of its grant at since hold.
func (s *Store) grant(l *locksystem.Lock, since int64) (int64, error) {
	val, err := l.MarshalJSON() // not json.Marshal, which would escape the owner's < and > again
	if err != nil {
		return 0, err
	}
	key := s.keyOf(l.Path, l.Token)
	ctx, cancel := s.ctx()
	defer cancel()
	lease, err := s.newLease(ctx, l.Timeout)
	if err != nil {
		return 0, err
	}
	resp, err := s.cli.Txn(ctx).If(s.guards(l.Path, l.Depth, since)...).
		Then(clientv3.OpPut(key, string(val), withLease(lease)...)).Commit()
	switch {
	case err != nil:
		// The grant may have committed: take the lock back, so that no lock nobody was told of
		// stays until its timeout.
		s.undo(key, lease)
		return 0, unavailable("grant", err)
	case !resp.Succeeded:
		s.undo("", lease)
		return 0, locksystem.ErrStale
	}
	s.remember(l.Token, lockKey{key: key, lease: lease, ttl: ttl(l.Timeout), rev: resp.Header.Revision})
	return resp.Header.Revision, nil
}

// refresh renews a stored lock's lease, unless it is gone. With the timeout it had, that is
// a renewal of its lease and a small locks.refreshed key on it for the other replicas: the
// document, owner and all, is written once, at the grant, so refreshes in a loop do not fill
// etcd's history with copies of it. A new timeout moves the lock to a new lease, document and
// all.
func (s *Store) refresh(l *locksystem.Lock) (int64, error) {
	s.mu.Lock()
	old, ok := s.leases[l.Token]
	s.mu.Unlock()
	if !ok {
		return 0, locksystem.ErrNoSuchLock
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if old.lease != 0 && old.ttl == ttl(l.Timeout) {
		return s.renew(ctx, l, old)
	}
	val, err := l.MarshalJSON() // not json.Marshal, which would escape the owner's < and > again
	if err != nil {
		return 0, err
	}
	lease, err := s.newLease(ctx, l.Timeout)
	if err != nil {
		return 0, err
	}
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(old.key), ">", 0)).
		Then(clientv3.OpPut(old.key, string(val), withLease(lease)...)).Commit()
	switch {
	case err != nil:
		// The refresh may have committed, moving the lock to the new lease: revoking that
		// lease would delete a lock its client still holds. Whichever lease the lock is on
		// runs out by itself; the one it is not on holds nothing.
		return 0, unavailable("refresh", err)
	case !resp.Succeeded:
		s.undo("", lease)
		return 0, locksystem.ErrNoSuchLock
	}
	s.remember(l.Token, lockKey{key: old.key, lease: lease, ttl: ttl(l.Timeout), rev: resp.Header.Revision})
	s.undo("", old.lease) // and the locks.refreshed key on it
	return resp.Header.Revision, nil
}

// renew refreshes l, whose lease has the right TTL: it renews the lease, then records the
// refresh beside the document, while the document exists.
func (s *Store) renew(ctx context.Context, l *locksystem.Lock, old lockKey) (int64, error) {
	if _, err := s.cli.KeepAliveOnce(ctx, old.lease); errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return 0, locksystem.ErrNoSuchLock // it ran out: the lock is gone
	} else if err != nil {
		return 0, unavailable("lease renewal", err)
	}
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(old.key), ">", 0)).
		Then(clientv3.OpPut(s.fresh+l.Token, refreshValue(l), clientv3.WithLease(old.lease))).Commit()
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return 0, locksystem.ErrNoSuchLock
	case err != nil:
		return 0, unavailable("refresh", err) // the lease is renewed all the same: no lock lost
	case !resp.Succeeded:
		return 0, locksystem.ErrNoSuchLock
	}
	return resp.Header.Revision, nil
}

// refreshValue is what a locks.refreshed key holds: the refresh's time and the timeout, in
// Unix nanoseconds and nanoseconds.
func refreshValue(l *locksystem.Lock) string {
	return strconv.FormatInt(l.Refreshed.UnixNano(), 10) + " " + strconv.FormatInt(int64(l.Timeout), 10)
}

// refreshOf reads a locks.refreshed value into l's Refreshed, Timeout and Expires.
func refreshOf(v []byte, l *locksystem.Lock) bool {
	a, b, ok := strings.Cut(string(v), " ")
	at, err1 := strconv.ParseInt(a, 10, 64)
	timeout, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || timeout <= 0 {
		return false
	}
	l.Refreshed, l.Timeout = time.Unix(0, at).UTC(), time.Duration(timeout)
	l.Expires = l.Refreshed.Add(l.Timeout)
	return true
}

// delete deletes the stored locks of changes in one transaction, each beside the reason of its
// release when it has one. Locks no longer stored are gone already.
func (s *Store) delete(changes []locksystem.Change) (int64, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	for retried := false; ; retried = true {
		ops, err := s.deleteOps(ctx, changes)
		if err != nil || len(ops) == 0 {
			return s.appliedRev(), err
		}
		txn := s.cli.Txn(ctx)
		if len(changes) == 1 && (changes[0].Reason == locksystem.Unlocked || changes[0].Reason == locksystem.Forced) {
			// One release by a client or an admin: a lock etcd let expire meanwhile is no
			// lock to release (locksystem.SharedStore).
			txn = txn.If(clientv3.Compare(clientv3.CreateRevision(s.keyOfToken(changes[0].Delete)), ">", 0))
		}
		resp, err := txn.Then(ops...).Commit()
		if errors.Is(err, rpctypes.ErrLeaseNotFound) && !retried {
			s.forgetJournal() // it ran out (etcd was away longer than goneTTL): take a new one
			continue
		}
		if err != nil {
			return 0, unavailable("release", err)
		}
		if !resp.Succeeded {
			return 0, locksystem.ErrNoSuchLock
		}
		return resp.Header.Revision, nil
	}
}

// keyOfToken is the key of the stored lock with token, "" if none is known.
func (s *Store) keyOfToken(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leases[token].key
}

// deleteOps are the operations of delete: each lock's delete and its reason's put.
func (s *Store) deleteOps(ctx context.Context, changes []locksystem.Change) ([]clientv3.Op, error) {
	var ops []clientv3.Op
	for _, c := range changes {
		s.mu.Lock()
		k, ok := s.leases[c.Delete]
		s.mu.Unlock()
		if !ok {
			continue
		}
		ops = append(ops, clientv3.OpDelete(k.key))
		if c.Reason == locksystem.NoReason {
			continue
		}
		journal, err := s.journalLease(ctx)
		if err != nil {
			return nil, err
		}
		ops = append(ops, clientv3.OpPut(s.gone+c.Delete, c.Reason.String()+"\x00"+c.By, clientv3.WithLease(journal)))
	}
	return ops, nil
}

// journalLease is the lease the reasons of releases are written with: one of goneTTL seconds,
// shared by the releases of half that time, so that a release costs no lease grant of its own.
func (s *Store) journalLease(ctx context.Context) (clientv3.LeaseID, error) {
	s.mu.Lock()
	id, fresh := s.journal, time.Now().Before(s.journalUntil)
	s.mu.Unlock()
	if id != 0 && fresh {
		return id, nil
	}
	r, err := s.cli.Grant(ctx, goneTTL)
	if err != nil {
		return 0, unavailable("lease grant", err)
	}
	s.mu.Lock()
	s.journal, s.journalUntil = r.ID, time.Now().Add(goneTTL*time.Second/2)
	s.mu.Unlock()
	return r.ID, nil
}

func (s *Store) forgetJournal() {
	s.mu.Lock()
	s.journal = 0
	s.mu.Unlock()
}

// undo revokes lease and deletes key ("" for none) in the background, best effort: a lease not
// revoked runs out by itself.
func (s *Store) undo(key string, lease clientv3.LeaseID) {
	if key == "" && lease == 0 {
		return
	}
	go func() {
		ctx, cancel := s.ctx()
		defer cancel()
		if lease != 0 {
			if _, err := s.cli.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
				s.log.Debug().Err(err).Msg("etcd lease revoke")
			}
			return
		}
		if _, err := s.cli.Delete(ctx, key); err != nil {
			s.log.Warn().Err(err).Str("key", key).Msg("etcd: lock of a failed grant not deleted")
		}
	}()
}

// remember records a lock's key and lease as of revision k.rev, unless a later one is known.
func (s *Store) remember(token string, k lockKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if known, ok := s.leases[token]; !ok || known.rev <= k.rev {
		s.leases[token] = k
	}
}

// reasonOf parses the value of a locks.gone key.
func reasonOf(v []byte) (locksystem.Reason, string) {
	name, by, _ := strings.Cut(string(v), "\x00")
	for r := locksystem.Unlocked; r <= locksystem.Removed; r++ {
		if r.String() == name {
			return r, by
		}
	}
	return locksystem.NoReason, ""
}
