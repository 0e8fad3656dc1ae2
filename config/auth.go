package config

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"unicode"
)

// Access levels of auth.anonymous and auth.users[].access.
const (
	AccessNone  = "none"
	AccessRead  = "read"
	AccessWrite = "write"
)

// anonymousName is the principal of requests without credentials; no user may take it.
const anonymousName = "anonymous"

// reservedRoot is the URL prefix the server keeps for itself; no user root may lie inside it.
const reservedRoot = "/.lockdav"

// ErrAnonymousUnset: no users, auth.anonymous unset, and an address other than loopback.
var ErrAnonymousUnset = errors.New("auth.anonymous is not set and addr is not a loopback address: " +
	"anyone who can reach the server could write to it; set auth.anonymous (none, read or write) " +
	"or add auth.users")

// AnonymousAccess is what requests without credentials may do: AccessNone, AccessRead or
// AccessWrite. An unset auth.anonymous means none when users are configured; with no users it
// means write on a loopback addr and is ErrAnonymousUnset on any other, so that a server opened
// to the network never starts writable by everyone without being told to.
func (c Config) AnonymousAccess() (string, error) {
	switch {
	case c.Auth.Anonymous != "":
		return c.Auth.Anonymous, nil
	case len(c.Auth.Users) > 0:
		return AccessNone, nil
	case isLoopback(c.Addr):
		return AccessWrite, nil
	}
	return "", fmt.Errorf("%w (addr %s)", ErrAnonymousUnset, c.Addr)
}

// ReliesOnLoopback reports whether the server's only protection is listening on loopback: no
// users and auth.anonymous unset, which AnonymousAccess turns into write access for everyone, and
// allows only on a loopback addr. Such a server must serve only requests that name it by a
// loopback host: a page whose name an attacker has rebound to 127.0.0.1 (DNS rebinding) reaches
// the port from the user's own browser. Once users exist or auth.anonymous is set, the operator
// has chosen who may do what, and the Host is theirs to arrange.
func (c Config) ReliesOnLoopback() bool {
	return c.Auth.Anonymous == "" && len(c.Auth.Users) == 0
}

// isLoopback reports whether host:port addr listens on loopback only. An empty host listens on
// every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a Auth) validate(add problem) {
	switch a.Anonymous {
	case "", AccessNone, AccessRead, AccessWrite:
	default:
		add("auth.anonymous", "%q is not one of none, read, write (or unset)", a.Anonymous)
	}
	seen := map[string]bool{}
	for i, u := range a.Users {
		key := fmt.Sprintf("auth.users[%d]", i)
		if u.Name != "" {
			key = fmt.Sprintf("auth.users[%d] (%s)", i, u.Name)
		}
		if seen[u.Name] && u.Name != "" {
			add(key+".name", "%q appears more than once", u.Name)
		}
		seen[u.Name] = true
		u.validate(key, add)
	}
}

func (u User) validate(key string, add problem) {
	switch {
	case u.Name == "":
		add(key+".name", "must not be empty")
	case u.Name == anonymousName:
		add(key+".name", "%q is the principal of requests without credentials", u.Name)
	case strings.ContainsRune(u.Name, ':') || strings.ContainsFunc(u.Name, unicode.IsControl):
		add(key+".name", "must not contain a colon or a control character (HTTP Basic cannot send them)")
	}
	if !looksBcrypt(u.PasswordHash) {
		add(key+".password_hash", "is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters): make one with lockdav hash-password")
	}
	switch u.Access {
	case AccessRead, AccessWrite:
	default:
		add(key+".access", "%q is not one of read, write", u.Access)
	}
	if u.Root != "" {
		switch {
		case !strings.HasPrefix(u.Root, "/"):
			add(key+".root", "%q is not an absolute path", u.Root)
		case path.Clean(u.Root) != u.Root || strings.ContainsAny(u.Root, "\\\x00"):
			add(key+".root", "%q is not clean (want %q)", u.Root, path.Clean(u.Root))
		case u.Root == reservedRoot || strings.HasPrefix(u.Root, reservedRoot+"/"):
			add(key+".root", "%q lies in the server's reserved namespace %s/", u.Root, reservedRoot)
		}
	}
}

// looksBcrypt reports whether s has the shape of a bcrypt hash: "$2a$", "$2b$" or "$2y$", a
// two-digit cost from 04 to 31, "$", and 53 characters of bcrypt's base64. Verifying a password
// against it is the auth package's job; this catches a plain-text password pasted by mistake.
func looksBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || !strings.ContainsRune("aby", rune(s[2])) || s[3] != '$' || s[6] != '$' {
		return false
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || cost < 4 || cost > 31 {
		return false
	}
	for _, c := range s[7:] {
		if c != '.' && c != '/' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
