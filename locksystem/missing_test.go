package locksystem

import (
	"slices"
	"testing"
	"time"
)

// TestMissing checks the write rule of docs/ARCHITECTURE.md "The lock model" (RFC 4918 §7.4, §7.5, §9.6.1): which
// lock tokens a write must submit.
func TestMissing(t *testing.T) {
	type held struct {
		name string
		req  Request
	}
	fixtures := []held{
		{"X", Request{Path: "/x", Principal: "alice"}},                                       // exclusive, depth 0
		{"Dinf", Request{Path: "/d", Depth: DepthInfinity, Principal: "alice"}},              // exclusive tree
		{"S1", Request{Path: "/s", Scope: Shared, Principal: "alice"}},                       // a shared set
		{"S2", Request{Path: "/s", Scope: Shared, Principal: "bob"}},                         //
		{"Sinf", Request{Path: "/t", Scope: Shared, Depth: DepthInfinity, Principal: "bob"}}, // shared tree
		{"Tdeep", Request{Path: "/t/u/v", Scope: Shared, Principal: "alice"}},                // shared inside it
		{"C", Request{Path: "/c", Principal: "alice"}},                                       // collection, depth 0
		{"M", Request{Path: "/c/member", Principal: "bob"}},                                  // its member
	}
	s := newTestSystem(t, Options{})
	tok := map[string]string{}
	name := map[string]string{}
	for _, f := range fixtures {
		l, err := s.Lock(t0, f.req)
		if err != nil {
			t.Fatalf("lock %s: %v", f.name, err)
		}
		tok[f.name], name[l.Token] = l.Token, f.name
	}
	for _, tc := range []struct {
		name      string
		principal string
		tokens    []string
		needs     []Need
		want      []string
	}{
		{"unlocked resource", "alice", nil, []Need{{Path: "/free"}}, nil},
		{"exclusive needs its token", "alice", nil, []Need{{Path: "/x"}}, []string{"X"}},
		{"exclusive satisfied", "alice", []string{"X"}, []Need{{Path: "/x/"}}, nil},
		{"other principal's token does not count", "bob", []string{"X"}, []Need{{Path: "/x"}}, []string{"X"}},
		{"depth-infinity ancestor covers a member", "alice", nil, []Need{{Path: "/d/e/f"}}, []string{"Dinf"}},
		{"depth-infinity ancestor satisfied", "alice", []string{"Dinf"}, []Need{{Path: "/d/e/f"}}, nil},
		{"shared set needs one", "alice", nil, []Need{{Path: "/s"}}, []string{"S1", "S2"}},
		{"shared set: alice's token", "alice", []string{"S1"}, []Need{{Path: "/s"}}, nil},
		{"shared set: bob's token", "bob", []string{"S2"}, []Need{{Path: "/s"}}, nil},
		{"shared set: token of the wrong principal", "bob", []string{"S1"}, []Need{{Path: "/s"}}, []string{"S1", "S2"}},
		{"shared tree covers a deep member", "bob", []string{"Sinf"}, []Need{{Path: "/t/u/v"}}, nil},
		{"shared member lock satisfies the member", "alice", []string{"Tdeep"}, []Need{{Path: "/t/u/v"}}, nil},
		{"depth-0 collection lock protects membership", "bob", nil, []Need{{Path: "/c"}}, []string{"C"}},
		{"depth-0 collection lock does not cover the member", "bob", []string{"M"}, []Need{{Path: "/c/member"}}, nil},
		{"depth-infinity need includes locks below", "alice", []string{"C"}, []Need{{Path: "/c", Depth: DepthInfinity}}, []string{"M"}},
		{"depth-infinity need from the root", "alice", []string{"X", "Dinf", "S1", "C"}, []Need{{Path: "/", Depth: DepthInfinity}}, []string{"M", "Sinf", "Tdeep"}},
		{"depth-infinity need: ancestor tree lock satisfies members", "bob", []string{"Sinf"}, []Need{{Path: "/t", Depth: DepthInfinity}}, nil},
		{"two needs, no duplicates", "bob", nil, []Need{{Path: "/x"}, {Path: "/x"}, {Path: "/s"}}, []string{"S1", "S2", "X"}},
		{"malformed need touches nothing", "bob", nil, []Need{{Path: "x"}}, nil},
		{"unknown and garbled tokens are ignored", "alice", []string{"urn:uuid:00000000-0000-4000-8000-000000000000", "garbage"}, []Need{{Path: "/x"}}, []string{"X"}},
	} {
		var toks []string
		for _, n := range tc.tokens {
			if v, ok := tok[n]; ok {
				toks = append(toks, v)
			} else {
				toks = append(toks, n)
			}
		}
		var got []string
		for _, l := range s.Missing(t0, tc.principal, toks, tc.needs...) {
			got = append(got, name[l.Token])
		}
		want := slices.Clone(tc.want)
		slices.SortFunc(want, func(a, b string) int { return compareByPath(s, tok[a], tok[b]) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, want)
		}
	}
	// An expired lock requires nothing.
	if got := s.Missing(t0.Add(DefaultPolicy.Default), "bob", nil, Need{Path: "/x"}); len(got) != 0 {
		t.Errorf("after expiry: got %v, want none", got)
	}
}

// compareByPath orders two tokens as Missing does: by their locks' paths.
func compareByPath(s *System, a, b string) int {
	la, _ := s.Get(t0, a)
	lb, _ := s.Get(t0, b)
	sortable := []Lock{lb, la}
	sortLocks(sortable)
	if sortable[0] == la {
		return -1
	}
	return 1
}

func TestMissingSorted(t *testing.T) {
	s := newTestSystem(t, Options{})
	for _, p := range []string{"/b", "/a/z", "/a", "/c"} {
		if _, err := s.Lock(t0.Add(time.Second), Request{Path: p, Principal: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, l := range s.Missing(t0, "q", nil, Need{Path: "/c"}, Need{Path: "/", Depth: DepthInfinity}) {
		got = append(got, l.Path)
	}
	if want := []string{"/a", "/a/z", "/b", "/c"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
