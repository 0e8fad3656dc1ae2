package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// hash is a fast bcrypt hash for tests.
func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTest(t *testing.T, anon Access) *Authenticator {
	t.Helper()
	a, err := New(Options{Anonymous: anon, Users: []User{
		{Name: "alice", Hash: hash(t, "alice-pw"), Access: Write, Root: "/shared"},
		{Name: "reader", Hash: hash(t, "reader-pw"), Access: Read},
		{Name: "root", Hash: hash(t, "root-pw"), Access: Write, Admin: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	a := newTest(t, None)
	tests := []struct {
		name, user, pw string
		want           Identity
		wantErr        error
	}{
		{"writer with root", "alice", "alice-pw", Identity{Name: "alice", Access: Write, Root: "/shared"}, nil},
		{"reader, root defaults to /", "reader", "reader-pw", Identity{Name: "reader", Access: Read, Root: "/"}, nil},
		{"admin", "root", "root-pw", Identity{Name: "root", Access: Write, Admin: true, Root: "/"}, nil},
		{"wrong password", "alice", "reader-pw", Identity{}, ErrBadCredentials},
		{"unknown user", "mallory", "alice-pw", Identity{}, ErrBadCredentials},
		{"empty password", "alice", "", Identity{}, ErrBadCredentials},
		{"anonymous is no user", "anonymous", "", Identity{}, ErrBadCredentials},
		{"name is case-sensitive", "Alice", "alice-pw", Identity{}, ErrBadCredentials},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case from its own address: failures must not limit the next case.
			got, err := a.Authenticate(t0, fmt.Sprintf("192.0.2.%d", i), tt.user, tt.pw)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Authenticate(%q, %q) error = %v, want %v", tt.user, tt.pw, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Authenticate(%q, %q) = %+v, want %+v", tt.user, tt.pw, got, tt.want)
			}
		})
	}
}

// TestSameErrorForUnknownUser: an attacker cannot tell an unknown user from a wrong password,
// neither by the error nor by whether bcrypt ran (unknown users are checked against a dummy
// hash of the same cost).
func TestSameErrorForUnknownUser(t *testing.T) {
	a := newTest(t, None)
	_, errUnknown := a.Authenticate(t0, "192.0.2.1", "nobody", "x")
	_, errWrong := a.Authenticate(t0, "192.0.2.2", "alice", "x")
	if errUnknown != errWrong {
		t.Errorf("unknown user error = %v, wrong password error = %v; want the same", errUnknown, errWrong)
	}
	if got, want := mustCost(t, a.dummy), bcrypt.MinCost; got != want {
		t.Errorf("dummy hash cost = %d, want %d (the users' cost)", got, want)
	}
}

func mustCost(t *testing.T, h []byte) int {
	t.Helper()
	c, err := bcrypt.Cost(h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDummyCostIsTheDearest(t *testing.T) {
	a, err := New(Options{Users: []User{
		{Name: "a", Hash: hash(t, "x"), Access: Read},
		{Name: "b", Hash: func() string { h, _ := bcrypt.GenerateFromPassword([]byte("y"), 6); return string(h) }(), Access: Read},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustCost(t, a.dummy); got != 6 {
		t.Errorf("dummy cost = %d, want 6", got)
	}
}

func TestAnonymous(t *testing.T) {
	for _, access := range []Access{None, Read, Write} {
		a := newTest(t, access)
		want := Identity{Name: Anonymous, Access: access, Root: "/"}
		if got := a.Anonymous(); got != want {
			t.Errorf("Anonymous() with %s = %+v, want %+v", access, got, want)
		}
	}
}

// TestRateLimit: five failures from one address go through, the sixth attempt is refused
// without a password check — even with the right password — until a second has passed; other
// addresses are not affected.
func TestRateLimit(t *testing.T) {
	a := newTest(t, None)
	const ip = "198.51.100.7"
	for i := range DefaultFailBurst {
		if _, err := a.Authenticate(t0, ip, "alice", "bad"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: error = %v, want ErrBadCredentials", i+1, err)
		}
	}
	_, err := a.Authenticate(t0, ip, "alice", "alice-pw")
	var le *LimitedError
	if !errors.As(err, &le) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("6th attempt error = %v, want a *LimitedError", err)
	}
	if le.RetryAfter <= 0 || le.RetryAfter > time.Second {
		t.Errorf("RetryAfter = %s, want in (0, 1s]", le.RetryAfter)
	}
	if _, err := a.Authenticate(t0, "198.51.100.8", "alice", "alice-pw"); err != nil {
		t.Errorf("another address: error = %v, want nil", err)
	}
	later := t0.Add(time.Second)
	if _, err := a.Authenticate(later, ip, "alice", "alice-pw"); err != nil {
		t.Errorf("after 1s: error = %v, want nil", err)
	}
	// Successes take no token: one more failure is allowed, the next is not.
	if _, err := a.Authenticate(later, ip, "alice", "bad"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("failure after refill: error = %v, want ErrBadCredentials", err)
	}
	if _, err := a.Authenticate(later, ip, "alice", "bad"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("second failure after refill: error = %v, want ErrRateLimited", err)
	}
}

func TestRateLimitOptions(t *testing.T) {
	a, err := New(Options{FailBurst: 2, FailEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, _ = a.Authenticate(t0, "ip", "x", "y")
	}
	_, err = a.Authenticate(t0.Add(59*time.Second), "ip", "x", "y")
	var le *LimitedError
	if !errors.As(err, &le) || le.RetryAfter != time.Second {
		t.Fatalf("after 59s of a 1/min limit: error = %v, want RetryAfter 1s", err)
	}
	if _, err := a.Authenticate(t0.Add(time.Minute), "ip", "x", "y"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after 1 min: error = %v, want ErrBadCredentials", err)
	}
}

// TestLimiterBounded: many addresses cannot grow the table without bound, and addresses past
// the bound still are limited (through the shared overflow bucket).
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, time.Hour)
	for i := range maxTracked + 50 {
		l.fail(t0, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if got := len(l.byAddr); got > maxTracked+1 {
		t.Errorf("tracked %d buckets, want at most %d and the overflow bucket", got, maxTracked)
	}
	if l.wait(t0, "10.255.255.254") == 0 {
		t.Errorf("an address past the bound after the overflow bucket emptied may try, want it limited")
	}
	// Once the buckets refill, they are forgotten to make room.
	l.fail(t0.Add(2*time.Hour), "203.0.113.1")
	if got := len(l.byAddr); got != 1 {
		t.Errorf("after refill: tracked %d addresses, want 1", got)
	}
}

func TestCache(t *testing.T) {
	a := newTest(t, None)
	if _, err := a.Authenticate(t0, "ip", "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if !a.cache.has("alice", a.users["alice"].Hash, "alice-pw") {
		t.Errorf("verified credentials not cached")
	}
	if a.cache.has("alice", a.users["alice"].Hash, "other") {
		t.Errorf("cache holds a password never verified")
	}
	if _, err := a.Authenticate(t0, "ip", "alice", "alice-pwX"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong password after a cached right one: error = %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	good := hash(t, "pw")
	tests := []struct {
		name string
		o    Options
	}{
		{"empty name", Options{Users: []User{{Name: "", Hash: good, Access: Read}}}},
		{"anonymous name", Options{Users: []User{{Name: Anonymous, Hash: good, Access: Read}}}},
		{"no access", Options{Users: []User{{Name: "a", Hash: good, Access: None}}}},
		{"plain-text password", Options{Users: []User{{Name: "a", Hash: "secret", Access: Read}}}},
		{"duplicate", Options{Users: []User{{Name: "a", Hash: good, Access: Read}, {Name: "a", Hash: good, Access: Write}}}},
		{"bad anonymous", Options{Anonymous: Access(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.o); !errors.Is(err, ErrInvalid) {
				t.Errorf("New = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseAccess(t *testing.T) {
	for _, a := range []Access{None, Read, Write} {
		got, err := ParseAccess(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAccess(%q) = %v, %v; want %v", a.String(), got, err, a)
		}
	}
	for _, s := range []string{"", "READ", "rw", "admin"} {
		if _, err := ParseAccess(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseAccess(%q) error = %v, want ErrInvalid", s, err)
		}
	}
}

func TestHash(t *testing.T) {
	h, err := Hash([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("pw")); err != nil {
		t.Errorf("Hash does not verify: %v", err)
	}
	if _, err := Hash(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Hash(empty) error = %v, want ErrInvalid", err)
	}
}
