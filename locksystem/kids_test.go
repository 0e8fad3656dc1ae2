package locksystem

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestKids: a node's children, added and removed at random (through table growth, shrinking and
// backward-shift deletion), are always those of a map kept beside them.
func TestKids(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	parent := &node{}
	want := make(map[string]*node)
	names := make([]string, 300)
	for i := range names {
		// Short and long names, and names that share their first 8 bytes.
		names[i] = []string{"f", "a-long-file-name-", "12345678"}[i%3] + strconv.Itoa(i)
	}
	for step := range 20_000 {
		name := names[r.IntN(len(names))]
		if c := want[name]; c != nil {
			parent.removeChild(c)
			delete(want, name)
		} else {
			c = &node{parent: parent, full: "/" + name, head: nameHead(name)}
			parent.addChild(c)
			want[name] = c
		}
		if step%97 != 0 {
			continue
		}
		for _, name := range names {
			if got := parent.child(name); got != want[name] {
				t.Fatalf("step %d: child(%q) = %p, want %p", step, name, got, want[name])
			}
		}
		seen := 0
		for c := range parent.children() {
			if want[c.name()] != c {
				t.Fatalf("step %d: children yields %q, not a child", step, c.name())
			}
			seen++
		}
		if seen != len(want) || parent.numKids() != len(want) {
			t.Fatalf("step %d: %d children yielded, numKids %d, want %d", step, seen, parent.numKids(), len(want))
		}
	}
	// Add every name, then remove them all: the table grows, then shrinks back to none.
	for _, name := range names {
		if want[name] == nil {
			want[name] = &node{parent: parent, full: "/" + name, head: nameHead(name)}
			parent.addChild(want[name])
		}
	}
	for i, name := range r.Perm(len(names)) {
		parent.removeChild(want[names[name]])
		delete(want, names[name])
		for _, other := range names {
			if got := parent.child(other); got != want[other] {
				t.Fatalf("removal %d: child(%q) = %p, want %p", i, other, got, want[other])
			}
		}
	}
	if parent.kids != nil {
		t.Errorf("no children left, but a table of %d slots", len(parent.kids.slots))
	}
}

// TestTokenString: tokens are written as uuid.UUID.String writes them, after the urn prefix.
func TestTokenString(t *testing.T) {
	for range 100 {
		u := uuid.New()
		if got, want := tokenString(u), "urn:uuid:"+u.String(); got != want {
			t.Fatalf("tokenString(%v) = %q, want %q", u, got, want)
		}
	}
}

// TestNodePaths: nodes made by one ensure share a copy of its path; each still has its own
// path and name, and is found by them, whatever the length of the names around it.
func TestNodePaths(t *testing.T) {
	s := &System{root: &node{}}
	paths := []string{
		"/a/b/c", "/a/b/a-long-file-name-1", "/a/b/a-long-file-name-2", "/a", "/12345678/x",
		"/12345678x/y", "/a/b/c/d/e",
	}
	for _, p := range paths {
		s.ensure(p)
	}
	for _, p := range append(paths, "/a/b", "/a/b/c/d", "/12345678", "/12345678x") {
		n := s.find(p)
		if n == nil {
			t.Fatalf("find(%q) = nil", p)
		}
		if got := n.path(); got != p {
			t.Errorf("find(%q).path() = %q", p, got)
		}
		if got, want := n.name(), p[strings.LastIndexByte(p, '/')+1:]; got != want {
			t.Errorf("find(%q).name() = %q, want %q", p, got, want)
		}
	}
	for _, p := range []string{"/a/b/a-long-file-name-3", "/a/b/a-long-file-name-", "/1234567", "/a/c"} {
		if n := s.find(p); n != nil {
			t.Errorf("find(%q) = node %q, want nil", p, n.path())
		}
	}
	if got := s.root.path(); got != "/" {
		t.Errorf("root path %q, want /", got)
	}
}
