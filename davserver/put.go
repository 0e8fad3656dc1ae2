package davserver

// PUT (RFC 4918 §9.7, RFC 9110 §9.3.4). lockdav serves PUT itself rather than through x/net,
// whose PUT truncates the target in place: here the body goes to a temporary file that replaces
// the target only once fully received (fs.FS.Upload), so a failed upload loses nothing.

import (
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
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
	now := h.now()
	tokens, err := h.putPreconditions(r, now, p)
	if err != nil {
		return err
	}
	fi, created, err := h.fs.Upload(ctx, p, r.Body, h.maxPut, func() error { return h.recheckPut(r, p) })
	if errors.Is(err, fs.ErrNotExist) {
		// No parent: putPreconditions left finding that to Upload, or it went away since.
		return failWith(http.StatusConflict, "parent collection does not exist", err)
	}
	if err != nil {
		return err
	}
	h.locks.ReleaseOnUpdate(now, request.Principal(r), tokens, p)
	w.Header().Set("ETag", etagOf(fi))
	if created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// recheckPut checks the request's locks again once its body is in, just before the target is
// replaced (RFC 4918 §7: a write needs its locks when it is made): a body that took longer to
// arrive than a lock had left must not land over the lock someone took meanwhile. It catches up
// with a shared store first. The If header is evaluated again in full, as a write's check does.
// As in putPreconditions, the target is looked up only when the stricter check, as for a new
// member of the parent, fails: most PUTs pass it, and save the lookup.
func (h *Handler) recheckPut(r *http.Request, p string) error {
	if err := h.locks.Sync(r.Context()); err != nil {
		return err
	}
	now := h.now()
	if _, err := h.check(r, now, p, locksystem.Need{Path: p}, locksystem.Need{Path: parent(p)}); err == nil {
		return nil
	}
	needs := []locksystem.Need{{Path: p}}
	if _, err := h.fs.Stat(r.Context(), p); errors.Is(err, fs.ErrNotExist) {
		needs = append(needs, locksystem.Need{Path: parent(p)}) // a new member of the parent
	}
	_, err := h.check(r, now, p, needs...)
	return err
}

// putPreconditions checks what a PUT to p must satisfy before its body is read: the target is
// not a collection, its parent exists (§9.7.1), If-Match and If-None-Match hold (RFC 9110
// §13.1), and the request's tokens satisfy the locks on the target and, for a new member, on its
// parent (§7.5). It returns the submitted tokens.
//
// Most PUTs send no If-Match or If-None-Match, and there is no lock on the parent that they
// lack a token for: then whether the target exists changes nothing checked here, and the Stat
// that would say so is left to Upload, which also finds a missing parent (409) or a collection
// (405) by itself. Only when that check fails is the target looked up.
func (h *Handler) putPreconditions(r *http.Request, now time.Time, p string) ([]string, error) {
	if r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "" {
		if tokens, err := h.check(r, now, p, locksystem.Need{Path: p}, locksystem.Need{Path: parent(p)}); err == nil {
			return tokens, nil
		}
	}
	ctx := r.Context()
	fi, err := h.fs.Stat(ctx, p)
	exists, etag := err == nil, ""
	switch {
	case exists && fi.IsDir():
		return nil, fail(http.StatusMethodNotAllowed, "cannot PUT to a collection")
	case exists:
		etag = etagOf(fi)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	default:
		// A new member: a missing parent answers 409 before any precondition is looked at
		// (RFC 9110 §13.2.1). An existing target has its parent, so overwrites skip the Stat.
		if err := h.checkParent(ctx, p); err != nil {
			return nil, err
		}
	}
	if err := checkConditional(r, exists, etag); err != nil {
		return nil, err
	}
	needs := []locksystem.Need{{Path: p}}
	if !exists {
		needs = append(needs, locksystem.Need{Path: parent(p)}) // a new member of the parent
	}
	return h.check(r, now, p, needs...)
}
