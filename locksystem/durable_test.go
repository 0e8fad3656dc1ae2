package locksystem

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRefreshWithinSlack: a refresh whose expiry the stored document covers is answered from
// memory, with its real expiry, its event and its count; the first past it is written with
// a new slack.
func TestRefreshWithinSlack(t *testing.T) {
	f := newFakeStore()
	s := openWithStore(t, f, t0)
	sub, err := s.Subscribe(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	a, err := s.Lock(t0, Request{Path: "/a", Principal: "alice"}) // 10 minutes, stored for 20
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{time.Minute, 5 * time.Minute, 10*time.Minute - time.Second} {
		l, err := s.Refresh(t0.Add(at), a.Token, "alice", "/a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(at + 10*time.Minute); !l.Expires.Equal(want) {
			t.Errorf("refresh at %v: expires %v, want the real %v", at, l.Expires, want)
		}
	}
	if _, err := s.Refresh(t0.Add(11*time.Minute), a.Token, "alice", "/a", 0); err != nil {
		t.Fatal(err)
	}
	want := []string{"put " + a.Token + " /a 0s", "put " + a.Token + " /a 11m0s"}
	if got := f.take(); !slices.Equal(got, want) {
		t.Errorf("store changes:\ngot  %q\nwant %q", got, want)
	}
	if doc := f.docs[a.Token]; !doc.Expires.Equal(t0.Add(31 * time.Minute)) {
		t.Errorf("stored expires %v, want refreshed + twice the timeout", doc.Expires)
	}
	if got := s.Stats().Refreshed; got != 4 {
		t.Errorf("Stats().Refreshed = %d, want 4", got)
	}
	refreshed := 0
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == Refreshed {
			refreshed++
		}
	}
	if refreshed != 4 {
		t.Errorf("%d Refreshed events, want 4, stored or not", refreshed)
	}
}

// TestRestartAfterRefreshFromMemory: after a crash, a lock refreshed from memory lives at least
// as long as the last refresh told its client, and no longer than the stored expiry.
func TestRestartAfterRefreshFromMemory(t *testing.T) {
	f := newFakeStore()
	s := openWithStore(t, f, t0)
	a, err := s.Lock(t0, Request{Path: "/a", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	told, err := s.Refresh(t0.Add(9*time.Minute), a.Token, "alice", "/a", 0) // from memory
	if err != nil {
		t.Fatal(err)
	}
	docs := []Lock{f.docs[a.Token]} // the store as a crash leaves it: Close would write nothing more
	before := told.Expires.Add(-time.Nanosecond)
	s2 := openWithStore(t, newFakeStore(docs...), before)
	if _, ok := s2.Get(before, a.Token); !ok {
		t.Fatalf("lock gone after a restart before the expiry its client was told (%v)", told.Expires)
	}
	if _, ok := s2.Get(t0.Add(20*time.Minute), a.Token); ok {
		t.Error("lock alive at its stored expiry")
	}
}

// TestOldDocumentLoads: a document without slack (expires = refreshed + timeout, as lockdav
// wrote them before) loads with its timeout.
func TestOldDocumentLoads(t *testing.T) {
	doc := Lock{Token: "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8", Path: "/a", Principal: "p",
		Timeout: time.Minute, Created: t0, Refreshed: t0, Expires: t0.Add(time.Minute)}
	s := openWithStore(t, newFakeStore(doc), t0)
	if got, ok := s.Get(t0, doc.Token); !ok || got != doc {
		t.Errorf("loaded %+v %v, want %+v", got, ok, doc)
	}
	if _, ok := s.Get(t0.Add(time.Minute), doc.Token); ok {
		t.Error("old document's lock alive after its timeout")
	}
}

// gatedStore is a fakeStore whose waits block until open is closed, then fail with err.
type gatedStore struct {
	*fakeStore
	open    chan struct{}
	err     error
	waiting atomic.Int32
}

func (g *gatedStore) Submit(changes ...Change) func() error {
	g.fakeStore.Submit(changes...)
	return func() error {
		g.waiting.Add(1)
		<-g.open
		return g.err
	}
}

// TestRefreshWaitsForWriteInFlight: a refresh within the stored expiry of a grant whose write
// has not returned waits for that write, and fails with it.
func TestRefreshWaitsForWriteInFlight(t *testing.T) {
	f := newFakeStore()
	g := &gatedStore{fakeStore: f, open: make(chan struct{}), err: errors.New("disk full")}
	s := openWith(t, g, f, t0)
	var wg sync.WaitGroup
	var grantErr error
	wg.Go(func() { _, grantErr = s.Lock(t0, Request{Path: "/a", Principal: "alice"}) })
	for g.waiting.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	ls := s.Query(t0, Query{Path: "/a"})
	if len(ls) != 1 {
		t.Fatalf("%d locks at /a while the grant waits, want 1", len(ls))
	}
	var refreshErr error
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		_, refreshErr = s.Refresh(t0, ls[0].Token, "alice", "/a", 0)
	}()
	for g.waiting.Load() < 2 {
		select {
		case <-refreshed:
			close(g.open)
			wg.Wait()
			t.Fatalf("refresh answered (%v) before the grant's write returned", refreshErr)
		case <-time.After(time.Millisecond):
		}
	}
	close(g.open)
	wg.Wait()
	<-refreshed
	if grantErr == nil || refreshErr == nil {
		t.Errorf("grant %v, refresh %v: want both to fail with the write", grantErr, refreshErr)
	}
	if len(s.persisting) != 0 {
		t.Errorf("%d writes still noted as in flight", len(s.persisting))
	}
}

// TestSlackExpiry: twice the timeout, at most maxTimeout, never for no timeout.
func TestSlackExpiry(t *testing.T) {
	for _, tc := range []struct{ now, timeout, want int64 }{
		{100, 10, 120},
		{0, 0, never},
		{0, nanos(maxTimeout), nanos(maxTimeout)},
		{0, nanos(maxTimeout) - 1, nanos(maxTimeout)},
		{never - 5, 10, never - 1},
	} {
		if got := slackExpiry(tc.now, tc.timeout); got != tc.want {
			t.Errorf("slackExpiry(%d, %d) = %d, want %d", tc.now, tc.timeout, got, tc.want)
		}
	}
}

// TestInfiniteToTimedIsWritten: a lock without timeout refreshed to one is written, so that a
// restart does not keep it forever.
func TestInfiniteToTimedIsWritten(t *testing.T) {
	f := newFakeStore()
	s, err := New(t0, Options{Store: f, Policy: Policy{Min: time.Second, Max: time.Hour,
		Default: time.Minute, AllowInfinite: true}})
	if err != nil {
		t.Fatal(err)
	}
	f.sys = s
	a, err := s.Lock(t0, Request{Path: "/a", Principal: "alice", Timeout: Infinite})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(t0, a.Token, "alice", "", Infinite); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(t0, a.Token, "alice", "", time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := f.take(); len(got) != 2 {
		t.Errorf("store changes %q, want the grant and the refresh to a timeout", got)
	}
	if doc := f.docs[a.Token]; doc.Timeout != time.Minute || !doc.Expires.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("stored %v until %v, want 1m until %v", doc.Timeout, doc.Expires, t0.Add(2*time.Minute))
	}
}
