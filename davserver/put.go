package davserver

// PUT (RFC 4918 §9.7, RFC 9110 §9.3.4). lockdav serves PUT itself rather than through x/net,
// whose PUT truncates the target in place: here the body goes to a temporary file that replaces
// the target only once fully received (DESIGN.md fact 7), so a failed upload loses nothing.

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/lockdav/lockdav/locksystem"
)

// handlePut stores the request body at the target, atomically.
func (h *Handler) handlePut(w http.ResponseWriter, r *http.Request) error {
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	if r.Header.Get("Content-Range") != "" {
		// RFC 9110 §14.5: a server that does not support partial PUT must answer 400.
		return fail(http.StatusBadRequest, "partial PUT (Content-Range) is not supported")
	}
	if h.maxPut > 0 && r.ContentLength > h.maxPut {
		return fail(http.StatusRequestEntityTooLarge, "upload too large")
	}
	ctx := r.Context()
	fi, err := h.fs.Stat(ctx, p)
	exists, etag := err == nil, ""
	switch {
	case exists && fi.IsDir():
		return fail(http.StatusMethodNotAllowed, "cannot PUT to a collection")
	case exists:
		etag = etagOf(fi)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	default:
		// A new member: a missing parent answers 409 before any precondition is looked at
		// (RFC 9110 §13.2.1). An existing target has its parent, so overwrites skip the Stat.
		if err := h.checkParent(ctx, p); err != nil {
			return err
		}
	}
	if err := checkConditional(r, exists, etag); err != nil {
		return err
	}
	needs := []locksystem.Need{{Path: p}}
	if !exists {
		needs = append(needs, locksystem.Need{Path: parent(p)}) // a new member of the parent
	}
	now := h.now()
	tokens, err := h.check(r, now, p, needs...)
	if err != nil {
		return err
	}
	fi, created, err := h.fs.Upload(ctx, p, r.Body, h.maxPut)
	if errors.Is(err, fs.ErrNotExist) {
		// The parent went away since the Stat above.
		return failWith(http.StatusConflict, "parent collection does not exist", err)
	}
	if err != nil {
		return err
	}
	h.locks.Updated(now, principal(r), tokens, p)
	w.Header().Set("ETag", etagOf(fi))
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}
