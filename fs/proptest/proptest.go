// Package proptest is the conformance suite every fs.PropStore runs (the in-memory store,
// fs.BoltProps, fs/etcdprops), so that dead properties (RFC 4918 §4, PROPPATCH §9.2) behave the
// same whichever store holds them.
package proptest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs"
)

// Run runs the suite. open returns a new, empty store and arranges for it to be closed when
// the test ends (t.Cleanup); every subtest opens its own.
func Run(t *testing.T, open func(t *testing.T) fs.PropStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s fs.PropStore)
	}{
		{"patch values", testPatchValues},
		{"patch isolates callers", testPatchIsolatesCallers},
		{"refuses NUL", testRefusesNUL},
		{"move and copy onto themselves", testOntoThemselves},
		{"dead props of members", testDeadPropsOf},
		{"many properties", testManyProps},
		{"many properties, overlapping trees", testManyOverlapping},
		{"large values", testLargeValues},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
	for _, tt := range treeOps {
		t.Run("tree/"+tt.name, func(t *testing.T) { testTreeOp(t, open(t), tt.op, tt.want) })
	}
}

var nsX = xml.Name{Space: "http://example.com/ns", Local: "x"}

func prop(n xml.Name, inner string) webdav.Property {
	return webdav.Property{XMLName: n, InnerXML: []byte(inner)}
}

func set(props ...webdav.Property) webdav.Proppatch { return webdav.Proppatch{Props: props} }

func remove(props ...webdav.Property) webdav.Proppatch {
	return webdav.Proppatch{Remove: true, Props: props}
}

func get(t *testing.T, s fs.PropStore, name string) map[xml.Name]webdav.Property {
	t.Helper()
	p, err := s.Get(name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return p
}

func patch(t *testing.T, s fs.PropStore, name string, patches ...webdav.Proppatch) []webdav.Propstat {
	t.Helper()
	st, err := s.Patch(name, patches)
	if err != nil {
		t.Fatalf("Patch(%q): %v", name, err)
	}
	return st
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
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

// testPatchValues covers the litmus props cases: odd namespaces, high Unicode, XML-special
// characters, xml:lang, remove-then-set; and the one 200 propstat naming every property.
func testPatchValues(t *testing.T, s fs.PropStore) {
	odd := []webdav.Property{
		prop(xml.Name{Space: "http://example.com/neon/litmus/", Local: "prop0"}, "value0"),
		prop(xml.Name{Space: "", Local: "nonamespace"}, "bar"),
		prop(xml.Name{Space: "http://bar", Local: "valnspace"}, `<foo xmlns="http://bar">foo</foo>`),
		prop(xml.Name{Space: "http://example.com/neon/litmus/", Local: "high-unicode"}, "\U00010400"),
		prop(xml.Name{Space: "urn:x", Local: "special"}, "&lt;&amp;&gt;&quot;'<![CDATA[<x>]]>"),
		{XMLName: xml.Name{Space: "urn:x", Local: "lang"}, Lang: "en-GB", InnerXML: []byte("colour")},
	}
	st := patch(t, s, "/r", set(odd...))
	if len(st) != 1 || st[0].Status != http.StatusOK || len(st[0].Props) != len(odd) {
		t.Fatalf("Patch: got %+v, want one 200 propstat naming %d props", st, len(odd))
	}
	if got, want := get(t, s, "/r"), props(odd...); !reflect.DeepEqual(got, want) {
		t.Fatalf("Get: got %v, want %v", got, want)
	}
	p0 := odd[0]
	patch(t, s, "/r", remove(p0), set(prop(p0.XMLName, "again")))
	if got := get(t, s, "/r")[p0.XMLName]; string(got.InnerXML) != "again" {
		t.Fatalf("remove-then-set: got %q, want %q", got.InnerXML, "again")
	}
	patch(t, s, "/r", set(prop(p0.XMLName, "twice")), remove(p0))
	if _, ok := get(t, s, "/r")[p0.XMLName]; ok {
		t.Fatalf("set-then-remove: property still there")
	}
	patch(t, s, "/r", set(prop(p0.XMLName, "one")), set(prop(p0.XMLName, "two")))
	if got := get(t, s, "/r")[p0.XMLName]; string(got.InnerXML) != "two" {
		t.Fatalf("set twice: got %q, want %q", got.InnerXML, "two")
	}
	st = patch(t, s, "/r", remove(prop(xml.Name{Space: "urn:none", Local: "missing"}, "")))
	if len(st) != 1 || st[0].Status != http.StatusOK {
		t.Fatalf("removing a missing property: got %+v, want 200", st)
	}
	st = patch(t, s, "/r")
	if len(st) != 1 || st[0].Status != http.StatusOK || len(st[0].Props) != 0 {
		t.Fatalf("empty patch: got %+v, want one 200 propstat naming nothing", st)
	}
	patch(t, s, "/r", remove(odd...))
	if got := get(t, s, "/r"); got != nil {
		t.Fatalf("all removed: got %v, want nil", got)
	}
}

func testPatchIsolatesCallers(t *testing.T, s fs.PropStore) {
	in := prop(nsX, "abc")
	patch(t, s, "/r", set(in))
	in.InnerXML[0] = 'X'
	got := get(t, s, "/r")
	got[nsX].InnerXML[1] = 'Y'
	delete(got, nsX)
	if got := get(t, s, "/r"); string(got[nsX].InnerXML) != "abc" {
		t.Fatalf("store shares memory with callers: got %q, want %q", got[nsX].InnerXML, "abc")
	}
}

// testRefusesNUL: NUL separates the fields of stored keys, so no path or property name may
// hold one, and an empty local name is no name.
func testRefusesNUL(t *testing.T, s fs.PropStore) {
	patch(t, s, "/a", set(prop(nsX, "kept")))
	bad := "/a\x00b"
	_, err := s.Patch(bad, []webdav.Proppatch{set(prop(nsX, "v"))})
	calls := map[string]error{"Patch": err}
	_, calls["Get"] = s.Get(bad)
	calls["Move from"] = s.Move(bad, "/m")
	calls["Move to"] = s.Move("/a", bad)
	calls["Copy from"] = s.Copy(bad, "/c")
	calls["Copy to"] = s.Copy("/a", bad)
	calls["RemoveTree"] = s.RemoveTree(bad)
	for _, n := range []xml.Name{{Space: "a\x00", Local: "b"}, {Space: "a", Local: "b\x00"}, {Space: "a"}} {
		_, calls[fmt.Sprintf("Patch of property %q", n)] = s.Patch("/a", []webdav.Proppatch{
			set(prop(xml.Name{Space: "urn:y", Local: "first"}, "v")), set(prop(n, "v"))})
	}
	for call, err := range calls {
		if !errors.Is(err, fs.ErrInvalidName) {
			t.Errorf("%s with a NUL: got %v, want ErrInvalidName", call, err)
		}
	}
	if got := get(t, s, "/a"); !reflect.DeepEqual(got, props(prop(nsX, "kept"))) {
		t.Errorf("refused calls changed /a: %v", got)
	}
}

func testOntoThemselves(t *testing.T, s fs.PropStore) {
	patch(t, s, "/a", set(prop(nsX, "a")))
	patch(t, s, "/a/b", set(prop(nsX, "b")))
	ok(t, "Move onto itself", s.Move("/a", "/a/"))
	ok(t, "Copy onto itself", s.Copy("/a", "/a"))
	for n, want := range map[string]string{"/a": "a", "/a/b": "b"} {
		if got := string(get(t, s, n)[nsX].InnerXML); got != want {
			t.Errorf("%s holds %q, want %q", n, got, want)
		}
	}
}

var treeOps = []struct {
	name string
	op   func(s fs.PropStore) error
	want map[string]string // path → value of nsX; absent = no props
}{
	{"move", func(s fs.PropStore) error { return s.Move("/a", "/m") },
		map[string]string{"/m": "a", "/m/b": "a/b", "/m/b/c": "a/b/c", "/ab": "ab", "/z": "z", "/z/y": "z/y"}},
	{"move over tree", func(s fs.PropStore) error { return s.Move("/a/b", "/z") },
		map[string]string{"/a": "a", "/z": "a/b", "/z/c": "a/b/c", "/ab": "ab"}},
	{"move into own subtree", func(s fs.PropStore) error { return s.Move("/z", "/z/y/x") },
		map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z/y/x": "z", "/z/y/x/y": "z/y"}},
	{"move onto own ancestor", func(s fs.PropStore) error { return s.Move("/a/b", "/a") },
		map[string]string{"/a": "a/b", "/a/c": "a/b/c", "/ab": "ab", "/z": "z", "/z/y": "z/y"}},
	{"move to root", func(s fs.PropStore) error { return s.Move("/z", "/") },
		map[string]string{"/": "z", "/y": "z/y"}},
	{"copy is name only", func(s fs.PropStore) error { return s.Copy("/a", "/z") },
		map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z": "a", "/z/y": "z/y"}},
	{"copy of nothing clears", func(s fs.PropStore) error { return s.Copy("/none", "/z") },
		map[string]string{"/a": "a", "/a/b": "a/b", "/a/b/c": "a/b/c", "/ab": "ab", "/z/y": "z/y"}},
	{"remove tree spares prefix sibling", func(s fs.PropStore) error { return s.RemoveTree("/a") },
		map[string]string{"/ab": "ab", "/z": "z", "/z/y": "z/y"}},
	{"remove root", func(s fs.PropStore) error { return s.RemoveTree("/") },
		map[string]string{}},
	{"unclean names", func(s fs.PropStore) error { return s.RemoveTree("a/./b/../b/") },
		map[string]string{"/a": "a", "/ab": "ab", "/z": "z", "/z/y": "z/y"}},
}

// testTreeOp runs op on a tree where /a, /a/b, /a/b/c, /ab, /z and /z/y have nsX set to their
// own path, and compares every path op may touch with want.
func testTreeOp(t *testing.T, s fs.PropStore, op func(fs.PropStore) error, want map[string]string) {
	for _, n := range []string{"/a", "/a/b", "/a/b/c", "/ab", "/z", "/z/y"} {
		patch(t, s, n, set(prop(nsX, n[1:])))
	}
	ok(t, "op", op(s))
	all := []string{"/", "/y", "/a", "/a/b", "/a/b/c", "/a/c", "/ab", "/z", "/z/y", "/m", "/m/b", "/m/b/c",
		"/z/c", "/z/y/x", "/z/y/x/y", "/none"}
	for _, n := range all {
		got := ""
		if m := get(t, s, n); m != nil {
			got = string(m[nsX].InnerXML)
		}
		if got != want[n] {
			t.Errorf("%s holds %q, want %q", n, got, want[n])
		}
	}
}

// testDeadPropsOf: fs.FS.DeadPropsOf reads the properties of a chunk of members at once (a
// PROPFIND listing, RFC 4918 §9.1), through the store's batch read where it has one: those of
// the members named that have some, keyed by name, and nothing of their descendants or of
// siblings that share a prefix; at the root, below it, and for more members than one etcd
// transaction may read.
func testDeadPropsOf(t *testing.T, s fs.PropStore) {
	f := fs.New(afero.NewMemMapFs(), s, zerolog.Nop())
	colour := func(v string) webdav.Proppatch {
		return set(webdav.Property{XMLName: xml.Name{Space: "urn:x", Local: "colour"}, InnerXML: []byte(v)})
	}
	for _, p := range []string{"/a", "/d/b", "/d/bc", "/d/c/e", "/d/b/f", "/m/n299", "/m/n7", "/m/n150/x"} {
		patch(t, s, p, colour(p))
	}
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("n%d", i))
	}
	for _, tt := range []struct {
		dir   string
		names []string
		want  []string
	}{
		{"/", []string{"a", "b", "c", "d", "z"}, []string{"a"}},
		{"/d", []string{"a", "b", "c", "z"}, []string{"b"}},
		{"/d", []string{"bc", "c"}, []string{"bc"}},
		{"/e", []string{"a", "b"}, nil},
		{"/d", nil, nil},
		{"/m", many, []string{"n299", "n7"}},
	} {
		got, err := f.DeadPropsOf(tt.dir, tt.names)
		ok(t, "DeadPropsOf", err)
		var names []string
		for n, props := range got {
			names = append(names, n)
			want := strings.TrimSuffix(tt.dir, "/") + "/" + n
			if v := props[xml.Name{Space: "urn:x", Local: "colour"}]; string(v.InnerXML) != want || len(props) != 1 {
				t.Errorf("%s/%s: %v, want colour %s alone", tt.dir, n, props, want)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, tt.want) {
			t.Errorf("DeadPropsOf(%s, %d names) holds %q, want %q", tt.dir, len(tt.names), names, tt.want)
		}
	}
}

// manyProps are n properties, ns:p0 … ns:p(n-1), each valued tag/i.
func manyProps(ns, tag string, n int) []webdav.Property {
	var ps []webdav.Property
	for i := range n {
		ps = append(ps, prop(xml.Name{Space: ns, Local: fmt.Sprintf("p%d", i)}, fmt.Sprintf("%s/%d", tag, i)))
	}
	return ps
}

// testManyProps: a Move or Copy is not limited by how many properties it carries (etcd limits
// one transaction to 128 operations by default).
func testManyProps(t *testing.T, s fs.PropStore) {
	src := map[string][]webdav.Property{}
	for _, n := range []string{"/src", "/src/a", "/src/a/b", "/src/c"} {
		src[n] = manyProps("urn:src", n, 60)
		patch(t, s, n, set(src[n]...))
	}
	for _, n := range []string{"/dst", "/dst/a", "/dst/old"} {
		patch(t, s, n, set(manyProps("urn:dst", n, 70)...))
	}
	ok(t, "Move", s.Move("/src", "/dst"))
	for n, ps := range src {
		if got, want := get(t, s, n), props(ps...); got != nil {
			t.Errorf("%s still holds %d properties after Move", n, len(got))
		} else if got := get(t, s, "/dst"+n[len("/src"):]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d properties after Move, want the %d of %s", "/dst"+n[len("/src"):], len(got), len(want), n)
		}
	}
	if got := get(t, s, "/dst/old"); got != nil {
		t.Errorf("/dst/old kept %d properties of the replaced tree", len(got))
	}
	// A PROPPATCH may carry no more than one etcd transaction takes: the many are patched in
	// several.
	big, old := manyProps("urn:big", "big", 200), manyProps("urn:old", "old", 150)
	for i := 0; i < len(big); i += 100 {
		patch(t, s, "/big", set(big[i:i+100]...))
	}
	for i := 0; i < len(old); i += 75 {
		patch(t, s, "/copy", set(old[i:i+75]...))
	}
	ok(t, "Copy", s.Copy("/big", "/copy"))
	for _, n := range []string{"/big", "/copy"} {
		if got := get(t, s, n); !reflect.DeepEqual(got, props(big...)) {
			t.Errorf("%s: %d properties after Copy, want the %d of /big", n, len(got), len(big))
		}
	}
	ok(t, "RemoveTree", s.RemoveTree("/dst"))
	for n := range src {
		if got := get(t, s, "/dst"+n[len("/src"):]); got != nil {
			t.Errorf("%s: %d properties after RemoveTree", "/dst"+n[len("/src"):], len(got))
		}
	}
}

// testManyOverlapping: a Move of many properties into its own subtree, and back onto its
// ancestor, where each copy lands on a key whose property is still to be moved (the same
// property names at /o, /o/o and /o/o/o).
func testManyOverlapping(t *testing.T, s fs.PropStore) {
	levels := []string{"/o", "/o/o", "/o/o/o"}
	for _, n := range levels[:2] {
		for i := 0; i < 150; i += 75 {
			patch(t, s, n, set(manyProps("urn:o", n, 150)[i:i+75]...))
		}
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		for _, n := range append(levels, "/o/o/o/o") {
			got := get(t, s, n)
			if want[n] == "" {
				if got != nil {
					t.Errorf("%s: %s holds %d properties, want none", step, n, len(got))
				}
			} else if !reflect.DeepEqual(got, props(manyProps("urn:o", want[n], 150)...)) {
				t.Errorf("%s: %s holds %d properties, not the 150 of %s", step, n, len(got), want[n])
			}
		}
	}
	ok(t, "Move down", s.Move("/o", "/o/o"))
	check("moved down", map[string]string{"/o/o": "/o", "/o/o/o": "/o/o"})
	ok(t, "Move up", s.Move("/o/o", "/o"))
	check("moved up", map[string]string{"/o": "/o", "/o/o": "/o/o"})
}

// testLargeValues: a Move or Copy is not limited by the bytes it carries either (etcd refuses a
// request over 1.5 MiB by default), as long as each property fits alone.
func testLargeValues(t *testing.T, s fs.PropStore) {
	const size = 300 << 10
	var want []webdav.Property
	for i := range 8 {
		p := prop(xml.Name{Space: "urn:large", Local: fmt.Sprintf("v%d", i)}, strings.Repeat(string(rune('a'+i)), size))
		want = append(want, p)
		patch(t, s, fmt.Sprintf("/l/%d", i%2), set(p))
	}
	ok(t, "Move", s.Move("/l", "/k"))
	ok(t, "Copy", s.Copy("/k/0", "/c"))
	got := map[xml.Name]webdav.Property{}
	for _, n := range []string{"/k/0", "/k/1"} {
		for k, v := range get(t, s, n) {
			got[k] = v
		}
	}
	if !reflect.DeepEqual(got, props(want...)) {
		t.Errorf("after Move: %d properties under /k, want %d", len(got), len(want))
	}
	if got, want := get(t, s, "/c"), get(t, s, "/k/0"); len(got) != 4 || !reflect.DeepEqual(got, want) {
		t.Errorf("after Copy: /c holds %d properties, want the 4 of /k/0", len(got))
	}
}
