package lockapi

// GET /.lockdav/events: the lock events of locksystem (Subscribe) as a Server-Sent Events stream
// (HTML Living Standard, "Server-sent events"), for programs and pages that watch locks instead
// of polling GET /.lockdav/locks. Each event is
//
//	id: <boot>.<n>
//	event: <kind>            acquired | refreshed | released | conflict | missed
//	data: {"id","kind","reason","time","lock","conflicts","by"}
//
// <n> is locksystem's event ID; <boot> names this process, so that an ID a client kept from
// before a restart is recognised as another process's and answered with `missed` rather than
// taken for a position in this one's history. The stream takes the query API's filters (path,
// depth, covering, owner, principal, scope) and shows what the query API shows the same user: a
// user confined to a subtree gets the events of the locks in it and of those covering it, with
// paths in that user's URL space.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// apiEvents is the event stream's path.
const apiEvents = request.Reserved + "events"

// streamWriteTimeout bounds each write to a stream: a client that stops reading is cut off
// after it, rather than holding its connection and goroutine forever. Events that pile up
// meanwhile are locksystem's to bound (a subscriber a whole buffer behind is dropped).
const streamWriteTimeout = 10 * time.Second

// newBoot returns a random prefix for this process's event IDs.
func newBoot() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

// eventDoc is the data of one event.
type eventDoc struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Reason    string            `json:"reason,omitempty"` // released only
	Time      time.Time         `json:"time"`
	Lock      any               `json:"lock,omitempty"`      // a *locksystem.Lock; for a conflict, a *refusedLock
	Conflicts []locksystem.Lock `json:"conflicts,omitempty"` // conflict only
	By        string            `json:"by,omitempty"`        // forced releases: the admin
	Detail    string            `json:"detail,omitempty"`    // missed only
}

// refusedLock is the lock a conflict event's request asked for: the fields of a lock document
// that a request has. It has no token, times or timeout, which a document must have.
type refusedLock struct {
	Path            string            `json:"path"`
	Scope           string            `json:"scope"`
	Depth           string            `json:"depth"`
	Owner           string            `json:"owner"`
	Principal       string            `json:"principal"`
	Client          locksystem.Client `json:"client"`
	ReleaseOnUpdate bool              `json:"release_on_update"`
}

func refused(l *locksystem.Lock) *refusedLock {
	return &refusedLock{Path: l.Path, Scope: l.Scope.String(), Depth: l.Depth.String(), Owner: l.Owner,
		Principal: l.Principal, Client: l.Client, ReleaseOnUpdate: l.ReleaseOnUpdate}
}

// serveEvents answers GET /.lockdav/events.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	root := apiRoot(r)
	q.Path = request.ToReal(root, q.Path)
	if h.closing.Err() != nil {
		return apiFail(http.StatusServiceUnavailable, "shutting down", "the server is stopping; reconnect later")
	}
	done, err := h.streams.open(request.Principal(r))
	if err != nil {
		h.stats.streamsRefused.Add(1)
		return err
	}
	defer done()
	sub, missed, err := h.subscribe(r.Header.Get("Last-Event-ID"))
	if err != nil {
		return err
	}
	defer sub.Close()
	h.stats.streamsOpen.Add(1) // before the client sees the headers, so it can count on it
	defer h.stats.streamsOpen.Add(-1)
	s := &stream{w: w, rc: http.NewResponseController(w), h: h, root: root, q: q}
	s.start(r, missed, h.locks.LastEventID())
	s.pump(r, sub)
	return nil
}

// subscribe subscribes after the event lastID names. missed reports that the client gave an ID
// whose events after it are gone: from another process, malformed, or older than the history.
func (h *Handler) subscribe(lastID string) (sub *locksystem.Subscription, missed bool, err error) {
	after, ok := h.parseEventID(lastID)
	switch {
	case ok:
		sub, err = h.locks.Resume(after)
	case lastID != "":
		missed = true
		sub, err = h.locks.Subscribe(0)
	default:
		sub, err = h.locks.Subscribe(0)
	}
	if errors.Is(err, locksystem.ErrEventsMissed) {
		missed = true
		sub, err = h.locks.Subscribe(0)
	}
	return sub, missed, err
}

// parseEventID reads "<boot>.<n>"; ok is false for an ID this process did not give.
func (h *Handler) parseEventID(id string) (uint64, bool) {
	boot, n, found := strings.Cut(id, ".")
	if !found || boot != h.boot {
		return 0, false
	}
	v, err := strconv.ParseUint(n, 10, 64)
	return v, err == nil
}

func (h *Handler) eventID(n uint64) string { return h.boot + "." + strconv.FormatUint(n, 10) }

// stream writes one client's events.
type stream struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	h    *Handler
	root string
	q    locksystem.Query
	out  bytes.Buffer // the message being written
}

// start sends the headers and the stream's first message. That message has an id field and no
// data: the client's EventSource takes the id as its last event ID without dispatching
// anything (HTML LS, "dispatch the event": the last event ID is set before an empty data
// buffer ends the dispatch), so a client that reconnects before any event resumes from here
// rather than from nowhere. After a gap it is the `missed` event instead; a client resuming
// gets neither.
func (s *stream) start(r *http.Request, missed bool, last uint64) {
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back in its buffer
	s.w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	switch {
	case missed:
		s.write("missed", eventDoc{ID: s.h.eventID(last), Kind: "missed", Time: s.h.now().UTC(),
			Detail: "events after Last-Event-ID " + r.Header.Get("Last-Event-ID") +
				" are no longer held: re-query /.lockdav/locks for the current locks; events from here on follow"})
	case r.Header.Get("Last-Event-ID") == "":
		s.out.Reset()
		s.out.WriteString("id: " + s.h.eventID(last) + "\n\n")
		s.flush()
	default:
		// Resuming: the replayed events carry their own IDs. An ID sent first would be the
		// latest, and a client cut off during the replay would resume past what it never got.
		_ = s.rc.Flush()
	}
}

// pump sends sub's events that the client may see and asks for, and a heartbeat while there are
// none, until the client goes, a write fails, the subscription is dropped or the server stops.
func (s *stream) pump(r *http.Request, sub *locksystem.Subscription) {
	if r.Method == http.MethodHead {
		return
	}
	tick := time.NewTicker(s.h.heartbeat)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				s.dropped(r, sub)
				return
			}
			if s.wants(&ev) && !s.write(ev.Kind.String(), s.doc(&ev)) {
				return
			}
		case <-tick.C:
			// A comment line (HTML LS, "Interpreting an event stream": lines starting with a
			// colon are ignored): traffic that keeps proxies from closing an idle connection.
			s.out.Reset()
			s.out.WriteString(": ping\n\n")
			if !s.flush() {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.h.closing.Done():
			return
		}
	}
}

// dropped ends a stream whose subscription locksystem dropped for falling behind: the client
// reconnects with Last-Event-ID and resumes from the history, or is told it missed events.
func (s *stream) dropped(r *http.Request, sub *locksystem.Subscription) {
	if !errors.Is(sub.Err(), locksystem.ErrSlowSubscriber) {
		return
	}
	s.h.stats.streamsDropped.Add(1)
	request.Log(r).Warn().Str("principal", request.Principal(r)).Msg("event stream dropped: client too slow")
}

// wants reports whether the client may see ev and asked for it.
func (s *stream) wants(ev *locksystem.Event) bool {
	return visibleLock(s.root, ev.Lock) && matches(&s.q, &ev.Lock)
}

// matches is the query API's selection (locksystem.Query) applied to one lock, both in real
// paths.
func matches(q *locksystem.Query, l *locksystem.Lock) bool {
	if (q.Owner != "" && !strings.Contains(l.Owner, q.Owner)) || (q.Principal != "" && l.Principal != q.Principal) ||
		(q.Scope != nil && l.Scope != *q.Scope) {
		return false
	}
	switch {
	case l.Path == q.Path:
		return true
	case q.Covering && l.Covers(q.Path):
		return true
	case q.Depth == locksystem.DepthInfinity:
		return request.InTree(q.Path, l.Path)
	case q.Members:
		return path.Dir(l.Path) == q.Path
	}
	return false
}

// doc is ev as the client sees it, paths in its URL space.
func (s *stream) doc(ev *locksystem.Event) eventDoc {
	l := request.LockInView(s.root, ev.Lock)
	d := eventDoc{ID: s.h.eventID(ev.ID), Kind: ev.Kind.String(), Reason: ev.Reason.String(),
		Time: ev.Time.UTC(), Lock: &l, By: ev.By}
	if ev.Kind == locksystem.Conflict {
		d.Lock, d.Conflicts = refused(&l), request.LocksInView(s.root, ev.Conflicts)
	}
	return d
}

// write sends one event and flushes it; false when the client is gone. JSON has no raw line
// breaks, so the data is one data line.
func (s *stream) write(kind string, d eventDoc) bool {
	s.out.Reset()
	s.out.WriteString("id: " + d.ID + "\nevent: " + kind + "\ndata: ")
	enc := json.NewEncoder(&s.out)
	enc.SetEscapeHTML(false) // owners are XML: readable, as in the query API
	if err := enc.Encode(d); err != nil {
		return false // a live lock always marshals; nothing to send if one did not
	}
	s.out.WriteString("\n") // Encode ended the data line; a blank line dispatches the event
	return s.flush()
}

// flush writes s.out within streamWriteTimeout and flushes it to the client.
func (s *stream) flush() bool {
	// Not every writer can set a deadline (ErrNotSupported): then the connection's own
	// timeouts are all there is.
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := s.w.Write(s.out.Bytes()); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// streamLimit counts each principal's open streams.
type streamLimit struct {
	mu   sync.Mutex
	max  int
	byPr map[string]int
}

func newStreamLimit(maxPer int) *streamLimit {
	return &streamLimit{max: maxPer, byPr: make(map[string]int)}
}

// open counts a stream of principal, or refuses it with 429 (RFC 6585 §4) at the limit; done
// uncounts it.
func (l *streamLimit) open(principal string) (done func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byPr[principal] >= l.max {
		return nil, apiFail(http.StatusTooManyRequests, "too many event streams",
			fmt.Sprintf("at most %d open event streams per principal (limits.max_event_streams_per_principal)", l.max))
	}
	l.byPr[principal]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.byPr[principal]--; l.byPr[principal] == 0 {
			delete(l.byPr, principal)
		}
	}, nil
}
