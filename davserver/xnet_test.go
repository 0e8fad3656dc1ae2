package davserver

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/locksystem"
)

var xt0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newXnetSystem(t *testing.T, p locksystem.Policy) *locksystem.System {
	t.Helper()
	s, err := locksystem.New(xt0, locksystem.Options{Policy: p, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestLockSystemAdapter checks the webdav.LockSystem view of a System and that its errors are
// x/net's sentinels, unwrapped, because the Handler compares them with == (RFC 4918 §9.10.6,
// §9.11.1 status codes as x/net maps them).
func TestLockSystemAdapter(t *testing.T) {
	s := newXnetSystem(t, locksystem.DefaultPolicy)
	x := LockSystem(s)
	tok, err := x.Create(xt0, webdav.LockDetails{Root: "/dir/", Duration: -1, OwnerXML: "<o/>"})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.Get(xt0, tok)
	if !ok || l.Path != "/dir" || l.Scope != locksystem.Exclusive || l.Depth != locksystem.DepthInfinity ||
		l.Principal != locksystem.Anonymous || l.Owner != "<o/>" {
		t.Fatalf("Create made %+v", l)
	}
	if l.Timeout != locksystem.DefaultPolicy.Max {
		t.Errorf("infinite request under DefaultPolicy: got timeout %v, want %v", l.Timeout, locksystem.DefaultPolicy.Max)
	}
	if _, err := x.Create(xt0, webdav.LockDetails{Root: "/dir/f", ZeroDepth: true}); err != webdav.ErrLocked {
		t.Errorf("conflicting Create: got %v, want webdav.ErrLocked", err)
	}
	alice, err := s.Lock(xt0, locksystem.Request{Path: "/alice", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(xt0, locksystem.Request{Path: "/s", Scope: locksystem.Shared, Principal: locksystem.Anonymous}); err != nil {
		t.Fatal(err)
	}
	shared2, _ := s.Lock(xt0, locksystem.Request{Path: "/s", Scope: locksystem.Shared, Principal: locksystem.Anonymous})
	checkConfirm(t, x, tok, alice.Token, shared2.Token)

	d, err := x.Refresh(xt0.Add(time.Minute), tok, 30*time.Second)
	if err != nil || d.Root != "/dir" || d.Duration != 30*time.Second || d.ZeroDepth || d.OwnerXML != "<o/>" {
		t.Errorf("Refresh: got %+v %v", d, err)
	}
	if _, err := x.Refresh(xt0, alice.Token, time.Minute); err != webdav.ErrLocked {
		t.Errorf("Refresh of another principal's lock: got %v, want webdav.ErrLocked", err)
	}
	if _, err := x.Refresh(xt0, "urn:uuid:00000000-0000-4000-8000-000000000000", time.Minute); err != webdav.ErrNoSuchLock {
		t.Errorf("Refresh of an unknown token: got %v, want webdav.ErrNoSuchLock", err)
	}
	if err := x.Unlock(xt0, alice.Token); err != webdav.ErrForbidden {
		t.Errorf("Unlock of another principal's lock: got %v, want webdav.ErrForbidden", err)
	}
	if err := x.Unlock(xt0, tok); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	if err := x.Unlock(xt0, tok); err != webdav.ErrNoSuchLock {
		t.Errorf("second Unlock: got %v, want webdav.ErrNoSuchLock", err)
	}
}

// checkConfirm: Confirm needs, for each name, a submitted token of a lock covering it and no
// covering lock without its token (RFC 4918 §7.4).
func checkConfirm(t *testing.T, x webdav.LockSystem, tok, alice, shared string) {
	t.Helper()
	for _, tc := range []struct {
		name         string
		name0, name1 string
		conds        []webdav.Condition
		ok           bool
	}{
		{"own token under a tree lock", "/dir/f", "", []webdav.Condition{{Token: tok}}, true},
		{"no token", "/dir/f", "", nil, false},
		{"Not of the token", "/dir/f", "", []webdav.Condition{{Token: tok, Not: true}}, false},
		{"token for another resource", "/other", "", []webdav.Condition{{Token: tok}}, false},
		{"destination locked too", "/dir/f", "/alice", []webdav.Condition{{Token: tok}}, false},
		{"another principal's token", "/alice", "", []webdav.Condition{{Token: alice}}, false},
		{"one of a shared set", "/s", "", []webdav.Condition{{Token: shared}}, true},
		{"unknown token", "/dir", "", []webdav.Condition{{Token: "urn:uuid:00000000-0000-4000-8000-000000000000"}}, false},
		{"ETag only", "/dir", "", []webdav.Condition{{ETag: `"x"`}}, false},
	} {
		release, err := x.Confirm(xt0, tc.name0, tc.name1, tc.conds...)
		switch {
		case tc.ok && (err != nil || release == nil):
			t.Errorf("%s: got %v, want confirmed", tc.name, err)
		case !tc.ok && err != webdav.ErrConfirmationFailed:
			t.Errorf("%s: got %v, want webdav.ErrConfirmationFailed", tc.name, err)
		}
		if release != nil {
			release()
		}
	}
}

func TestLockSystemAdapterInfinite(t *testing.T) {
	s := newXnetSystem(t, locksystem.Policy{Min: time.Second, Max: time.Hour, Default: time.Minute, AllowInfinite: true})
	x := LockSystem(s)
	tok, err := x.Create(xt0, webdav.LockDetails{Root: "/f", Duration: -1, ZeroDepth: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := x.Refresh(xt0, tok, -1)
	if err != nil || d.Duration >= 0 {
		t.Errorf("infinite refresh: got %+v %v, want a negative duration", d, err)
	}
}

// TestRequestLocks checks what davserver gives x/net: it never refuses, never stores and never
// conflicts with client locks (davserver has checked them before delegating).
func TestRequestLocks(t *testing.T) {
	s := newXnetSystem(t, locksystem.DefaultPolicy)
	client, err := s.Lock(xt0, locksystem.Request{Path: "/", Depth: locksystem.DepthInfinity, Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	q := newRequestLocks()
	release, err := q.Confirm(xt0, "/a", "/b")
	if err != nil || release == nil {
		t.Fatalf("Confirm: got %v", err)
	}
	release()
	a, err1 := q.Create(xt0, webdav.LockDetails{Root: "/a", Duration: -1, ZeroDepth: true})
	b, err2 := q.Create(xt0, webdav.LockDetails{Root: "/a", Duration: -1, ZeroDepth: true})
	if err1 != nil || err2 != nil || a == b {
		t.Fatalf("Create: got %q %v, %q %v; want two distinct tokens", a, err1, b, err2)
	}
	if got := s.Query(xt0, locksystem.Query{Depth: locksystem.DepthInfinity}); len(got) != 1 || got[0].Token != client.Token || s.Len() != 1 {
		t.Errorf("the lock system shows %+v (Len %d), want only the client lock", got, s.Len())
	}
	if _, err := q.Refresh(xt0, a, time.Minute); err != webdav.ErrNoSuchLock {
		t.Errorf("Refresh of a request lock: got %v, want webdav.ErrNoSuchLock", err)
	}
	for _, tok := range []string{a, b} {
		if err := q.Unlock(xt0, tok); err != nil {
			t.Errorf("Unlock: %v", err)
		}
	}
	if err := q.Unlock(xt0, a); err != webdav.ErrNoSuchLock {
		t.Errorf("second Unlock: got %v, want webdav.ErrNoSuchLock", err)
	}
	if n := q.held(); n != 0 {
		t.Errorf("%d request locks left", n)
	}
}
