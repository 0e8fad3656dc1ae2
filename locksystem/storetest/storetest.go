// Package storetest is the conformance suite every locksystem.Store implementation runs, so
// that the embedded store and any later one keep the same promises to the lock manager.
package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// Run runs the conformance suite against the stores open returns. open opens the store kept
// in dir; called again on the same dir, the store must hold what the previous one acknowledged.
// Run closes every store it opens, and may close one twice.
func Run(t *testing.T, open func(t *testing.T, dir string) locksystem.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"put and load", testPutLoad},
		{"replace", testReplace},
		{"delete", testDelete},
		{"delete unknown token", testDeleteUnknown},
		{"order within a submit", testOrderWithin},
		{"order across submits", testOrderAcross},
		{"releases in order with other submits", testReleaseOrder},
		{"concurrent submitters", testConcurrent},
		{"bad changes", testBadChanges},
		{"wait twice", testWaitTwice},
		{"empty submit", testEmptySubmit},
		{"close flushes queued changes", testCloseFlushes},
		{"close twice", testCloseTwice},
		{"submit after close", testSubmitAfterClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{t: t, dir: t.TempDir(), open: open}
			h.s = h.openStore()
			tt.fn(t, h)
		})
	}
}

// harness holds the store under test and reopens it on the same dir.
type harness struct {
	t    *testing.T
	dir  string
	open func(t *testing.T, dir string) locksystem.Store
	s    locksystem.Store
}

func (h *harness) openStore() locksystem.Store {
	h.t.Helper()
	s := h.open(h.t, h.dir)
	h.t.Cleanup(func() { _ = s.Close() })
	return s
}

// reopen closes the store and opens a new one on the same dir.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.openStore()
}

// submit submits changes and waits for them, failing the test on an error.
func (h *harness) submit(changes ...locksystem.Change) {
	h.t.Helper()
	if err := h.s.Submit(changes...)(); err != nil {
		h.t.Fatalf("Submit(%d changes): wait = %v, want nil", len(changes), err)
	}
}

// want checks that Load returns exactly the locks in want, then that a reopened store does too.
func (h *harness) want(want ...locksystem.Lock) {
	h.t.Helper()
	h.wantNow(want...)
	h.reopen()
	h.wantNow(want...)
}

// wantNow checks that Load returns exactly want, in any order.
func (h *harness) wantNow(want ...locksystem.Lock) {
	h.t.Helper()
	got, err := h.s.Load()
	if err != nil {
		h.t.Fatalf("Load: %v", err)
	}
	gotByToken := byToken(h.t, got)
	wantByToken := byToken(h.t, want)
	for _, tok := range sortedKeys(wantByToken) {
		g, ok := gotByToken[tok]
		switch {
		case !ok:
			h.t.Errorf("Load: lock %s missing", tok)
		case g != wantByToken[tok]:
			h.t.Errorf("Load: lock %s:\ngot  %+v\nwant %+v", tok, g, wantByToken[tok])
		}
	}
	for _, tok := range sortedKeys(gotByToken) {
		if _, ok := wantByToken[tok]; !ok {
			h.t.Errorf("Load: unexpected lock %s: %+v", tok, gotByToken[tok])
		}
	}
}

// byToken indexes locks by token, normalised for comparison with ==.
func byToken(t *testing.T, locks []locksystem.Lock) map[string]locksystem.Lock {
	t.Helper()
	m := make(map[string]locksystem.Lock, len(locks))
	for _, l := range locks {
		if _, dup := m[l.Token]; dup {
			t.Errorf("Load: token %s appears twice", l.Token)
		}
		m[l.Token] = normalize(l)
	}
	return m
}

// normalize makes equal instants compare equal: times in UTC, no monotonic reading.
func normalize(l locksystem.Lock) locksystem.Lock {
	l.Created = l.Created.UTC()
	l.Refreshed = l.Refreshed.UTC()
	l.Expires = l.Expires.UTC()
	return l
}

func sortedKeys(m map[string]locksystem.Lock) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// base is a fixed instant with nanoseconds in a non-UTC zone, to catch lossy time encoding.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// token returns a well-formed, distinct lock token for n.
func token(n int) string {
	return fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n)
}

// lock returns a lock document for n; version v changes what a refresh changes.
func lock(n, v int) locksystem.Lock {
	refreshed := base.Add(time.Duration(v) * time.Minute)
	scope, depth := locksystem.Exclusive, locksystem.DepthZero
	if n%2 == 1 {
		scope = locksystem.Shared
	}
	if n/2%2 == 1 {
		depth = locksystem.DepthInfinity
	}
	return locksystem.Lock{
		Token:     token(n),
		Path:      fmt.Sprintf("/dir %d/file-%d.odt", n%7, n),
		Scope:     scope,
		Depth:     depth,
		Owner:     fmt.Sprintf(`<D:href xmlns:D="DAV:">mailto:user%d@example.com?v=%d&amp;x</D:href>`, n, v),
		Principal: fmt.Sprintf("user%d", n%5),
		Timeout:   10 * time.Minute,
		Created:   base.Add(time.Duration(n) * time.Nanosecond),
		Refreshed: refreshed,
		Expires:   refreshed.Add(10 * time.Minute),
		Client:    locksystem.Client{IP: fmt.Sprintf("192.0.2.%d", n%250), UserAgent: "litmus/0.13 neon/0.33"},
	}
}

// put writes l. It is a grant whose view is as recent as any revision, so that a
// locksystem.SharedStore's guard never refuses it and the suite tests the store as a mirror;
// other stores ignore Grant and Since.
func put(l locksystem.Lock) locksystem.Change {
	return locksystem.Change{Put: &l, Grant: true, Since: math.MaxInt64 - 1}
}

func del(tok string) locksystem.Change { return locksystem.Change{Delete: tok} }

func testPutLoad(t *testing.T, h *harness) {
	plain := lock(1, 0)
	infinite := lock(2, 0) // never expires
	infinite.Timeout, infinite.Expires = locksystem.Infinite, time.Time{}
	odd := lock(3, 0) // short timeout, nanosecond times, empty owner, unicode, flags, expired long ago
	odd.Owner, odd.Principal, odd.Path = "", locksystem.Anonymous, "/ünïcødé/\"quoted\" <x>"
	odd.Timeout = time.Second
	odd.Created = time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	odd.Refreshed = odd.Created
	odd.Expires = odd.Created.Add(odd.Timeout)
	odd.ReleaseOnUpdate, odd.LockNull = true, true
	odd.Client = locksystem.Client{}
	root := lock(4, 0)
	root.Path, root.Scope, root.Depth = "/", locksystem.Shared, locksystem.DepthInfinity

	h.submit(put(plain), put(infinite))
	h.submit(put(odd))
	h.submit(put(root))
	h.want(plain, infinite, odd, root)
}

func testReplace(t *testing.T, h *harness) {
	h.submit(put(lock(1, 0)), put(lock(2, 0)))
	h.submit(put(lock(1, 1)))
	h.want(lock(1, 1), lock(2, 0))
	h.submit(put(lock(2, 5)))
	h.want(lock(1, 1), lock(2, 5))
}

func testDelete(t *testing.T, h *harness) {
	h.submit(put(lock(1, 0)), put(lock(2, 0)), put(lock(3, 0)))
	h.submit(del(token(2)))
	h.want(lock(1, 0), lock(3, 0))
	h.submit(del(token(1)), del(token(3)))
	h.want()
}

func testDeleteUnknown(t *testing.T, h *harness) {
	h.submit(del(token(99))) // on an empty store
	h.submit(put(lock(1, 0)))
	h.submit(del(token(99)), del(token(2)))
	h.submit(del(token(1)))
	h.submit(del(token(1))) // twice
	h.submit(put(lock(3, 0)))
	h.want(lock(3, 0))
}

func testOrderWithin(t *testing.T, h *harness) {
	h.submit(put(lock(1, 0)), del(token(1)), put(lock(1, 2)), put(lock(2, 0)), del(token(2)))
	h.want(lock(1, 2))
	h.submit(put(lock(1, 3)), put(lock(1, 4)), del(token(1)))
	h.want()
}

// testReleaseOrder: a locksystem.ReleaseStore keeps deletions submitted with SubmitRelease in
// order with everything submitted with Submit, tokens put again after their release included.
func testReleaseOrder(t *testing.T, h *harness) {
	rs, ok := h.s.(locksystem.ReleaseStore)
	if !ok {
		t.Skipf("%T is not a locksystem.ReleaseStore", h.s)
	}
	r := rand.New(rand.NewPCG(7, 42)) //nolint:gosec // a seeded run, the same every time
	model := map[string]locksystem.Lock{}
	var waits []func() error
	for i := 0; i < 300; i++ {
		n := r.IntN(12)
		if r.IntN(2) == 0 {
			waits = append(waits, rs.SubmitRelease(del(token(n))))
			delete(model, token(n))
			continue
		}
		l := lock(n, i)
		waits = append(waits, rs.Submit(put(l)))
		model[l.Token] = normalize(l)
	}
	for i, w := range waits {
		if err := w(); err != nil {
			t.Fatalf("submit %d: wait = %v, want nil", i, err)
		}
	}
	want := make([]locksystem.Lock, 0, len(model))
	for _, l := range model {
		want = append(want, l)
	}
	h.want(want...)
}

// testOrderAcross submits a seeded random run of changes without waiting in between, then
// waits for them all and compares with a model that applies them in submit order.
func testOrderAcross(t *testing.T, h *harness) {
	for seed := uint64(1); seed <= 5; seed++ {
		r := rand.New(rand.NewPCG(seed, 42)) //nolint:gosec // G404: seeded, so a failure replays
		model := map[string]locksystem.Lock{}
		var waits []func() error
		for i := 0; i < 300; i++ {
			var changes []locksystem.Change
			for j := r.IntN(3) + 1; j > 0; j-- {
				n := r.IntN(12)
				if r.IntN(3) == 0 {
					changes = append(changes, del(token(n)))
					delete(model, token(n))
					continue
				}
				l := lock(n, i)
				changes = append(changes, put(l))
				model[l.Token] = normalize(l)
			}
			waits = append(waits, h.s.Submit(changes...))
		}
		for i, w := range waits {
			if err := w(); err != nil {
				t.Fatalf("seed %d: submit %d: wait = %v, want nil", seed, i, err)
			}
		}
		want := make([]locksystem.Lock, 0, len(model))
		for _, l := range model {
			want = append(want, l)
		}
		h.want(want...)
	}
}

// testConcurrent has 64 goroutines put, refresh and delete their own locks, waiting for each
// change as the lock manager does; every acknowledged change must be durable.
func testConcurrent(t *testing.T, h *harness) {
	const writers, perWriter = 64, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perWriter; j++ {
				n := g*perWriter + j
				steps := [][]locksystem.Change{{put(lock(n, 0))}, {put(lock(n, 1))}}
				if j%3 == 0 {
					steps = append(steps, []locksystem.Change{del(token(n))})
				}
				for _, c := range steps {
					if err := h.s.Submit(c...)(); err != nil {
						errs <- fmt.Errorf("writer %d lock %d: wait = %w", g, n, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []locksystem.Lock
	for n := 0; n < writers*perWriter; n++ {
		if n%perWriter%3 != 0 {
			want = append(want, lock(n, 1))
		}
	}
	h.want(want...)
}

func testBadChanges(t *testing.T, h *harness) {
	noToken := lock(1, 0)
	noToken.Token = ""
	tests := []struct {
		name    string
		changes []locksystem.Change
	}{
		{"neither put nor delete", []locksystem.Change{{}}},
		{"put without token", []locksystem.Change{put(noToken)}},
		{"bad change after a good one", []locksystem.Change{put(lock(2, 0)), {}}},
	}
	for _, tt := range tests {
		if err := h.s.Submit(tt.changes...)(); err == nil {
			t.Errorf("%s: wait = nil, want an error", tt.name)
		}
	}
	h.submit(put(lock(3, 0))) // the store still works
	got, err := h.s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, l := range got {
		if l.Token == "" {
			t.Errorf("Load: a lock without token was stored: %+v", l)
		}
	}
}

func testWaitTwice(t *testing.T, h *harness) {
	w := h.s.Submit(put(lock(1, 0)))
	for i := 0; i < 2; i++ {
		if err := w(); err != nil {
			t.Fatalf("wait #%d = %v, want nil", i+1, err)
		}
	}
	bad := h.s.Submit(locksystem.Change{})
	if err1, err2 := bad(), bad(); err1 == nil || err2 == nil {
		t.Fatalf("wait of a bad change twice = %v, %v; want errors both times", err1, err2)
	}
	h.want(lock(1, 0))
}

func testEmptySubmit(t *testing.T, h *harness) {
	h.submit()
	h.submit(put(lock(1, 0)))
	h.submit()
	h.want(lock(1, 0))
}

// testCloseFlushes queues changes without waiting, closes, and then expects every wait to
// succeed and every change to be there after reopening.
func testCloseFlushes(t *testing.T, h *harness) {
	var waits []func() error
	var want []locksystem.Lock
	for n := 0; n < 200; n++ {
		waits = append(waits, h.s.Submit(put(lock(n, 0))))
		if n%4 == 0 {
			waits = append(waits, h.s.Submit(del(token(n))))
		} else {
			want = append(want, lock(n, 0))
		}
	}
	if err := h.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, w := range waits {
		if err := w(); err != nil {
			t.Fatalf("wait %d after Close = %v, want nil", i, err)
		}
	}
	h.s = h.openStore()
	h.wantNow(want...)
}

func testCloseTwice(t *testing.T, h *harness) {
	h.submit(put(lock(1, 0)))
	for i := 0; i < 2; i++ {
		if err := h.s.Close(); err != nil {
			t.Fatalf("Close #%d = %v, want nil", i+1, err)
		}
	}
	h.s = h.openStore()
	h.wantNow(lock(1, 0))
}

func testSubmitAfterClose(t *testing.T, h *harness) {
	h.submit(put(lock(1, 0)))
	if err := h.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.s.Submit(put(lock(2, 0)))(); err == nil {
		t.Errorf("Submit after Close: wait = nil, want an error")
	}
	h.s = h.openStore()
	h.wantNow(lock(1, 0))
}
