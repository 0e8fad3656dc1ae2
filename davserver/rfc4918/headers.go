// RFC 4918 §10: the WebDAV request headers Depth (§10.2), Destination (§10.3), Lock-Token
// (§10.5), Overwrite (§10.6) and Timeout (§10.7).

package rfc4918

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// Errors of the header and body parsers. Each means 400 Bad Request, except ErrForeignDestination
// (502 Bad Gateway, RFC 4918 §9.8.5 and §9.9.4) and ErrLockType (422 Unprocessable Entity: the body
// is well-formed lockinfo, but asks for a lock this server does not have). Parsers wrap them with
// the detail; match with errors.Is.
var (
	// errIfSyntax: the If header does not follow the grammar of §10.4.2.
	errIfSyntax = errors.New("rfc4918: malformed If header")
	// errBadDepth: a Depth header other than 0, 1 or infinity (§10.2).
	errBadDepth = errors.New("rfc4918: malformed Depth header")
	// errBadTimeout: a Timeout header with no acceptable entry (§10.7).
	errBadTimeout = errors.New("rfc4918: malformed Timeout header")
	// errBadLockToken: a missing or garbled Lock-Token header (§10.5).
	errBadLockToken = errors.New("rfc4918: malformed Lock-Token header")
	// errBadDestination: a Destination that is neither an absolute URL nor an absolute path (§10.3).
	errBadDestination = errors.New("rfc4918: malformed Destination header")
	// ErrForeignDestination: a Destination on another server (§10.3).
	ErrForeignDestination = errors.New("rfc4918: destination on another server")
	// errBadOverwrite: an Overwrite header other than T or F (§10.6).
	errBadOverwrite = errors.New("rfc4918: malformed Overwrite header")
	// errLockInfo: a LOCK body that is not a well-formed, namespace-valid DAV:lockinfo (§14.11).
	errLockInfo = errors.New("rfc4918: malformed lockinfo body")
	// ErrTooLong: an element's content, re-serialized, is over its limit (413: DAV:owner).
	ErrTooLong = errors.New("rfc4918: element content too long")
	// ErrLockType: a lockinfo asking for a lock type other than DAV:write (§14.15).
	ErrLockType = errors.New("rfc4918: unsupported lock type")
)

// ParseDepth parses a Depth header: 0, 1 or infinity (-1). An absent header means different
// things to different methods, so callers handle "" themselves; here it is an error.
func ParseDepth(s string) (int, error) {
	switch v := strings.TrimSpace(s); {
	case v == "0":
		return 0, nil
	case v == "1":
		return 1, nil
	case strings.EqualFold(v, "infinity"):
		return -1, nil
	}
	return 0, fmt.Errorf("%w: %q", errBadDepth, s)
}

// maxTimeoutSeconds is the largest Second-N that fits a time.Duration; larger requests are
// clamped to it (the lock policy clamps further).
const maxTimeoutSeconds = math.MaxInt64 / int64(time.Second)

// ParseTimeout parses a Timeout header (§10.7): a comma list of "Second-N" and "Infinite", of
// which the first acceptable entry wins. "" means the client asked for nothing: 0. "Infinite" is
// locksystem.Infinite. Entries the grammar does not know, and "Second-0" (a lock expired before it
// is granted), are skipped; a header with no acceptable entry is errBadTimeout.
func ParseTimeout(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	for entry := range strings.SplitSeq(s, ",") {
		if d, ok := timeoutEntry(strings.TrimSpace(entry)); ok {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", errBadTimeout, s)
}

// timeoutEntry parses one TimeType of §10.7. ABNF literals are case-insensitive (RFC 5234 §2.3).
func timeoutEntry(e string) (time.Duration, bool) {
	if strings.EqualFold(e, "Infinite") {
		return locksystem.Infinite, true
	}
	const prefix = "second-"
	if len(e) <= len(prefix) || !strings.EqualFold(e[:len(prefix)], prefix) {
		return 0, false
	}
	digits := e[len(prefix):]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || n > maxTimeoutSeconds:
		n = maxTimeoutSeconds
	case err != nil || n == 0:
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// ParseLockToken parses a Lock-Token header (§10.5): a Coded-URL, "<urn:uuid:…>". Windows sends
// the token without the angle brackets; that is accepted too.
func ParseLockToken(s string) (string, error) {
	v := strings.TrimSpace(s)
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") && len(v) >= 2 {
		v = v[1 : len(v)-1]
	}
	if !isAbsoluteURI(v) {
		return "", fmt.Errorf("%w: %q", errBadLockToken, s)
	}
	return v, nil
}

// isAbsoluteURI reports whether s looks like the absolute-URI of a Coded-URL (RFC 3986 §4.3):
// a scheme, a colon, and no characters that cannot appear unescaped in a URI.
func isAbsoluteURI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || !isScheme(s[:colon]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"':
			return false
		}
	}
	return true
}

// isScheme reports whether s is a URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (i == 0 || (c < '0' || c > '9') && c != '+' && c != '-' && c != '.') {
			return false
		}
	}
	return s != ""
}

// ParseDestination parses a Destination header (§10.3): an absolute URL on this server (scheme
// and host as the request's) or an absolute path. It returns the unescaped, cleaned path; a URL
// on another scheme or host is ErrForeignDestination, anything else unparseable errBadDestination.
func ParseDestination(dest, scheme, host string) (string, error) {
	p, err := serverPath(strings.TrimSpace(dest), scheme, host)
	switch {
	case errors.Is(err, ErrForeignDestination):
		return "", fmt.Errorf("%w: %q", ErrForeignDestination, dest)
	case err != nil:
		return "", fmt.Errorf("%w: %q: %v", errBadDestination, dest, err)
	}
	return p, nil
}

// serverPath resolves a Simple-ref (§8.3: an absolute URL or an absolute path) to a cleaned path
// on the server reached with scheme ("http" or "https") at host (the Host header). The scheme is
// part of the origin (RFC 3986 §6.2.3): https://h/ on a plain-HTTP server is another server.
func serverPath(ref, scheme, host string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "" && !strings.EqualFold(u.Scheme, scheme):
		return "", ErrForeignDestination
	case u.Scheme != "" && !sameHost(u, host):
		return "", ErrForeignDestination
	case u.Scheme == "" && u.Host != "":
		return "", errors.New("network-path reference")
	case u.Opaque != "" || !strings.HasPrefix(u.Path, "/"):
		return "", errors.New("not an absolute path")
	case strings.ContainsFunc(u.Path, isControl):
		return "", errors.New("control character in path")
	}
	return path.Clean(u.Path), nil
}

// sameHost reports whether URL u names the server reached as host, ignoring case and default ports.
func sameHost(u *url.URL, host string) bool {
	return strings.EqualFold(withoutDefaultPort(u.Scheme, u.Host), withoutDefaultPort(u.Scheme, host))
}

func withoutDefaultPort(scheme, host string) string {
	switch {
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(host, ":80")
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// parseOverwrite parses an Overwrite header (§10.6): T or F; absent means T.
func parseOverwrite(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "T", "t":
		return true, nil
	case "F", "f":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", errBadOverwrite, s)
}
