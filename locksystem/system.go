package locksystem

// Write locks, RFC 4918 §6 (locking model) and §7 (write lock): creation, refresh (§9.10.2),
// removal (§9.11) and the principal that owns each token (§6.4).

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Options configures a System.
type Options struct {
	Policy          Policy         // zero value: DefaultPolicy
	Store           Store          // nil: memory only
	MaxPerPrincipal int            // 0: unlimited; else Lock returns ErrTooMany past it
	Logger          zerolog.Logger // lock events: acquired, refreshed, released, expired, conflict
	EventHistory    int            // events kept for Subscribe to resume from; 0: DefaultEventHistory
	// MaxWaitersPerPrincipal bounds one principal's requests waiting in LockWait; 0: unlimited.
	MaxWaitersPerPrincipal int
}

// System is the lock manager. It decides conflicts in memory and mirrors every change to its
// Store before answering. All methods are safe for concurrent use.
type System struct {
	// mu guards every field below except the immutable configuration (store, log, policy,
	// maxPer, handler) and the store's own state.
	mu           sync.Mutex
	root         *node
	byToken      map[uuid.UUID]*entry
	perPrincipal map[string]*holder
	heap         []*entry // locks with a timeout, by expiry
	active       [2]int   // client locks in the index by Scope
	closed       bool
	popped       int // expired entries collected from the heap, for tests of the per-call bound

	count counters // atomics; updated after the store confirms a change
	ev    *eventHub

	// persisting: the document writes of grants and refreshes in flight, by entry, for the
	// refreshes answered from memory to wait for (durable.go).
	persisting map[*entry]*persisting

	// waitMu guards queues and waiting, the lines of LockWait.
	waitMu     sync.Mutex
	queues     map[string]*waitQueue // by path
	waiting    map[string]int        // waiters by principal
	maxWaiters int

	// rev is the revision of the shared store the index reflects (shared.go).
	rev int64
	// pending counts, by principal, the grants to a shared store in flight (shared.go), which
	// locks.max_per_principal counts with the locks the index holds.
	pending map[string]int
	// readFailed is when SyncRead last gave up (Unix nanoseconds), 0 after one that did not.
	readFailed atomic.Int64

	store  Store
	shared SharedStore // store, when it is shared; nil otherwise
	log    zerolog.Logger
	policy Policy
	maxPer int
}

// maxConflicts bounds the locks a ConflictError names, so that refusing a depth-infinity lock
// over a million locks does not list them all.
const maxConflicts = 64

// New returns a System that holds the locks in o.Store: it loads them, deletes the expired ones
// from the store, and resumes their expiry.
func New(now time.Time, o Options) (*System, error) {
	pol := o.Policy
	if pol == (Policy{}) {
		pol = DefaultPolicy
	}
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if o.MaxPerPrincipal < 0 {
		return nil, fmt.Errorf("%w: max per principal %d is negative", ErrInvalid, o.MaxPerPrincipal)
	}
	if o.MaxWaitersPerPrincipal < 0 {
		return nil, fmt.Errorf("%w: max waiters per principal %d is negative", ErrInvalid, o.MaxWaitersPerPrincipal)
	}
	s := &System{
		root:         &node{},
		byToken:      make(map[uuid.UUID]*entry),
		perPrincipal: make(map[string]*holder),
		store:        o.Store,
		log:          o.Logger,
		policy:       pol,
		maxPer:       o.MaxPerPrincipal,
		ev:           newEventHub(o.EventHistory),
		persisting:   make(map[*entry]*persisting),
		queues:       make(map[string]*waitQueue),
		waiting:      make(map[string]int),
		pending:      make(map[string]int),
		maxWaiters:   o.MaxWaitersPerPrincipal,
	}
	s.shared, _ = o.Store.(SharedStore)
	var err error
	switch {
	case s.shared != nil:
		err = s.loadShared()
	case s.store != nil:
		err = s.load(now)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the store. Later calls that change locks return ErrClosed.
func (s *System) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	if s.store == nil {
		return nil
	}
	// Without s.mu: a shared store's Close waits for its watch, which may be applying a change
	// under s.mu.
	return s.store.Close()
}

// Lock grants a new lock, or returns a *ConflictError naming (at most 64 of) the locks in the way.
func (s *System) Lock(now time.Time, r Request) (Lock, error) {
	p, err := cleanPath(r.Path)
	if err != nil {
		return Lock{}, err
	}
	if err := r.validate(); err != nil {
		return Lock{}, err
	}
	if s.shared != nil {
		return s.lockShared(now, p, &r)
	}
	tok, err := uuid.NewRandom()
	if err != nil {
		return Lock{}, fmt.Errorf("locksystem: new token: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Lock{}, ErrClosed
	}
	nowN := now.UnixNano()
	gone := s.expire(nowN)
	e, conflicts, err := s.grant(nowN, p, &r, tok)
	var l Lock
	wait := noWait
	if e != nil {
		l = e.lock()
		wait = s.persist(e, l)
	}
	s.mu.Unlock()
	s.expired(nowN, gone)
	switch {
	case len(conflicts) > 0:
		return Lock{}, s.refuse(now, p, &r, conflicts)
	case err != nil:
		return Lock{}, err
	}
	if err := wait(); err != nil {
		s.undoGrant(e)
		return Lock{}, fmt.Errorf("locksystem: lock on %s not stored: %w", p, err)
	}
	s.count.acquired.Add(1)
	s.ev.publish(Event{Kind: Acquired, Time: now, Lock: l})
	event(s.log.Info(), &l).Msg("lock acquired")
	return l, nil
}

// refuse counts, logs and publishes the refusal of r for conflicts and returns its error.
func (s *System) refuse(now time.Time, p string, r *Request, conflicts []Lock) error {
	sortLocks(conflicts)
	s.count.conflicts.Add(1)
	s.logConflict(p, r, conflicts)
	s.ev.publish(Event{Kind: Conflict, Time: now, Conflicts: conflicts, Lock: Lock{Path: p, Scope: r.Scope,
		Depth: r.Depth, Owner: r.Owner, Principal: r.Principal, Client: r.Client, ReleaseOnUpdate: r.ReleaseOnUpdate}})
	return &ConflictError{Conflicts: conflicts}
}

// grant checks r against the index and inserts its entry. The caller holds s.mu.
func (s *System) grant(now int64, p string, r *Request, tok uuid.UUID) (*entry, []Lock, error) {
	if c := s.conflicting(now, p, r.Scope, r.Depth); len(c) > 0 {
		return nil, c, nil
	}
	if h := s.perPrincipal[r.Principal]; s.maxPer > 0 && h != nil && h.n >= s.maxPer {
		return nil, nil, fmt.Errorf("%w: %s holds %d", ErrTooMany, r.Principal, h.n)
	}
	if _, dup := s.byToken[tok]; dup {
		return nil, nil, fmt.Errorf("locksystem: token %s already in use", tokenString(tok))
	}
	e := &entry{
		token:     tok,
		owner:     r.Owner,
		principal: s.holder(r.Principal),
		created:   now,
		refreshed: now,
		timeout:   nanos(s.policy.Grant(r.Timeout)),
		scope:     r.Scope,
		depth:     r.Depth,
	}
	e.durable = slackExpiry(now, e.timeout)
	if r.Client != (Client{}) {
		c := r.Client
		e.client = &c
	}
	if r.ReleaseOnUpdate {
		e.flags |= flagReleaseOnUpdate
	}
	if r.LockNull {
		e.flags |= flagLockNull
	}
	s.insert(e, s.ensure(p))
	return e, nil, nil
}

// undoGrant removes e after its store commit failed, unless something removed it already.
func (s *System) undoGrant(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byToken[e.token] == e {
		s.remove(e)
	}
}

// conflicting returns the live locks that a new lock (p, sc, d) conflicts with, at most
// maxConflicts of them: locks rooted at p, depth-infinity locks on an ancestor, and, when d is
// infinity, locks rooted below p. The caller holds s.mu.
func (s *System) conflicting(now int64, p string, sc Scope, d Depth) []Lock {
	var out []Lock
	add := func(e *entry) bool {
		if e.live(now) && e.conflicts(sc) {
			out = append(out, e.lock())
		}
		return len(out) < maxConflicts
	}
	n := s.root
	for rest := p; rest != "/" && rest != ""; {
		for e := n.inf; e != nil; e = e.next {
			add(e)
		}
		var seg string
		seg, rest = nextSegment(rest)
		if n = n.child(seg); n == nil {
			return out
		}
	}
	for _, list := range [2]*entry{n.zero, n.inf} {
		for e := list; e != nil && len(out) < maxConflicts; e = e.next {
			add(e)
		}
	}
	if d == DepthInfinity && len(out) < maxConflicts {
		visitBelow(n, now, add)
	}
	return out
}

// Refresh restarts the lock's timeout with a new one, granted by the policy from timeout
// (as Request.Timeout: 0 for the default, Infinite). path "" skips the scope check.
func (s *System) Refresh(now time.Time, token, principal, path string, timeout time.Duration) (Lock, error) {
	p, err := optionalPath(path)
	if err != nil {
		return Lock{}, err
	}
	if timeout < 0 && timeout != Infinite {
		return Lock{}, fmt.Errorf("%w: timeout %v", ErrInvalid, timeout)
	}
	if s.shared != nil {
		return s.refreshShared(now, token, principal, p, s.policy.Grant(timeout))
	}
	granted := nanos(s.policy.Grant(timeout))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Lock{}, ErrClosed
	}
	nowN := now.UnixNano()
	gone := s.expire(nowN)
	e, err := s.lookup(nowN, token, principal, p, false)
	var l Lock
	wait := noWait
	var old entry
	if err == nil {
		old = *e
		s.setTimeout(e, nowN, granted)
		l = e.lock()
		wait = s.persistRefresh(e, l, nowN)
	}
	s.mu.Unlock()
	s.expired(nowN, gone)
	if err != nil {
		return Lock{}, err
	}
	if err := wait(); err != nil {
		s.undoRefresh(e, &old, nowN, granted)
		return Lock{}, fmt.Errorf("locksystem: refresh of %s not stored: %w", token, err)
	}
	s.count.refreshed.Add(1)
	s.ev.publish(Event{Kind: Refreshed, Time: now, Lock: l})
	event(s.log.Info(), &l).Int64("timeout_seconds", int64(l.Timeout/time.Second)).Msg("lock refreshed")
	return l, nil
}

// undoRefresh puts back e's timeout and stored expiry as they were before the refresh at now
// to granted (old), whose write failed, unless something changed them since. Of two stored
// expiries the earlier is the one to assume: the failed write may not have reached the disk.
func (s *System) undoRefresh(e, old *entry, now, granted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byToken[e.token] != e {
		return
	}
	if e.refreshed == now && e.timeout == granted {
		s.setTimeout(e, old.refreshed, old.timeout)
	}
	e.durable = min(e.durable, old.durable)
}

// setTimeout restarts e's timeout at refreshed. The caller holds s.mu.
func (s *System) setTimeout(e *entry, refreshed, timeout int64) {
	e.refreshed, e.timeout = refreshed, timeout
	switch {
	case e.heapIdx >= 0 && timeout == 0:
		s.heapRemove(int(e.heapIdx))
	case e.heapIdx >= 0:
		s.heapFix(int(e.heapIdx))
	case timeout != 0:
		s.heapPush(e)
	}
	raiseMaxExp(e.node, e.expiry())
}

// Release removes the lock. path "" skips the scope check; force (an admin) skips the principal
// check.
func (s *System) Release(now time.Time, token, principal, path string, force bool) (Lock, error) {
	p, err := optionalPath(path)
	if err != nil {
		return Lock{}, err
	}
	if s.shared != nil {
		return s.releaseShared(now, token, principal, p, force)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Lock{}, ErrClosed
	}
	nowN := now.UnixNano()
	gone := s.expire(nowN)
	e, err := s.lookup(nowN, token, principal, p, force)
	var l Lock
	wait := noWait
	if err == nil {
		l = e.lock()
		s.remove(e)
		wait = s.submitRelease(Change{Delete: l.Token})
	}
	s.mu.Unlock()
	s.expired(nowN, gone)
	if err != nil {
		return Lock{}, err
	}
	if err := wait(); err != nil {
		s.undoRelease(nowN, e, l.Path)
		return Lock{}, fmt.Errorf("locksystem: release of %s not stored: %w", token, err)
	}
	s.count.released.Add(1)
	ev := event(s.log.Info(), &l)
	rel := Event{Kind: Released, Reason: Unlocked, Time: now, Lock: l}
	if force && l.Principal != principal {
		s.count.forced.Add(1)
		ev = ev.Bool("forced", true).Str("by", principal)
		rel.Reason, rel.By = Forced, principal
	}
	s.ev.publish(rel)
	ev.Msg("lock released")
	return l, nil
}

// undoRelease puts e back after its deletion failed to commit, unless a conflicting lock was
// granted in the meantime: two conflicting holders would be worse than a lost lock.
func (s *System) undoRelease(now int64, e *entry, p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byToken[e.token]; ok || s.closed {
		return
	}
	if c := s.conflicting(now, p, e.scope, e.depth); len(c) > 0 {
		s.log.Error().Str("token", tokenString(e.token)).Str("path", p).
			Msg("lock release not stored and lock not restored: a conflicting lock was granted")
		return
	}
	s.insert(e, s.ensure(p))
}

// lookup finds the live lock named token that principal may use at p ("" for anywhere).
// The caller holds s.mu.
func (s *System) lookup(now int64, token, principal, p string, force bool) (*entry, error) {
	u, ok := parseToken(token)
	if !ok {
		return nil, ErrNoSuchLock
	}
	e := s.byToken[u]
	switch {
	case e == nil || !e.live(now):
		return nil, ErrNoSuchLock
	case !force && e.principal.name != principal:
		return nil, ErrForbidden
	case p != "" && !e.covers(p):
		return nil, ErrNotCovered
	}
	return e, nil
}

// covers reports whether clean path p is inside e's scope.
func (e *entry) covers(p string) bool { return covers(e.node.path(), e.depth, p) }

// Covers reports whether clean path p is inside the lock's scope (RFC 4918 §7.4): the lock's
// root itself, or, for a depth-infinity lock, anything below it.
func (l *Lock) Covers(p string) bool { return covers(l.Path, l.Depth, p) }

func covers(root string, d Depth, p string) bool {
	if p == root {
		return true
	}
	return d == DepthInfinity && (root == "/" || strings.HasPrefix(p, root+"/"))
}

// Get returns the live lock named token.
func (s *System) Get(now time.Time, token string) (Lock, bool) {
	u, ok := parseToken(token)
	if !ok {
		return Lock{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byToken[u]
	if e == nil || !e.live(now.UnixNano()) {
		return Lock{}, false
	}
	return e.lock(), true
}

// Len returns how many client locks the System holds, counting expired ones that are not
// collected yet (Len takes no time). The Handler view's temporary locks are not counted.
func (s *System) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byToken)
}

func noWait() error { return nil }

// submit hands changes to the store; the caller holds s.mu and calls wait after releasing it.
func (s *System) submit(changes ...Change) (wait func() error) {
	if s.store == nil {
		return noWait
	}
	return s.store.Submit(changes...)
}

// submitRelease hands the store the deletions of released locks: a ReleaseStore answers for it
// once a crash of the server cannot lose it. The caller holds s.mu and calls wait after
// releasing it.
func (s *System) submitRelease(changes ...Change) (wait func() error) {
	if rs, ok := s.store.(ReleaseStore); ok {
		return rs.SubmitRelease(changes...)
	}
	return s.submit(changes...)
}

// cleanPath accepts an absolute slash path and cleans it: "/a/b/" and "/a/./b" are "/a/b".
func cleanPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", fmt.Errorf("%w: path %q is not absolute", ErrInvalid, p)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: path %q contains NUL", ErrInvalid, p)
	}
	return path.Clean(p), nil
}

// optionalPath is cleanPath, except that "" stays "" (no path given).
func optionalPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return cleanPath(p)
}

func (r *Request) validate() error {
	switch {
	case r.Scope != Exclusive && r.Scope != Shared:
		return fmt.Errorf("%w: scope %d", ErrInvalid, r.Scope)
	case r.Depth != DepthZero && r.Depth != DepthInfinity:
		return fmt.Errorf("%w: depth %d", ErrInvalid, r.Depth)
	case r.Principal == "":
		return fmt.Errorf("%w: empty principal", ErrInvalid)
	case r.Timeout < 0 && r.Timeout != Infinite:
		return fmt.Errorf("%w: timeout %v", ErrInvalid, r.Timeout)
	case len(r.Owner) > MaxOwner:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrOwnerTooLarge, len(r.Owner), MaxOwner)
	}
	return nil
}

// event adds a lock's fields to a log event.
func event(ev *zerolog.Event, l *Lock) *zerolog.Event {
	return ev.Str("token", l.Token).Str("path", l.Path).Stringer("scope", l.Scope).
		Stringer("depth", l.Depth).Str("principal", l.Principal).Str("owner", logOwner(l.Owner))
}

// maxLoggedOwner is how much of an owner a log line shows: enough to tell who, while an owner
// of up to MaxOwner bytes would make every lock event a 64 KiB line.
const maxLoggedOwner = 256

// logOwner is owner shortened for the log, saying how long it was.
func logOwner(owner string) string {
	if len(owner) <= maxLoggedOwner {
		return owner
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.ToValidUTF8(owner[:maxLoggedOwner], ""), len(owner))
}

func (s *System) logConflict(p string, r *Request, conflicts []Lock) {
	h := &conflicts[0]
	s.log.Info().Str("path", p).Stringer("scope", r.Scope).Stringer("depth", r.Depth).
		Str("principal", r.Principal).Str("owner", logOwner(r.Owner)).
		Str("holder_token", h.Token).Str("holder_path", h.Path).Str("holder_principal", h.Principal).
		Int("conflicts", len(conflicts)).Msg("lock conflict")
}

// sortLocks orders locks by path, then creation, then token.
func sortLocks(ls []Lock) {
	slices.SortFunc(ls, func(a, b Lock) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Token, b.Token)
	})
}
