package locksystem

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// consistent checks the index against a brute-force recount: the tree holds exactly the locks
// of the token map, every node leads to a lock, maxExp bounds every expiry below it, the heap
// is a heap of exactly the timed locks, the principal counts match, and no two live locks
// conflict.
func (s *System) consistent(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[*entry]bool{}
	if err := s.root.check(nil, seen); err != nil {
		return err
	}
	if len(seen) != len(s.byToken) {
		return fmt.Errorf("tree holds %d locks, token map %d", len(seen), len(s.byToken))
	}
	counts := map[string]int{}
	timed := 0
	for u, e := range s.byToken {
		if !seen[e] || e.token != u {
			return fmt.Errorf("token %s: not in the tree under its token", tokenString(u))
		}
		counts[e.principal.name]++
		if s.perPrincipal[e.principal.name] != e.principal {
			return fmt.Errorf("token %s: holder of %s is not the registered one", tokenString(u), e.principal.name)
		}
		if e.timeout != 0 {
			timed++
			if e.heapIdx < 0 || int(e.heapIdx) >= len(s.heap) || s.heap[e.heapIdx] != e {
				return fmt.Errorf("token %s: heap index %d wrong", tokenString(u), e.heapIdx)
			}
		} else if e.heapIdx != -1 {
			return fmt.Errorf("token %s: untimed lock in the heap", tokenString(u))
		}
	}
	var active [2]int
	for _, e := range s.byToken {
		active[e.scope]++
	}
	if active != s.active {
		return fmt.Errorf("active by scope %v, counted %v", s.active, active)
	}
	if timed != len(s.heap) {
		return fmt.Errorf("heap holds %d entries, %d locks are timed", len(s.heap), timed)
	}
	for i := 1; i < len(s.heap); i++ {
		if s.heapLess(i, (i-1)/2) {
			return fmt.Errorf("heap order broken at %d", i)
		}
	}
	if len(counts) != len(s.perPrincipal) {
		return fmt.Errorf("%d principals counted, %d recorded", len(counts), len(s.perPrincipal))
	}
	for p, n := range counts {
		if h := s.perPrincipal[p]; h == nil || h.n != n || h.name != p {
			return fmt.Errorf("principal %s: recorded %+v, counted %d", p, h, n)
		}
	}
	return s.noConflicts(now.UnixNano())
}

// check verifies n and its subtree, collecting its locks in seen; it returns the latest expiry.
func (n *node) check(parent *node, seen map[*entry]bool) error {
	if n.parent != parent || (parent != nil && parent.child(n.name()) != n) {
		return fmt.Errorf("node %s: parent link broken", n.path())
	}
	if parent != nil && n.empty() {
		return fmt.Errorf("node %s: empty node not pruned", n.path())
	}
	for d, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil; e = e.next {
			if seen[e] || e.node != n || e.depth != Depth(d) {
				return fmt.Errorf("node %s: lock %s misfiled", n.path(), tokenString(e.token))
			}
			if e.expiry() > n.maxExp {
				return fmt.Errorf("node %s: maxExp %d below expiry %d", n.path(), n.maxExp, e.expiry())
			}
			seen[e] = true
		}
	}
	for k := range n.children() {
		if k.maxExp > n.maxExp {
			return fmt.Errorf("node %s: maxExp %d below a child's %d", n.path(), n.maxExp, k.maxExp)
		}
		if err := k.check(n, seen); err != nil {
			return err
		}
	}
	return nil
}

// noConflicts compares every pair of live locks. The caller holds s.mu.
func (s *System) noConflicts(now int64) error {
	var live []refLock
	for _, e := range s.byToken {
		if e.live(now) {
			live = append(live, refLock{token: tokenString(e.token), path: e.node.path(), scope: e.scope, depth: e.depth})
		}
	}
	for i, a := range live {
		for _, b := range live[i+1:] {
			if refConflict(a, b.path, b.scope, b.depth) {
				return fmt.Errorf("live locks conflict: %+v and %+v", a, b)
			}
		}
	}
	return nil
}

// TestRandomOperations runs seeded random lock, refresh, release, remove-tree, missing and
// clock steps, checking each result against a reference model and the invariants after each.
func TestRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, seed, 400) })
	}
}

func randomRun(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	pol := Policy{Min: time.Second, Max: 60 * time.Second, Default: 20 * time.Second, AllowInfinite: true}
	s, err := New(t0, Options{Logger: zerolog.Nop(), Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/a", "/a/", "/a/b", "/a/b/c", "/a/d", "/e", "/e/f/g", "/e/f"}
	principals := []string{"alice", "bob"}
	timeouts := []time.Duration{0, Infinite, time.Second, 5 * time.Second, 90 * time.Second}
	var ref []refLock
	now := t0
	pick := func() string {
		if len(ref) == 0 || rng.IntN(8) == 0 {
			return "urn:uuid:00000000-0000-4000-8000-000000000000"
		}
		return ref[rng.IntN(len(ref))].token
	}
	for step := 0; step < steps; step++ {
		where := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(10); {
		case op < 4:
			r := Request{Path: paths[rng.IntN(len(paths))], Scope: Scope(rng.IntN(2)), Depth: Depth(rng.IntN(2)),
				Principal: principals[rng.IntN(2)], Timeout: timeouts[rng.IntN(len(timeouts))]}
			want := refConflicts(ref, now, cleanOrDie(t, r.Path), r.Scope, r.Depth)
			l, err := s.Lock(now, r)
			if got := conflictTokens(err); !slices.Equal(got, want) {
				t.Fatalf("%s: lock %+v: got %v (%v), want conflicts %v", where, r, got, err, want)
			}
			if err == nil {
				if wantTimeout := pol.Grant(r.Timeout); l.Timeout != wantTimeout {
					t.Fatalf("%s: got timeout %v, want %v", where, l.Timeout, wantTimeout)
				}
				ref = append(ref, refLock{token: l.Token, path: l.Path, principal: l.Principal,
					scope: l.Scope, depth: l.Depth, expires: l.Expires})
			}
		case op < 5:
			tok, who := pick(), principals[rng.IntN(2)]
			i := refIndex(ref, tok, now)
			timeout := timeouts[rng.IntN(len(timeouts))]
			l, err := s.Refresh(now, tok, who, "", timeout)
			if wantErr := refUse(ref, i, who); !errors.Is(err, wantErr) {
				t.Fatalf("%s: refresh: got %v, want %v", where, err, wantErr)
			}
			if err == nil {
				ref[i].expires = l.Expires
				if wantExp := expiresAt(now, pol.Grant(timeout)); !l.Expires.Equal(wantExp) {
					t.Fatalf("%s: refresh: got expiry %v, want %v", where, l.Expires, wantExp)
				}
			}
		case op < 6:
			tok, who := pick(), principals[rng.IntN(2)]
			i := refIndex(ref, tok, now)
			_, err := s.Release(now, tok, who, "", false)
			if wantErr := refUse(ref, i, who); !errors.Is(err, wantErr) {
				t.Fatalf("%s: release: got %v, want %v", where, err, wantErr)
			}
			if err == nil {
				ref = slices.Delete(ref, i, i+1)
			}
		case op < 7:
			p := cleanOrDie(t, paths[rng.IntN(len(paths))])
			var want []string
			ref = slices.DeleteFunc(ref, func(l refLock) bool {
				if l.path == p || isAncestor(p, l.path) {
					if l.live(now) {
						want = append(want, l.token)
					}
					return true
				}
				return false
			})
			var got []string
			for _, l := range s.RemoveTree(now, p) {
				got = append(got, l.Token)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: remove tree %s: got %v, want %v", where, p, got, want)
			}
		case op < 8:
			checkMissing(t, where, s, ref, now, rng, paths, principals)
		default:
			now = now.Add(time.Duration(rng.IntN(15)) * time.Second)
		}
		if err := s.consistent(now); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		checkLive(t, where, s, ref, now)
	}
}

func cleanOrDie(t *testing.T, p string) string {
	t.Helper()
	c, err := cleanPath(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func expiresAt(now time.Time, timeout time.Duration) time.Time {
	if timeout == Infinite {
		return time.Time{}
	}
	return now.Add(timeout)
}

// refIndex returns the index of the live reference lock named tok, or -1.
func refIndex(ref []refLock, tok string, now time.Time) int {
	for i, l := range ref {
		if l.token == tok && l.live(now) {
			return i
		}
	}
	return -1
}

func refUse(ref []refLock, i int, who string) error {
	switch {
	case i < 0:
		return ErrNoSuchLock
	case ref[i].principal != who:
		return ErrForbidden
	}
	return nil
}

// checkLive compares the System's live locks with the reference's.
func checkLive(t *testing.T, where string, s *System, ref []refLock, now time.Time) {
	t.Helper()
	var want, got []string
	for _, l := range ref {
		if l.live(now) {
			want = append(want, l.token)
		}
	}
	for _, l := range s.Query(now, Query{Depth: DepthInfinity}) {
		got = append(got, l.Token)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: live locks: got %v, want %v", where, got, want)
	}
}

// checkMissing compares Missing for a random need and token set with refMissing.
func checkMissing(t *testing.T, where string, s *System, ref []refLock, now time.Time, rng *rand.Rand, paths, principals []string) {
	t.Helper()
	need := Need{Path: cleanOrDie(t, paths[rng.IntN(len(paths))]), Depth: Depth(rng.IntN(2))}
	who := principals[rng.IntN(2)]
	var tokens []string
	for _, l := range ref {
		if rng.IntN(2) == 0 {
			tokens = append(tokens, l.token)
		}
	}
	want := refMissing(ref, now, who, tokens, need)
	var got []string
	for _, l := range s.Missing(now, who, tokens, need) {
		got = append(got, l.Token)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Missing(%s, %v, %+v): got %v, want %v", where, who, tokens, need, got, want)
	}
}

// refMissing applies the rule of docs/ARCHITECTURE.md "The lock model" resource by resource: the resources a need touches are
// its path and, for depth infinity, every lock root below it.
func refMissing(ref []refLock, now time.Time, who string, tokens []string, need Need) []string {
	resources := []string{need.Path}
	for _, l := range ref {
		if l.live(now) && need.Depth == DepthInfinity && isAncestor(need.Path, l.path) {
			resources = append(resources, l.path)
		}
	}
	held := map[string]bool{}
	for _, tok := range tokens {
		for _, l := range ref {
			if l.token == tok && l.principal == who {
				held[tok] = true
			}
		}
	}
	out := map[string]bool{}
	for _, p := range resources {
		var shared []string
		sharedOK := false
		for _, l := range ref {
			if !l.live(now) || !refCovers(l, p) {
				continue
			}
			if l.scope == Exclusive && !held[l.token] {
				out[l.token] = true
			}
			if l.scope == Shared {
				shared = append(shared, l.token)
				sharedOK = sharedOK || held[l.token]
			}
		}
		if !sharedOK {
			for _, tok := range shared {
				out[tok] = true
			}
		}
	}
	var res []string
	for tok := range out {
		res = append(res, tok)
	}
	slices.Sort(res)
	return res
}
