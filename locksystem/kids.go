package locksystem

// A node's children, by name. Every check looks up one child per path segment, and with a
// million locks in a tree of a thousand directories of a thousand files each lookup in a Go
// map[string]*node costs three cache misses before reaching the child: the map's control word,
// its slot, and the stored key's bytes, compared with the segment. Here a slot holds the name's
// hash beside the child, so one miss finds the child, and the child holds its name's first 8
// bytes, so a short name is confirmed without reading the name's own bytes. Slots are also
// smaller than a map's (no key string).
//
// This table stands in for a map only while it earns it: BenchmarkCheck at locks=1000000
// (the checks' 2 µs target) and BenchmarkCreate's heap-bytes/lock (the 300-byte target),
// run against a map[string]*node in alternating test binaries, must show it ahead by 5 % or
// more. The commit that last measured it says by how much.

import (
	"hash/maphash"
	"iter"
)

var kidSeed = maphash.MakeSeed()

// kidSlot is one slot of an open-addressed table; n is nil in an empty one.
type kidSlot struct {
	hash uint64
	n    *node
}

// kids is a set of nodes by name: linear probing in a power-of-two table at most 3/4 full,
// with backward-shift deletion, so there are no tombstones.
type kids struct {
	slots []kidSlot
	len   int
}

// nameHead packs the first 8 bytes of a name, zero-padded: with the length, it tells a name of
// up to 8 bytes exactly.
func nameHead(name string) uint64 {
	var h uint64
	for i := 0; i < len(name) && i < 8; i++ {
		h |= uint64(name[i]) << (8 * i)
	}
	return h
}

// is reports whether n, a child of a node whose path has length plen, is named name, whose head
// is head. The length comes from n's path header, so a name of up to 8 bytes is confirmed
// without reading the path's bytes.
func (n *node) is(name string, head uint64, plen int) bool {
	size := len(n.full) - plen - 1
	return n.head == head && size == len(name) &&
		(len(name) <= 8 || n.full[len(n.full)-size+8:] == name[8:])
}

// child returns n's child named name, or nil.
func (n *node) child(name string) *node {
	k := n.kids
	if k == nil {
		return nil
	}
	h, head := maphash.String(kidSeed, name), nameHead(name)
	mask := uint64(len(k.slots) - 1) //nolint:gosec // len is a power of two, at least 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := &k.slots[i]
		if s.n == nil {
			return nil
		}
		if s.hash == h && s.n.is(name, head, len(n.full)) {
			return s.n
		}
	}
}

// addChild adds c, which n has no child of c's name yet.
func (n *node) addChild(c *node) {
	if n.kids == nil {
		n.kids = &kids{slots: make([]kidSlot, 2)}
	}
	k := n.kids
	if 4*(k.len+1) > 3*len(k.slots) {
		k.resize(2 * len(k.slots))
	}
	k.put(kidSlot{hash: maphash.String(kidSeed, c.name()), n: c})
	k.len++
}

// put stores s in the first free slot of its probe sequence.
func (k *kids) put(s kidSlot) {
	mask := uint64(len(k.slots) - 1) //nolint:gosec // len is a power of two, at least 1
	i := s.hash & mask
	for k.slots[i].n != nil {
		i = (i + 1) & mask
	}
	k.slots[i] = s
}

func (k *kids) resize(size int) {
	old := k.slots
	k.slots = make([]kidSlot, size)
	for _, s := range old {
		if s.n != nil {
			k.put(s)
		}
	}
}

// removeChild takes c out of n's children, and shrinks a table left mostly empty: a directory
// whose million locks are gone should not keep their table.
func (n *node) removeChild(c *node) {
	k := n.kids
	mask := uint64(len(k.slots) - 1) //nolint:gosec // len is a power of two, at least 1
	h := maphash.String(kidSeed, c.name())
	i := h & mask
	for k.slots[i].n != c {
		i = (i + 1) & mask
	}
	// Backward shift: move up each later slot of the run that may sit at i, so that every
	// remaining child stays reachable from its home slot.
	for j := (i + 1) & mask; k.slots[j].n != nil; j = (j + 1) & mask {
		home := k.slots[j].hash & mask
		if (j-home)&mask >= (j-i)&mask {
			k.slots[i] = k.slots[j]
			i = j
		}
	}
	k.slots[i] = kidSlot{}
	k.len--
	switch {
	case k.len == 0:
		n.kids = nil
	case len(k.slots) > 8 && 8*k.len < len(k.slots):
		k.resize(len(k.slots) / 2)
	}
}

// children yields n's children; the loop must not add or remove children of n.
func (n *node) children() iter.Seq[*node] {
	return func(yield func(*node) bool) {
		if n.kids == nil {
			return
		}
		for _, s := range n.kids.slots {
			if s.n != nil && !yield(s.n) {
				return
			}
		}
	}
}

// numKids is how many children n has.
func (n *node) numKids() int {
	if n.kids == nil {
		return 0
	}
	return n.kids.len
}
