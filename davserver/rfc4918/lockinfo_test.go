package rfc4918

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

func TestParseLockInfo(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantScope locksystem.Scope
		wantOwner string
	}{
		{"§9.10.7 exclusive with owner href", `<?xml version="1.0" encoding="utf-8" ?>
<D:lockinfo xmlns:D='DAV:'>
  <D:lockscope><D:exclusive/></D:lockscope>
  <D:locktype><D:write/></D:locktype>
  <D:owner>
    <D:href>http://example.org/~ejw/contact.html</D:href>
  </D:owner>
</D:lockinfo>`, locksystem.Exclusive,
			"\n    <href xmlns=\"DAV:\">http://example.org/~ejw/contact.html</href>\n  "},
		{"litmus: default namespace, text owner", `<?xml version="1.0" encoding="utf-8"?>
<lockinfo xmlns='DAV:'>
 <lockscope><shared/></lockscope>
<locktype><write/></locktype><owner>litmus test suite</owner>
</lockinfo>
`, locksystem.Shared, "litmus test suite"},
		{"no owner", `<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype><D:lockscope><D:shared/></D:lockscope></D:lockinfo>`,
			locksystem.Shared, ""},
		{"owner text escaped", `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>a &amp; b &lt;c&gt; <![CDATA[<d>]]></D:owner></D:lockinfo>`,
			locksystem.Exclusive, "a &amp; b &lt;c&gt; &lt;d&gt;"},
		{"owner prefix declared on the root keeps its namespace", `<D:lockinfo xmlns:D="DAV:" xmlns:Z="http://ns.example.com/z/"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><Z:person Z:role="editor" plain="p" xml:lang="en"><Z:name>Ann</Z:name><D:href>mailto:ann@example.com</D:href><empty/></Z:person></D:owner></D:lockinfo>`,
			locksystem.Exclusive,
			`<person xmlns="http://ns.example.com/z/" xmlns:a0="http://ns.example.com/z/" a0:role="editor" plain="p" xml:lang="en">` +
				`<name xmlns="http://ns.example.com/z/">Ann</name><href xmlns="DAV:">mailto:ann@example.com</href><empty xmlns=""/></person>`},
		{"default namespace inherited from the root", `<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype><owner><x:who xmlns:x="urn:x"><inner/></x:who></owner></lockinfo>`,
			locksystem.Exclusive, `<who xmlns="urn:x"><inner xmlns="DAV:"/></who>`},
		{"odd prefix for DAV:", `<ns0:lockinfo xmlns:ns0="DAV:"><ns0:lockscope><ns0:exclusive/></ns0:lockscope><ns0:locktype><ns0:write/></ns0:locktype><ns0:owner>me</ns0:owner></ns0:lockinfo>`,
			locksystem.Exclusive, "me"},
		{"unknown elements ignored (§17)", `<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:e"><E:extra><D:lockscope><D:shared/></D:lockscope></E:extra><D:lockscope><D:exclusive/></D:lockscope><D:future/><D:locktype><D:write/></D:locktype></D:lockinfo>`,
			locksystem.Exclusive, ""},
		{"comments and processing instructions ignored", `<!-- hi --><?pi x?><D:lockinfo xmlns:D="DAV:"><!-- c --><D:lockscope><D:exclusive/></D:lockscope><D:locktype><?pi?><D:write/></D:locktype><D:owner>a<!-- c -->b</D:owner></D:lockinfo><!-- after -->`,
			locksystem.Exclusive, "ab"},
		{"owner attribute values with quotes and newlines", "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:x a='say \"hi\"&#10;&amp;'/></D:owner></D:lockinfo>",
			locksystem.Exclusive, `<x xmlns="DAV:" a="say &quot;hi&quot;&#xA;&amp;"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			li, empty, err := ParseLockInfo([]byte(tt.body))
			if err != nil || empty {
				t.Fatalf("ParseLockInfo: empty=%v err=%v", empty, err)
			}
			if li.Scope != tt.wantScope {
				t.Errorf("scope = %v, want %v", li.Scope, tt.wantScope)
			}
			if li.Owner != tt.wantOwner {
				t.Errorf("owner\n got %q\nwant %q", li.Owner, tt.wantOwner)
			}
			checkStandalone(t, li.Owner)
		})
	}
}

// checkStandalone asserts owner is namespace-well-formed content without any enclosing
// declaration: it parses inside a bare element, both with encoding/xml and our own checks.
func checkStandalone(t *testing.T, owner string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader("<o>" + owner + "</o>"))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("owner %q does not parse standalone: %v", owner, err)
			break
		}
	}
	if got := ownerXML(owner); got != owner {
		t.Errorf("ownerXML(%q) = %q: not accepted as standalone content", owner, got)
	}
}

func TestParseLockInfoOwnerRoundTrip(t *testing.T) {
	// The re-serialized owner, embedded in a document with other prefixes, keeps its names.
	body := `<a:lockinfo xmlns:a="DAV:" xmlns:b="urn:b"><a:lockscope><a:exclusive/></a:lockscope><a:locktype><a:write/></a:locktype><a:owner><b:x b:k="v"><a:href>h</a:href></b:x></a:owner></a:lockinfo>`
	li, _, err := ParseLockInfo([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	doc := `<D:owner xmlns:D="DAV:" xmlns:b="urn:other">` + li.Owner + `</D:owner>`
	var names []xml.Name
	var attrs []xml.Attr
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name)
			for _, a := range se.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					attrs = append(attrs, a)
				}
			}
		}
	}
	want := []xml.Name{{Space: "DAV:", Local: "owner"}, {Space: "urn:b", Local: "x"}, {Space: "DAV:", Local: "href"}}
	if len(names) != len(want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, names[i], want[i])
		}
	}
	if len(attrs) != 1 || attrs[0].Name != (xml.Name{Space: "urn:b", Local: "k"}) || attrs[0].Value != "v" {
		t.Errorf("attributes = %v, want one {urn:b}k=v", attrs)
	}
}

func TestParseLockInfoEmpty(t *testing.T) {
	for _, body := range []string{"", " ", "\r\n", "\n\t \n"} {
		li, empty, err := ParseLockInfo([]byte(body))
		if err != nil || !empty || li != (LockInfo{}) {
			t.Errorf("ParseLockInfo(%q) = %+v, %v, %v; want empty refresh", body, li, empty, err)
		}
	}
}

func TestParseLockInfoErrors(t *testing.T) {
	const scope = `<D:lockscope><D:exclusive/></D:lockscope>`
	const write = `<D:locktype><D:write/></D:locktype>`
	wrap := func(inner string) string { return `<D:lockinfo xmlns:D="DAV:">` + inner + `</D:lockinfo>` }
	tests := []struct {
		name string
		body string
		want error
	}{
		{"not XML", "hello", errLockInfo},
		{"truncated", `<D:lockinfo xmlns:D="DAV:"><D:lockscope>`, errLockInfo},
		{"mismatched end tag", `<D:lockinfo xmlns:D="DAV:">` + scope + write + `</D:lockscope>`, errLockInfo},
		{"mismatched prefix in end tag", `<D:lockinfo xmlns:D="DAV:" xmlns:E="DAV:">` + scope + write + `</E:lockinfo>`, errLockInfo},
		{"root is not lockinfo", `<D:propfind xmlns:D="DAV:"/>`, errLockInfo},
		{"lockinfo without namespace", `<lockinfo><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>`, errLockInfo},
		{"lockinfo in another namespace", `<lockinfo xmlns="urn:not-dav"><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>`, errLockInfo},
		{"missing lockscope", wrap(write), errLockInfo},
		{"empty lockscope", wrap(`<D:lockscope/>` + write), errLockInfo},
		{"unknown lockscope", wrap(`<D:lockscope><D:public/></D:lockscope>` + write), errLockInfo},
		{"both scopes", wrap(`<D:lockscope><D:exclusive/><D:shared/></D:lockscope>` + write), errLockInfo},
		{"two lockscopes", wrap(scope + scope + write), errLockInfo},
		{"scope in the wrong namespace", `<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:e"><D:lockscope><E:exclusive/></D:lockscope>` + write + `</D:lockinfo>`, errLockInfo},
		{"missing locktype", wrap(scope), errLockInfo},
		{"empty locktype", wrap(scope + `<D:locktype/>`), errLockInfo},
		{"two locktypes", wrap(scope + write + write), errLockInfo},
		{"locktype not write", wrap(scope + `<D:locktype><D:read/></D:locktype>`), ErrLockType},
		{"locktype write in another namespace", `<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:e">` + scope + `<D:locktype><E:write/></D:locktype></D:lockinfo>`, ErrLockType},
		{"two owners", wrap(scope + write + `<D:owner>a</D:owner><D:owner>b</D:owner>`), errLockInfo},
		{"litmus: prefix bound to empty namespace", `<D:lockinfo xmlns:D="DAV:">` + scope + write + `<D:owner><bar:foo xmlns:bar=""/></D:owner></D:lockinfo>`, errLockInfo},
		{"empty namespace on the root", `<D:lockinfo xmlns:D="DAV:" xmlns:foo="">` + scope + write + `</D:lockinfo>`, errLockInfo},
		{"undeclared prefix", wrap(scope + write + `<D:owner><x:y/></D:owner>`), errLockInfo},
		{"undeclared prefix on the root", `<D:lockinfo>` + scope + write + `</D:lockinfo>`, errLockInfo},
		{"undeclared attribute prefix", wrap(scope + write + `<D:owner><D:y x:a="1"/></D:owner>`), errLockInfo},
		{"xml prefix rebound", `<D:lockinfo xmlns:D="DAV:" xmlns:xml="urn:x">` + scope + write + `</D:lockinfo>`, errLockInfo},
		{"xmlns prefix declared", `<D:lockinfo xmlns:D="DAV:" xmlns:xmlns="urn:x">` + scope + write + `</D:lockinfo>`, errLockInfo},
		{"XML namespace bound to another prefix", `<D:lockinfo xmlns:D="DAV:" xmlns:x="http://www.w3.org/XML/1998/namespace">` + scope + write + `</D:lockinfo>`, errLockInfo},
		{"element with xmlns prefix", wrap(scope + write + `<D:owner><xmlns:a/></D:owner>`), errLockInfo},
		{"duplicate attribute after resolution", `<D:lockinfo xmlns:D="DAV:" xmlns:p="urn:p" xmlns:q="urn:p">` + scope + write + `<D:owner><D:x p:a="1" q:a="2"/></D:owner></D:lockinfo>`, errLockInfo},
		{"two roots", wrap(scope+write) + wrap(scope+write), errLockInfo},
		{"text after the root", wrap(scope+write) + "junk", errLockInfo},
		{"text before the root", "junk" + wrap(scope+write), errLockInfo},
		{"undefined entity", wrap(scope + write + `<D:owner>&nbsp;</D:owner>`), errLockInfo},
		{"unsupported encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + wrap(scope+write), errLockInfo},
		{"invalid UTF-8", wrap(scope + write + "<D:owner>\xff</D:owner>"), errLockInfo},
		{"control character", wrap(scope + write + "<D:owner>\x01</D:owner>"), errLockInfo},
		{"only a comment", `<!-- nothing -->`, errLockInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			li, empty, err := ParseLockInfo([]byte(tt.body))
			if !errors.Is(err, tt.want) || empty {
				t.Errorf("ParseLockInfo = %+v, empty=%v, err=%v; want %v", li, empty, err, tt.want)
			}
			if tt.want == ErrLockType && errors.Is(err, errLockInfo) {
				t.Errorf("err = %v: a lock type error must not also be errLockInfo (it answers 422, not 400)", err)
			}
		})
	}
}

func TestParseLockInfoLimits(t *testing.T) {
	const head = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>`
	deep := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	t.Run("deep nesting outside the owner is read, not recursed", func(t *testing.T) {
		body := head + `<E:x xmlns:E="urn:e">` + deep(100000, "<E:y>", "</E:y>") + `</E:x></D:lockinfo>`
		if _, _, err := ParseLockInfo([]byte(body)); err != nil {
			t.Errorf("ParseLockInfo: %v", err)
		}
	})
	t.Run("owner at the limit", func(t *testing.T) {
		body := head + `<D:owner>` + strings.Repeat("x", maxOwner) + `</D:owner></D:lockinfo>`
		li, _, err := ParseLockInfo([]byte(body))
		if err != nil || len(li.Owner) != maxOwner {
			t.Errorf("ParseLockInfo: owner of %d bytes, %v; want %d bytes", len(li.Owner), err, maxOwner)
		}
	})
	t.Run("owner over the limit", func(t *testing.T) {
		body := head + `<D:owner>` + strings.Repeat("x", maxOwner+1) + `</D:owner></D:lockinfo>`
		if _, _, err := ParseLockInfo([]byte(body)); !errors.Is(err, errLockInfo) {
			t.Errorf("ParseLockInfo = %v, want errLockInfo", err)
		}
	})
	t.Run("owner amplified by namespace declarations", func(t *testing.T) {
		// 20 kB of body; each element would repeat the 1 kB namespace: 20 MB re-serialized.
		ns := "urn:" + strings.Repeat("n", 1000)
		body := `<D:lockinfo xmlns:D="DAV:" xmlns:L="` + ns + `">` + head[len(`<D:lockinfo xmlns:D="DAV:">`):] +
			`<D:owner>` + deep(2000, "<L:a>", "</L:a>") + `</D:owner></D:lockinfo>`
		if _, _, err := ParseLockInfo([]byte(body)); !errors.Is(err, errLockInfo) {
			t.Errorf("ParseLockInfo = %v, want errLockInfo", err)
		}
	})
}

// A body refused for its lock type (422) is still 400 when its XML is malformed further on, as
// it was when CheckXML ran before ParseLockInfo.
func TestParseLockInfoLockTypeThenMalformed(t *testing.T) {
	body := `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:locktype><D:read/></D:locktype><D:owner><x:y/></D:owner></D:lockinfo>`
	if _, _, err := ParseLockInfo([]byte(body)); !errors.Is(err, errLockInfo) || errors.Is(err, ErrLockType) {
		t.Errorf("ParseLockInfo = %v, want errLockInfo alone (undeclared prefix x)", err)
	}
	valid := strings.Replace(body, "<x:y/>", "<y/>", 1)
	if _, _, err := ParseLockInfo([]byte(valid)); !errors.Is(err, ErrLockType) {
		t.Errorf("ParseLockInfo = %v, want ErrLockType", err)
	}
}
