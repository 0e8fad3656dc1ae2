package davserver

// Preconditions of a request: the If header (RFC 4918 §10.4) evaluated in full against the real
// resources, and the lock requirements of RFC 4918 §7 (§7.4: a write to a locked resource needs
// its lock token; §7.5: adding or removing a member needs the collection's token).

import (
	"errors"
	iofs "io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// check evaluates the request's preconditions for a request on target that touches needs, and
// returns the lock tokens the request submitted. The If header comes first: a false one answers
// 412 (§10.4.1, litmus fail_cond_put). Then every lock the write touches must have its token
// among those submitted, or the answer is 423 (§7.4; litmus cond_put_corrupt_token sends a bogus
// token in a list beside a true one).
func (h *Handler) check(r *http.Request, now time.Time, target string, needs ...locksystem.Need) ([]string, error) {
	ih, present, err := ifOf(r)
	if err != nil {
		return nil, err
	}
	if present && !ih.Eval(h.ifResources(r, now, target, ih.HasETags())) {
		return nil, fail(http.StatusPreconditionFailed, "If header precondition failed")
	}
	tokens := ih.Tokens()
	if missing := h.locks.Missing(now, request.Principal(r), tokens, needs...); len(missing) > 0 {
		return nil, lockedError(request.Root(r.Context()), target, needs, missing)
	}
	return tokens, nil
}

// ifOf parses the request's If header; present is false when there is none.
func ifOf(r *http.Request) (ih rfc4918.If, present bool, err error) {
	v := strings.TrimSpace(strings.Join(r.Header.Values("If"), " "))
	if v == "" {
		return rfc4918.If{}, false, nil
	}
	ih, err = rfc4918.ParseIf(v)
	if err != nil {
		return rfc4918.If{}, true, failWith(http.StatusBadRequest, "malformed If header", err)
	}
	return ih, true, nil
}

// ifResources resolves the resources an If header names: "" is the Request-URI (target), a tag
// is resolved to a path on this server. The resources are stat'ed only when the header has
// entity tags to compare: most If headers carry lock tokens alone.
func (h *Handler) ifResources(r *http.Request, now time.Time, target string, etags bool) func(tag string) (rfc4918.Resource, bool) {
	return func(tag string) (rfc4918.Resource, bool) {
		p := target
		if tag != "" {
			var ok bool
			if p, ok = rfc4918.TagPath(tag, schemeOf(r), r.Host); !ok {
				return rfc4918.Resource{}, false
			}
			p = request.ToReal(request.Root(r.Context()), p)
		}
		res := rfc4918.Resource{HasLock: func(token string) bool {
			l, ok := h.locks.Get(now, token)
			return ok && l.Covers(p)
		}}
		if !etags {
			return res, true
		}
		if fi, err := h.fs.Stat(r.Context(), p); err == nil {
			res.Exists, res.ETag = true, etagOf(fi)
		}
		return res, true
	}
}

// isBelow reports whether p is strictly inside collection dir.
func isBelow(p, dir string) bool {
	if dir == "/" {
		return p != "/"
	}
	return strings.HasPrefix(p, dir+"/")
}

// lockedError is the answer to a write that lacks lock tokens. When the missing locks are all on
// members of a collection being deleted or moved, RFC 4918 §9.6.1 and §9.9.4 want a 207 that
// names each locked member (423) and the collection (424); otherwise it is 423 with the
// DAV:lock-token-submitted precondition naming the lock roots (§16). Either way each lock is
// followed by lockdav's L:lock-holder, so a client can tell its user who holds it. Paths are
// real; the answer names them in the URL space of root.
func lockedError(root, target string, needs []locksystem.Need, missing []locksystem.Lock) error {
	inWay := &locksystem.ConflictError{Conflicts: missing} // real paths, for the lock API's 423
	target, needs, missing = request.ToURL(root, target), needsInView(root, needs), request.LocksInView(root, missing)
	deep := false
	for _, n := range needs {
		deep = deep || (n.Path == target && n.Depth == locksystem.DepthInfinity)
	}
	var members []rfc4918.Response
	for _, l := range missing {
		if deep && isBelow(l.Path, target) {
			members = append(members, msResponse(rfc4918.Href(l.Path), http.StatusLocked, "lock-token-submitted", l))
		}
	}
	if len(members) == len(missing) {
		members = append(members, msResponse(rfc4918.Href(target), http.StatusFailedDependency, ""))
		return &multiStatusError{responses: members}
	}
	return &statusError{status: http.StatusLocked, reason: http.StatusText(http.StatusLocked),
		body: rfc4918.LockedBody("lock-token-submitted", missing), err: inWay}
}

// multiStatusError is a failure reported as 207 Multi-Status (RFC 4918 §13).
type multiStatusError struct {
	responses []rfc4918.Response
}

func (e *multiStatusError) Error() string { return "locked members" }

// asMultiStatus reports whether err is answered with a 207 body.
func asMultiStatus(err error) (*multiStatusError, bool) {
	var me *multiStatusError
	ok := errors.As(err, &me)
	return me, ok
}

// etagOf is the entity tag of a resource, the same one GET and PROPFIND report.
func etagOf(fi iofs.FileInfo) string { return fs.ETag(fi) }

// msResponse is a DAV:response for status, with the §16 condition it failed and the locks
// behind it, if any.
func msResponse(href string, status int, condition string, locks ...locksystem.Lock) rfc4918.Response {
	return rfc4918.Response{Href: href, Status: status, Reason: http.StatusText(status), Condition: condition, Locks: locks}
}

// writeMultiStatus answers 207 Multi-Status (RFC 4918 §13) with rs. It writes nothing and
// returns an error if an entry is invalid.
func writeMultiStatus(w http.ResponseWriter, rs []rfc4918.Response) error {
	body, err := rfc4918.MultiStatus(rs)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, err = w.Write(body)
	return err
}

// needsInView returns copies of needs with their paths in the URL space of root.
func needsInView(root string, needs []locksystem.Need) []locksystem.Need {
	if root == "/" {
		return needs
	}
	out := make([]locksystem.Need, len(needs))
	for i, n := range needs {
		n.Path = request.ToURL(root, n.Path)
		out[i] = n
	}
	return out
}
