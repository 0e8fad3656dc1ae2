// RFC 4918 §14 (XML elements) and §16 (precondition codes): the XML bodies of LOCK responses,
// lockdiscovery and supportedlock property values, DAV:error bodies and 207 Multi-Status.
//
// An activelock declares the namespaces it uses, so that it stands alone wherever it is put;
// supportedlock's value is only ever written inside PropWriter's multistatus, which binds D.
// Hrefs given to these writers are already URL-escaped (see Href); the writers escape them for XML.

package rfc4918

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// AppendLockDiscovery appends the content of a DAV:lockdiscovery property (§15.8): one
// DAV:activelock (§14.1) per lock, each declaring the DAV: namespace itself.
func AppendLockDiscovery(b []byte, locks []locksystem.Lock, now time.Time) []byte {
	for _, l := range locks {
		b = appendActiveLock(b, l, now)
	}
	return b
}

// nsLockdav is lockdav's XML namespace, for what RFC 4918 has no element for: §17 lets a server
// add elements in its own namespace, and clients ignore those they do not know.
const nsLockdav = "urn:lockdav:"

// appendActiveLock appends an activelock with the RFC elements first and lockdav's holder
// elements after them, bound to prefix L on the activelock itself so that it still stands alone.
// It appends rather than concatenates: every LOCK answer and every lockdiscovery of a locked
// member is one, and a string per element was a large share of a refresh's CPU
// (BenchmarkWriteLockResponse).
func appendActiveLock(b []byte, l locksystem.Lock, now time.Time) []byte {
	b = append(b, `<D:activelock xmlns:D="DAV:" xmlns:L="`+nsLockdav+`"><D:lockscope>`...)
	b = append(b, scopeXML(l.Scope)...)
	b = append(b, `</D:lockscope><D:locktype><D:write/></D:locktype><D:depth>`...)
	b = append(b, depthXML(l.Depth)...)
	b = append(b, `</D:depth>`...)
	if l.Owner != "" {
		b = append(b, `<D:owner>`...)
		b = append(b, ownerXML(l.Owner)...)
		b = append(b, `</D:owner>`...)
	}
	b = append(b, `<D:timeout>`...)
	b = appendTimeout(b, l.Expires, now)
	b = append(b, `</D:timeout><D:locktoken><D:href>`...)
	b = AppendText(b, l.Token)
	b = append(b, `</D:href></D:locktoken><D:lockroot><D:href>`...)
	b = AppendText(b, AppendHref(nil, l.Path))
	b = append(b, `</D:href></D:lockroot>`...)
	b = appendHolder(b, l)
	return append(b, `</D:activelock>`...)
}

// appendHolder appends who holds l, as the lock document says, in lockdav's namespace bound to
// prefix L by the enclosing element: the principal, when the lock was granted and when it lapses
// unless refreshed (RFC 3339 in UTC, as DAV:creationdate §15.1; no L:expires for a lock that
// never expires), and the client that took it. Empty fields are left out. Every value is escaped:
// the user agent is whatever the client sent, and characters XML cannot carry become U+FFFD.
// Anyone shown the lock sees its holder, as in the JSON API; no field holds a server path.
func appendHolder(b []byte, l locksystem.Lock) []byte {
	b = appendElement(b, "L:principal", l.Principal)
	if !l.Created.IsZero() {
		b = append(b, `<L:created>`...)
		b = l.Created.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `</L:created>`...)
	}
	if !l.Expires.IsZero() {
		b = append(b, `<L:expires>`...)
		b = l.Expires.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `</L:expires>`...)
	}
	if l.Client == (locksystem.Client{}) {
		return b
	}
	b = append(b, `<L:client>`...)
	b = appendElement(b, "L:ip", l.Client.IP)
	b = appendElement(b, "L:user-agent", l.Client.UserAgent)
	return append(b, `</L:client>`...)
}

// appendElement appends <name>text</name>, text escaped, or nothing for empty text.
func appendElement(b []byte, name, text string) []byte {
	if text == "" {
		return b
	}
	b = append(append(append(b, '<'), name...), '>')
	b = AppendText(b, text)
	return append(append(append(b, "</"...), name...), '>')
}

func scopeXML(s locksystem.Scope) string {
	if s == locksystem.Shared {
		return `<D:shared/>`
	}
	return `<D:exclusive/>`
}

func depthXML(d locksystem.Depth) string {
	if d == locksystem.DepthZero {
		return "0"
	}
	return "infinity"
}

// appendTimeout appends the time left (§14.29): "Infinite" for a lock that never expires,
// otherwise whole seconds rounded up, so a live lock never shows Second-0, and never below 0.
func appendTimeout(b []byte, expires, now time.Time) []byte {
	if expires.IsZero() {
		return append(b, "Infinite"...)
	}
	left := expires.Sub(now)
	secs := int64(left / time.Second)
	if left%time.Second > 0 {
		secs++
	}
	return strconv.AppendInt(append(b, "Second-"...), max(secs, 0), 10)
}

// ownerXML is a stored owner as XML content. Owners from ParseLockInfo stand alone already;
// anything else (an owner set through another door) that is not namespace-well-formed content
// on its own is written as text rather than break the response around it.
func ownerXML(owner string) string {
	if v, ok := checkedOwners.get(owner); ok {
		return v
	}
	v := standaloneOwner(owner)
	checkedOwners.put(owner, v)
	return v
}

// checkedOwners remembers ownerXML's answers (memo.go): the same owners are written into every
// LOCK answer and lockdiscovery of their locks.
var checkedOwners = newMemo[string](1024, 4<<10)

// standaloneOwner is ownerXML without the memo.
func standaloneOwner(owner string) string {
	d := newNSDecoder(strings.NewReader("<o>" + owner + "</o>"))
	if _, err := d.root(); err != nil {
		return escapeXML(owner)
	}
	if err := d.skip(); err != nil {
		return escapeXML(owner)
	}
	if err := d.end(); err != nil {
		return escapeXML(owner)
	}
	return owner
}

// WriteLockResponse writes the body of a successful LOCK (§9.10.1): DAV:prop holding the
// lockdiscovery of the granted or refreshed lock.
func WriteLockResponse(w io.Writer, l locksystem.Lock, now time.Time) error {
	b := make([]byte, 0, 1024)
	b = append(b, xmlHeader+`<D:prop xmlns:D="DAV:"><D:lockdiscovery>`...)
	b = appendActiveLock(b, l, now)
	_, err := w.Write(append(b, `</D:lockdiscovery></D:prop>`...))
	return err
}

// SupportedLock is the content of DAV:supportedlock (§15.10): exclusive and shared write
// locks, both of which LOCK grants. It uses prefix D for DAV: without declaring it: it is
// written into every response of a listing, inside a multistatus that declares it.
func SupportedLock() string {
	const entry = `<D:lockentry><D:lockscope>%s</D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`
	return fmt.Sprintf(entry, `<D:exclusive/>`) + fmt.Sprintf(entry, `<D:shared/>`)
}

// ErrorBody is a DAV:error body (§16) naming one precondition, with the hrefs it lists, for
// example "no-conflicting-lock" with the conflicting lock roots, or
// "lock-token-matches-request-uri" with none. A condition that is not an XML name is a
// programming error; it yields an empty DAV:error rather than malformed XML.
func ErrorBody(condition string, hrefs ...string) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader + `<D:error xmlns:D="DAV:">`)
	b.WriteString(conditionXML(condition, hrefs))
	b.WriteString(`</D:error>`)
	return b.Bytes()
}

// LockedBody is a DAV:error body (§16) naming condition with the roots of locks, followed by an
// L:lock-holder per lock saying who holds it. The §16 element comes first and exactly as
// ErrorBody writes it, since clients and litmus read it; the holders are lockdav's own elements,
// which §17 lets every client ignore.
func LockedBody(condition string, locks []locksystem.Lock) []byte {
	hrefs := make([]string, 0, len(locks))
	for _, l := range locks {
		hrefs = append(hrefs, Href(l.Path))
	}
	var b strings.Builder
	b.WriteString(xmlHeader + `<D:error xmlns:D="DAV:">`)
	b.WriteString(conditionXML(condition, hrefs))
	writeLockHolders(&b, locks)
	b.WriteString(`</D:error>`)
	return []byte(b.String())
}

// writeLockHolders writes one L:lock-holder per lock, inside an element that binds D to DAV::
// the lock root (in the URL space the caller chose), its DAV:owner (§14.17, the same content as
// in lockdiscovery) and the holder elements of appendHolder. The token is left out: naming the
// lock is enough to say who to ask, and the holder has the token already.
func writeLockHolders(b *strings.Builder, locks []locksystem.Lock) {
	var buf []byte
	for _, l := range locks {
		buf = append(buf[:0], `<L:lock-holder xmlns:L="`+nsLockdav+`"><D:href>`...)
		buf = AppendText(buf, AppendHref(nil, l.Path))
		buf = append(buf, `</D:href>`...)
		if l.Owner != "" {
			buf = append(append(append(buf, `<D:owner>`...), ownerXML(l.Owner)...), `</D:owner>`...)
		}
		buf = appendHolder(buf, l)
		b.Write(append(buf, `</L:lock-holder>`...))
	}
}

// conditionXML is <D:condition> holding one DAV:href per href, or <D:condition/> without any.
func conditionXML(condition string, hrefs []string) string {
	if !isXMLName(condition) {
		return ""
	}
	if len(hrefs) == 0 {
		return `<D:` + condition + `/>`
	}
	var b strings.Builder
	b.WriteString(`<D:` + condition + `>`)
	for _, h := range hrefs {
		b.WriteString(`<D:href>` + escapeXML(h) + `</D:href>`)
	}
	b.WriteString(`</D:` + condition + `>`)
	return b.String()
}

// isXMLName reports whether s can be a local element name: ASCII letters, digits, '-', '_'
// and '.', not starting with a digit, '-' or '.'. Every §16 condition is one.
func isXMLName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_'
		if !letter && (i == 0 || (c < '0' || c > '9') && c != '-' && c != '.') {
			return false
		}
	}
	return s != ""
}

// Response is one DAV:response of a Multi-Status: a resource (Href, URL-escaped), its status
// code and reason phrase (the caller's, so that this package needs no net/http), and, if not "",
// the §16 precondition it failed.
type Response struct {
	Href      string
	Status    int
	Reason    string
	Condition string
	Locks     []locksystem.Lock // the locks behind Condition, named in L:lock-holder elements
}

// hrefConditions are the §16 conditions whose DTD requires at least one href. In a Multi-Status
// the response names the resource concerned, so its href is the one listed.
var hrefConditions = map[string]bool{"lock-token-submitted": true, "no-conflicting-lock": true}

// MultiStatus is the body of a 207 Multi-Status (§13) with one DAV:response per entry, each with
// a DAV:status line and, for a failed precondition, a DAV:error. It returns an error, and no
// body, if an entry has no href or a status outside 100..599: the caller has written nothing yet.
func MultiStatus(rs []Response) ([]byte, error) {
	var b strings.Builder
	b.WriteString(xmlHeader + `<D:multistatus xmlns:D="DAV:">`)
	for _, r := range rs {
		if r.Href == "" || r.Status < 100 || r.Status > 599 {
			return nil, fmt.Errorf("rfc4918: invalid multistatus response %+v", r)
		}
		b.WriteString(`<D:response><D:href>` + escapeXML(r.Href) + `</D:href>`)
		b.WriteString(`<D:status>` + statusLine(r.Status, r.Reason) + `</D:status>`)
		if r.Condition != "" {
			var hrefs []string
			if hrefConditions[r.Condition] {
				hrefs = []string{r.Href}
			}
			b.WriteString(`<D:error>` + conditionXML(r.Condition, hrefs))
			writeLockHolders(&b, r.Locks)
			b.WriteString(`</D:error>`)
		}
		b.WriteString(`</D:response>`)
	}
	b.WriteString(`</D:multistatus>`)
	return []byte(b.String()), nil
}

// statusLine is a DAV:status value: "HTTP/1.1 423 Locked".
func statusLine(code int, reason string) string {
	return strings.TrimSpace("HTTP/1.1 " + strconv.Itoa(code) + " " + reason)
}

// Href is the URL-escaped form of a server path, for a DAV:href: each segment percent-encoded
// as RFC 3986 requires; a trailing "/" (a collection) is kept.
func Href(path string) string {
	return string(AppendHref(nil, path))
}

// AppendHref appends Href(path): a path of unreserved characters and slashes alone, as most
// are, as it is; any other through net/url.
func AppendHref(b []byte, path string) []byte {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c != '/' && !unreserved(c) {
			return append(b, (&url.URL{Path: path}).EscapedPath()...)
		}
	}
	return append(b, path...)
}

// escapeXML escapes s for XML character data or a double-quoted attribute value; characters
// XML cannot carry, and invalid UTF-8, become U+FFFD.
func escapeXML(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = ' ' <= c && c <= '~' && c != '&' && c != '<' && c != '>' && c != '"' && c != '\''
	}
	if plain {
		return s
	}
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "" // bytes.Buffer writes do not fail
	}
	return b.String()
}

// LockLimitBody is the DAV:error body of a LOCK refused because its principal holds
// locks.max_per_principal locks. RFC 4918 §16 lets a server name its own condition in DAV:error:
// ours, in lockdav's namespace, says which limit. (Why the status is 423 is davserver's to say.)
func LockLimitBody() []byte {
	return []byte(xmlHeader + `<D:error xmlns:D="DAV:">` +
		`<L:lock-limit-reached xmlns:L="` + nsLockdav + `">this principal holds the maximum number of locks (locks.max_per_principal)</L:lock-limit-reached>` +
		`</D:error>`)
}
