package rfc4918

// Native fuzz targets for every request parser (RFC 4918 §10 headers, §14.11 lockinfo). Seed
// corpora live in testdata/fuzz/<target>/; `go test -run '^$' -fuzz '^FuzzIf$' ./davserver/rfc4918/`
// runs one. Each target checks properties that hold for any input, never specific outputs.

import (
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// formatIf writes h back in the §10.4.2 syntax.
func formatIf(h If) string {
	var b strings.Builder
	tag := ""
	for _, l := range h.lists {
		if l.tag != tag {
			b.WriteString("<" + l.tag + "> ")
			tag = l.tag
		}
		b.WriteString("(")
		for i, c := range l.conds {
			if i > 0 {
				b.WriteString(" ")
			}
			if c.not {
				b.WriteString("Not ")
			}
			if c.token != "" {
				b.WriteString("<" + c.token + ">")
			} else {
				b.WriteString("[" + c.etag + "]")
			}
		}
		b.WriteString(") ")
	}
	return b.String()
}

func FuzzIf(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseIf(s)
		if err != nil {
			if !errors.Is(err, errIfSyntax) {
				t.Fatalf("ParseIf(%q) error %v is not errIfSyntax", s, err)
			}
			return
		}
		checkIfShape(t, s, h)
		again, err := ParseIf(formatIf(h))
		if err != nil || !reflect.DeepEqual(again, h) {
			t.Fatalf("ParseIf(%q) = %+v; formatted %q re-parses as %+v, %v", s, h, formatIf(h), again, err)
		}
		for _, tok := range h.Tokens() {
			if !strings.Contains(s, "<"+tok+">") {
				t.Errorf("token %q is not in the header %q", tok, s)
			}
		}
		for _, tag := range h.tags() {
			if !strings.Contains(s, "<"+tag+">") {
				t.Errorf("tag %q is not in the header %q", tag, s)
			}
			TagPath(tag, "http", "example.com")
		}
		// Evaluation is total: whatever the resources, it answers.
		h.Eval(func(string) (Resource, bool) {
			return Resource{Exists: true, ETag: `"x"`, HasLock: func(string) bool { return true }}, true
		})
		h.Eval(func(string) (Resource, bool) { return Resource{}, true })
	})
}

// checkIfShape asserts the parse result's invariants: lists are non-empty, each condition is
// exactly one of a token or an entity tag, and tagged and untagged lists do not mix.
func checkIfShape(t *testing.T, s string, h If) {
	t.Helper()
	if len(h.lists) == 0 {
		t.Fatalf("ParseIf(%q) returned no lists and no error", s)
	}
	for _, l := range h.lists {
		if (l.tag == "") != (h.lists[0].tag == "") {
			t.Fatalf("ParseIf(%q) mixes tagged and untagged lists", s)
		}
		if len(l.conds) == 0 {
			t.Fatalf("ParseIf(%q) returned an empty list", s)
		}
		for _, c := range l.conds {
			if (c.token == "") == (c.etag == "") {
				t.Fatalf("ParseIf(%q): condition %+v is not exactly one of token and etag", s, c)
			}
			if c.etag != "" && (!strings.HasSuffix(c.etag, `"`) || len(strings.TrimPrefix(c.etag, "W/")) < 2) {
				t.Fatalf("ParseIf(%q): malformed entity tag %q", s, c.etag)
			}
		}
	}
}

func FuzzTimeout(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeout(s)
		switch {
		case err != nil:
			if !errors.Is(err, errBadTimeout) || d != 0 {
				t.Fatalf("ParseTimeout(%q) = %v, %v", s, d, err)
			}
		case d == 0:
			if strings.TrimSpace(s) != "" {
				t.Fatalf("ParseTimeout(%q) = 0 (not given) for a non-empty header", s)
			}
		case d == locksystem.Infinite:
		case d < time.Second || d%time.Second != 0:
			t.Fatalf("ParseTimeout(%q) = %v: not a positive whole number of seconds", s, d)
		}
	})
}

func FuzzDepth(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDepth(s)
		if err != nil {
			if !errors.Is(err, errBadDepth) {
				t.Fatalf("ParseDepth(%q) error %v is not errBadDepth", s, err)
			}
			return
		}
		if d != 0 && d != 1 && d != -1 {
			t.Fatalf("ParseDepth(%q) = %d", s, d)
		}
	})
}

func FuzzLockToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseLockToken(s)
		if err != nil {
			if !errors.Is(err, errBadLockToken) {
				t.Fatalf("ParseLockToken(%q) error %v is not errBadLockToken", s, err)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, "<> \t\r\n") || !strings.Contains(s, tok) {
			t.Fatalf("ParseLockToken(%q) = %q", s, tok)
		}
		if again, err := ParseLockToken("<" + tok + ">"); err != nil || again != tok {
			t.Fatalf("ParseLockToken(<%s>) = %q, %v; want the same token", tok, again, err)
		}
		// A token the Lock-Token header accepts is also a state token the If header accepts.
		if _, err := ParseIf("(<" + tok + ">)"); err != nil {
			t.Fatalf("If header refuses lock token %q: %v", tok, err)
		}
	})
}

func FuzzDestination(f *testing.F) {
	f.Fuzz(func(t *testing.T, dest, host string) {
		p, err := ParseDestination(dest, "http", host)
		if err != nil {
			if !errors.Is(err, errBadDestination) && !errors.Is(err, ErrForeignDestination) {
				t.Fatalf("ParseDestination(%q, %q) error %v is neither bad nor foreign", dest, host, err)
			}
			return
		}
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsFunc(p, isControl) {
			t.Fatalf("ParseDestination(%q, %q) = %q: not a clean absolute path", dest, host, p)
		}
		for seg := range strings.SplitSeq(p, "/") {
			if seg == ".." {
				t.Fatalf("ParseDestination(%q, %q) = %q: has a .. segment", dest, host, p)
			}
		}
		// An If header's resource tag resolves as the same Destination would (a tag comes from
		// between <>, so without the surrounding whitespace a header value may have).
		if tp, ok := TagPath(strings.TrimSpace(dest), "http", host); !ok || tp != p {
			t.Fatalf("TagPath(%q, %q) = %q, %v; ParseDestination gave %q", dest, host, tp, ok, p)
		}
	})
}

func FuzzLockInfo(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		li, empty, err := ParseLockInfo(body)
		if err != nil {
			if !errors.Is(err, errLockInfo) && !errors.Is(err, ErrLockType) {
				t.Fatalf("ParseLockInfo(%q) error %v is neither errLockInfo nor ErrLockType", body, err)
			}
			return
		}
		if empty {
			if strings.TrimSpace(string(body)) != "" {
				t.Fatalf("ParseLockInfo(%q) says empty", body)
			}
			return
		}
		if li.Scope != locksystem.Exclusive && li.Scope != locksystem.Shared {
			t.Fatalf("ParseLockInfo(%q) scope %v", body, li.Scope)
		}
		// The owner stands alone, and is a fixed point: parsed again inside another lockinfo
		// with other prefixes in scope, it comes back unchanged.
		if got := ownerXML(li.Owner); got != li.Owner {
			t.Fatalf("owner %q of %q is not standalone XML (ownerXML gives %q)", li.Owner, body, got)
		}
		again := `<x:lockinfo xmlns:x="DAV:" xmlns:z="urn:z"><x:lockscope><x:shared/></x:lockscope>` +
			`<x:locktype><x:write/></x:locktype><x:owner>` + li.Owner + `</x:owner></x:lockinfo>`
		li2, _, err := ParseLockInfo([]byte(again))
		if err != nil || li2.Owner != li.Owner {
			t.Fatalf("owner %q does not survive a second parse: %q, %v", li.Owner, li2.Owner, err)
		}
	})
}
