package lockapi

// The JSON lock API under the reserved prefix: lock documents for people and programs that ask
// "what is locked under /projects, by whom, until when?", and lock/release over REST.
//
//	GET    /.lockdav/locks            query: path, depth (0|1|infinity), covering, owner, principal, scope
//	GET    /.lockdav/locks/{token}    one document
//	POST   /.lockdav/locks            take a lock: {"path","scope","depth","timeout_seconds","owner","release_on_update","tokens","wait"}
//	GET    /.lockdav/events           the lock events as Server-Sent Events (events.go)
//	DELETE /.lockdav/locks/{token}    release (the lock's principal, or an admin)

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// apiError is the JSON body of every API failure.
type apiError struct {
	Error     string            `json:"error"`
	Detail    string            `json:"detail,omitempty"`
	Conflicts []locksystem.Lock `json:"conflicts,omitempty"`
}

// apiStatusError is an API failure with its status and JSON body.
type apiStatusError struct {
	status int
	body   apiError
}

func (e *apiStatusError) Error() string { return e.body.Error + ": " + e.body.Detail }

func apiFail(status int, msg, detail string) error {
	return &apiStatusError{status: status, body: apiError{Error: msg, Detail: detail}}
}

// writeAPIError writes err as JSON, mapping other errors the way WebDAV answers map them.
func writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiStatusError
	if !errors.As(err, &ae) {
		status, reason := davserver.StatusOf(err)
		ae = &apiStatusError{status: status, body: apiError{Error: http.StatusText(status), Detail: reason}}
	}
	request.Log(r).WithLevel(request.FailLevel(ae.status)).Err(request.ClipErr(err)).Int("status", ae.status).Msg("api request failed")
	if ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", davserver.RetryAfter)
	}
	writeJSON(w, ae.status, ae.body)
}

// WriteError answers a request to the lock API that the server refuses before it gets here (a
// cross-origin one) in the API's JSON.
func WriteError(w http.ResponseWriter, r *http.Request, status int, msg, detail string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeAPIError(w, r, apiFail(status, msg, detail))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // owners are XML: keep them readable in curl and the CLI
	_ = enc.Encode(v)
}

// apiQuery answers GET /.lockdav/locks.
func (h *Handler) apiQuery(w http.ResponseWriter, r *http.Request) error {
	h.locks.SyncRead(r.Context()) // the same answer from every replica
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	locks := h.queryLocks(r, q)
	if locks == nil {
		locks = []locksystem.Lock{}
	}
	writeJSON(w, http.StatusOK, struct {
		Locks []locksystem.Lock `json:"locks"`
		Count int               `json:"count"`
	}{locks, len(locks)})
	return nil
}

// apiRoot is the root the lock API works under: the user's, except for admins, who see and
// name every lock by its real path.
func apiRoot(r *http.Request) string {
	if request.IsAdmin(r) {
		return "/"
	}
	return request.Root(r.Context())
}

// queryLocks runs q, whose path is in the request's URL space, and returns the locks with
// their paths in that space: a user confined to a subtree sees the locks in it, and those
// covering it from above at "/".
func (h *Handler) queryLocks(r *http.Request, q locksystem.Query) []locksystem.Lock {
	root := apiRoot(r)
	q.Path = request.ToReal(root, q.Path)
	return request.LocksInView(root, h.locks.Query(h.now(), q))
}

// visibleLock reports whether a lock shows to a user confined to root: it lies in the user's
// tree, or covers it from above.
func visibleLock(root string, l locksystem.Lock) bool {
	return request.InTree(root, l.Path) || l.Covers(root)
}

// parseQuery reads the query parameters of GET /.lockdav/locks.
func parseQuery(r *http.Request) (locksystem.Query, error) {
	v := r.URL.Query()
	q := locksystem.Query{Path: "/", Depth: locksystem.DepthInfinity, Owner: v.Get("owner"), Principal: v.Get("principal")}
	if p := v.Get("path"); p != "" {
		cp, err := request.CleanPath(p)
		if err != nil {
			return q, apiFail(http.StatusBadRequest, "invalid parameter", "path must be an absolute path")
		}
		q.Path = cp
	}
	switch v.Get("depth") {
	case "", "infinity":
	case "0":
		q.Depth = locksystem.DepthZero
	case "1":
		q.Depth, q.Members = locksystem.DepthZero, true
	default:
		return q, apiFail(http.StatusBadRequest, "invalid parameter", "depth must be 0, 1 or infinity")
	}
	switch v.Get("covering") {
	case "", "false":
	case "true":
		q.Covering = true
	default:
		return q, apiFail(http.StatusBadRequest, "invalid parameter", "covering must be true or false")
	}
	if s := v.Get("scope"); s != "" {
		sc, err := parseScope(s)
		if err != nil {
			return q, apiFail(http.StatusBadRequest, "invalid parameter", "scope must be exclusive or shared")
		}
		q.Scope = &sc
	}
	return q, nil
}

func parseScope(s string) (locksystem.Scope, error) {
	switch s {
	case "exclusive":
		return locksystem.Exclusive, nil
	case "shared":
		return locksystem.Shared, nil
	}
	return 0, fmt.Errorf("unknown scope %q", s)
}

// apiGet answers GET /.lockdav/locks/{token}.
func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request) error {
	h.locks.SyncRead(r.Context()) // the same answer from every replica
	l, ok := h.locks.Get(h.now(), r.PathValue("token"))
	if !ok || !visibleLock(apiRoot(r), l) {
		return apiFail(http.StatusNotFound, "not found", "no live lock has this token")
	}
	writeJSON(w, http.StatusOK, request.LockInView(apiRoot(r), l))
	return nil
}

// apiRelease answers DELETE /.lockdav/locks/{token}: the lock's principal may release it; an
// admin may force-release anyone's, which is logged as forced.
func (h *Handler) apiRelease(w http.ResponseWriter, r *http.Request) error {
	if isCollection(r) {
		return notAllowed("")(w, r)
	}
	_, err := h.locks.Release(h.now(), r.PathValue("token"), request.Principal(r), "", request.IsAdmin(r))
	switch {
	case errors.Is(err, locksystem.ErrNoSuchLock):
		return apiFail(http.StatusNotFound, "not found", "no live lock has this token")
	case errors.Is(err, locksystem.ErrForbidden):
		return apiFail(http.StatusForbidden, "forbidden", "the lock belongs to another principal")
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// lockBody is the body of POST /.lockdav/locks.
type lockBody struct {
	Path            string   `json:"path"`
	Scope           string   `json:"scope"`
	Depth           string   `json:"depth"`
	TimeoutSeconds  *int64   `json:"timeout_seconds"`
	Owner           string   `json:"owner"`
	ReleaseOnUpdate bool     `json:"release_on_update"`
	Tokens          []string `json:"tokens"` // lock tokens the caller holds (a locked parent's, to add a member)
	Wait            string   `json:"wait"`   // how long to wait for a conflicting lock to go, as "30s"
}

// apiLock answers POST /.lockdav/locks.
func (h *Handler) apiLock(w http.ResponseWriter, r *http.Request) error {
	if err := wantJSON(r); err != nil {
		return err
	}
	if r.ContentLength > h.maxBody {
		return apiFail(http.StatusRequestEntityTooLarge, "body too large", fmt.Sprintf("at most %d bytes", h.maxBody))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	switch {
	case err != nil:
		return davserver.BodyReadError(err) // 408 for a body that fell behind the body timeout
	case int64(len(body)) > h.maxBody:
		return apiFail(http.StatusRequestEntityTooLarge, "body too large", fmt.Sprintf("at most %d bytes", h.maxBody))
	}
	req, tokens, err := parseLockBody(body)
	if err != nil {
		return err
	}
	wait, err := h.parseWait(body)
	if err != nil {
		return err
	}
	req.Principal, req.Client = request.Principal(r), request.Client(r)
	root := apiRoot(r)
	req.Path = request.ToReal(root, req.Path)
	var l locksystem.Lock
	if wait > 0 {
		l, err = h.grantWaiting(r, req, tokens, wait)
	} else {
		l, _, err = h.dav.Grant(r, h.now(), req, tokens)
	}
	var ce *locksystem.ConflictError
	if errors.As(err, &ce) {
		return &apiStatusError{status: http.StatusLocked, body: apiError{Error: "locked",
			Detail: "locks in the way are listed in conflicts", Conflicts: request.LocksInView(root, ce.Conflicts)}}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, request.LockInView(root, l))
	return nil
}

// parseLockBody decodes and validates a POST /.lockdav/locks body, naming the field at fault.
func parseLockBody(body []byte) (locksystem.Request, []string, error) {
	var b lockBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return locksystem.Request{}, nil, apiFail(http.StatusBadRequest, "invalid JSON", err.Error())
	}
	if len(b.Owner) > locksystem.MaxOwner {
		return locksystem.Request{}, nil, apiFail(http.StatusRequestEntityTooLarge, "owner too large", fmt.Sprintf("owner: at most %d bytes", locksystem.MaxOwner))
	}
	req := locksystem.Request{Owner: b.Owner, ReleaseOnUpdate: b.ReleaseOnUpdate, Depth: locksystem.DepthInfinity}
	p, err := request.CleanPath(b.Path)
	if err != nil || request.IsReserved(p) {
		return req, nil, apiFail(http.StatusBadRequest, "invalid field", "path: must be an absolute path in the served tree")
	}
	req.Path = p
	if b.Scope == "" {
		b.Scope = "exclusive"
	}
	if req.Scope, err = parseScope(b.Scope); err != nil {
		return req, nil, apiFail(http.StatusBadRequest, "invalid field", "scope: must be exclusive or shared")
	}
	switch b.Depth {
	case "", "infinity":
	case "0":
		req.Depth = locksystem.DepthZero
	default:
		return req, nil, apiFail(http.StatusBadRequest, "invalid field", "depth: must be 0 or infinity")
	}
	switch {
	case b.TimeoutSeconds == nil:
	case *b.TimeoutSeconds < 0:
		return req, nil, apiFail(http.StatusBadRequest, "invalid field", "timeout_seconds: must be 0 (infinite) or positive")
	case *b.TimeoutSeconds == 0:
		req.Timeout = locksystem.Infinite
	default:
		req.Timeout = time.Duration(min(*b.TimeoutSeconds, int64(100*365*24*3600))) * time.Second
	}
	return req, b.Tokens, nil
}
