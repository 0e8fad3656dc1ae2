// RFC 4918 §10.4: the If request header, all of it — untagged and tagged lists, several lists
// (OR), several conditions per list (AND), Not, state tokens and entity tags. x/net's parser
// takes bare words for state tokens and its Handler never evaluates entity tags; this one
// follows the grammar of §10.4.2 and the evaluation rules of §10.4.3 and §10.4.4.

package rfc4918

import (
	"fmt"
	"strings"
)

// If is a parsed If header: true when any of its lists is (§10.4.3).
type If struct{ lists []ifList }

// ifList is one parenthesized List: true when all its conditions are.
type ifList struct {
	tag   string // the Resource-Tag's Simple-ref, without <>; "" for a No-tag-list
	conds []ifCond
}

// ifCond is one Condition: a state token or an entity tag, possibly negated.
// Exactly one of token and etag is set.
type ifCond struct {
	not   bool
	token string // the Coded-URL's absolute-URI, without <>
	etag  string // the entity-tag as written, quotes and any W/ included
}

// hasETags reports whether any condition compares an entity tag, the only use eval makes of a
// resource's existence and ETag.
func (h If) HasETags() bool {
	for _, l := range h.lists {
		for _, c := range l.conds {
			if c.etag != "" {
				return true
			}
		}
	}
	return false
}

// Resource is what evaluation needs to know about a resource an If header names.
type Resource struct {
	Exists bool
	ETag   string // the resource's current entity tag, as the server sends it in ETag
	// HasLock reports whether token names a live lock whose scope covers this resource.
	HasLock func(token string) bool
}

// noLock is the state token RFC 4918 uses for "no lock at all": it never matches (§10.4.8).
const noLock = "DAV:no-lock"

// ParseIf parses an If header value (§10.4.2). Line folding has already been undone by
// net/textproto; spaces and tabs may separate tokens, but not the parts of "[entity-tag]".
func ParseIf(s string) (If, error) {
	p := ifParser{s: s}
	h, err := p.header()
	if err != nil {
		return If{}, fmt.Errorf("%w: %v at offset %d", errIfSyntax, err, p.i)
	}
	return h, nil
}

// ifParser is a recursive-descent parser over the header text; i is the next unread byte.
type ifParser struct {
	s string
	i int
}

// header: If = ( 1*No-tag-list | 1*Tagged-list ), Tagged-list = Resource-Tag 1*List.
func (p *ifParser) header() (If, error) {
	var h If
	p.skipSpace()
	tagged := p.peek() == '<'
	tag, listsOfTag := "", 0
	for ; p.i < len(p.s); p.skipSpace() {
		if tagged && p.peek() == '<' {
			if tag != "" && listsOfTag == 0 {
				return If{}, fmt.Errorf("resource tag %q without a list", tag)
			}
			var err error
			if tag, err = p.resourceTag(); err != nil {
				return If{}, err
			}
			listsOfTag = 0
			continue
		}
		l, err := p.list()
		if err != nil {
			return If{}, err
		}
		l.tag = tag
		h.lists = append(h.lists, l)
		listsOfTag++
	}
	if listsOfTag == 0 {
		return If{}, fmt.Errorf("no list")
	}
	return h, nil
}

// resourceTag: Resource-Tag = "<" Simple-ref ">" (§8.3: an absolute URI or an absolute path).
func (p *ifParser) resourceTag() (string, error) {
	ref, err := p.angle()
	if err != nil {
		return "", err
	}
	if !isAbsoluteURI(ref) && !isAbsolutePath(ref) {
		return "", fmt.Errorf("resource tag %q is neither an absolute URI nor an absolute path", ref)
	}
	return ref, nil
}

// isAbsolutePath reports whether s is path-absolute ["?" query] with no characters a URI
// cannot carry unescaped.
func isAbsolutePath(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && isAbsoluteURI("x:"+s)
}

// list: List = "(" 1*Condition ")".
func (p *ifParser) list() (ifList, error) {
	if p.peek() != '(' {
		return ifList{}, fmt.Errorf("want '(', got %q", p.rest())
	}
	p.i++
	var l ifList
	for p.skipSpace(); p.peek() != ')'; p.skipSpace() {
		c, err := p.condition()
		if err != nil {
			return ifList{}, err
		}
		l.conds = append(l.conds, c)
	}
	p.i++
	if len(l.conds) == 0 {
		return ifList{}, fmt.Errorf("empty list")
	}
	return l, nil
}

// condition: Condition = ["Not"] (State-token | "[" entity-tag "]").
// "Not" is an ABNF literal, so case-insensitive (RFC 5234 §2.3).
func (p *ifParser) condition() (ifCond, error) {
	var c ifCond
	if len(p.s)-p.i >= 3 && strings.EqualFold(p.s[p.i:p.i+3], "not") {
		c.not = true
		p.i += 3
		if n := p.skipSpace(); n == 0 && p.peek() != '<' && p.peek() != '[' {
			return ifCond{}, fmt.Errorf("want a condition after Not, got %q", p.rest())
		}
	}
	var err error
	switch p.peek() {
	case '<':
		c.token, err = p.stateToken()
	case '[':
		c.etag, err = p.entityTag()
	case 0:
		err = fmt.Errorf("unterminated list")
	default:
		err = fmt.Errorf("want a state token or an entity tag, got %q", p.rest())
	}
	return c, err
}

// stateToken: State-token = Coded-URL = "<" absolute-URI ">".
func (p *ifParser) stateToken() (string, error) {
	tok, err := p.angle()
	if err != nil {
		return "", err
	}
	if !isAbsoluteURI(tok) {
		return "", fmt.Errorf("state token %q is not an absolute URI", tok)
	}
	return tok, nil
}

// angle reads "<" … ">" and returns what is between.
func (p *ifParser) angle() (string, error) {
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return "", fmt.Errorf("unterminated '<'")
	}
	v := p.s[p.i+1 : p.i+end]
	p.i += end + 1
	return v, nil
}

// entityTag: "[" entity-tag "]" with no whitespace around the tag (§10.4.2). entity-tag is
// RFC 2616 §3.11's, the one RFC 4918 cites: [ "W/" ] quoted-string, so spaces and quoted-pairs
// may appear inside the quotes (the RFC's own examples have spaces); control characters may not.
func (p *ifParser) entityTag() (string, error) {
	start := p.i + 1
	j := start
	if strings.HasPrefix(p.s[j:], "W/") {
		j += 2
	}
	if j >= len(p.s) || p.s[j] != '"' {
		return "", fmt.Errorf("entity tag does not start with a quote: %q", p.rest())
	}
	for j++; j < len(p.s) && p.s[j] != '"'; j++ {
		if p.s[j] == '\\' && j+1 < len(p.s) {
			j++
		}
		if c := p.s[j]; c < ' ' && c != '\t' || c == 0x7f {
			return "", fmt.Errorf("invalid character %q in entity tag", c)
		}
	}
	if j+1 >= len(p.s) || p.s[j+1] != ']' {
		return "", fmt.Errorf("entity tag not closed by '\"]': %q", p.rest())
	}
	p.i = j + 2
	return p.s[start : j+1], nil
}

// skipSpace skips linear whitespace and reports how much it skipped.
func (p *ifParser) skipSpace() int {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i - start
}

// peek is the next byte, 0 at the end.
func (p *ifParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// rest is what remains, shortened for error messages.
func (p *ifParser) rest() string {
	const shown = 32
	r := p.s[p.i:]
	if len(r) > shown {
		r = r[:shown] + "…"
	}
	return r
}

// eval evaluates the header (§10.4.3, §10.4.4). resource("") describes the Request-URI; for a
// tagged list, resource(tag) describes the resource the tag names, and ok=false (a resource on
// another server, or an unusable tag) makes that list false.
//
// A state token matches when hasLock says it names a live lock covering the resource — whether
// the resource is mapped or not, since a lock can cover an unmapped URL (§7.3). DAV:no-lock never
// matches. An entity tag matches only an existing resource (§10.4.11), by the weak comparison of
// RFC 7232 §2.3.2: §10.4.4 lets the server choose, and the tags compared are this server's own,
// which change with every write; clients echo ETag headers verbatim, W/ included.
//
// resource is called at most once per distinct tag: it may stat the file system.
func (h If) Eval(resource func(tag string) (Resource, bool)) bool {
	type resolved struct {
		r  Resource
		ok bool
	}
	seen := map[string]resolved{}
	for _, l := range h.lists {
		res, done := seen[l.tag]
		if !done {
			res.r, res.ok = resource(l.tag)
			seen[l.tag] = res
		}
		if res.ok && l.eval(res.r) {
			return true
		}
	}
	return false
}

func (l ifList) eval(r Resource) bool {
	for _, c := range l.conds {
		if c.matches(r) == c.not {
			return false
		}
	}
	return true
}

func (c ifCond) matches(r Resource) bool {
	if c.etag != "" {
		return r.Exists && weakEqual(c.etag, r.ETag)
	}
	return c.token != noLock && r.HasLock != nil && r.HasLock(c.token)
}

// weakEqual is RFC 7232 §2.3.2's weak comparison: the opaque tags are equal, W/ or not.
func weakEqual(a, b string) bool {
	a, b = strings.TrimPrefix(a, "W/"), strings.TrimPrefix(b, "W/")
	return a != "" && a == b
}

// tokens lists, once each and in order, the state tokens the header submits: those that appear
// un-negated anywhere (§10.4.1: a token in the header counts as submitted, whether or not its
// list is true). DAV:no-lock names no lock and is left out.
func (h If) Tokens() []string {
	var toks []string
	seen := map[string]bool{noLock: true}
	for _, l := range h.lists {
		for _, c := range l.conds {
			if c.token != "" && !c.not && !seen[c.token] {
				seen[c.token] = true
				toks = append(toks, c.token)
			}
		}
	}
	return toks
}

// tags lists, once each and in order, the resource tags of the header's tagged lists.
func (h If) tags() []string {
	var tags []string
	seen := map[string]bool{"": true}
	for _, l := range h.lists {
		if !seen[l.tag] {
			seen[l.tag] = true
			tags = append(tags, l.tag)
		}
	}
	return tags
}

// TagPath resolves a resource tag to a cleaned, unescaped absolute path on the server reached
// as host. ok is false when the tag names another server or cannot be parsed.
func TagPath(tag, scheme, host string) (path string, ok bool) {
	p, err := serverPath(tag, scheme, host)
	return p, err == nil
}
