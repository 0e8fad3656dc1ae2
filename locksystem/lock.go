// Package locksystem is lockdav's lock manager: RFC 4918 §6 and §7 write locks, exclusive and
// shared, depth 0 and infinity, timed and refreshable, bound to the principal that took them.
//
// It knows no HTTP and no storage format: davserver turns requests into calls here, and a Store
// mirrors every granted, refreshed and released lock durably. The in-memory index decides
// conflicts; the store is its mirror, reloaded at start-up.
package locksystem

import (
	"errors"
	"time"
)

// Scope is a lock's scope (RFC 4918 §6.1, §14.13).
type Scope uint8

const (
	// Exclusive conflicts with every other lock on the resources it covers.
	Exclusive Scope = iota
	// Shared conflicts only with exclusive locks.
	Shared
)

// Depth is a lock's depth (RFC 4918 §9.10.3): the root alone, or the root and all its members.
type Depth uint8

const (
	// DepthZero covers the lock root only (for a collection: its membership, not its members).
	DepthZero Depth = iota
	// DepthInfinity covers the lock root and every resource below it.
	DepthInfinity
)

// Infinite is the one way to say "never expires" (RFC 4918 §10.7): as Request.Timeout it asks
// for such a lock, as Lock.Timeout it is what was granted. In JSON it is timeout_seconds 0, in
// the Timeout header "Infinite", and x/net says -1: those conversions happen at those doors.
const Infinite time.Duration = -1

// Anonymous is the principal of unauthenticated requests.
const Anonymous = "anonymous"

// Client says where a lock request came from, for people asking "who holds this?".
type Client struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// Lock is a granted lock; it is also the lock document the Store keeps and the JSON API shows.
type Lock struct {
	Token     string // "urn:uuid:" + random v4 UUID
	Path      string // lock root: a cleaned absolute slash path, "/" for the root
	Scope     Scope
	Depth     Depth
	Owner     string // the client's DAV:owner XML, verbatim; may be empty
	Principal string // who took it; only this principal may use the token
	// Timeout is the granted timeout, Infinite for a lock that never expires.
	Timeout   time.Duration
	Created   time.Time
	Refreshed time.Time
	// Expires is Refreshed+Timeout, or the zero time for a lock that never expires. In a
	// document the System hands its Store it may be later: how long a restart keeps the lock
	// (twice the timeout after the write, durable.go), so that most refreshes need no write.
	Expires         time.Time
	Client          Client
	ReleaseOnUpdate bool // released after the holder's first successful write to it
	LockNull        bool // the LOCK created the resource (RFC 4918 §7.3)
}

// Request asks for a new lock.
type Request struct {
	Path      string
	Scope     Scope
	Depth     Depth
	Owner     string
	Principal string
	Client    Client
	// Timeout is what the client asked for: 0 when it did not say, Infinite for "Infinite".
	// The System's Policy turns it into the granted timeout.
	Timeout         time.Duration
	ReleaseOnUpdate bool
	LockNull        bool
}

// Policy bounds lock timeouts (config keys locks.*).
type Policy struct {
	Min           time.Duration // granted timeouts are at least this
	Max           time.Duration // and at most this
	Default       time.Duration // granted when the client asks for none
	AllowInfinite bool          // grant Infinite as infinite; otherwise it gets Max
}

// DefaultPolicy is the policy of an unconfigured server: 1s..24h, 10m by default, no infinite locks.
var DefaultPolicy = Policy{Min: time.Second, Max: 24 * time.Hour, Default: 10 * time.Minute}

// Need names what a write touches, for System.Missing.
type Need struct {
	Path string
	// Depth DepthZero: the resource at Path (so: every lock that covers it).
	// DepthInfinity: the resource and everything below it (DELETE or MOVE of a collection).
	Depth Depth
}

// Query selects locks for System.Query (the JSON API's GET /.lockdav/locks).
type Query struct {
	Path      string // default "/"
	Depth     Depth  // DepthZero: rooted at Path; DepthInfinity: at Path or below
	Members   bool   // with DepthZero: also locks rooted at Path's direct members (depth "1")
	Covering  bool   // add the locks on ancestors that cover Path
	Owner     string // substring of Owner
	Principal string // exact
	Scope     *Scope // nil: any
}

// MaxOwner is the longest owner a lock may have, in bytes, whether it came from WebDAV's
// DAV:owner (re-serialized) or the lock API: it is stored with the lock, sent in every
// lockdiscovery and shown by every query.
const MaxOwner = 64 << 10

// Errors. The webdav.LockSystem methods return x/net's sentinels instead, unwrapped, because
// the x/net Handler compares them with ==.
var (
	// ErrLocked: the request conflicts with existing locks; the error is a *ConflictError.
	ErrLocked = errors.New("locksystem: locked")
	// ErrNoSuchLock: no live lock has that token.
	ErrNoSuchLock = errors.New("locksystem: no such lock")
	// ErrForbidden: the token belongs to another principal.
	ErrForbidden = errors.New("locksystem: token belongs to another principal")
	// ErrNotCovered: the lock does not cover the path it was refreshed or released at.
	ErrNotCovered = errors.New("locksystem: lock does not cover path")
	// ErrTooMany: the principal holds locks.max_per_principal locks already.
	ErrTooMany = errors.New("locksystem: too many locks for principal")
	// ErrClosed: the System has been closed.
	ErrClosed = errors.New("locksystem: closed")
	// ErrOwnerTooLarge: the request's owner is longer than MaxOwner.
	ErrOwnerTooLarge = errors.New("locksystem: owner too large")
	// ErrInvalid: a request or a stored document is malformed (relative path, unknown scope or
	// depth, negative timeout, empty principal); the wrapping error says which field.
	ErrInvalid = errors.New("locksystem: invalid")
	// ErrUnavailable: the shared store (etcd) cannot be reached or did not answer in time, so
	// nothing can be decided about locks; the request may be retried. Stores of shared state
	// (locks, dead properties) wrap it.
	ErrUnavailable = errors.New("locksystem: store unavailable")
)

// ConflictError says which locks a refused request conflicts with: at most 64 of them, sorted by
// path, so that refusing a lock over a million others stays cheap.
type ConflictError struct {
	Conflicts []Lock
}

func (e *ConflictError) Error() string { return ErrLocked.Error() }

// Is makes errors.Is(err, ErrLocked) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrLocked }

// Store mirrors locks durably (lock documents). One conformance suite (locksystem/storetest)
// runs against every implementation.
type Store interface {
	// Submit queues changes, in order, and returns a function that blocks until they are
	// durable (fsync'd) and reports the commit's error. The System calls Submit with its
	// mutex held, so the store sees changes in the order they happened, and calls wait after
	// releasing it, so concurrent requests share one commit.
	Submit(changes ...Change) (wait func() error)
	// Load returns every stored lock, expired ones included.
	Load() ([]Lock, error)
	// Close commits what is queued and closes the store.
	Close() error
}

// ReleaseStore is a Store that answers for a release before the disk has it. SubmitRelease
// queues changes like Submit, but its wait returns once they are where a crash of the server
// cannot lose them (written to the operating system), before the sync that makes them survive a
// power loss as well, which the store makes within a few milliseconds. Every change submitted
// after them is durable only together with them, so a release that a power loss undoes brings
// its lock back until it times out or is removed, and never leaves a later, conflicting lock
// beside it. Grants and refreshes always wait for the sync: losing one of those could let two
// clients hold conflicting locks.
type ReleaseStore interface {
	Store
	SubmitRelease(changes ...Change) (wait func() error)
}

// Change is one store update: Put a lock document, or Delete the one with Token.
type Change struct {
	Put    *Lock  // non-nil: write this document (insert or replace by token), Expires as given
	Delete string // with Put nil: remove the document with this token
	// For a SharedStore (shared.go): Grant marks a Put as a new lock, committed only if no
	// conflicting lock was stored after revision Since; Reason and By say why a Delete
	// released its lock, for the other replicas' events. Other stores ignore them.
	Grant  bool
	Since  int64
	Reason Reason
	By     string
}
