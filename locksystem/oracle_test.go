package locksystem

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// refLock is a lock in the naive reference model.
type refLock struct {
	token, path, principal string
	scope                  Scope
	depth                  Depth
	expires                time.Time // zero: never
}

func (l refLock) live(now time.Time) bool { return l.expires.IsZero() || now.Before(l.expires) }

// isAncestor reports whether a is a proper ancestor of b.
func isAncestor(a, b string) bool {
	return a != b && (a == "/" || strings.HasPrefix(b, a+"/"))
}

// refCovers reports whether l's scope includes p.
func refCovers(l refLock, p string) bool {
	return l.path == p || (l.depth == DepthInfinity && isAncestor(l.path, p))
}

// refConflict is docs/ARCHITECTURE.md "The lock model" read literally (RFC 4918 §6.1, §7): two locks conflict when
// one of them is exclusive and they share a resource: the same root, an ancestor's
// depth-infinity lock, or a descendant of the new lock when it is depth infinity.
func refConflict(old refLock, p string, sc Scope, d Depth) bool {
	if sc != Exclusive && old.scope != Exclusive {
		return false
	}
	switch {
	case old.path == p:
		return true
	case isAncestor(old.path, p):
		return old.depth == DepthInfinity
	case isAncestor(p, old.path):
		return d == DepthInfinity
	}
	return false
}

func refConflicts(locks []refLock, now time.Time, p string, sc Scope, d Depth) []string {
	var out []string
	for _, l := range locks {
		if l.live(now) && refConflict(l, p, sc, d) {
			out = append(out, l.token)
		}
	}
	slices.Sort(out)
	return out
}

func conflictTokens(err error) []string {
	var ce *ConflictError
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, l := range ce.Conflicts {
		out = append(out, l.token())
	}
	slices.Sort(out)
	return out
}

func (l Lock) token() string { return l.Token }

// oracleRequests are every (path, scope, depth) over a small tree: the root, a chain of two
// below it, and a sibling.
func oracleRequests() []Request {
	var out []Request
	for _, p := range []string{"/", "/a", "/a/b", "/c"} {
		for _, sc := range []Scope{Exclusive, Shared} {
			for _, d := range []Depth{DepthZero, DepthInfinity} {
				out = append(out, Request{Path: p, Scope: sc, Depth: d, Principal: "p"})
			}
		}
	}
	return out
}

// TestOracle applies every sequence of four lock requests over a small tree, checking each grant
// or refusal, and the conflicts named, against the reference rules. It walks the sequences depth
// first, releasing each granted lock to backtrack; a refused request leaves the state as it was,
// so the walk goes deeper only after a grant.
func TestOracle(t *testing.T) {
	reqs := oracleRequests()
	s, err := New(t0, Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var ref []refLock
	var seq []int
	var run func()
	run = func() {
		if len(seq) == 4 {
			return
		}
		for i, r := range reqs {
			seq = append(seq, i)
			want := refConflicts(ref, t0, r.Path, r.Scope, r.Depth)
			l, err := s.Lock(t0, r)
			got := conflictTokens(err)
			if err != nil && got == nil {
				t.Fatalf("sequence %v: %v", seq, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("sequence %v (last %s %v %v): got conflicts %v, want %v", seq, r.Path, r.Scope, r.Depth, got, want)
			}
			if err == nil {
				ref = append(ref, refLock{token: l.Token, path: l.Path, scope: l.Scope, depth: l.Depth})
				run()
				ref = ref[:len(ref)-1]
				if _, err := s.Release(t0, l.Token, "p", l.Path, false); err != nil {
					t.Fatalf("sequence %v: release: %v", seq, err)
				}
			}
			seq = seq[:len(seq)-1]
		}
	}
	run()
	if s.Len() != 0 || s.root.numKids() != 0 {
		t.Errorf("after backtracking: got %d locks, %d root children, want none", s.Len(), s.root.numKids())
	}
}

// TestOracleTrees is x/net's TestMemLSCanCreate with scope letters: every path of up to four
// segments whose letters name the lock held there ("_" none; "e"/"s" exclusive/shared, then
// "z"/"i" depth zero/infinity), checked against the reference for every possible new lock.
func TestOracleTrees(t *testing.T) {
	names := []string{"/_/ei", "/_/sz", "/_/sz/si", "/_/sz/si/_/sz", "/si", "/si/_/sz", "/si/si",
		"/ez", "/ez/_/ez", "/_/_/ei", "/_/_/_/sz", "/sz", "/sz/ez"}
	s, err := New(t0, Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var ref []refLock
	for _, name := range names {
		r := requestFor(name)
		if c := refConflicts(ref, t0, r.Path, r.Scope, r.Depth); len(c) > 0 {
			t.Fatalf("bad fixture: %s conflicts with %v", name, c)
		}
		l, err := s.Lock(t0, r)
		if err != nil {
			t.Fatalf("lock %s: %v", name, err)
		}
		ref = append(ref, refLock{token: l.Token, path: l.Path, scope: l.Scope, depth: l.Depth})
	}
	var check func(depth int, name string)
	check = func(depth int, name string) {
		for _, sc := range []Scope{Exclusive, Shared} {
			for _, d := range []Depth{DepthZero, DepthInfinity} {
				want := refConflicts(ref, t0, name, sc, d)
				got := s.conflicting(t0.UnixNano(), name, sc, d)
				var toks []string
				for _, l := range got {
					toks = append(toks, l.Token)
				}
				slices.Sort(toks)
				if !slices.Equal(toks, want) {
					t.Errorf("%s %v %v: got conflicts %v, want %v", name, sc, d, toks, want)
				}
			}
		}
		if depth == 4 {
			return
		}
		prefix := name + "/"
		if name == "/" {
			prefix = "/"
		}
		for _, seg := range []string{"_", "ei", "ez", "si", "sz"} {
			check(depth+1, prefix+seg)
		}
	}
	check(0, "/")
}

func requestFor(name string) Request {
	last := name[strings.LastIndexByte(name, '/')+1:]
	r := Request{Path: name, Principal: "p"}
	if last[0] == 's' {
		r.Scope = Shared
	}
	if last[1] == 'i' {
		r.Depth = DepthInfinity
	}
	return r
}

// TestOracleRandomTrees draws lock sets on a larger tree, with timeouts, and compares.
func TestOracleRandomTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/", "/a", "/a/b", "/a/b/c", "/a/d", "/e", "/e/f"}
	for trial := 0; trial < 300; trial++ {
		s, err := New(t0, Options{Logger: zerolog.Nop(), Policy: Policy{Min: time.Second, Max: time.Hour, Default: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		var ref []refLock
		for step := 0; step < 30; step++ {
			now := t0.Add(time.Duration(step) * 10 * time.Second)
			r := Request{Path: paths[rng.IntN(len(paths))], Scope: Scope(rng.IntN(2)), Depth: Depth(rng.IntN(2)),
				Principal: "p", Timeout: time.Duration(1+rng.IntN(60)) * time.Second}
			want := refConflicts(ref, now, r.Path, r.Scope, r.Depth)
			l, err := s.Lock(now, r)
			if got := conflictTokens(err); !slices.Equal(got, want) {
				t.Fatalf("trial %d step %d %+v: got %v (%v), want conflicts %v", trial, step, r, got, err, want)
			}
			if err == nil {
				ref = append(ref, refLock{token: l.Token, path: l.Path, scope: l.Scope, depth: l.Depth, expires: l.Expires})
			}
		}
	}
}
