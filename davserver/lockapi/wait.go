package lockapi

// Waiting for a lock: POST /.lockdav/locks with "wait": "30s" holds the request, holding no lock,
// until the locks in the way go and the lock is granted (201), the wait runs out (423 with the
// locks in the way, as without waiting), or the client goes away (nothing is granted). Waiters
// for one path are served first come, first served (locksystem.LockWaitFunc), every try through
// the one grant LOCK uses (davserver.Handler.GrantWait).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// parseWait reads the body's "wait": a Go duration, 0 (or absent) for no waiting. One longer
// than locks.max_wait is refused with 400 naming the limit rather than cut down to it: a client
// that asked for an hour and silently got five minutes would take the 423 for an hour of
// contention.
func (h *Handler) parseWait(body []byte) (time.Duration, error) {
	var b struct {
		Wait string `json:"wait"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Wait == "" {
		return 0, nil // parseLockBody has judged the body already
	}
	d, err := time.ParseDuration(b.Wait)
	switch {
	case err != nil || d < 0:
		return 0, apiFail(http.StatusBadRequest, "invalid field", `wait: must be a duration such as "30s"`)
	case d > h.maxWait:
		return 0, apiFail(http.StatusBadRequest, "invalid field",
			fmt.Sprintf("wait: at most %s (locks.max_wait)", h.maxWait))
	}
	return d, nil
}

// grantWaiting grants req, waiting up to wait for the locks in its way. A wait that runs out
// while still in line behind other waiters has no conflict of its own to report: the 423 then
// names the locks in the way now.
func (h *Handler) grantWaiting(r *http.Request, req locksystem.Request, tokens []string, wait time.Duration) (locksystem.Lock, error) {
	// The body timeout's read deadline (server's timedBody) does not cut the wait short:
	// net/http clears the deadline when, the body read, it starts the background read that
	// notices a client hanging up, which is what ends the request's context.
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	stop := context.AfterFunc(h.closing, cancel)
	defer stop()
	l, _, err := h.dav.GrantWait(ctx, r, req, tokens)
	return l, h.waitOutcome(ctx, r, req, err)
}

// waitOutcome counts how a wait ended and returns the error to answer it with.
func (h *Handler) waitOutcome(ctx context.Context, r *http.Request, req locksystem.Request, err error) error {
	var ce *locksystem.ConflictError
	switch {
	case err == nil:
		h.stats.waitsGranted.Add(1)
		return nil
	case errors.Is(err, locksystem.ErrTooManyWaiters):
		h.stats.waitsRefused.Add(1)
		return apiFail(http.StatusTooManyRequests, "too many waiting requests",
			"this principal has locks.max_waiters_per_principal requests waiting already")
	case r.Context().Err() != nil:
		h.stats.waitsAbandoned.Add(1)
		request.Log(r).Info().Str("path", req.Path).Msg("lock wait abandoned: client went away")
		return err
	case h.closing.Err() != nil:
		h.stats.waitsAbandoned.Add(1)
		return apiFail(http.StatusServiceUnavailable, "shutting down", "the server is stopping; try again later")
	case ctx.Err() == nil:
		return err // not about waiting: 409, 403, a store failure…
	case errors.As(err, &ce):
		h.stats.waitsTimedOut.Add(1)
		return err
	}
	h.stats.waitsTimedOut.Add(1)
	return &locksystem.ConflictError{Conflicts: h.locks.Conflicting(h.now(), req)}
}
