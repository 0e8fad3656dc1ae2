package davserver

// LOCK (RFC 4918 §9.10) and UNLOCK (§9.11). lockdav serves both itself: x/net's Handler refuses
// shared locks before any LockSystem sees them and has no notion of principals.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// handleLock creates a lock, or refreshes one when the body is empty (§9.10.2).
func (h *Handler) handleLock(w http.ResponseWriter, r *http.Request) error {
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	timeout, err := rfc4918.ParseTimeout(r.Header.Get("Timeout"))
	if err != nil {
		return failWith(http.StatusBadRequest, "invalid Timeout header", err)
	}
	body, err := h.readXML(r) // ParseLockInfo checks the XML as bufferXML would
	if err != nil {
		return err
	}
	li, empty, err := rfc4918.ParseLockInfo(body)
	if err != nil {
		return lockInfoError(err)
	}
	now := h.now()
	if empty {
		return h.refreshLock(w, r, now, p, timeout)
	}
	depth, err := lockDepth(r)
	if err != nil {
		return err
	}
	return h.createLock(w, r, now, locksystem.Request{
		Path: p, Scope: li.Scope, Depth: depth, Owner: li.Owner,
		Principal: request.Principal(r), Client: request.Client(r), Timeout: timeout,
	})
}

// lockDepth is a LOCK's Depth: 0 or infinity, infinity when absent (§9.10.3; Windows sends none).
func lockDepth(r *http.Request) (locksystem.Depth, error) {
	v := r.Header.Get("Depth")
	if v == "" {
		return locksystem.DepthInfinity, nil
	}
	d, err := rfc4918.ParseDepth(v)
	switch {
	case err != nil || d == 1:
		return 0, fail(http.StatusBadRequest, "LOCK Depth must be 0 or infinity")
	case d == 0:
		return locksystem.DepthZero, nil
	default:
		return locksystem.DepthInfinity, nil
	}
}

// lockInfoError maps a lockinfo parse failure to its answer.
func lockInfoError(err error) error {
	if errors.Is(err, rfc4918.ErrLockType) {
		return failWith(http.StatusUnprocessableEntity, "only write locks are supported", err)
	}
	if errors.Is(err, rfc4918.ErrTooLong) {
		return failWith(http.StatusRequestEntityTooLarge, fmt.Sprintf("owner longer than %d bytes", locksystem.MaxOwner), err)
	}
	return failWith(http.StatusBadRequest, "malformed lockinfo body", err)
}

// createLock grants a new lock and answers with its lockdiscovery (§9.10.1).
func (h *Handler) createLock(w http.ResponseWriter, r *http.Request, now time.Time, req locksystem.Request) error {
	tokens, err := h.check(r, now, req.Path) // the If header, if any, must hold (§10.4)
	if err != nil {
		return err
	}
	l, created, err := h.Grant(r, now, req, tokens)
	if err != nil {
		return lockRefused(request.Root(r.Context()), err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Lock-Token", "<"+l.Token+">")
	return writeLock(w, status, request.LockInView(request.Root(r.Context()), l), now)
}

// Grant takes the lock req asks for, for WebDAV LOCK and the JSON lock API alike, so that both
// doors grant by one rule; req.Path is a real path. A lock on an unmapped URL creates an empty
// resource (§7.3, §9.10.4), which adds a member to its parent: the parent must exist (409) and
// its membership locks must be satisfied by tokens, as for any new member (§7.5). created
// reports that it did. A conflict is an error that wraps *locksystem.ConflictError.
func (h *Handler) Grant(r *http.Request, now time.Time, req locksystem.Request, tokens []string) (locksystem.Lock, bool, error) {
	ctx := r.Context()
	_, err := h.fs.Stat(ctx, req.Path)
	exists := err == nil
	if !exists {
		if !errors.Is(err, fs.ErrNotExist) {
			return locksystem.Lock{}, false, err
		}
		// Creating the resource adds a member to its parent: the membership locks must be
		// checked against every lock granted before, on any replica.
		if err := h.locks.Sync(ctx); err != nil {
			return locksystem.Lock{}, false, err
		}
		need := locksystem.Need{Path: parent(req.Path)}
		if missing := h.locks.Missing(now, req.Principal, tokens, need); len(missing) > 0 {
			return locksystem.Lock{}, false, lockedError(request.Root(r.Context()), req.Path, []locksystem.Need{need}, missing)
		}
		req.LockNull = true
	}
	l, err := h.locks.Lock(now, req)
	if errors.Is(err, locksystem.ErrTooMany) {
		request.Log(r).Warn().Err(err).Str("path", request.Clip(req.Path)).Str("principal", request.Clip(req.Principal)).
			Msg("lock refused: principal holds locks.max_per_principal locks")
	}
	if err != nil {
		logConflict(r, req, err)
		return locksystem.Lock{}, false, err
	}
	if exists {
		return l, false, nil
	}
	created, err := h.createLocked(ctx, now, l)
	return l, created, err
}

// GrantWait is Grant that, while the lock conflicts, waits in line for it until ctx ends
// (locksystem.LockWaitFunc: first come, first served per path, holding nothing meanwhile).
// Every try is Grant itself, so a waited-for lock is granted by the same rule, lock-null
// resource included, as one taken at once. When ctx ends first the error wraps the last
// *locksystem.ConflictError, or ctx's error if the request never got its turn.
func (h *Handler) GrantWait(ctx context.Context, r *http.Request, req locksystem.Request, tokens []string) (locksystem.Lock, bool, error) {
	created := false
	l, err := h.locks.LockWaitFunc(ctx, h.now, req, func(now time.Time) (locksystem.Lock, error) {
		l, c, err := h.Grant(r, now, req, tokens)
		created = c // the tries run one after another, on this goroutine
		return l, err
	})
	return l, created && err == nil, err
}

// createLocked creates the empty resource of lock l, taken on an unmapped URL, and gives the lock
// up if that fails. The parent is not looked up first: Create itself reports a missing one, so a
// lock cycle costs one Stat, not two.
func (h *Handler) createLocked(ctx context.Context, now time.Time, l locksystem.Lock) (bool, error) {
	created, err := h.fs.Create(ctx, l.Path)
	if err == nil {
		return created, nil
	}
	if _, rerr := h.locks.Release(now, l.Token, l.Principal, "", true); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, failWith(http.StatusConflict, "parent collection does not exist", err)
	}
	return false, err
}

// lockRefused answers a LOCK refused for conflicts: 423 with DAV:no-conflicting-lock naming the
// conflicting lock roots (§16) and who holds them, in the URL space of root.
func lockRefused(root string, err error) error {
	var ce *locksystem.ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	return failXML(http.StatusLocked, rfc4918.LockedBody("no-conflicting-lock", request.LocksInView(root, ce.Conflicts)))
}

// logConflict says in the log who holds the locks a request conflicted with.
func logConflict(r *http.Request, req locksystem.Request, err error) {
	var ce *locksystem.ConflictError
	if !errors.As(err, &ce) {
		return
	}
	for _, c := range ce.Conflicts {
		request.Log(r).Info().Str("path", request.Clip(req.Path)).Str("principal", request.Clip(req.Principal)).
			Str("held_by", request.Clip(c.Principal)).Str("held_at", request.Clip(c.Path)).Str("holder_ip", c.Client.IP).
			Time("held_since", c.Created).Msg("lock refused: conflicting lock")
	}
}

// refreshLock refreshes the lock named in the If header (§9.10.2) and answers its lockdiscovery.
func (h *Handler) refreshLock(w http.ResponseWriter, r *http.Request, now time.Time, p string, timeout time.Duration) error {
	ih, present, err := ifOf(r)
	if err != nil {
		return err
	}
	if !present || len(ih.Tokens()) == 0 {
		return fail(http.StatusBadRequest, "lock refresh needs an If header with the lock token")
	}
	var lastErr error
	for _, tok := range ih.Tokens() {
		l, err := h.locks.Refresh(now, tok, request.Principal(r), p, timeout)
		if err == nil {
			return writeLock(w, http.StatusOK, request.LockInView(request.Root(r.Context()), l), now)
		}
		if !noLockToRefresh(err) {
			// The store did not commit the refresh (etcd out of reach, a failed write): the
			// lock is still there, and a 412 would tell its client it is gone.
			return err
		}
		lastErr = err
	}
	if errors.Is(lastErr, locksystem.ErrForbidden) {
		return failWith(http.StatusLocked, "lock token belongs to another principal", lastErr)
	}
	return failWith(http.StatusPreconditionFailed, "no lock to refresh matches the If header", lastErr)
}

// noLockToRefresh says whether Refresh's err means the token names no lock the request may
// refresh here (§9.10.2: 412, or 423 for another principal's), rather than a store failure.
func noLockToRefresh(err error) bool {
	return errors.Is(err, locksystem.ErrNoSuchLock) || errors.Is(err, locksystem.ErrNotCovered) ||
		errors.Is(err, locksystem.ErrForbidden)
}

// writeLock writes a LOCK answer: the lock's lockdiscovery in a DAV:prop (§9.10.1).
func writeLock(w http.ResponseWriter, status int, l locksystem.Lock, now time.Time) error {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	return rfc4918.WriteLockResponse(w, l, now)
}

// handleUnlock removes the lock named by the Lock-Token header (§9.11).
func (h *Handler) handleUnlock(w http.ResponseWriter, r *http.Request) error {
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	tok, err := rfc4918.ParseLockToken(r.Header.Get("Lock-Token"))
	if err != nil {
		return failWith(http.StatusBadRequest, "missing or malformed Lock-Token header", err)
	}
	_, err = h.locks.Release(h.now(), tok, request.Principal(r), p, false)
	switch {
	case errors.Is(err, locksystem.ErrForbidden):
		return failWith(http.StatusForbidden, "lock belongs to another principal", err)
	case errors.Is(err, locksystem.ErrNoSuchLock), errors.Is(err, locksystem.ErrNotCovered):
		// §9.11.1: 409 with the DAV:lock-token-matches-request-uri precondition.
		return &statusError{status: http.StatusConflict, reason: "Conflict",
			body: rfc4918.ErrorBody("lock-token-matches-request-uri"), err: err}
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
