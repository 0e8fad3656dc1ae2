package davserver

// HTTP conditional requests (RFC 9110 §13.1.1 If-Match, §13.1.2 If-None-Match) for methods
// lockdav serves itself. GNOME gvfs relies on If-Match on PUT to avoid overwriting changes.

import (
	"net/http"
	"strings"
)

// checkConditional evaluates If-Match and If-None-Match against the target's current state.
func checkConditional(r *http.Request, exists bool, etag string) error {
	if im := r.Header.Get("If-Match"); im != "" && !matchAny(im, exists, etag, false) {
		return fail(http.StatusPreconditionFailed, "If-Match precondition failed")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && matchAny(inm, exists, etag, true) {
		return fail(http.StatusPreconditionFailed, "If-None-Match precondition failed")
	}
	return nil
}

// matchAny reports whether the entity-tag list v matches the resource: "*" matches any existing
// resource; otherwise tags compare strongly (If-Match) or weakly (If-None-Match).
func matchAny(v string, exists bool, etag string, weak bool) bool {
	if !exists {
		return false
	}
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if weak {
			if strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		} else if !strings.HasPrefix(t, "W/") && t == etag {
			return true
		}
	}
	return false
}
