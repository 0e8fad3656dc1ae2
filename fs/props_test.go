package fs

// Dead properties: RFC 4918 Section 4 (model) and Section 9.2 (PROPPATCH).

import (
	"encoding/xml"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"
)

func set(props ...webdav.Property) webdav.Proppatch { return webdav.Proppatch{Props: props} }
func remove(props ...webdav.Property) webdav.Proppatch {
	return webdav.Proppatch{Remove: true, Props: props}
}

func mustGet(t *testing.T, s PropStore, name string) map[xml.Name]webdav.Property {
	t.Helper()
	p, err := s.Get(name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return p
}

func mustPatch(t *testing.T, s PropStore, name string, patches ...webdav.Proppatch) []webdav.Propstat {
	t.Helper()
	st, err := s.Patch(name, patches)
	if err != nil {
		t.Fatalf("Patch(%q): %v", name, err)
	}
	return st
}

func TestOpenPropsErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "props.db")
	p, err := OpenProps(db, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if q, err := OpenProps(db, zerolog.Nop()); err == nil {
		q.Close()
		t.Fatal("second OpenProps of a file in use: got nil error")
	}
	if _, err := OpenProps(filepath.Join(t.TempDir(), "missing", "props.db"), zerolog.Nop()); err == nil {
		t.Fatal("OpenProps in a missing directory: got nil error")
	}
}

// TestBoltPropsGetSkipsBare: Get answers a path that has no properties
// without a bbolt transaction, and finds every path that has some, across
// changes and a reopen.
func TestBoltPropsGetSkipsBare(t *testing.T) {
	file := filepath.Join(t.TempDir(), "props.db")
	p, err := OpenProps(file, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close() }()
	v := func(s string) webdav.Proppatch { return set(prop(nsX, s)) }
	// check wants exactly the paths in has to have properties, and a read
	// transaction for those alone.
	check := func(step string, has ...string) {
		t.Helper()
		for _, n := range []string{"/", "/a", "/a/b", "/c", "/d", "/m", "/m/b", "/none"} {
			before := p.db.Stats().TxN
			got := mustGet(t, p, n) != nil
			txs := p.db.Stats().TxN - before
			want := slices.Contains(has, n)
			if got != want {
				t.Errorf("%s: Get(%s) found properties %v, want %v", step, n, got, want)
			}
			if wantTx := b2i(want); txs != wantTx {
				t.Errorf("%s: Get(%s) started %d read transactions, want %d", step, n, txs, wantTx)
			}
		}
	}
	check("empty")
	mustPatch(t, p, "/a", v("a"))
	mustPatch(t, p, "/a/b", v("b"))
	mustPatch(t, p, "/c", v("c"))
	check("patched", "/a", "/a/b", "/c")
	mustPatch(t, p, "/c", remove(prop(nsX, "")))
	check("last property removed", "/a", "/a/b")
	mustOK(t, p.Copy("/a", "/d"))
	check("copied", "/a", "/a/b", "/d")
	mustOK(t, p.Copy("/none", "/d"))
	check("copied nothing over", "/a", "/a/b")
	mustOK(t, p.Move("/a", "/m"))
	check("moved", "/m", "/m/b")
	mustOK(t, p.Close())
	if p, err = OpenProps(file, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	check("reopened", "/m", "/m/b")
	mustOK(t, p.RemoveTree("/m"))
	check("removed")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
