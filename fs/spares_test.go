package fs

import (
	"fmt"
	"slices"
	"testing"
)

func spareNames(sps []*spare) []string {
	var names []string
	for _, sp := range sps {
		names = append(names, sp.path+"/"+sp.name)
	}
	return names
}

// sp is a spare named name in the directory p, whose identity is ino (a test's stand-in).
func sp(ino uint64, p, name string) *spare {
	return &spare{id: dirID{ino: ino}, path: p, name: name}
}

// The pool gives a directory's most recent spare first, and evicts a
// directory's oldest past maxSparesPerDir and the pool's oldest past maxSpares.
func TestSparesPool(t *testing.T) {
	var s spares
	for i := range maxSparesPerDir {
		if ev := s.put(sp(1, "/a", fmt.Sprintf("s%d", i))); len(ev) != 0 {
			t.Fatalf("put %d into /a evicted %q", i, spareNames(ev))
		}
	}
	if ev := spareNames(s.put(sp(1, "/a", "extra"))); !slices.Equal(ev, []string{"/a/s0"}) {
		t.Fatalf("a full directory evicted %q, want [/a/s0]", ev)
	}
	if got, ok := s.take(dirID{ino: 1}); !ok || got.name != "extra" {
		t.Fatalf("take /a = %v, %v; want /a/extra", got, ok)
	}
	if _, ok := s.take(dirID{ino: 2}); ok {
		t.Fatal("take from a directory without spares succeeded")
	}
	var evicted []string
	for i := 0; s.order.Len() < maxSpares || len(evicted) == 0; i++ {
		evicted = append(evicted, spareNames(s.put(sp(uint64(100+i), fmt.Sprintf("/d%d", i), "s")))...)
	}
	if !slices.Equal(evicted, []string{"/a/s1"}) {
		t.Fatalf("a full pool evicted %q, want its oldest, [/a/s1]", evicted)
	}
	all := s.drain()
	if len(all) != maxSpares || s.order.Len() != 0 || len(s.byDir) != 0 {
		t.Fatalf("drain gave %d, left %d in order and %d directories; want %d, 0, 0",
			len(all), s.order.Len(), len(s.byDir), maxSpares)
	}
	// An upload that ends after Close keeps nothing: its spare comes straight back to be removed.
	if ev := spareNames(s.put(sp(3, "/late", "s"))); !slices.Equal(ev, []string{"/late/s"}) || s.order.Len() != 0 {
		t.Fatalf("put after drain evicted %q and left %d; want [/late/s] and none", ev, s.order.Len())
	}
}

// A directory made again at a path that had spares is another directory: it finds none of them.
func TestSparesByIdentity(t *testing.T) {
	var s spares
	s.put(sp(1, "/d", "s"))
	if _, ok := s.take(dirID{ino: 2}); ok {
		t.Fatal("a new directory at /d took the old /d's spare")
	}
	if got, ok := s.take(dirID{ino: 1}); !ok || got.name != "s" {
		t.Fatalf("take = %v, %v; want the spare s", got, ok)
	}
}

// A MOVE or DELETE of a collection drops the spares in it and below it, and no others.
func TestSparesDropUnder(t *testing.T) {
	var s spares
	for i, p := range []string{"/d", "/d/e", "/dd", "/x"} {
		s.put(sp(uint64(i+1), p, "s"))
	}
	got := spareNames(s.dropUnder("/d"))
	if !slices.Equal(got, []string{"/d/s", "/d/e/s"}) {
		t.Fatalf("dropUnder(/d) = %q, want [/d/s /d/e/s]", got)
	}
	if s.order.Len() != 2 || len(s.byDir) != 2 {
		t.Fatalf("left %d spares in %d directories, want 2 in 2", s.order.Len(), len(s.byDir))
	}
}
