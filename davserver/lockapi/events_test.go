package lockapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// sse is one event as a client reads it.
type sse struct {
	id, kind string
	doc      testDoc
	comment  string
}

// testDoc is an event's data as a client decodes it.
type testDoc struct {
	ID, Kind, Reason, By, Detail string
	Lock                         *testLock
	Conflicts                    []testLock
}

type testLock struct {
	Token, Path, Principal string
	TimeoutSeconds         int64 `json:"timeout_seconds"`
}

// eventStream is an open GET /.lockdav/events.
type eventStream struct {
	t      *testing.T
	resp   *http.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

// live serves ts over HTTP, identities taken from X-As, X-Root and X-Admin, so that streams
// are streamed as a client sees them.
func (ts *testServer) live() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if p := r.Header.Get("X-As"); p != "" {
			ctx = request.WithPrincipal(ctx, p)
		}
		if root := r.Header.Get("X-Root"); root != "" {
			ctx = request.WithRoot(ctx, root)
		}
		if r.Header.Get("X-Admin") != "" {
			ctx = request.WithAdmin(ctx)
		}
		ts.h.ServeHTTP(w, r.WithContext(ctx))
	}))
	ts.t.Cleanup(srv.Close)
	ts.t.Cleanup(ts.api.Close) // streams end before the server closes
	return srv
}

// openEvents opens the stream with the query and headers (name, value pairs) given.
func openEvents(t *testing.T, srv *httptest.Server, query string, hdr ...string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+apiEvents+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	es := &eventStream{t: t, resp: resp, lines: bufio.NewScanner(resp.Body), cancel: cancel}
	t.Cleanup(es.close)
	return es
}

func (es *eventStream) close() {
	es.cancel()
	_ = es.resp.Body.Close()
}

// next reads the next message, comments and id-only messages included.
func (es *eventStream) next() sse {
	es.t.Helper()
	var m sse
	got := false
	timer := time.AfterFunc(5*time.Second, es.cancel)
	defer timer.Stop()
	for es.lines.Scan() {
		line := es.lines.Text()
		if line == "" && got {
			return m
		}
		got = got || line != ""
		field, value, _ := strings.Cut(line, ": ")
		switch field {
		case "":
			m.comment = value
		case "id":
			m.id = value
		case "event":
			m.kind = value
		case "data":
			if err := json.Unmarshal([]byte(value), &m.doc); err != nil {
				es.t.Fatalf("data %q: %v", value, err)
			}
		}
	}
	es.t.Fatalf("stream ended or stalled: %v", es.lines.Err())
	return m
}

// event reads the next event, skipping heartbeats and id-only messages.
func (es *eventStream) event() sse {
	es.t.Helper()
	for {
		if m := es.next(); m.kind != "" {
			return m
		}
	}
}

// TestEventsScriptedSequence: every change of the lock table arrives, in order, with its kind,
// release reason, document, conflicts and forcing admin; and the IDs count up by one.
func TestEventsScriptedSequence(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{Min: time.Second, Max: time.Hour, Default: time.Minute})
	ts.put("/a", "x")
	srv := ts.live()
	es := openEvents(t, srv, "")
	if es.resp.StatusCode != http.StatusOK || es.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET events: %d %q", es.resp.StatusCode, es.resp.Header.Get("Content-Type"))
	}
	if first := es.next(); first.id != ts.api.eventID(0) || first.kind != "" {
		t.Fatalf("first message = %+v, want the id-only message %s", first, ts.api.eventID(0))
	}
	tok := ts.lock("/a", exclusiveBody, http.StatusOK, as("alice"), "Timeout", "Second-60")
	want(t, ts.do("LOCK", "/a", "", as("alice"), "If", ifToken(tok), "Timeout", "Second-120"), http.StatusOK, "refresh")
	want(t, ts.do("LOCK", "/a", sharedBody, as("bob")), http.StatusLocked, "conflicting LOCK")
	want(t, ts.do("UNLOCK", "/a", "", as("alice"), "Lock-Token", "<"+tok+">"), http.StatusNoContent, "UNLOCK")
	w := ts.do("POST", apiLocks, `{"path": "/a", "release_on_update": true}`, as("alice"))
	want(t, w, http.StatusCreated, "POST release_on_update")
	var rou locksystem.Lock
	_ = json.Unmarshal(w.Body.Bytes(), &rou)
	ts.put("/a", "y", as("alice"), "If", ifToken(rou.Token))
	forced := ts.lock("/a", exclusiveBody, http.StatusOK, as("bob"))
	want(t, ts.do("DELETE", apiLocks+"/"+forced, "", as("root"), adminCtx{}), http.StatusNoContent, "forced DELETE")
	ts.lock("/a", exclusiveBody, http.StatusOK, as("carol"), "Timeout", "Second-5")
	ts.now = ts.now.Add(6 * time.Second)
	ts.locks.Expire(ts.now)

	script := []struct{ kind, reason, principal string }{
		{"acquired", "", "alice"}, {"refreshed", "", "alice"}, {"conflict", "", "bob"},
		{"released", "unlock", "alice"}, {"acquired", "", "alice"}, {"released", "release_on_update", "alice"},
		{"acquired", "", "bob"}, {"released", "forced", "bob"}, {"acquired", "", "carol"}, {"released", "expiry", "carol"},
	}
	for i, s := range script {
		ev := es.event()
		d := ev.doc
		if ev.kind != s.kind || d.Kind != s.kind || d.Reason != s.reason || d.Lock == nil ||
			d.Lock.Principal != s.principal || d.Lock.Path != "/a" || ev.id != ts.api.eventID(uint64(i+1)) || d.ID != ev.id {
			t.Fatalf("event %d = %s %+v, want %s (%s) of %s's lock on /a with id %s", i, ev.kind, d, s.kind, s.reason, s.principal, ts.api.eventID(uint64(i+1)))
		}
		switch s.kind {
		case "conflict":
			if len(d.Conflicts) != 1 || d.Conflicts[0].Token != tok {
				t.Errorf("conflict event names %+v, want alice's lock %s", d.Conflicts, tok)
			}
		case "refreshed":
			if d.Lock.TimeoutSeconds != 120 {
				t.Errorf("refreshed event has timeout %d, want the new 120", d.Lock.TimeoutSeconds)
			}
		}
		if s.reason == "forced" && d.By != "root" {
			t.Errorf("forced release by %q, want root", d.By)
		}
	}
}

// TestEventsConfinedAndFiltered: a user confined to a subtree gets only the events of its tree,
// with paths in its URL space; path, depth and principal select as in the query API.
func TestEventsConfinedAndFiltered(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	for _, d := range []string{"/alice", "/alice/sub", "/bob"} {
		ts.mkcol(d)
	}
	srv := ts.live()
	confined := openEvents(t, srv, "", "X-As", "alice", "X-Root", "/alice")
	depth0 := openEvents(t, srv, "?path=/alice&depth=0")
	byBob := openEvents(t, srv, "?principal=bob")
	ts.lock("/bob/x", exclusiveBody, http.StatusCreated, as("bob"), "Depth", "0")
	ts.lock("/alice/sub/y", exclusiveBody, http.StatusCreated, as("alice"), "Depth", "0")
	ts.lock("/alice", sharedBody, http.StatusOK, as("bob"), "Depth", "0")

	if ev := confined.event(); ev.doc.Lock.Path != "/sub/y" {
		t.Errorf("confined user's first event is about %s, want /sub/y (its own tree, in its URL space)", ev.doc.Lock.Path)
	}
	if ev := confined.event(); ev.doc.Lock.Path != "/" || ev.doc.Lock.Principal != "bob" {
		t.Errorf("confined user's second event = %+v, want bob's lock on its root, at /", ev.doc.Lock)
	}
	if ev := depth0.event(); ev.doc.Lock.Path != "/alice" {
		t.Errorf("depth=0 on /alice: first event about %s, want /alice only", ev.doc.Lock.Path)
	}
	for _, p := range []string{"/bob/x", "/alice"} {
		if ev := byBob.event(); ev.doc.Lock.Path != p {
			t.Errorf("principal=bob: event about %s (%s), want %s", ev.doc.Lock.Path, ev.doc.Lock.Principal, p)
		}
	}
	if w := ts.do("GET", apiEvents+"?depth=2", ""); w.Code != http.StatusBadRequest {
		t.Errorf("GET events?depth=2 = %d, want 400 as the query API", w.Code)
	}
}

// TestEventsResume: a client that reconnects with Last-Event-ID gets the events it missed
// from the history; one whose ID is from another process or older than the history is told
// it missed events, then gets the live ones.
func TestEventsResume(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	srv := ts.live()
	es := openEvents(t, srv, "")
	start := es.next().id
	es.close()
	for _, p := range []string{"/r1", "/r2", "/r3"} {
		ts.lock(p, exclusiveBody, http.StatusCreated, "Depth", "0")
	}
	again := openEvents(t, srv, "", "Last-Event-ID", start)
	var last string
	for _, p := range []string{"/r1", "/r2", "/r3"} {
		ev := again.event()
		if ev.doc.Lock.Path != p || ev.kind != "acquired" {
			t.Fatalf("resumed from %s: got %s %s, want the missed acquired on %s", start, ev.kind, ev.doc.Lock.Path, p)
		}
		last = ev.id
	}
	again.close()

	for _, id := range []string{"00000000.2", "garbage", ts.api.eventID(99)} {
		missed := openEvents(t, srv, "", "Last-Event-ID", id)
		ev := missed.event()
		if ev.kind != "missed" || !strings.Contains(ev.doc.Detail, "/.lockdav/locks") || ev.id != last {
			t.Errorf("Last-Event-ID %s: first event %s %+v, want missed, naming /.lockdav/locks, id %s", id, ev.kind, ev.doc, last)
		}
		ts.lock("/live-"+id, exclusiveBody, http.StatusCreated, "Depth", "0")
		if ev := missed.event(); ev.kind != "acquired" || ev.doc.Lock.Path != "/live-"+id {
			t.Errorf("after missed: %s %+v, want the live acquired", ev.kind, ev.doc.Lock)
		}
		missed.close()
		last = ts.api.eventID(ts.locks.LastEventID())
	}
}

// TestEventsHistoryBound: past the history, resuming is a missed event, not a partial replay.
func TestEventsHistoryBound(t *testing.T) {
	ts := newTestServerWith(t, locksystem.Options{EventHistory: 2}, Options{})
	srv := ts.live()
	es := openEvents(t, srv, "")
	start := es.next().id
	es.close()
	for _, p := range []string{"/h1", "/h2", "/h3"} {
		ts.lock(p, exclusiveBody, http.StatusCreated, "Depth", "0")
	}
	if ev := openEvents(t, srv, "", "Last-Event-ID", start).event(); ev.kind != "missed" {
		t.Errorf("resuming 3 events back with a history of 2: %s %+v, want missed", ev.kind, ev.doc)
	}
}

// TestEventsLimitsAndHeartbeat: a principal gets MaxStreams streams and then 429; an idle
// stream gets comment heartbeats; Close ends the streams.
func TestEventsLimitsAndHeartbeat(t *testing.T) {
	ts := newTestServerWith(t, locksystem.Options{}, Options{MaxStreams: 2, Heartbeat: 20 * time.Millisecond})
	srv := ts.live()
	a := openEvents(t, srv, "", "X-As", "ann")
	openEvents(t, srv, "", "X-As", "ann")
	third := openEvents(t, srv, "", "X-As", "ann")
	if third.resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third stream of ann: %d, want 429", third.resp.StatusCode)
	}
	if other := openEvents(t, srv, "", "X-As", "ben"); other.resp.StatusCode != http.StatusOK {
		t.Errorf("ben's stream: %d, want 200 (the limit is per principal)", other.resp.StatusCode)
	}
	if st := ts.api.Stats(); st.StreamsOpen != 3 || st.StreamsRefused != 1 {
		t.Errorf("Stats = %+v, want 3 open and 1 refused", st)
	}
	a.next() // the id-only message
	if m := a.next(); m.comment != "ping" {
		t.Errorf("idle stream: got %+v, want a ping comment", m)
	}
	ts.api.Close()
	if _, err := io.Copy(io.Discard, a.resp.Body); err != nil {
		t.Errorf("stream after Close: %v, want its end", err)
	}
	if w := ts.do("GET", apiEvents, ""); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET events after Close = %d, want 503", w.Code)
	}
}

// stallWriter is a client that reads the first message and then stops reading: every later
// Write blocks until gate is closed.
type stallWriter struct {
	hdr    http.Header
	wrote  chan struct{} // closed after the first write
	gate   chan struct{}
	writes int
}

func (w *stallWriter) Header() http.Header { return w.hdr }
func (w *stallWriter) WriteHeader(int)     {}
func (w *stallWriter) Flush()              {}
func (w *stallWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == 1 {
		close(w.wrote)
		return len(p), nil
	}
	<-w.gate
	return len(p), nil
}

// TestEventsSlowReaderDropped: a client that stops reading is not buffered for without bound:
// once it is a whole subscriber buffer behind, its stream ends (it reconnects with
// Last-Event-ID) and the drop is counted.
func TestEventsSlowReaderDropped(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	w := &stallWriter{hdr: http.Header{}, wrote: make(chan struct{}), gate: make(chan struct{})}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		ts.api.ServeHTTP(w, httptest.NewRequest("GET", apiEvents, nil))
	}()
	<-w.wrote
	for i := range 300 { // more than locksystem's subscriber buffer of 256
		if _, err := ts.locks.Lock(ts.now, locksystem.Request{Path: "/s/" + strconv.Itoa(i), Principal: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	close(w.gate)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream of a client that stopped reading did not end")
	}
	if s := ts.api.Stats(); s.StreamsDropped != 1 || s.StreamsOpen != 0 {
		t.Errorf("Stats = %+v, want 1 dropped, none open", s)
	}
	// What it had buffered is sent, in order, before the end: the id-only message, the event
	// the write stalled on, and at most the 256 buffered; never all 300.
	if w.writes > 2+256 {
		t.Errorf("%d writes to a client that fell a buffer behind, want at most %d", w.writes, 2+256)
	}
}
