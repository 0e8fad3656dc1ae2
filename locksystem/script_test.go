package locksystem

import (
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestSystem(t *testing.T, o Options) *System {
	t.Helper()
	o.Logger = zerolog.New(zerolog.NewTestWriter(t))
	s, err := New(t0, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// TestScript walks one System through a timeline (RFC 4918 §6.6 timeouts, §9.10.2 refresh,
// §9.11 UNLOCK, §6.4 principals), setting the clock explicitly at each step.
func TestScript(t *testing.T) {
	s := newTestSystem(t, Options{Policy: Policy{Min: time.Second, Max: time.Hour, Default: 100 * time.Second}})
	now := t0
	setNow := func(d time.Duration) { now = t0.Add(d) }
	tokens := map[string]string{}

	type step struct {
		at      time.Duration // setNow(at) before the step
		op      string        // lock, refresh, release, force, get
		name    string        // the token's name in tokens
		req     Request       // lock
		path    string        // refresh, release
		who     string        // refresh, release
		timeout time.Duration // refresh
		wantErr error
		wantExp time.Duration // lock, refresh, get: Expires - t0 (0: do not check)
	}
	steps := []step{
		{op: "lock", name: "A", req: Request{Path: "/docs/", Depth: DepthInfinity, Principal: "alice"}, wantExp: 100 * time.Second},
		{op: "lock", name: "x", req: Request{Path: "/docs/a.txt", Principal: "bob"}, wantErr: ErrLocked},
		{op: "lock", name: "x", req: Request{Path: "/", Depth: DepthInfinity, Principal: "bob"}, wantErr: ErrLocked},
		{op: "lock", name: "B", req: Request{Path: "/other", Scope: Shared, Principal: "bob", Timeout: 10 * time.Second}, wantExp: 10 * time.Second},
		{op: "lock", name: "C", req: Request{Path: "/other", Scope: Shared, Principal: "carol", Timeout: Infinite}, wantExp: time.Hour},
		{op: "lock", name: "x", req: Request{Path: "/other", Principal: "dave"}, wantErr: ErrLocked},
		// §6.6: at its expiry a lock is gone, collected or not.
		{at: 9 * time.Second, op: "get", name: "B", wantExp: 10 * time.Second},
		{at: 10 * time.Second, op: "get", name: "B", wantErr: ErrNoSuchLock},
		{at: 11 * time.Second, op: "release", name: "B", who: "bob", wantErr: ErrNoSuchLock},
		// §9.10.2: refresh restarts the timeout; only the principal, only inside the scope.
		{at: 50 * time.Second, op: "refresh", name: "A", who: "bob", path: "/docs", wantErr: ErrForbidden},
		{at: 50 * time.Second, op: "refresh", name: "A", who: "alice", path: "/other", wantErr: ErrNotCovered},
		{at: 50 * time.Second, op: "refresh", name: "A", who: "alice", path: "/docs/deep/file", timeout: 30 * time.Second, wantExp: 80 * time.Second},
		{at: 79 * time.Second, op: "lock", name: "x", req: Request{Path: "/docs/a", Principal: "bob"}, wantErr: ErrLocked},
		{at: 80 * time.Second, op: "lock", name: "D", req: Request{Path: "/docs/a", Principal: "bob"}, wantExp: 180 * time.Second},
		{at: 80 * time.Second, op: "refresh", name: "A", who: "alice", wantErr: ErrNoSuchLock},
		// §9.11: UNLOCK by another principal is refused, an admin may force it.
		{at: 90 * time.Second, op: "release", name: "D", who: "alice", wantErr: ErrForbidden},
		{at: 90 * time.Second, op: "release", name: "D", who: "bob", path: "/docs", wantErr: ErrNotCovered},
		{at: 90 * time.Second, op: "force", name: "D", who: "admin", path: "/docs/a/"},
		{at: 90 * time.Second, op: "get", name: "D", wantErr: ErrNoSuchLock},
		{at: 90 * time.Second, op: "release", name: "C", who: "carol", path: "/other"},
		{at: 90 * time.Second, op: "lock", name: "E", req: Request{Path: "/other", Principal: "dave", Timeout: 500 * time.Millisecond}, wantExp: 91 * time.Second},
		{at: 90 * time.Second, op: "release", name: "nope", who: "dave", wantErr: ErrNoSuchLock},
	}
	for i, st := range steps {
		setNow(st.at)
		var l Lock
		var err error
		switch st.op {
		case "lock":
			l, err = s.Lock(now, st.req)
			if err == nil {
				tokens[st.name] = l.Token
			}
		case "refresh":
			l, err = s.Refresh(now, tokens[st.name], st.who, st.path, st.timeout)
		case "release", "force":
			l, err = s.Release(now, tokens[st.name], st.who, st.path, st.op == "force")
		case "get":
			var ok bool
			if l, ok = s.Get(now, tokens[st.name]); !ok {
				err = ErrNoSuchLock
			}
		}
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d (%s %s): got error %v, want %v", i, st.op, st.name, err, st.wantErr)
		}
		if err == nil && st.wantExp != 0 && !l.Expires.Equal(t0.Add(st.wantExp)) {
			t.Fatalf("step %d (%s %s): got expiry %v, want t0+%v", i, st.op, st.name, l.Expires.Sub(t0), st.wantExp)
		}
	}
}

func TestLockFields(t *testing.T) {
	s := newTestSystem(t, Options{Policy: Policy{Min: time.Second, Max: time.Hour, Default: time.Minute, AllowInfinite: true}})
	c := Client{IP: "192.0.2.1", UserAgent: "Microsoft-WebDAV-MiniRedir/10.0"}
	l, err := s.Lock(t0, Request{Path: "/a/b/", Scope: Shared, Depth: DepthInfinity, Owner: "<D:href>me</D:href>",
		Principal: "alice", Client: c, Timeout: Infinite, ReleaseOnUpdate: true, LockNull: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Lock{Token: l.Token, Path: "/a/b", Scope: Shared, Depth: DepthInfinity, Owner: "<D:href>me</D:href>",
		Principal: "alice", Timeout: Infinite, Created: t0, Refreshed: t0, Client: c, ReleaseOnUpdate: true, LockNull: true}
	if l != want {
		t.Errorf("got %+v, want %+v", l, want)
	}
	if _, ok := parseToken(l.Token); !ok || len(l.Token) != len("urn:uuid:")+36 {
		t.Errorf("token %q is not urn:uuid:<uuid>", l.Token)
	}
	if got, ok := s.Get(t0.Add(1000*time.Hour), l.Token); !ok || got != want {
		t.Errorf("Get of an infinite lock much later: got %+v %v, want %+v", got, ok, want)
	}
}

func TestTokensUnique(t *testing.T) {
	s := newTestSystem(t, Options{})
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		l, err := s.Lock(t0, Request{Path: "/f", Scope: Shared, Principal: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[l.Token] {
			t.Fatalf("token %s issued twice", l.Token)
		}
		seen[l.Token] = true
		if _, err := s.Release(t0, l.Token, "p", "", false); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadInput(t *testing.T) {
	s := newTestSystem(t, Options{})
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"relative path", Request{Path: "a/b", Principal: "p"}},
		{"empty path", Request{Path: "", Principal: "p"}},
		{"NUL in path", Request{Path: "/a\x00b", Principal: "p"}},
		{"bad scope", Request{Path: "/a", Scope: 7, Principal: "p"}},
		{"bad depth", Request{Path: "/a", Depth: 3, Principal: "p"}},
		{"no principal", Request{Path: "/a"}},
		{"negative timeout", Request{Path: "/a", Principal: "p", Timeout: -5 * time.Second}},
	} {
		if _, err := s.Lock(t0, tc.req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, err := s.Refresh(t0, "urn:uuid:x", "p", "rel", 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("refresh with relative path: got %v, want ErrInvalid", err)
	}
	for _, tok := range []string{"", "1", "urn:uuid:", "urn:uuid:00000000-0000-0000-0000-00000000000g", "opaquelocktoken:abc"} {
		if _, err := s.Release(t0, tok, "p", "", false); !errors.Is(err, ErrNoSuchLock) {
			t.Errorf("release %q: got %v, want ErrNoSuchLock", tok, err)
		}
		if _, ok := s.Get(t0, tok); ok {
			t.Errorf("Get %q: found a lock", tok)
		}
	}
	if got := s.Query(t0, Query{Path: "relative"}); got != nil {
		t.Errorf("Query with a relative path: got %v, want none", got)
	}
	if _, err := New(t0, Options{MaxPerPrincipal: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("New with MaxPerPrincipal -1: got %v, want ErrInvalid", err)
	}
	if _, err := New(t0, Options{Policy: Policy{Min: 2 * time.Second, Max: time.Second, Default: time.Second}}); err == nil {
		t.Error("New with min > max: got no error")
	}
}

func TestMaxPerPrincipal(t *testing.T) {
	s := newTestSystem(t, Options{MaxPerPrincipal: 2})
	for i, p := range []string{"/a", "/b"} {
		if _, err := s.Lock(t0, Request{Path: p, Principal: "alice"}); err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
	}
	_, err := s.Lock(t0, Request{Path: "/c", Principal: "alice"})
	if !errors.Is(err, ErrTooMany) {
		t.Fatalf("third lock: got %v, want ErrTooMany", err)
	}
	if _, err := s.Lock(t0, Request{Path: "/c", Principal: "bob"}); err != nil {
		t.Fatalf("another principal: got %v, want a lock", err)
	}
	// Expired locks stop counting once collected.
	later := t0.Add(DefaultPolicy.Default)
	if _, err := s.Lock(later, Request{Path: "/d", Principal: "alice"}); err != nil {
		t.Fatalf("after expiry: got %v, want a lock", err)
	}
}

func TestClose(t *testing.T) {
	s := newTestSystem(t, Options{})
	l, err := s.Lock(t0, Request{Path: "/a", Principal: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Lock(t0, Request{Path: "/b", Principal: "p"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Lock after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Refresh(t0, l.Token, "p", "", 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Refresh after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Release(t0, l.Token, "p", "", false); !errors.Is(err, ErrClosed) {
		t.Errorf("Release after Close: got %v, want ErrClosed", err)
	}
}

func TestConflictErrorNamesHolders(t *testing.T) {
	s := newTestSystem(t, Options{})
	var want []string
	for _, p := range []string{"/d/x", "/d/y/z"} {
		l, err := s.Lock(t0, Request{Path: p, Scope: Shared, Principal: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, l.Token)
	}
	_, err := s.Lock(t0, Request{Path: "/d", Depth: DepthInfinity, Principal: "bob"})
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want a *ConflictError", err)
	}
	if len(ce.Conflicts) != 2 || ce.Conflicts[0].Token != want[0] || ce.Conflicts[1].Token != want[1] {
		t.Errorf("got conflicts %+v, want tokens %v", ce.Conflicts, want)
	}
	// A shared depth-infinity lock over shared locks is no conflict.
	if _, err := s.Lock(t0, Request{Path: "/d", Scope: Shared, Depth: DepthInfinity, Principal: "bob"}); err != nil {
		t.Errorf("shared over shared: got %v", err)
	}
}

func TestQuery(t *testing.T) {
	s := newTestSystem(t, Options{})
	shared := Shared
	mk := func(p string, sc Scope, d Depth, who, owner string, at time.Duration) string {
		l, err := s.Lock(t0.Add(at), Request{Path: p, Scope: sc, Depth: d, Principal: who, Owner: owner})
		if err != nil {
			t.Fatalf("lock %s: %v", p, err)
		}
		return l.Path + "@" + l.Principal
	}
	root := mk("/p", Shared, DepthInfinity, "alice", "<href>alice@example</href>", 0)
	a := mk("/p/a", Shared, DepthZero, "bob", "", time.Second)
	a2 := mk("/p/a", Shared, DepthZero, "carol", "carol", 2*time.Second)
	deep := mk("/p/b/c", Shared, DepthInfinity, "bob", "", 0)
	other := mk("/q", Exclusive, DepthZero, "bob", "", 0)
	now := t0.Add(3 * time.Second)
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{Depth: DepthInfinity}, []string{root, a, a2, deep, other}},
		{"depth 0", Query{Path: "/p/a/"}, []string{a, a2}},
		{"members", Query{Path: "/p", Members: true}, []string{root, a, a2}},
		{"infinity", Query{Path: "/p", Depth: DepthInfinity}, []string{root, a, a2, deep}},
		{"covering", Query{Path: "/p/b/c/d", Covering: true}, []string{root, deep}},
		{"covering and own", Query{Path: "/p/a", Covering: true}, []string{root, a, a2}},
		{"principal", Query{Depth: DepthInfinity, Principal: "bob"}, []string{a, deep, other}},
		{"owner substring", Query{Depth: DepthInfinity, Owner: "example"}, []string{root}},
		{"scope", Query{Depth: DepthInfinity, Scope: &shared}, []string{root, a, a2, deep}},
		{"nothing there", Query{Path: "/zzz", Depth: DepthInfinity}, nil},
	} {
		var got []string
		for _, l := range s.Query(now, tc.q) {
			got = append(got, l.Path+"@"+l.Principal)
		}
		if !equalStrings(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	var got []string
	for _, l := range s.Covering(now, "/p/b/c/") {
		got = append(got, l.Path+"@"+l.Principal)
	}
	if want := []string{root, deep}; !equalStrings(got, want) {
		t.Errorf("Covering: got %v, want %v", got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRemoveTreeAndReleaseOnUpdate(t *testing.T) {
	s := newTestSystem(t, Options{})
	lock := func(p string, rou bool, who string) Lock {
		l, err := s.Lock(t0, Request{Path: p, Scope: Shared, Principal: who, ReleaseOnUpdate: rou})
		if err != nil {
			t.Fatalf("lock %s: %v", p, err)
		}
		return l
	}
	lock("/t", false, "a")
	lock("/t/x", false, "a")
	lock("/t/x/y", false, "a")
	keep := lock("/tt", false, "a")
	got := s.RemoveTree(t0, "/t/")
	if len(got) != 3 || got[0].Path != "/t" || got[2].Path != "/t/x/y" {
		t.Errorf("RemoveTree: got %+v, want the 3 locks under /t", got)
	}
	if s.Len() != 1 {
		t.Errorf("after RemoveTree: got Len %d, want 1", s.Len())
	}
	if _, ok := s.Get(t0, keep.Token); !ok {
		t.Error("RemoveTree /t removed /tt")
	}
	r1 := lock("/u", true, "a")
	r2 := lock("/u", true, "b")
	plain := lock("/u", false, "a")
	toks := []string{r1.Token, r2.Token, plain.Token, r1.Token}
	if got := s.ReleaseOnUpdate(t0, "a", toks, "/u/other"); len(got) != 0 {
		t.Errorf("ReleaseOnUpdate on a path the locks do not cover: got %+v", got)
	}
	got = s.ReleaseOnUpdate(t0, "a", toks, "/u")
	if len(got) != 1 || got[0].Token != r1.Token {
		t.Errorf("ReleaseOnUpdate: got %+v, want only %s", got, r1.Token)
	}
	for _, l := range []Lock{r2, plain} {
		if _, ok := s.Get(t0, l.Token); !ok {
			t.Errorf("ReleaseOnUpdate released %s", l.Token)
		}
	}
}

func TestConflictErrorBounded(t *testing.T) {
	s := newTestSystem(t, Options{})
	for i := 0; i < 2*maxConflicts; i++ {
		if _, err := s.Lock(t0, Request{Path: "/big/" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Principal: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Lock(t0, Request{Path: "/big", Depth: DepthInfinity, Principal: "q"})
	var ce *ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != maxConflicts {
		t.Fatalf("got %v, want a ConflictError naming %d locks", err, maxConflicts)
	}
}
