package locksystem

// The golang.org/x/net/webdav LockSystem interface, RFC 4918 §6 and §9.10-9.11 as x/net's
// Handler drives them. Its methods return x/net's sentinel errors unwrapped: the Handler compares
// them with ==.

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/webdav"
)

var (
	_ webdav.LockSystem = (*System)(nil)
	_ webdav.LockSystem = (*handlerView)(nil)
)

// Confirm reports whether the tokens in conditions let an anonymous client write name0 and name1
// (empty names are ignored): each name needs one of the tokens to name a lock covering it, and
// none of the locks covering it may be missing a token (see Missing). The release function does
// nothing: a confirmed lock is not held for the request, so a refresh that arrives while a PUT
// with the same token is uploading succeeds.
func (s *System) Confirm(now time.Time, name0, name1 string, conditions ...webdav.Condition) (func(), error) {
	var tokens []string
	for _, c := range conditions {
		if c.Token != "" && !c.Not {
			tokens = append(tokens, c.Token)
		}
	}
	for _, name := range []string{name0, name1} {
		if name == "" {
			continue
		}
		p, err := cleanPath(name)
		if err != nil || !s.confirm(now.UnixNano(), p, tokens) {
			return nil, webdav.ErrConfirmationFailed
		}
	}
	return func() {}, nil
}

func (s *System) confirm(now int64, p string, tokens []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf [4]uuid.UUID
	m := missing{now: now, held: submittedTokens(Anonymous, tokens, buf[:0])}
	var coverBuf [8]*entry
	cover := coverBuf[:0]
	matched := false
	s.covering(now, p, func(e *entry) {
		cover = append(cover, e)
		matched = matched || m.held.has(e)
	})
	m.check(cover)
	return matched && len(m.out) == 0
}

// Create grants an exclusive lock to Anonymous, stored like any other: when an x/net Handler uses
// the System directly, these are the clients' locks. A negative Duration asks for Infinite.
func (s *System) Create(now time.Time, details webdav.LockDetails) (string, error) {
	r := Request{Path: details.Root, Scope: Exclusive, Depth: DepthInfinity, Owner: details.OwnerXML,
		Principal: Anonymous, Timeout: details.Duration}
	if details.ZeroDepth {
		r.Depth = DepthZero
	}
	if r.Timeout < 0 {
		r.Timeout = Infinite
	}
	l, err := s.Lock(now, r)
	switch {
	case errors.Is(err, ErrLocked), errors.Is(err, ErrTooMany):
		return "", webdav.ErrLocked
	case err != nil:
		return "", err
	}
	return l.Token, nil
}

// Refresh refreshes an Anonymous lock. Another principal's token gets ErrLocked (423): it does
// not satisfy that lock.
func (s *System) Refresh(now time.Time, token string, duration time.Duration) (webdav.LockDetails, error) {
	if duration < 0 {
		duration = Infinite
	}
	l, err := s.RefreshLock(now, token, Anonymous, "", duration)
	switch {
	case errors.Is(err, ErrNoSuchLock):
		return webdav.LockDetails{}, webdav.ErrNoSuchLock
	case errors.Is(err, ErrForbidden):
		return webdav.LockDetails{}, webdav.ErrLocked
	case err != nil:
		return webdav.LockDetails{}, err
	}
	return details(&l), nil
}

// Unlock releases an Anonymous lock; another principal's token gets ErrForbidden.
func (s *System) Unlock(now time.Time, token string) error {
	_, err := s.Release(now, token, Anonymous, "", false)
	switch {
	case errors.Is(err, ErrNoSuchLock):
		return webdav.ErrNoSuchLock
	case errors.Is(err, ErrForbidden):
		return webdav.ErrForbidden
	}
	return err
}

func details(l *Lock) webdav.LockDetails {
	d := webdav.LockDetails{Root: l.Path, Duration: l.Timeout, OwnerXML: l.Owner, ZeroDepth: l.Depth == DepthZero}
	if l.Timeout == 0 {
		d.Duration = -1
	}
	return d
}

// Handler returns the view davserver gives to its x/net webdav.Handler. davserver evaluates If
// headers and lock requirements before delegating, so in this view Confirm always succeeds,
// Create makes a temporary per-request lock kept in memory only (never stored, never queried,
// never in conflict with client locks; DESIGN.md fact 6), Unlock of such a lock forgets it, and
// Refresh finds no lock.
func (s *System) Handler() webdav.LockSystem { return s.handler }

// handlerView holds the x/net Handler's temporary locks.
type handlerView struct {
	s *System
	// mu guards next and live.
	mu   sync.Mutex
	next uint64
	live map[string]struct{}
}

// tempPrefix marks temporary tokens; they never leave the request that made them.
const tempPrefix = "urn:lockdav:request:"

func (h *handlerView) Confirm(time.Time, string, string, ...webdav.Condition) (func(), error) {
	return func() {}, nil
}

func (h *handlerView) Create(time.Time, webdav.LockDetails) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	t := tempPrefix + strconv.FormatUint(h.next, 10)
	h.live[t] = struct{}{}
	return t, nil
}

func (h *handlerView) Refresh(time.Time, string, time.Duration) (webdav.LockDetails, error) {
	return webdav.LockDetails{}, webdav.ErrNoSuchLock
}

func (h *handlerView) Unlock(_ time.Time, token string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.live[token]; !ok {
		return webdav.ErrNoSuchLock
	}
	delete(h.live, token)
	return nil
}

// temporary returns how many temporary locks are outstanding.
func (h *handlerView) temporary() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}
