package fs

// Dead properties: RFC 4918 Section 4 (model) and Section 9.2 (PROPPATCH).

import (
	"encoding/xml"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

var propStores = []struct {
	name string
	open func(t *testing.T) PropStore
}{
	{"mem", func(t *testing.T) PropStore { return NewMemProps() }},
	{"bolt", func(t *testing.T) PropStore {
		p, err := OpenProps(filepath.Join(t.TempDir(), "props.db"), zerolog.New(zerolog.NewTestWriter(t)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}},
}

func forEachStore(t *testing.T, test func(t *testing.T, s PropStore)) {
	for _, ps := range propStores {
		t.Run(ps.name, func(t *testing.T) { test(t, ps.open(t)) })
	}
}

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

func props(ps ...webdav.Property) map[xml.Name]webdav.Property {
	if len(ps) == 0 {
		return nil
	}
	m := map[xml.Name]webdav.Property{}
	for _, p := range ps {
		m[p.XMLName] = p
	}
	return m
}

// TestPatchValues covers the litmus props cases: odd namespaces, high
// Unicode, XML-special characters, xml:lang, remove-then-set.
func TestPatchValues(t *testing.T) {
	odd := []webdav.Property{
		prop(xml.Name{Space: "http://example.com/neon/litmus/", Local: "prop0"}, "value0"),
		prop(xml.Name{Space: "", Local: "nonamespace"}, "bar"),
		prop(xml.Name{Space: "http://bar", Local: "valnspace"}, `<foo xmlns="http://bar">foo</foo>`),
		prop(xml.Name{Space: "http://example.com/neon/litmus/", Local: "high-unicode"}, "\U00010400"),
		prop(xml.Name{Space: "urn:x", Local: "special"}, "&lt;&amp;&gt;&quot;'<![CDATA[<x>]]>"),
		{XMLName: xml.Name{Space: "urn:x", Local: "lang"}, Lang: "en-GB", InnerXML: []byte("colour")},
	}
	forEachStore(t, func(t *testing.T, s PropStore) {
		st := mustPatch(t, s, "/r", set(odd...))
		if len(st) != 1 || st[0].Status != http.StatusOK || len(st[0].Props) != len(odd) {
			t.Fatalf("Patch: got %+v, want one 200 propstat naming %d props", st, len(odd))
		}
		if got, want := mustGet(t, s, "/r"), props(odd...); !reflect.DeepEqual(got, want) {
			t.Fatalf("Get: got %v, want %v", got, want)
		}
		p0 := odd[0]
		mustPatch(t, s, "/r", remove(p0), set(prop(p0.XMLName, "again")))
		if got := mustGet(t, s, "/r")[p0.XMLName]; string(got.InnerXML) != "again" {
			t.Fatalf("remove-then-set: got %q, want %q", got.InnerXML, "again")
		}
		mustPatch(t, s, "/r", set(prop(p0.XMLName, "twice")), remove(p0))
		if _, ok := mustGet(t, s, "/r")[p0.XMLName]; ok {
			t.Fatalf("set-then-remove: property still there")
		}
		st = mustPatch(t, s, "/r", remove(prop(xml.Name{Space: "urn:none", Local: "missing"}, "")))
		if len(st) != 1 || st[0].Status != http.StatusOK {
			t.Fatalf("removing a missing property: got %+v, want 200", st)
		}
		mustPatch(t, s, "/r", remove(odd[1:]...))
		if got := mustGet(t, s, "/r"); got != nil {
			t.Fatalf("all removed: got %v, want nil", got)
		}
	})
}

func TestPatchIsolatesCallers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s PropStore) {
		in := prop(nsX, "abc")
		mustPatch(t, s, "/r", set(in))
		in.InnerXML[0] = 'X'
		got := mustGet(t, s, "/r")
		got[nsX].InnerXML[1] = 'Y'
		if got := mustGet(t, s, "/r"); string(got[nsX].InnerXML) != "abc" {
			t.Fatalf("store shares memory with callers: got %q, want %q", got[nsX].InnerXML, "abc")
		}
	})
}

func TestPropTreeOps(t *testing.T) {
	p := func(v string) webdav.Property { return prop(nsX, v) }
	tests := []struct {
		name string
		op   func(s PropStore) error
		want map[string]string // path → value of nsX; absent = no props
	}{
		{"move", func(s PropStore) error { return s.Move("/a", "/m") },
			map[string]string{"/m": "a", "/m/b": "a/b", "/m/b/c": "a/b/c", "/ab": "ab", "/z": "z", "/z/y": "z/y"}},
		{"move over tree", func(s PropStore) error { return s.Move("/a/b", "/z") },
			map[string]string{"/a": "a", "/z": "a/b", "/z/c": "a/b/c", "/ab": "ab"}},
		{"move into own subtree", func(s PropStore) error { return s.Move("/z", "/z/y/x") },
			map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z/y/x": "z", "/z/y/x/y": "z/y"}},
		{"copy is name only", func(s PropStore) error { return s.Copy("/a", "/z") },
			map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z": "a", "/z/y": "z/y"}},
		{"copy of nothing clears", func(s PropStore) error { return s.Copy("/none", "/z") },
			map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z/y": "z/y"}},
		{"remove tree spares prefix sibling", func(s PropStore) error { return s.RemoveTree("/a") },
			map[string]string{"/ab": "ab", "/z": "z", "/z/y": "z/y"}},
		{"remove root", func(s PropStore) error { return s.RemoveTree("/") },
			map[string]string{}},
		{"unclean names", func(s PropStore) error { return s.RemoveTree("a/./b/../b/") },
			map[string]string{"/a": "a", "/ab": "ab", "/z": "z", "/z/y": "z/y"}},
	}
	all := []string{"/", "/a", "/a/b", "/a/b/c", "/ab", "/z", "/z/y", "/m", "/m/b", "/m/b/c", "/z/c", "/z/y/x", "/z/y/x/y", "/none"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, s PropStore) {
				for _, n := range []string{"/a", "/a/b", "/a/b/c", "/ab", "/z", "/z/y"} {
					mustPatch(t, s, n, set(p(n[1:])))
				}
				if err := tt.op(s); err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				for _, n := range all {
					got, want := "", tt.want[n]
					if m := mustGet(t, s, n); m != nil {
						got = string(m[nsX].InnerXML)
					}
					if got != want {
						t.Errorf("%s: %s holds %q, want %q", tt.name, n, got, want)
					}
				}
			})
		})
	}
}

func TestPropStoreRefusesNUL(t *testing.T) {
	forEachStore(t, func(t *testing.T, s PropStore) {
		_, err := s.Patch("/a\x00b", []webdav.Proppatch{set(prop(nsX, "v"))})
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("NUL in path: got %v, want ErrInvalidName", err)
		}
		_, err = s.Patch("/a", []webdav.Proppatch{set(prop(xml.Name{Space: "a\x00", Local: "b"}, "v"))})
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("NUL in namespace: got %v, want ErrInvalidName", err)
		}
		if got := mustGet(t, s, "/a"); got != nil {
			t.Errorf("refused patch left %v", got)
		}
	})
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

// DeadPropsOf reads the properties of a chunk of members at once (a PROPFIND listing, RFC 4918
// §9.1): those that have some, keyed by name, whatever the store, at the root and below it.
func TestDeadPropsOf(t *testing.T) {
	forEachStore(t, func(t *testing.T, s PropStore) {
		f := New(afero.NewMemMapFs(), s, zerolog.Nop())
		colour := webdav.Property{XMLName: xml.Name{Space: "urn:x", Local: "colour"}, InnerXML: []byte("red")}
		for _, p := range []string{"/a", "/d/b", "/d/c/e"} {
			if _, err := s.Patch(p, []webdav.Proppatch{set(colour)}); err != nil {
				t.Fatal(err)
			}
		}
		for dir, want := range map[string][]string{"/": {"a"}, "/d": {"b"}, "/e": nil} {
			got, err := f.DeadPropsOf(dir, []string{"a", "b", "c", "z"})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for n, props := range got {
				names = append(names, n)
				if string(props[colour.XMLName].InnerXML) != "red" {
					t.Errorf("%s/%s: %v, want colour red", dir, n, props)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Errorf("DeadPropsOf(%s) holds %q, want %q", dir, names, want)
			}
		}
	})
}
