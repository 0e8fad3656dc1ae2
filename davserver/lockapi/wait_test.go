package lockapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// post sends POST /.lockdav/locks as principal with ctx, and returns the status and body.
func post(ctx context.Context, srv *httptest.Server, principal, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+apiLocks, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-As", principal)
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type result struct {
	status int
	body   string
	err    error
}

// startWaiter posts body as principal in the background.
func startWaiter(ctx context.Context, srv *httptest.Server, principal, body string) <-chan result {
	out := make(chan result, 1)
	go func() {
		st, b, err := post(ctx, srv, principal, body)
		out <- result{st, b, err}
	}()
	return out
}

// TestWaitGrantedWhenReleased: a request with wait, refused at first, is granted the moment
// the lock in its way goes, without the client asking again.
func TestWaitGrantedWhenReleased(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	srv := ts.live()
	tok := ts.lock("/w", exclusiveBody, http.StatusCreated, as("alice"))
	got := startWaiter(t.Context(), srv, "bob", `{"path": "/w", "wait": "30s"}`)
	waitFor(t, "bob in line", func() bool { return ts.locks.Waiting("/w") == 1 })
	want(t, ts.do("UNLOCK", "/w", "", as("alice"), "Lock-Token", "<"+tok+">"), http.StatusNoContent, "UNLOCK")
	r := <-got
	var l locksystem.Lock
	if r.err != nil || r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &l) != nil || l.Principal != "bob" {
		t.Fatalf("waiting POST = %d %s %v, want 201 with bob's lock", r.status, r.body, r.err)
	}
	if st := ts.api.Stats(); st.WaitsGranted != 1 {
		t.Errorf("Stats = %+v, want 1 wait granted", st)
	}
}

// TestWaitRunsOut: a wait that runs out is the 423 of a request that did not wait, conflicts
// and all; the waiter holds nothing afterwards.
func TestWaitRunsOut(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	srv := ts.live()
	tok := ts.lock("/w", exclusiveBody, http.StatusCreated, as("alice"))
	start := time.Now()
	st, body, err := post(t.Context(), srv, "bob", `{"path": "/w", "wait": "200ms"}`)
	if err != nil || st != http.StatusLocked || !strings.Contains(body, tok) {
		t.Fatalf("POST with a wait that runs out = %d %s %v, want 423 naming %s", st, body, err, tok)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("answered after %v, before the 200ms wait ran out", waited)
	}
	if n := len(ts.locks.Query(ts.now, locksystem.Query{Principal: "bob", Depth: locksystem.DepthInfinity})); n != 0 || ts.locks.Waiters() != 0 {
		t.Errorf("after the wait: bob holds %d locks, %d waiting; want none", n, ts.locks.Waiters())
	}
	if s := ts.api.Stats(); s.WaitsTimedOut != 1 {
		t.Errorf("Stats = %+v, want 1 timed out", s)
	}
}

// TestWaitBounds: a wait above locks.max_wait is 400 naming the limit, a malformed one 400, and
// past a principal's waiters the request is 429.
func TestWaitBounds(t *testing.T) {
	ts := newTestServerWith(t, locksystem.Options{MaxWaitersPerPrincipal: 1}, Options{MaxWait: time.Minute})
	srv := ts.live()
	for body, detail := range map[string]string{
		`{"path": "/w", "wait": "2m"}`:   "wait: at most 1m0s (locks.max_wait)",
		`{"path": "/w", "wait": "soon"}`: "wait: must be a duration",
		`{"path": "/w", "wait": "-1s"}`:  "wait: must be a duration",
	} {
		if st, b, _ := post(t.Context(), srv, "bob", body); st != http.StatusBadRequest || !strings.Contains(b, detail) {
			t.Errorf("%s: %d %s, want 400 saying %q", body, st, b, detail)
		}
	}
	ts.lock("/w", exclusiveBody, http.StatusCreated, as("alice"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := startWaiter(ctx, srv, "bob", `{"path": "/w", "wait": "30s"}`)
	waitFor(t, "bob in line", func() bool { return ts.locks.Waiting("/w") == 1 })
	if st, b, _ := post(t.Context(), srv, "bob", `{"path": "/w", "wait": "30s"}`); st != http.StatusTooManyRequests {
		t.Errorf("bob's second waiter: %d %s, want 429", st, b)
	}
	cancel()
	<-first
}

// TestWaiterGoneNeverGranted: a waiter whose client hangs up leaves the line, and when the lock
// comes free it is not granted to nobody: the next waiter gets it.
func TestWaiterGoneNeverGranted(t *testing.T) {
	ts := newTestServer(t, locksystem.Policy{})
	srv := ts.live()
	tok := ts.lock("/w", exclusiveBody, http.StatusCreated, as("alice"))
	ctx, hangUp := context.WithCancel(t.Context())
	gone := startWaiter(ctx, srv, "bob", `{"path": "/w", "wait": "30s"}`)
	waitFor(t, "bob in line", func() bool { return ts.locks.Waiting("/w") == 1 })
	next := startWaiter(t.Context(), srv, "carol", `{"path": "/w", "wait": "30s"}`)
	waitFor(t, "carol in line", func() bool { return ts.locks.Waiting("/w") == 2 })
	hangUp()
	<-gone
	waitFor(t, "bob out of line", func() bool { return ts.locks.Waiting("/w") == 1 })
	want(t, ts.do("UNLOCK", "/w", "", as("alice"), "Lock-Token", "<"+tok+">"), http.StatusNoContent, "UNLOCK")
	if r := <-next; r.status != http.StatusCreated || !strings.Contains(r.body, `"carol"`) {
		t.Fatalf("carol's wait = %d %s, want her lock", r.status, r.body)
	}
	if n := len(ts.locks.Query(ts.now, locksystem.Query{Principal: "bob", Depth: locksystem.DepthInfinity})); n != 0 {
		t.Errorf("bob, who hung up, holds %d locks", n)
	}
	waitFor(t, "1 abandoned, 1 granted in Stats", func() bool {
		s := ts.api.Stats()
		return s.WaitsAbandoned == 1 && s.WaitsGranted == 1
	})
}
