package rfc4918

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	tokA = "urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2"
	tokB = "urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092"
)

func TestParseIf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want If
	}{
		{"§10.4.6 no-tag production", `(<` + tokA + `> ["I am an ETag"]) (["I am another ETag"])`,
			If{[]ifList{
				{conds: []ifCond{{token: tokA}, {etag: `"I am an ETag"`}}},
				{conds: []ifCond{{etag: `"I am another ETag"`}}},
			}}},
		{"§10.4.7 Not with no-tag production", `(Not <` + tokA + `> <` + tokB + `>)`,
			If{[]ifList{{conds: []ifCond{{not: true, token: tokA}, {token: tokB}}}}}},
		{"§10.4.8 always true", `(<` + tokA + `>) (Not <DAV:no-lock>)`,
			If{[]ifList{
				{conds: []ifCond{{token: tokA}}},
				{conds: []ifCond{{not: true, token: "DAV:no-lock"}}},
			}}},
		{"§10.4.9 tagged list in COPY", `</resource1> (<` + tokA + `> [W/"A weak ETag"]) (["strong ETag"])`,
			If{[]ifList{
				{tag: "/resource1", conds: []ifCond{{token: tokA}, {etag: `W/"A weak ETag"`}}},
				{tag: "/resource1", conds: []ifCond{{etag: `"strong ETag"`}}},
			}}},
		{"§10.4.10 collection lock", `<http://www.example.com/specs/> (<` + tokA + `>)`,
			If{[]ifList{{tag: "http://www.example.com/specs/", conds: []ifCond{{token: tokA}}}}}},
		{"§10.4.11 etag on unmapped URL", `</specs/rfc2518.doc> (["4217"])`,
			If{[]ifList{{tag: "/specs/rfc2518.doc", conds: []ifCond{{etag: `"4217"`}}}}}},
		{"§10.4.11 Not etag on unmapped URL", `</specs/rfc2518.doc> (Not ["4217"])`,
			If{[]ifList{{tag: "/specs/rfc2518.doc", conds: []ifCond{{not: true, etag: `"4217"`}}}}}},
		{"§7.5.1 write lock and COPY", `<http://www.example.com/users/f/fielding/index.html> (<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>)`,
			If{[]ifList{{tag: "http://www.example.com/users/f/fielding/index.html",
				conds: []ifCond{{token: "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}}}}}},
		{"§7.5.2 deleting a member of a locked collection", `</locked/> (<urn:uuid:150852e2-3847-42d5-8cbe-0f4f296f26cf>)`,
			If{[]ifList{{tag: "/locked/", conds: []ifCond{{token: "urn:uuid:150852e2-3847-42d5-8cbe-0f4f296f26cf"}}}}}},
		{"§9.10.8 refreshing a write lock", `(<urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4>)`,
			If{[]ifList{{conds: []ifCond{{token: "urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4"}}}}}},
		{"two tags, several lists each", `</a> (<` + tokA + `>) (["x"]) <http://h/b> (Not <` + tokB + `>)`,
			If{[]ifList{
				{tag: "/a", conds: []ifCond{{token: tokA}}},
				{tag: "/a", conds: []ifCond{{etag: `"x"`}}},
				{tag: "http://h/b", conds: []ifCond{{not: true, token: tokB}}},
			}}},
		{"tabs and extra spaces", "\t (  Not\t<" + tokA + ">\t[\"e\"] )\t(<" + tokB + ">)  ",
			If{[]ifList{
				{conds: []ifCond{{not: true, token: tokA}, {etag: `"e"`}}},
				{conds: []ifCond{{token: tokB}}},
			}}},
		{"no spaces at all", `(<` + tokA + `>["e"])(Not<` + tokB + `>)`,
			If{[]ifList{
				{conds: []ifCond{{token: tokA}, {etag: `"e"`}}},
				{conds: []ifCond{{not: true, token: tokB}}},
			}}},
		{"Not is case-insensitive (RFC 5234 §2.3)", `(NOT <` + tokA + `>) (not ["e"])`,
			If{[]ifList{
				{conds: []ifCond{{not: true, token: tokA}}},
				{conds: []ifCond{{not: true, etag: `"e"`}}},
			}}},
		{"etag with brackets and parens inside the quotes", `(["a]b)(c"])`,
			If{[]ifList{{conds: []ifCond{{etag: `"a]b)(c"`}}}}}},
		{"empty etag", `([""])`, If{[]ifList{{conds: []ifCond{{etag: `""`}}}}}},
		{"quoted-pair in etag (RFC 2616 §2.2)", `(["a\"b"] ["c\\"])`,
			If{[]ifList{{conds: []ifCond{{etag: `"a\"b"`}, {etag: `"c\\"`}}}}}},
		{"litmus opaquelocktoken", `(<opaquelocktoken:14a89d48-5ba4-11d8-8fa9-00e08161165f>)`,
			If{[]ifList{{conds: []ifCond{{token: "opaquelocktoken:14a89d48-5ba4-11d8-8fa9-00e08161165f"}}}}}},
		{"tag with query", `</a?b=c> (["x"])`, If{[]ifList{{tag: "/a?b=c", conds: []ifCond{{etag: `"x"`}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIf(tt.in)
			if err != nil {
				t.Fatalf("ParseIf(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseIf(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseIfErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"spaces only", "   "},
		{"bare word token (x/net accepts it)", `(foo)`},
		{"bare word list", `foo`},
		{"empty list", `()`},
		{"unclosed list", `(<` + tokA + `>`},
		{"unclosed angle", `(<` + tokA + `)`},
		{"unclosed etag", `(["abc)`},
		{"etag without quotes", `([abc])`},
		{"etag with space inside brackets", `([ "abc" ])`},
		{"weak etag, lower-case w", `([w/"abc"])`},
		{"token not an absolute URI", `(<foo>)`},
		{"empty token", `(<>)`},
		{"token with space", `(<urn:uuid:a b>)`},
		{"Not without condition", `(Not)`},
		{"Not twice", `(Not Not <` + tokA + `>)`},
		{"Notx", `(Notx <` + tokA + `>)`},
		{"tag without list", `</a>`},
		{"tag followed by tag", `</a> </b> (<` + tokA + `>)`},
		{"trailing tag", `</a> (<` + tokA + `>) </b>`},
		{"untagged then tagged", `(<` + tokA + `>) </a> (<` + tokB + `>)`},
		{"tagged then untagged is fine, but a relative tag is not", `<a> (<` + tokA + `>)`},
		{"network-path tag", `<//host/a> (<` + tokA + `>)`},
		{"garbage after lists", `(<` + tokA + `>) x`},
		{"stray close paren", `)(<` + tokA + `>)`},
		{"nested list", `((<` + tokA + `>))`},
		{"control character in etag", "([\"a\x01\"])"},
		{"NUL in token", "(<urn:a\x00b>)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIf(tt.in)
			if !errors.Is(err, errIfSyntax) {
				t.Errorf("ParseIf(%q) = %+v, %v; want errIfSyntax", tt.in, got, err)
			}
		})
	}
}

// fakeResources describes resources for eval: by tag ("" is the Request-URI); a missing tag is
// a resource on another server.
type fakeResource struct {
	exists bool
	etag   string
	locks  []string
}

func fakeResources(rs map[string]fakeResource) func(string) (Resource, bool) {
	return func(tag string) (Resource, bool) {
		r, ok := rs[tag]
		if !ok {
			return Resource{}, false
		}
		return Resource{Exists: r.exists, ETag: r.etag, HasLock: func(tok string) bool {
			return slices.Contains(r.locks, tok)
		}}, true
	}
}

func TestIfEval(t *testing.T) {
	locked := map[string]fakeResource{"": {exists: true, etag: `"e1"`, locks: []string{tokA}}}
	free := map[string]fakeResource{"": {exists: true, etag: `"e1"`}}
	weak := map[string]fakeResource{"": {exists: true, etag: `W/"e1"`}}
	unmapped := map[string]fakeResource{"": {}}
	unmappedLocked := map[string]fakeResource{"": {locks: []string{tokA}}}
	tagged := map[string]fakeResource{
		"":           {exists: true, etag: `"req"`},
		"/resource1": {exists: true, etag: `"strong ETag"`, locks: []string{tokA}},
	}
	tests := []struct {
		name      string
		header    string
		resources map[string]fakeResource
		want      bool
	}{
		{"§10.4.3 token held", `(<` + tokA + `>)`, locked, true},
		{"token not held", `(<` + tokB + `>)`, locked, false},
		{"token on a free resource", `(<` + tokA + `>)`, free, false},
		{"AND: token and matching etag", `(<` + tokA + `> ["e1"])`, locked, true},
		{"AND: token and other etag", `(<` + tokA + `> ["e2"])`, locked, false},
		{"OR: second list true", `(<` + tokB + `>) (["e1"])`, locked, true},
		{"OR: no list true", `(<` + tokB + `>) (["e2"])`, locked, false},
		{"Not token held", `(Not <` + tokA + `>)`, locked, false},
		{"Not token not held", `(Not <` + tokB + `>)`, locked, true},
		{"Not etag matching", `(Not ["e1"])`, locked, false},
		{"Not etag other", `(Not ["e2"])`, locked, true},
		{"§10.4.7 Not A and B, B not held", `(Not <` + tokA + `> <` + tokB + `>)`, locked, false},
		{"§10.4.7 Not B and A", `(Not <` + tokB + `> <` + tokA + `>)`, locked, true},
		{"§10.4.8 DAV:no-lock never matches", `(<DAV:no-lock>)`, locked, false},
		{"§10.4.8 Not DAV:no-lock always true", `(<` + tokB + `>) (Not <DAV:no-lock>)`, free, true},
		{"litmus fail_complex_cond_put", `(<` + tokA + `> ["e2"]) (Not <DAV:no-lock> ["e2"])`, locked, false},
		{"litmus complex_cond_put", `(<` + tokA + `> ["e1"]) (Not <DAV:no-lock> ["e1"])`, locked, true},
		{"litmus cond_put_corrupt_token", `(<` + tokA + `x>)`, locked, false},
		{"weak comparison: W/ tag vs strong etag", `([W/"e1"])`, free, true},
		{"weak comparison: strong tag vs W/ etag", `(["e1"])`, weak, true},
		{"weak comparison: W/ vs W/", `([W/"e1"])`, weak, true},
		{"weak comparison: different opaque tags", `([W/"e2"])`, weak, false},
		{"§10.4.11 etag on unmapped URL is false", `(["e1"])`, map[string]fakeResource{"": {etag: `"e1"`}}, false},
		{"§10.4.11 Not etag on unmapped URL is true", `(Not ["4217"])`, unmapped, true},
		{"token covering an unmapped URL (§7.3)", `(<` + tokA + `>)`, unmappedLocked, true},
		{"§10.4.9 tagged list: token and weak etag on the tag", `</resource1> (<` + tokA + `> [W/"A weak ETag"]) (["strong ETag"])`, tagged, true},
		{"tagged list evaluated against the tag, not the Request-URI", `</resource1> (["req"])`, tagged, false},
		{"tag on another server: that list is false", `<http://elsewhere/x> (Not <DAV:no-lock>)`, tagged, false},
		{"tag on another server, another list true", `<http://elsewhere/x> (Not <DAV:no-lock>) </resource1> (<` + tokA + `>)`, tagged, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseIf(tt.header)
			if err != nil {
				t.Fatalf("ParseIf(%q): %v", tt.header, err)
			}
			if got := h.Eval(fakeResources(tt.resources)); got != tt.want {
				t.Errorf("eval(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestIfEvalNilHasLock(t *testing.T) {
	h, err := ParseIf(`(<` + tokA + `>) (Not <` + tokB + `>)`)
	if err != nil {
		t.Fatal(err)
	}
	got := h.Eval(func(string) (Resource, bool) { return Resource{Exists: true}, true })
	if !got {
		t.Errorf("eval with nil hasLock = false, want true (second list: Not a token that is not held)")
	}
}

func TestIfEvalResolvesEachTagOnce(t *testing.T) {
	h, err := ParseIf(`</a> (["1"]) (["2"]) </b> (["3"]) </a> (["4"])`)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	got := h.Eval(func(tag string) (Resource, bool) {
		calls[tag]++
		return Resource{Exists: true, ETag: `"4"`}, true
	})
	if !got {
		t.Errorf("eval = false, want true (last list matches)")
	}
	if calls["/a"] != 1 || calls["/b"] != 1 || len(calls) != 2 {
		t.Errorf("resource calls = %v, want one per distinct tag", calls)
	}
}

func TestIfTokensAndTags(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantTokens []string
		wantTags   []string
	}{
		{"§10.4.6", `(<` + tokA + `> ["I am an ETag"]) (["I am another ETag"])`, []string{tokA}, nil},
		{"§10.4.7 negated token is not submitted", `(Not <` + tokA + `> <` + tokB + `>)`, []string{tokB}, nil},
		{"§10.4.8 DAV:no-lock is not a lock token", `(<` + tokA + `>) (Not <DAV:no-lock>) (<DAV:no-lock>)`, []string{tokA}, nil},
		{"duplicates once, in order", `</a> (<` + tokB + `>) </b> (<` + tokA + `>) </a> (<` + tokB + `> <` + tokA + `>)`,
			[]string{tokB, tokA}, []string{"/a", "/b"}},
		{"etags only", `(["x"]) ([W/"y"])`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseIf(tt.in)
			if err != nil {
				t.Fatalf("ParseIf(%q): %v", tt.in, err)
			}
			if got := h.Tokens(); !reflect.DeepEqual(got, tt.wantTokens) {
				t.Errorf("tokens() = %q, want %q", got, tt.wantTokens)
			}
			if got := h.tags(); !reflect.DeepEqual(got, tt.wantTags) {
				t.Errorf("tags() = %q, want %q", got, tt.wantTags)
			}
		})
	}
}

func TestTagPath(t *testing.T) {
	tests := []struct {
		tag, host string
		want      string
		wantOK    bool
	}{
		{"/specs/rfc2518.doc", "www.example.com", "/specs/rfc2518.doc", true},
		{"http://www.example.com/specs/", "www.example.com", "/specs", true},
		{"http://WWW.Example.com:80/specs/", "www.example.com", "/specs", true},
		{"https://www.example.com/a", "www.example.com:443", "/a", true},
		{"http://www.example.com:8080/a", "www.example.com:8080", "/a", true},
		{"http://www.example.com:8080/a", "www.example.com", "", false},
		{"http://other.example.com/a", "www.example.com", "", false},
		{"ftp://www.example.com/a", "www.example.com", "", false},
		{"https://www.example.com/a", "www.example.com", "", false},
		{"urn:uuid:" + tokA, "www.example.com", "", false},
		{"/a%20b/c%2Fd", "h", "/a b/c/d", true},
		{"/a/../../b/./c/", "h", "/b/c", true},
		{"/a/%2e%2e/%2e%2e/b", "h", "/b", true},
		{"/a?q=1#f", "h", "/a", true},
		{"/", "h", "/", true},
		{"relative/path", "h", "", false},
		{"//h/a", "h", "", false},
		{"/a%00b", "h", "", false},
		{"/a%zz", "h", "", false},
	}
	for _, tt := range tests {
		scheme := "http"
		if strings.HasSuffix(tt.host, ":443") {
			scheme = "https"
		}
		got, ok := TagPath(tt.tag, scheme, tt.host)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("TagPath(%q, %q, %q) = %q, %v; want %q, %v", tt.tag, scheme, tt.host, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestIfHasETags(t *testing.T) {
	for _, c := range []struct {
		hdr  string
		want bool
	}{
		{"(<urn:uuid:1>)", false},
		{"</a> (<urn:uuid:1>) (Not <DAV:no-lock>)", false},
		{`(<urn:uuid:1> ["x"])`, true},
		{`(<urn:uuid:1>) (Not ["x"])`, true},
	} {
		h, err := ParseIf(c.hdr)
		if err != nil {
			t.Fatalf("ParseIf(%q): %v", c.hdr, err)
		}
		if got := h.HasETags(); got != c.want {
			t.Errorf("hasETags(%q) = %v, want %v", c.hdr, got, c.want)
		}
	}
}
