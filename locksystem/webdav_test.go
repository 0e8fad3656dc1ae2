package locksystem

import (
	"testing"
	"time"

	"golang.org/x/net/webdav"
)

// TestLockSystemInterface checks the webdav.LockSystem methods and that their errors are x/net's
// sentinels, unwrapped, because the Handler compares them with == (RFC 4918 §9.10.6, §9.11.1
// status codes as x/net maps them).
func TestLockSystemInterface(t *testing.T) {
	s := newTestSystem(t, Options{})
	tok, err := s.Create(t0, webdav.LockDetails{Root: "/dir/", Duration: -1, OwnerXML: "<o/>"})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.Get(t0, tok)
	if !ok || l.Path != "/dir" || l.Scope != Exclusive || l.Depth != DepthInfinity || l.Principal != Anonymous || l.Owner != "<o/>" {
		t.Fatalf("Create made %+v", l)
	}
	if l.Timeout != DefaultPolicy.Max {
		t.Errorf("infinite request under DefaultPolicy: got timeout %v, want %v", l.Timeout, DefaultPolicy.Max)
	}
	if _, err := s.Create(t0, webdav.LockDetails{Root: "/dir/f", ZeroDepth: true}); err != webdav.ErrLocked {
		t.Errorf("conflicting Create: got %v, want webdav.ErrLocked", err)
	}
	alice, err := s.Lock(t0, Request{Path: "/alice", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	shared1, _ := s.Lock(t0, Request{Path: "/s", Scope: Shared, Principal: Anonymous})
	shared2, _ := s.Lock(t0, Request{Path: "/s", Scope: Shared, Principal: Anonymous})

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
		{"another principal's token", "/alice", "", []webdav.Condition{{Token: alice.Token}}, false},
		{"one of a shared set", "/s", "", []webdav.Condition{{Token: shared2.Token}}, true},
		{"unknown token", "/dir", "", []webdav.Condition{{Token: "urn:uuid:00000000-0000-4000-8000-000000000000"}}, false},
		{"ETag only", "/dir", "", []webdav.Condition{{ETag: `"x"`}}, false},
	} {
		release, err := s.Confirm(t0, tc.name0, tc.name1, tc.conds...)
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
	_ = shared1

	d, err := s.Refresh(t0.Add(time.Minute), tok, 30*time.Second)
	if err != nil || d.Root != "/dir" || d.Duration != 30*time.Second || d.ZeroDepth || d.OwnerXML != "<o/>" {
		t.Errorf("Refresh: got %+v %v", d, err)
	}
	if _, err := s.Refresh(t0, alice.Token, time.Minute); err != webdav.ErrLocked {
		t.Errorf("Refresh of another principal's lock: got %v, want webdav.ErrLocked", err)
	}
	if _, err := s.Refresh(t0, "urn:uuid:00000000-0000-4000-8000-000000000000", time.Minute); err != webdav.ErrNoSuchLock {
		t.Errorf("Refresh of an unknown token: got %v, want webdav.ErrNoSuchLock", err)
	}
	if err := s.Unlock(t0, alice.Token); err != webdav.ErrForbidden {
		t.Errorf("Unlock of another principal's lock: got %v, want webdav.ErrForbidden", err)
	}
	if err := s.Unlock(t0, tok); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	if err := s.Unlock(t0, tok); err != webdav.ErrNoSuchLock {
		t.Errorf("second Unlock: got %v, want webdav.ErrNoSuchLock", err)
	}
}

func TestRefreshInfiniteReportsNegative(t *testing.T) {
	s := newTestSystem(t, Options{Policy: Policy{Min: time.Second, Max: time.Hour, Default: time.Minute, AllowInfinite: true}})
	tok, err := s.Create(t0, webdav.LockDetails{Root: "/f", Duration: -1, ZeroDepth: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Refresh(t0, tok, -1)
	if err != nil || d.Duration >= 0 {
		t.Errorf("infinite refresh: got %+v %v, want a negative duration", d, err)
	}
}

// TestHandlerView checks the view davserver gives x/net: it never refuses, never stores and
// never conflicts (davserver has checked the locks before delegating).
func TestHandlerView(t *testing.T) {
	s := newTestSystem(t, Options{})
	if _, err := s.Lock(t0, Request{Path: "/", Depth: DepthInfinity, Principal: "alice"}); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	release, err := h.Confirm(t0, "/a", "/b")
	if err != nil || release == nil {
		t.Fatalf("Confirm: got %v", err)
	}
	release()
	a, err1 := h.Create(t0, webdav.LockDetails{Root: "/a", Duration: -1, ZeroDepth: true})
	b, err2 := h.Create(t0, webdav.LockDetails{Root: "/a", Duration: -1, ZeroDepth: true})
	if err1 != nil || err2 != nil || a == b {
		t.Fatalf("Create: got %q %v, %q %v; want two distinct tokens", a, err1, b, err2)
	}
	if _, ok := s.Get(t0, a); ok || s.Len() != 1 {
		t.Errorf("temporary lock visible as a client lock (Len %d)", s.Len())
	}
	if err := h.Unlock(t0, a); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	if err := h.Unlock(t0, b); err != nil {
		t.Errorf("Unlock: %v", err)
	}
	if s.handler.temporary() != 0 {
		t.Errorf("%d temporary locks left", s.handler.temporary())
	}
}
