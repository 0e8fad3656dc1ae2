package rfc4918

import (
	"strconv"
	"strings"
	"testing"
)

func TestMemo(t *testing.T) {
	c := newMemo[int](3, 8)
	for i := range 3 {
		c.put("k"+strconv.Itoa(i), i)
	}
	if v, ok := c.getBytes([]byte("k2")); !ok || v != 2 {
		t.Errorf("getBytes(k2) = %d, %v; want 2, true", v, ok)
	}
	c.put("k3", 3) // full: forgets the others
	if _, ok := c.get("k0"); ok {
		t.Error("k0 still remembered past max entries")
	}
	if v, ok := c.get("k3"); !ok || v != 3 {
		t.Errorf("get(k3) = %d, %v; want 3, true", v, ok)
	}
	c.put("longer than 8", 9)
	if _, ok := c.get("longer than 8"); ok {
		t.Error("a key over maxKey was remembered")
	}
}

// A remembered parse answers what a fresh one does, and a body that fails is not remembered:
// it fails the same way every time.
func TestParseLockInfoRemembered(t *testing.T) {
	body := []byte(`<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner xmlns:x="urn:x"><x:who>memo test</x:who></D:owner></D:lockinfo>`)
	first, _, err := ParseLockInfo(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parsedLockInfo.getBytes(body); !ok {
		t.Fatal("a parsed body is not remembered")
	}
	again, _, err := ParseLockInfo(body)
	if err != nil || again != first {
		t.Errorf("second parse = %+v, %v; want %+v", again, err, first)
	}
	bad := []byte(strings.Replace(string(body), "<D:write/>", "<D:read/>", 1))
	for i := range 2 {
		if _, _, err := ParseLockInfo(bad); err == nil {
			t.Fatalf("parse #%d of a read lock succeeded", i)
		}
	}
	if _, ok := parsedLockInfo.getBytes(bad); ok {
		t.Error("a body that failed is remembered")
	}
	for _, owner := range []string{first.Owner, "<unclosed", "a & b"} {
		if got, want := ownerXML(owner), standaloneOwner(owner); got != want || ownerXML(owner) != want {
			t.Errorf("ownerXML(%q) = %q, want %q (as without the memo)", owner, got, want)
		}
	}
}
