package locksystem_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/boltstore"
)

// TestSlackThroughBoltstore: a lock refreshed from memory, after a restart on its boltstore
// file, lives until its stored expiry: past what its last refresh told the client, and with
// the document read back by the exact reader although its expires is not refreshed + timeout.
func TestSlackThroughBoltstore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	open := func(now time.Time) *locksystem.System {
		st, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := locksystem.New(now, locksystem.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(t0)
	l, err := s.Lock(t0, locksystem.Request{Path: "/a", Principal: "alice", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	told, err := s.Refresh(t0.Add(50*time.Second), l.Token, "alice", "/a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	at := told.Expires.Add(-time.Second)
	s = open(at)
	defer s.Close()
	got, ok := s.Get(at, l.Token)
	if !ok {
		t.Fatalf("lock gone after a restart before %v, the expiry its client was told", told.Expires)
	}
	if want := t0.Add(2 * time.Minute); !got.Expires.Equal(want) || got.Timeout != time.Minute {
		t.Errorf("restarted lock: timeout %v, expires %v; want 1m, %v (the stored expiry)", got.Timeout, got.Expires, want)
	}
}
