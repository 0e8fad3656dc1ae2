package davfs

import (
	"fmt"
	"slices"
	"testing"
)

func spareNames(sps []*spare) []string {
	var names []string
	for _, sp := range sps {
		names = append(names, sp.name)
	}
	return names
}

// The pool gives a directory's most recent spare first, and evicts a
// directory's oldest past maxSparesPerDir and the pool's oldest past maxSpares.
func TestSparesPool(t *testing.T) {
	var s spares
	for i := range maxSparesPerDir {
		if ev := s.put(&spare{name: fmt.Sprintf("/a/s%d", i)}); len(ev) != 0 {
			t.Fatalf("put %d into /a evicted %q", i, spareNames(ev))
		}
	}
	if ev := spareNames(s.put(&spare{name: "/a/extra"})); !slices.Equal(ev, []string{"/a/s0"}) {
		t.Fatalf("a full directory evicted %q, want [/a/s0]", ev)
	}
	if sp, ok := s.take("/a"); !ok || sp.name != "/a/extra" {
		t.Fatalf("take /a = %v, %v; want /a/extra", sp, ok)
	}
	if _, ok := s.take("/b"); ok {
		t.Fatal("take from a directory without spares succeeded")
	}
	var evicted []string
	for i := 0; s.order.Len() < maxSpares || len(evicted) == 0; i++ {
		evicted = append(evicted, spareNames(s.put(&spare{name: fmt.Sprintf("/d%d/s", i)}))...)
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
	if ev := spareNames(s.put(&spare{name: "/late/s"})); !slices.Equal(ev, []string{"/late/s"}) || s.order.Len() != 0 {
		t.Fatalf("put after drain evicted %q and left %d; want [/late/s] and none", ev, s.order.Len())
	}
}
