package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/storetest"
	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
)

// The conformance suite every lock store passes, on one etcd member, each test under its own
// prefix.
func TestConformance(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	storetest.Run(t, func(t *testing.T, dir string) locksystem.Store {
		return New(Options{Client: cli, Prefix: dir + "/", Timeout: 5 * time.Second})
	})
}

// replica is one System on the shared store, as one lockdav process has it.
func replica(t *testing.T, cli *clientv3.Client, prefix string) *locksystem.System {
	t.Helper()
	s, err := locksystem.New(time.Now(), locksystem.Options{
		Store:  New(Options{Client: cli, Prefix: prefix, Timeout: 3 * time.Second}),
		Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func req(p string, sc locksystem.Scope, d locksystem.Depth, who string) locksystem.Request {
	return locksystem.Request{Path: p, Scope: sc, Depth: d, Principal: who, Timeout: time.Minute}
}

func wantConflict(t *testing.T, err error, holder string) {
	t.Helper()
	var ce *locksystem.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) == 0 || ce.Conflicts[0].Token != holder {
		t.Fatalf("Lock = %v, want a conflict with %s", err, holder)
	}
}

// A lock granted on one replica refuses conflicting requests on another at once (its index had
// not seen the grant: the guard or the catch-up does), by the RFC 4918 §6.1 rules, and its
// release frees the resource there.
func TestReplicasShareOneLockTable(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	a, b := replica(t, cli, "/t/"), replica(t, cli, "/t/")
	now := time.Now()
	l, err := a.Lock(now, req("/d", locksystem.Exclusive, locksystem.DepthInfinity, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []locksystem.Request{
		req("/d", locksystem.Shared, locksystem.DepthZero, "bob"),
		req("/d/x/y", locksystem.Exclusive, locksystem.DepthZero, "bob"),
		req("/", locksystem.Shared, locksystem.DepthInfinity, "bob"),
	} {
		_, err := b.Lock(now, r)
		wantConflict(t, err, l.Token)
	}
	if _, err := b.Lock(now, req("/e", locksystem.Exclusive, locksystem.DepthInfinity, "bob")); err != nil {
		t.Fatalf("unrelated lock on b: %v", err)
	}
	if _, err := b.Release(now, l.Token, "bob", "", false); !errors.Is(err, locksystem.ErrForbidden) {
		t.Fatalf("bob releasing alice's lock on b = %v, want ErrForbidden", err)
	}
	if _, err := b.Release(now, l.Token, "alice", "/d/x", false); err != nil {
		t.Fatalf("alice releasing on b: %v", err)
	}
	if _, ok := a.Get(now, l.Token); ok {
		// Release waited for b's index only; a's follows within a moment.
		waitFor(t, func() bool { _, ok := a.Get(now, l.Token); return !ok })
	}
	if _, err := a.Lock(now, req("/d/x/y", locksystem.Exclusive, locksystem.DepthZero, "carol")); err != nil {
		t.Fatalf("lock after the release: %v", err)
	}
}

// Events on every replica come from the store: a replica sees another's grant, refresh and
// release with its reason, in order.
func TestEventsFromOtherReplicas(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	a, b := replica(t, cli, "/t/"), replica(t, cli, "/t/")
	sub, err := b.Subscribe(b.LastEventID())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	now := time.Now()
	l, err := a.Lock(now, req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(now, l.Token, "alice", "/f", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Release(now, l.Token, "admin", "", true); err != nil {
		t.Fatal(err)
	}
	want := []string{"acquired", "refreshed", "released forced by admin"}
	for i, w := range want {
		select {
		case ev := <-sub.C:
			got := ev.Kind.String()
			if ev.Kind == locksystem.Released {
				got += " " + ev.Reason.String() + " by " + ev.By
			}
			if got != w || ev.Lock.Token != l.Token {
				t.Fatalf("event %d = %s of %s, want %s of %s", i, got, ev.Lock.Token, w, l.Token)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d (%s) not seen on b", i, w)
		}
	}
}

// Timeouts ride on etcd leases: a lock nobody refreshes is deleted by etcd, every replica
// sees it go as an expiry, and the resource is free.
func TestLeaseExpiresLock(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	a, b := replica(t, cli, "/t/"), replica(t, cli, "/t/")
	r := req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice")
	r.Timeout = time.Second
	l, err := a.Lock(time.Now(), r)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(b.LastEventID())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// Not by the replica's clock: a moment after the timeout the lock still holds.
	_, err = b.Lock(time.Now().Add(time.Hour), req("/f", locksystem.Exclusive, locksystem.DepthZero, "bob"))
	wantConflict(t, err, l.Token)
	for ev := range nextEvents(sub, 10*time.Second) {
		if ev.Kind == locksystem.Conflict || ev.Kind == locksystem.Acquired {
			continue // bob's refusal above, and the grant if b's watch brought it after Subscribe
		}
		if ev.Kind != locksystem.Released || ev.Reason != locksystem.Expired || ev.Lock.Token != l.Token {
			t.Fatalf("event = %+v, want the expiry of %s", ev, l.Token)
		}
		break
	}
	if _, err := b.Lock(time.Now(), req("/f", locksystem.Exclusive, locksystem.DepthZero, "bob")); err != nil {
		t.Fatalf("lock after the expiry: %v", err)
	}
}

// Two replicas, eight clients each, one exclusive lock: a holder count that the clients
// raise after each grant and lower before each release never exceeds one.
func TestNoDoubleGrantAcrossReplicas(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	reps := []*locksystem.System{replica(t, cli, "/t/"), replica(t, cli, "/t/")}
	var holders, grants, worst atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Second)
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := reps[c%2]
			who := fmt.Sprintf("c%d", c)
			for time.Now().Before(deadline) {
				l, err := s.Lock(time.Now(), req("/hot", locksystem.Exclusive, locksystem.DepthZero, who))
				if err != nil {
					continue
				}
				n := holders.Add(1)
				worst.Store(max(worst.Load(), n))
				grants.Add(1)
				holders.Add(-1)
				if _, err := s.Release(time.Now(), l.Token, who, "", false); err != nil {
					t.Errorf("release: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if worst.Load() != 1 || grants.Load() == 0 {
		t.Fatalf("holders at once: at most %d, grants %d; want 1 and some", worst.Load(), grants.Load())
	}
	t.Logf("%d grants", grants.Load())
}

// With etcd gone, a lock request fails with ErrUnavailable within the store's timeout instead
// of a guess, and reads of the index go on.
func TestEtcdDownIsUnavailable(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := replica(t, c.Client(), "/t/")
	l, err := a.Lock(time.Now(), req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(0)
	start := time.Now()
	_, err = a.Lock(time.Now(), req("/g", locksystem.Exclusive, locksystem.DepthZero, "alice"))
	if !errors.Is(err, locksystem.ErrUnavailable) || time.Since(start) > 10*time.Second {
		t.Fatalf("Lock with etcd down = %v after %v, want ErrUnavailable within 10s", err, time.Since(start))
	}
	if err := a.Sync(t.Context()); !errors.Is(err, locksystem.ErrUnavailable) {
		t.Fatalf("Sync with etcd down = %v, want ErrUnavailable", err)
	}
	if got := a.Covering(time.Now(), "/f"); len(got) != 1 || got[0].Token != l.Token {
		t.Fatalf("Covering with etcd down = %v, want the lock", got)
	}
	c.Restart(0)
	c.WaitReady(20 * time.Second)
	waitFor(t, func() bool {
		_, err := a.Lock(time.Now(), req("/g", locksystem.Exclusive, locksystem.DepthZero, "alice"))
		return err == nil
	})
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
	}
}

// nextEvents yields sub's events until the test stops reading, failing it when none comes
// within d.
func nextEvents(sub *locksystem.Subscription, d time.Duration) func(func(locksystem.Event) bool) {
	return func(yield func(locksystem.Event) bool) {
		for {
			select {
			case ev := <-sub.C:
				if !yield(ev) {
					return
				}
			case <-time.After(d):
				panic(fmt.Sprintf("no event within %v", d))
			}
		}
	}
}

// Releases share one lease for their reasons; when it is gone (etcd away longer than its TTL,
// or revoked), the next release takes a new one instead of failing.
func TestReleaseAfterJournalLeaseGone(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	st := New(Options{Client: cli, Prefix: "/t/", Timeout: 3 * time.Second})
	s, err := locksystem.New(time.Now(), locksystem.Options{Store: st, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cycle := func() {
		t.Helper()
		l, err := s.Lock(time.Now(), req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(time.Now(), l.Token, "alice", "", false); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
	cycle()
	first := st.journal
	cycle()
	if st.journal != first || first == 0 {
		t.Fatalf("second release took lease %x, want the first one's %x again", st.journal, first)
	}
	if _, err := cli.Revoke(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	cycle()
	if st.journal == first {
		t.Fatal("the revoked lease is still the journal's")
	}
}

// An UNLOCK of a lock that etcd deleted meanwhile (its lease ran out) is no release: the store
// says there is no such lock instead of acknowledging it.
func TestReleaseOfLockGoneMeanwhile(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	st := New(Options{Client: cli, Prefix: "/t/", Timeout: 3 * time.Second})
	defer st.Close()
	now := time.Now().UTC()
	l := locksystem.Lock{Token: "urn:uuid:00000000-0000-4000-8000-000000000001", Path: "/f", Principal: "alice",
		Timeout: time.Minute, Created: now, Refreshed: now, Expires: now.Add(time.Minute)}
	if err := st.Submit(locksystem.Change{Put: &l, Grant: true, Since: 1 << 62})(); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(t.Context(), st.keyOf(l.Path, l.Token)); err != nil { // as its lease running out would
		t.Fatal(err)
	}
	err := st.Submit(locksystem.Change{Delete: l.Token, Reason: locksystem.Unlocked})()
	if !errors.Is(err, locksystem.ErrNoSuchLock) {
		t.Fatalf("release of a lock etcd deleted = %v, want ErrNoSuchLock", err)
	}
}

// locks.max_per_principal holds on one replica under concurrent LOCKs: the grants in flight
// count with the locks the index holds.
func TestMaxPerPrincipalUnderConcurrency(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	s, err := locksystem.New(time.Now(), locksystem.Options{
		Store:           New(Options{Client: cli, Prefix: "/m/", Timeout: 3 * time.Second}),
		Logger:          zerolog.Nop(),
		MaxPerPrincipal: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := s.Lock(time.Now(), req(fmt.Sprintf("/f%d", i), locksystem.Exclusive, locksystem.DepthZero, "mallory")); err == nil {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if g := granted.Load(); g != 2 {
		t.Fatalf("one replica granted mallory %d locks concurrently, max_per_principal 2", g)
	}
}

// A grant etcd committed is granted, even when the watch is too slow to bring it back within
// the timeout: its client gets its token (the index catches up by itself), rather than a 503
// for a lock that stays in etcd with a token nobody was given.
func TestGrantCommittedWhileWatchBehind(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	st := New(Options{Client: cli, Prefix: "/o/", Timeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Load(); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	first := true
	st.Follow(func(locksystem.Applied) {
		if first { // Follow's own first call
			first = false
			return
		}
		<-block // the watch is slow
	})
	now := time.Now().UTC()
	l := locksystem.Lock{Token: "urn:uuid:6f1c1a52-0c39-4b8f-9b77-111111111111", Path: "/f",
		Principal: "alice", Timeout: time.Minute, Created: now, Refreshed: now, Expires: now.Add(time.Minute)}
	if err := st.Submit(locksystem.Change{Put: &l, Grant: true, Since: 1 << 62})(); err != nil {
		t.Fatalf("Submit of a grant etcd committed = %v, want nil", err)
	}
}

// A lock document is stored as its JSON is written (locksystem.Lock.MarshalJSON): an XML owner
// keeps its < and >, instead of six-byte escapes that would make each write of a 64 KiB owner
// several times larger in etcd's history.
func TestDocumentStoredUnescaped(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	a := replica(t, cli, "/t/")
	r := req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice")
	r.Owner = `<D:href>mailto:alice@example.org</D:href>`
	if _, err := a.Lock(time.Now(), r); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(t.Context(), "/t/locks/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("stored locks: %v, %v", resp, err)
	}
	if v := string(resp.Kvs[0].Value); !strings.Contains(v, r.Owner) {
		t.Fatalf("stored document %s does not hold the owner as written", v)
	}
}

// A refresh with the timeout the lock has renews its lease and records the refresh beside the
// document, which is written once: the lock outlives its first lease, every replica (and one
// started later) shows the new refreshed time, and etcd's history gains no copy of the owner.
func TestRefreshRenewsWithoutRewritingTheDocument(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	a, b := replica(t, cli, "/t/"), replica(t, cli, "/t/")
	r := req("/f", locksystem.Exclusive, locksystem.DepthZero, "alice")
	r.Timeout, r.Owner = time.Second, strings.Repeat("<o/>", 1000)
	l, err := a.Lock(time.Now(), r)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cli.Get(t.Context(), "/t/locks/", clientv3.WithPrefix())
	if err != nil || len(doc.Kvs) != 1 {
		t.Fatalf("stored locks: %v, %v", doc, err)
	}
	var last locksystem.Lock
	for range 6 { // 3 s: well past the first lease (2 s)
		time.Sleep(500 * time.Millisecond)
		if last, err = a.Refresh(time.Now(), l.Token, "alice", "/f", time.Second); err != nil {
			t.Fatalf("refresh: %v", err)
		}
	}
	now, err := cli.Get(t.Context(), "/t/locks/", clientv3.WithPrefix())
	if err != nil || len(now.Kvs) != 1 || now.Kvs[0].ModRevision != doc.Kvs[0].ModRevision {
		t.Fatalf("the document was rewritten by refreshes: %v, %v", now, err)
	}
	waitFor(t, func() bool {
		got, ok := b.Get(time.Now(), l.Token)
		return ok && got.Refreshed.Equal(last.Refreshed)
	})
	c := replica(t, cli, "/t/")
	if got, ok := c.Get(time.Now(), l.Token); !ok || !got.Refreshed.Equal(last.Refreshed) || !got.Expires.Equal(last.Expires) {
		t.Fatalf("a replica started later shows %+v (%v), want refreshed %v", got, ok, last.Refreshed)
	}
}

// Close returns while the watch is handing the index changes: the System's Close must not hold
// its lock while the store waits for the watch, which takes that lock to apply a change.
func TestCloseWhileChangesArrive(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	busy := replica(t, cli, "/t/")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if l, err := busy.Lock(time.Now(), req(fmt.Sprintf("/f%d", i%8), locksystem.Exclusive, locksystem.DepthZero, "a")); err == nil {
				_, _ = busy.Release(time.Now(), l.Token, "a", "", false)
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	for range 20 {
		s, err := locksystem.New(time.Now(), locksystem.Options{
			Store: New(Options{Client: cli, Prefix: "/t/", Timeout: 3 * time.Second}), Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not return within 5s while changes arrived")
		}
	}
}

// A Sync whose caller gives up (its client went away) reports the cancellation, not an
// unreachable etcd: the request is a client gone (499), not a 503 logged as an outage.
func TestSyncCancelledByCaller(t *testing.T) {
	c := etcdtest.Start(t, 1)
	st := New(Options{Client: c.Client(), Prefix: "/t/", Timeout: 3 * time.Second})
	defer st.Close()
	if _, err := st.Load(); err != nil {
		t.Fatal(err)
	}
	st.Follow(func(locksystem.Applied) {})
	c.Stop(0) // etcd hangs: the barrier never comes back
	defer c.Continue(0)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := st.Sync(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, locksystem.ErrUnavailable) {
		t.Fatalf("Sync cancelled by its caller = %v, want context.Canceled and not ErrUnavailable", err)
	}
}
