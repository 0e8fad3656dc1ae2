package davserver

// PROPFIND (RFC 4918 §9.1), served by x/net once its If header holds, with the lock properties
// added (xnet_props.go).

import (
	"net/http"
)

// handlePropfind serves PROPFIND (RFC 4918 §9.1) through x/net with the lock properties added.
func (h *Handler) handlePropfind(w http.ResponseWriter, r *http.Request) error {
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	if err := checkDepth(r); err != nil {
		return err
	}
	now := h.now()
	if _, err := h.check(r, now, p); err != nil {
		return err
	}
	if _, err := h.fs.Stat(r.Context(), p); err != nil {
		return err // x/net would answer 405 to anything but not-found: a symlink out of the root is 403
	}
	names, err := h.bufferPropfind(r)
	if err != nil {
		return err
	}
	r = r.WithContext(withPropfind(r.Context(), now, names))
	h.dav.ServeHTTP(w, r)
	return nil
}
