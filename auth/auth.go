// Package auth decides who a request is: HTTP Basic credentials checked against a table of users
// with bcrypt password hashes, the access anonymous requests get, and a per-remote-address limit
// on failed logins. It knows no HTTP: davserver hands it the credentials and the remote address.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Access is what a principal may do.
type Access uint8

const (
	// None: nothing; for anonymous requests, credentials are required.
	None Access = iota
	// Read: OPTIONS, GET, HEAD, PROPFIND and the lock API's GETs.
	Read
	// Write: every method.
	Write
)

// String is the config spelling: none, read or write.
func (a Access) String() string {
	switch a {
	case None:
		return "none"
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// ParseAccess parses none, read or write.
func ParseAccess(s string) (Access, error) {
	switch s {
	case "none":
		return None, nil
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	}
	return None, fmt.Errorf("%w: access %q: want none, read or write", ErrInvalid, s)
}

// Anonymous is the principal of requests without credentials (the same as locksystem's).
const Anonymous = "anonymous"

// User is one account.
type User struct {
	Name   string
	Hash   string // bcrypt hash of the password
	Access Access // Read or Write
	Admin  bool   // may release anyone's lock and list every lock
	Root   string // the subtree the user is confined to; "" means "/"
}

// Identity is who a request is, once authenticated.
type Identity struct {
	Name   string // the user's name, or Anonymous
	Access Access
	Admin  bool
	Root   string // "/" or a clean absolute path
}

// Errors. Match them with errors.Is.
var (
	// ErrNoCredentials: the request has none and anonymous requests may do nothing.
	ErrNoCredentials = errors.New("auth: credentials required")
	// ErrBadCredentials: unknown user or wrong password; deliberately the same error for both.
	ErrBadCredentials = errors.New("auth: wrong user name or password")
	// ErrRateLimited: too many failed logins from the remote address; the error is a *LimitedError.
	ErrRateLimited = errors.New("auth: too many failed logins")
	// ErrInvalid: a User or Options value is malformed; the wrapping error says which.
	ErrInvalid = errors.New("auth: invalid")
)

// LimitedError is returned, wrapping ErrRateLimited, while a remote address may not try again.
type LimitedError struct {
	RetryAfter time.Duration // how long until one more attempt is allowed
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrRateLimited, e.RetryAfter)
}

func (e *LimitedError) Unwrap() error { return ErrRateLimited }

// Options configure an Authenticator.
type Options struct {
	Users     []User
	Anonymous Access
	// FailBurst failed logins are allowed from one remote address at once; after that one more
	// per FailEvery. Zero values mean 5 and 1s.
	FailBurst int
	FailEvery time.Duration
}

// Defaults of the failed-login limit.
const (
	DefaultFailBurst = 5
	DefaultFailEvery = time.Second
)

// Authenticator checks credentials. It is safe for concurrent use.
type Authenticator struct {
	users     map[string]User
	anonymous Access
	// dummy is verified against for unknown users, so that they cost what a wrong password
	// costs; nil when there are no users.
	dummy   []byte
	limiter *limiter
	cache   *cache
}

// New checks o and returns an Authenticator.
func New(o Options) (*Authenticator, error) {
	a := &Authenticator{users: make(map[string]User, len(o.Users)), anonymous: o.Anonymous}
	if o.Anonymous > Write {
		return nil, fmt.Errorf("%w: anonymous access %d", ErrInvalid, o.Anonymous)
	}
	cost := 0 // the dummy hash costs what the dearest real one does
	for _, u := range o.Users {
		c, err := checkUser(u)
		if err != nil {
			return nil, err
		}
		if _, dup := a.users[u.Name]; dup {
			return nil, fmt.Errorf("%w: user %q appears twice", ErrInvalid, u.Name)
		}
		if u.Root == "" {
			u.Root = "/"
		}
		a.users[u.Name] = u
		cost = max(cost, c)
	}
	if cost > 0 { // with no users there is no name to find out, and nothing to compare
		dummy, err := dummyHash(cost)
		if err != nil {
			return nil, err
		}
		a.dummy = dummy
	}
	burst, every := o.FailBurst, o.FailEvery
	if burst <= 0 {
		burst = DefaultFailBurst
	}
	if every <= 0 {
		every = DefaultFailEvery
	}
	a.limiter = newLimiter(burst, every)
	a.cache = newCache()
	return a, nil
}

// checkUser refuses a malformed User and returns its hash's cost.
func checkUser(u User) (int, error) {
	if u.Name == "" || u.Name == Anonymous {
		return 0, fmt.Errorf("%w: user name %q", ErrInvalid, u.Name)
	}
	if u.Access != Read && u.Access != Write {
		return 0, fmt.Errorf("%w: user %q: access %s", ErrInvalid, u.Name, u.Access)
	}
	c, err := bcrypt.Cost([]byte(u.Hash))
	if err != nil {
		return 0, fmt.Errorf("%w: user %q: password hash: %v", ErrInvalid, u.Name, err)
	}
	return c, nil
}

// dummyHash hashes a random password, for unknown users to be checked against.
func dummyHash(cost int) ([]byte, error) {
	pw := make([]byte, 16)
	_, _ = rand.Read(pw) // crypto/rand.Read never fails (Go 1.24+)
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return h, nil
}

// Anonymous is the identity of requests without credentials; its Access is what
// Options.Anonymous allowed (None: credentials are required).
func (a *Authenticator) Anonymous() Identity {
	return Identity{Name: Anonymous, Access: a.anonymous, Root: "/"}
}

// Authenticate checks the Basic credentials of a request from remote (an IP address, the key of
// the failed-login limit). Unknown users and wrong passwords get the same error in about the
// same time: an unknown user is checked against a dummy hash. While remote is over the
// failed-login limit, every attempt gets a *LimitedError without any password being checked.
func (a *Authenticator) Authenticate(now time.Time, remote, user, password string) (Identity, error) {
	if wait := a.limiter.wait(now, remote); wait > 0 {
		return Identity{}, &LimitedError{RetryAfter: wait}
	}
	u, known := a.users[user]
	if known && a.cache.has(u.Name, u.Hash, password) {
		return identity(u), nil
	}
	hash := a.dummy
	if known {
		hash = []byte(u.Hash)
	}
	err := ErrBadCredentials
	if hash != nil {
		err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	}
	if !known || err != nil {
		a.limiter.fail(now, remote)
		return Identity{}, ErrBadCredentials
	}
	a.cache.add(u.Name, u.Hash, password)
	return identity(u), nil
}

func identity(u User) Identity {
	return Identity{Name: u.Name, Access: u.Access, Admin: u.Admin, Root: u.Root}
}

// Hash returns the bcrypt hash of password at bcrypt's default cost.
func Hash(password []byte) (string, error) {
	if len(password) == 0 {
		return "", fmt.Errorf("%w: empty password", ErrInvalid)
	}
	h, err := bcrypt.GenerateFromPassword(password, bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return string(h), nil
}

// cache remembers credentials that verified, so that a client sending the same Basic header on
// every request pays for bcrypt once, not per request. Keys are HMACs under a per-process random
// key, never the passwords themselves.
type cache struct {
	key []byte
	// mu guards ok.
	mu sync.Mutex
	ok map[[sha256.Size]byte]struct{}
}

// maxCached bounds the cache; when full it starts over.
const maxCached = 4096

func newCache() *cache {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &cache{key: key, ok: map[[sha256.Size]byte]struct{}{}}
}

func (c *cache) sum(name, hash, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	for _, s := range []string{name, hash, password} {
		_, _ = fmt.Fprintf(m, "%d:%s", len(s), s)
	}
	var out [sha256.Size]byte
	copy(out[:], m.Sum(nil))
	return out
}

func (c *cache) has(name, hash, password string) bool {
	k := c.sum(name, hash, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.ok[k]
	return ok
}

func (c *cache) add(name, hash, password string) {
	k := c.sum(name, hash, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ok) >= maxCached {
		clear(c.ok)
	}
	c.ok[k] = struct{}{}
}
