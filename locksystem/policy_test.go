package locksystem

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestGrant covers RFC 4918 §10.7 timeouts as the policy bounds them.
func TestGrant(t *testing.T) {
	p := Policy{Min: 5 * time.Second, Max: time.Hour, Default: 10 * time.Minute}
	inf := p
	inf.AllowInfinite = true
	for _, tc := range []struct {
		name string
		p    Policy
		req  time.Duration
		want time.Duration
	}{
		{"none asked: default", p, 0, 10 * time.Minute},
		{"within bounds", p, 3600 * time.Second, time.Hour},
		{"below min", p, time.Second, 5 * time.Second},
		{"above max", p, 4100000000 * time.Second, time.Hour},
		{"fraction rounds up", p, 7500 * time.Millisecond, 8 * time.Second},
		{"infinite refused: max", p, Infinite, time.Hour},
		{"infinite allowed", inf, Infinite, Infinite},
		{"huge", p, time.Duration(1<<63 - 1), time.Hour},
	} {
		if got := tc.p.Grant(tc.req); got != tc.want {
			t.Errorf("%s: Grant(%v) got %v, want %v", tc.name, tc.req, got, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy.Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
	for _, tc := range []struct {
		name string
		p    Policy
		want string
	}{
		{"zero", Policy{}, "min timeout 0s must be positive"},
		{"fraction", Policy{Min: 1500 * time.Millisecond, Max: time.Hour, Default: time.Minute}, "whole seconds"},
		{"default above max", Policy{Min: time.Second, Max: time.Minute, Default: time.Hour}, "min timeout <= default timeout <= max timeout"},
		{"min above default", Policy{Min: time.Hour, Max: 2 * time.Hour, Default: time.Minute}, "min timeout <= default"},
		{"absurd max", Policy{Min: time.Second, Max: 200 * 365 * 24 * time.Hour, Default: time.Minute}, "exceeds"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDocumentJSON(t *testing.T) {
	l := Lock{Token: "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8", Path: "/docs/a.odt", Scope: Shared,
		Depth: DepthInfinity, Owner: "<D:href>alice</D:href>", Principal: "alice", Timeout: 600 * time.Second,
		Created: t0, Refreshed: t0.Add(time.Minute), Expires: t0.Add(11 * time.Minute),
		Client: Client{IP: "127.0.0.1", UserAgent: "cadaver"}, LockNull: true}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"token":"urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8","path":"/docs/a.odt","scope":"shared",` +
		`"depth":"infinity","owner":"\u003cD:href\u003ealice\u003c/D:href\u003e","principal":"alice","timeout_seconds":600,` +
		`"created":"2030-01-02T03:04:05Z","refreshed":"2030-01-02T03:05:05Z","expires":"2030-01-02T03:15:05Z",` +
		`"client":{"ip":"127.0.0.1","user_agent":"cadaver"},"release_on_update":false,"lock_null":true}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Lock
	if err := json.Unmarshal(b, &back); err != nil || back != l {
		t.Errorf("round trip: got %+v %v, want %+v", back, err, l)
	}
	l.Timeout, l.Expires, l.Scope, l.Depth = Infinite, time.Time{}, Exclusive, DepthZero
	b, _ = json.Marshal(l)
	if s := string(b); !strings.Contains(s, `"expires":null`) || !strings.Contains(s, `"timeout_seconds":0`) ||
		!strings.Contains(s, `"scope":"exclusive"`) || !strings.Contains(s, `"depth":"0"`) {
		t.Errorf("infinite exclusive depth-0 lock: got %s", b)
	}
	for _, bad := range []string{`{"scope":"both"}`, `{"depth":"1"}`, `{"timeout_seconds":-1}`, `{"created":"yesterday"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
	if _, err := json.Marshal(Lock{Scope: 4}); !errors.Is(err, ErrInvalid) {
		t.Errorf("marshal of scope 4: got %v, want ErrInvalid", err)
	}
}

// TestOwnerTooLarge: a request whose owner is longer than MaxOwner is refused with
// ErrOwnerTooLarge, whichever door it came through; one of MaxOwner bytes is granted, and the
// lock events log a shortened owner, not 64 KiB per line.
func TestOwnerTooLarge(t *testing.T) {
	var logs bytes.Buffer
	s, err := New(t0, Options{Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	req := Request{Path: "/a", Scope: Exclusive, Depth: DepthZero, Principal: "p", Owner: strings.Repeat("o", MaxOwner+1)}
	if _, err := s.Lock(t0, req); !errors.Is(err, ErrOwnerTooLarge) {
		t.Fatalf("Lock with a %d-byte owner = %v, want ErrOwnerTooLarge", MaxOwner+1, err)
	}
	req.Owner = req.Owner[1:]
	l, err := s.Lock(t0, req)
	if err != nil {
		t.Fatalf("Lock with a %d-byte owner: %v", MaxOwner, err)
	}
	if _, err := s.Lock(t0, req); !errors.Is(err, ErrLocked) { // a conflict logs both owners
		t.Fatalf("second exclusive Lock = %v, want ErrLocked", err)
	}
	if _, err := s.Release(t0, l.Token, "p", "/a", false); err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if len(line) > 2048 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
}
