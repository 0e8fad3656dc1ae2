package locksystem

import (
	"errors"
	"testing"
	"time"
)

// TestStats follows the counters through a timeline: each step's Stats is compared in full.
// Events refused by the store (§9.10, §9.11: a lock that is not stored is not granted) do not
// count.
func TestStats(t *testing.T) {
	f := newFakeStore(Lock{Token: "urn:uuid:00000000-0000-4000-8000-000000000001", Path: "/old",
		Principal: "alice", Timeout: time.Minute, Created: t0.Add(-time.Hour), Refreshed: t0.Add(-time.Hour)})
	s := openWithStore(t, f, t0)
	now := t0
	tok := map[string]string{}
	lock := func(name string, r Request) error {
		l, err := s.Lock(now, r)
		tok[name] = l.Token
		return err
	}
	errStore := errors.New("disk full")
	steps := []struct {
		name string
		do   func() error
		want Stats
	}{
		{"start-up drops an expired document", func() error { return nil },
			Stats{Expired: 1}},
		{"exclusive", func() error { return lock("A", Request{Path: "/a", Principal: "alice", Timeout: 10 * time.Second}) },
			Stats{Exclusive: 1, Acquired: 1, Expired: 1}},
		{"two shared", func() error {
			if err := lock("B", Request{Path: "/b", Scope: Shared, Principal: "bob"}); err != nil {
				return err
			}
			return lock("C", Request{Path: "/b", Scope: Shared, Principal: "carol", ReleaseOnUpdate: true})
		}, Stats{Exclusive: 1, Shared: 2, Acquired: 3, Expired: 1}},
		{"conflict", func() error { return lock("x", Request{Path: "/b", Principal: "dave"}) },
			Stats{Exclusive: 1, Shared: 2, Acquired: 3, Expired: 1, Conflicts: 1}},
		{"lock not stored", func() error {
			f.failNext(errStore)
			return lock("x", Request{Path: "/c", Principal: "dave"})
		}, Stats{Exclusive: 1, Shared: 2, Acquired: 3, Expired: 1, Conflicts: 1}},
		{"refresh", func() error {
			_, err := s.Refresh(now, tok["B"], "bob", "", 0)
			return err
		}, Stats{Exclusive: 1, Shared: 2, Acquired: 3, Refreshed: 1, Expired: 1, Conflicts: 1}},
		{"refresh not stored", func() error {
			f.failNext(errStore)
			_, err := s.Refresh(now, tok["B"], "bob", "", time.Hour) // past the stored expiry: written
			return err
		}, Stats{Exclusive: 1, Shared: 2, Acquired: 3, Refreshed: 1, Expired: 1, Conflicts: 1}},
		{"release on update", func() error {
			if got := s.ReleaseOnUpdate(now, "carol", []string{tok["C"]}, "/b"); len(got) != 1 {
				return errors.New("lock C not released")
			}
			return nil
		}, Stats{Exclusive: 1, Shared: 1, Acquired: 3, Refreshed: 1, Released: 1, Expired: 1, Conflicts: 1}},
		{"forced release", func() error {
			_, err := s.Release(now, tok["B"], "admin", "", true)
			return err
		}, Stats{Exclusive: 1, Acquired: 3, Refreshed: 1, Released: 2, Expired: 1, Conflicts: 1, ForcedReleases: 1}},
		{"expiry collected by the next operation", func() error {
			now = now.Add(10 * time.Second)
			return lock("D", Request{Path: "/d/e", Scope: Shared, Depth: DepthInfinity, Principal: "dave"})
		}, Stats{Shared: 1, Acquired: 4, Refreshed: 1, Released: 2, Expired: 2, Conflicts: 1, ForcedReleases: 1}},
		{"resource removed", func() error {
			if got := s.RemoveTree(now, "/d"); len(got) != 1 {
				return errors.New("lock D not removed")
			}
			return nil
		}, Stats{Acquired: 4, Refreshed: 1, Released: 3, Expired: 2, Conflicts: 1, ForcedReleases: 1}},
		{"own release is not forced", func() error {
			if err := lock("E", Request{Path: "/e", Principal: "erin"}); err != nil {
				return err
			}
			_, err := s.Release(now, tok["E"], "erin", "/e", true)
			return err
		}, Stats{Acquired: 5, Refreshed: 1, Released: 4, Expired: 2, Conflicts: 1, ForcedReleases: 1}},
	}
	for _, st := range steps {
		err := st.do()
		if err != nil && !errors.Is(err, ErrLocked) && !errors.Is(err, errStore) {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Stats(); got != st.want {
			t.Fatalf("%s: Stats() = %+v, want %+v", st.name, got, st.want)
		}
		if err := s.consistent(now); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
}

// TestStatsExpiredUncollected: a lock past its timeout counts as active until an operation
// collects it, as in Len; Stats itself reads no clock and walks nothing.
func TestStatsExpiredUncollected(t *testing.T) {
	s := newTestSystem(t, Options{})
	if _, err := s.Lock(t0, Request{Path: "/a", Principal: "alice", Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	if got, want := s.Stats(), (Stats{Exclusive: 1, Acquired: 1}); got != want {
		t.Fatalf("before collection: Stats() = %+v, want %+v", got, want)
	}
	if got := s.Missing(later, "bob", nil, Need{Path: "/a"}); len(got) != 0 {
		t.Fatalf("Missing after expiry = %v, want none", got)
	}
	if _, err := s.Lock(later, Request{Path: "/b", Principal: "bob"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats(), (Stats{Exclusive: 1, Acquired: 2, Expired: 1}); got != want {
		t.Fatalf("after collection: Stats() = %+v, want %+v", got, want)
	}
}
