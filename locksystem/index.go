package locksystem

// The in-memory index: a tree of path nodes holding the locks rooted at them, a token map, and
// an expiry heap. Conflict rules are RFC 4918 §6.1 and §7 as docs/ARCHITECTURE.md "The lock model" states them.
//
// The tree only holds nodes on the way to a lock root, so "is any lock below X" is "has X any
// children", and every check walks only the ancestors of a path. Each node keeps an upper bound
// of the expiry of every lock at or below it (maxExp), so a subtree whose locks have all expired
// is skipped in O(1) even before the heap has collected them.

import (
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

// never is the expiry of a lock without timeout.
const never int64 = math.MaxInt64

// Entry flags.
const (
	flagReleaseOnUpdate uint8 = 1 << iota
	flagLockNull
	// flagLeased: a SharedStore's lock, which its store expires (shared.go); the index never does.
	flagLeased
)

// entry is one client lock. It is kept small (104 bytes, in the 112-byte size class): times
// are Unix nanoseconds, the path is the node's, and the principal's name is its holder's.
type entry struct {
	token     uuid.UUID
	owner     string
	principal *holder // while e is in the index: the holder in System.perPrincipal
	client    *Client // nil when the request said nothing
	next      *entry  // next lock rooted at the same node with the same depth
	node      *node
	created   int64
	refreshed int64
	timeout   int64 // nanoseconds; 0 = never expires (Lock.Timeout Infinite)
	// durable is the expiry the lock's stored document gives it (durable.go), never for a lock
	// without timeout; at least expiry() once the document is written.
	durable int64
	heapIdx int32 // index in System.heap, -1 when not there
	scope   Scope
	depth   Depth
	flags   uint8
}

// expiry is when e stops being live, in Unix nanoseconds, or never.
func (e *entry) expiry() int64 {
	if e.flags&flagLeased != 0 {
		return never
	}
	return e.expires()
}

// expires is the expiry e's clients are told: refreshed plus timeout, or never.
func (e *entry) expires() int64 {
	if e.timeout == 0 {
		return never
	}
	return slackSum(e.refreshed, e.timeout)
}

// live reports whether e has not expired at now (Unix nanoseconds). An expired lock is absent
// everywhere, whether or not the heap has collected it yet.
func (e *entry) live(now int64) bool { return now < e.expiry() }

func (e *entry) lock() Lock {
	l := Lock{
		Token:           tokenString(e.token),
		Path:            e.node.path(),
		Scope:           e.scope,
		Depth:           e.depth,
		Owner:           e.owner,
		Principal:       e.principal.name,
		Timeout:         Infinite,
		Created:         time.Unix(0, e.created).UTC(),
		Refreshed:       time.Unix(0, e.refreshed).UTC(),
		ReleaseOnUpdate: e.flags&flagReleaseOnUpdate != 0,
		LockNull:        e.flags&flagLockNull != 0,
	}
	if e.timeout != 0 {
		l.Timeout = time.Duration(e.timeout)
		l.Expires = time.Unix(0, e.expires()).UTC()
	}
	if e.client != nil {
		l.Client = *e.client
	}
	return l
}

// conflicts reports whether a lock of scope sc conflicts with e (both covering one resource).
func (e *entry) conflicts(sc Scope) bool { return sc == Exclusive || e.scope == Exclusive }

const tokenPrefix = "urn:uuid:" //nolint:gosec // a URN scheme, not a credential

// tokenString is tokenPrefix + u.String() in one allocation, not two: every Lock a check or a
// query returns carries one.
func tokenString(u uuid.UUID) string {
	const hex = "0123456789abcdef"
	var b [len(tokenPrefix) + 36]byte
	i := copy(b[:], tokenPrefix)
	for j, x := range u {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			b[i] = '-'
			i++
		}
		b[i], b[i+1] = hex[x>>4], hex[x&0xf]
		i += 2
	}
	return string(b[:])
}

// parseToken turns "urn:uuid:<uuid>" into its UUID; ok is false for anything else.
func parseToken(s string) (uuid.UUID, bool) {
	if !strings.HasPrefix(s, tokenPrefix) || len(s) != len(tokenPrefix)+36 {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(s[len(tokenPrefix):])
	return u, err == nil
}

// node is one path segment on the way to a lock root.
type node struct {
	parent *node
	// full is the node's clean path, "" for the root. It is a prefix of the string that
	// ensure copied when it made the node, which the nodes it made beside it share: a Lock
	// names its root without allocating or reading a segment's bytes (a cache miss at a
	// million locks), and a lock's path costs its length once, not once per segment. A node
	// keeps the copy alive after the deeper nodes made with it are gone: one path at most.
	full string
	head uint64 // nameHead(name())
	kids *kids  // nil: none
	zero *entry // depth-0 locks rooted here
	inf  *entry // depth-infinity locks rooted here
	// maxExp is an upper bound of the expiry of every lock at or below this node. Raised on
	// insert and refresh; lowered only by a scan that saw the whole subtree.
	maxExp int64
}

// path is n's clean path.
func (n *node) path() string {
	if n.full == "" {
		return "/"
	}
	return n.full
}

// name is n's last segment; "" for the root.
func (n *node) name() string { return n.full[strings.LastIndexByte(n.full, '/')+1:] }

// empty reports whether n holds no locks and leads to none.
func (n *node) empty() bool { return n.zero == nil && n.inf == nil && n.kids == nil }

// nextSegment splits p (a clean absolute path, or a rest of one) at its first segment.
func nextSegment(p string) (seg, rest string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// find returns the node at clean path p, or nil.
func (s *System) find(p string) *node {
	n := s.root
	for rest := p; rest != "/" && rest != ""; {
		var seg string
		seg, rest = nextSegment(rest)
		if n = n.child(seg); n == nil {
			return nil
		}
	}
	return n
}

// ensure returns the node at clean path p, creating the missing ones.
func (s *System) ensure(p string) *node {
	n := s.root
	var own string // a copy of p, whose prefixes name the new nodes: p may share a request's bytes
	for rest := p; rest != "/" && rest != ""; {
		var seg string
		seg, rest = nextSegment(rest)
		k := n.child(seg)
		if k == nil {
			if own == "" {
				own = strings.Clone(p)
			}
			k = &node{parent: n, full: own[:len(p)-len(rest)], head: nameHead(seg)}
			n.addChild(k)
		}
		n = k
	}
	return n
}

// insert adds e at n. The caller holds s.mu.
func (s *System) insert(e *entry, n *node) {
	e.node = n
	if e.depth == DepthInfinity {
		e.next, n.inf = n.inf, e
	} else {
		e.next, n.zero = n.zero, e
	}
	s.byToken[e.token] = e
	h := s.perPrincipal[e.principal.name]
	if h == nil {
		h = e.principal // new, or left over from a removal (undoRelease): its count is 0
		h.n = 0
		s.perPrincipal[h.name] = h
	}
	e.principal = h
	h.n++
	s.active[e.scope]++
	e.heapIdx = -1
	if e.expiry() != never {
		s.heapPush(e)
	}
	raiseMaxExp(n, e.expiry())
}

func raiseMaxExp(n *node, exp int64) {
	for a := n; a != nil; a = a.parent {
		if a.maxExp < exp {
			a.maxExp = exp
		}
	}
}

// remove takes e out of every index and prunes the nodes left empty. The caller holds s.mu.
func (s *System) remove(e *entry) {
	n := e.node
	list := &n.zero
	if e.depth == DepthInfinity {
		list = &n.inf
	}
	for p := list; *p != nil; p = &(*p).next {
		if *p == e {
			*p = e.next
			break
		}
	}
	e.next = nil
	delete(s.byToken, e.token)
	s.active[e.scope]--
	if h := e.principal; h.n == 1 {
		delete(s.perPrincipal, h.name)
		h.n = 0
	} else {
		h.n--
	}
	if e.heapIdx >= 0 {
		s.heapRemove(int(e.heapIdx))
	}
	for n.parent != nil && n.empty() {
		n.parent.removeChild(n)
		n = n.parent
	}
	if n.empty() {
		n.maxExp = 0
	}
}

// holder is one principal that holds locks: its name, shared by all of them, and their count.
type holder struct {
	name string
	n    int
}

// holder returns p's holder, or a new one that insert will register. The caller holds s.mu.
func (s *System) holder(p string) *holder {
	if h := s.perPrincipal[p]; h != nil {
		return h
	}
	return &holder{name: p}
}

// nanos is a granted timeout as the index keeps it: nanoseconds, 0 for Infinite.
func nanos(timeout time.Duration) int64 {
	if timeout == Infinite {
		return 0
	}
	return int64(timeout)
}
