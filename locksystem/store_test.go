package locksystem

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeStore records what the System submits and checks that it does so holding its mutex and
// waits without it.
type fakeStore struct {
	sys *System // set after New; nil while loading

	mu      sync.Mutex
	changes []string        // "put <token> <path> <refreshed>" or "del <token>", in submit order
	docs    map[string]Lock // the committed documents
	fail    error           // the next commit's error, then cleared
	loaded  []Lock          // what Load returns
	closed  bool            //
	errs    []string        // broken expectations
}

func newFakeStore(docs ...Lock) *fakeStore {
	return &fakeStore{docs: map[string]Lock{}, loaded: docs}
}

func (f *fakeStore) Submit(changes ...Change) func() error { return f.submit("del", changes) }

// releaseStore is a fakeStore that is a ReleaseStore: it notes deletions submitted through
// SubmitRelease as "rel <token>".
type releaseStore struct{ *fakeStore }

func (r releaseStore) SubmitRelease(changes ...Change) func() error {
	return r.submit("rel", changes)
}

// submit notes changes, deletions as del (the word for the method used), and commits them when
// wait is called.
func (f *fakeStore) submit(del string, changes []Change) func() error {
	if f.sys != nil && f.sys.mu.TryLock() {
		f.sys.mu.Unlock()
		f.note("Submit called without the System's mutex")
	}
	f.mu.Lock()
	var batch []Change
	for _, c := range changes {
		if c.Put != nil {
			f.changes = append(f.changes, fmt.Sprintf("put %s %s %s", c.Put.Token, c.Put.Path, c.Put.Refreshed.Sub(t0)))
			l := *c.Put
			batch = append(batch, Change{Put: &l})
		} else {
			f.changes = append(f.changes, del+" "+c.Delete)
			batch = append(batch, c)
		}
	}
	err := f.fail
	f.fail = nil
	f.mu.Unlock()
	return func() error {
		if f.sys != nil && !f.sys.mu.TryLock() {
			f.note("wait called with the System's mutex held")
		} else if f.sys != nil {
			f.sys.mu.Unlock()
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range batch {
			if c.Put != nil {
				f.docs[c.Put.Token] = *c.Put
			} else {
				delete(f.docs, c.Delete)
			}
		}
		return nil
	}
}

func (f *fakeStore) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, s)
}

func (f *fakeStore) Load() ([]Lock, error) {
	for _, l := range f.loaded {
		f.docs[l.Token] = l
	}
	return slices.Clone(f.loaded), nil
}

func (f *fakeStore) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeStore) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.changes
	f.changes = nil
	return c
}

func (f *fakeStore) failNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func openWithStore(t *testing.T, f *fakeStore, now time.Time) *System {
	t.Helper()
	return openWith(t, f, f, now)
}

// openWith opens a System on store, which is f or wraps it.
func openWith(t *testing.T, store Store, f *fakeStore, now time.Time) *System {
	t.Helper()
	s, err := New(now, Options{Store: store, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.sys = s
	t.Cleanup(func() {
		for _, e := range f.errs {
			t.Error(e)
		}
	})
	return s
}

func TestStoreWriteThrough(t *testing.T) {
	f := newFakeStore()
	s := openWithStore(t, f, t0)
	want := writeScript(t, s, "del")
	if got := f.take(); !slices.Equal(got, want) {
		t.Errorf("store changes:\ngot  %q\nwant %q", got, want)
	}
	if len(f.docs) != 0 {
		t.Errorf("documents left: %v", f.docs)
	}
	if err := s.Close(); err != nil || !f.closed {
		t.Errorf("Close: got %v, store closed %v", err, f.closed)
	}
}

// writeScript grants, refreshes past the stored slack, releases, releases on update and
// removes a tree, and returns the store changes that must follow, deletions named verb.
func writeScript(t *testing.T, s *System, verb string) []string {
	t.Helper()
	a, err := s.Lock(t0, Request{Path: "/a", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// An hour from now is past the grant's stored expiry (twice its ten minutes): it is written.
	if _, err := s.Refresh(t0.Add(time.Minute), a.Token, "alice", "/a", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Release(t0.Add(2*time.Minute), a.Token, "alice", "/a", false); err != nil {
		t.Fatal(err)
	}
	b, err := s.Lock(t0, Request{Path: "/b", Principal: "alice", ReleaseOnUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.ReleaseOnUpdate(t0, "alice", []string{b.Token}, "/b")
	c, err := s.Lock(t0, Request{Path: "/c/d", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	s.RemoveTree(t0, "/c")
	return []string{
		"put " + a.Token + " /a 0s",
		"put " + a.Token + " /a 1m0s",
		verb + " " + a.Token,
		"put " + b.Token + " /b 0s",
		verb + " " + b.Token,
		"put " + c.Token + " /c/d 0s",
		verb + " " + c.Token,
	}
}

// TestReleasesUseSubmitRelease: with a ReleaseStore, UNLOCK, a release on update and the
// removal of a resource submit their deletions through SubmitRelease, and nothing else does; a
// release whose SubmitRelease fails is undone.
func TestReleasesUseSubmitRelease(t *testing.T) {
	f := newFakeStore()
	s := openWith(t, releaseStore{f}, f, t0)
	want := writeScript(t, s, "rel")
	if got := f.take(); !slices.Equal(got, want) {
		t.Errorf("store changes:\ngot  %q\nwant %q", got, want)
	}
	d, err := s.Lock(t0, Request{Path: "/d", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	f.failNext(boom)
	if _, err := s.Release(t0, d.Token, "alice", "", false); !errors.Is(err, boom) {
		t.Fatalf("release with failing write: got %v, want %v", err, boom)
	}
	if l, ok := s.Get(t0, d.Token); !ok || l != d {
		t.Errorf("failed release: got %+v %v, want the lock back", l, ok)
	}
}

func TestStoreFailureUndoes(t *testing.T) {
	f := newFakeStore()
	s := openWithStore(t, f, t0)
	boom := errors.New("disk full")

	f.failNext(boom)
	if _, err := s.Lock(t0, Request{Path: "/a", Principal: "alice"}); !errors.Is(err, boom) {
		t.Fatalf("lock with failing commit: got %v, want %v", err, boom)
	}
	if s.Len() != 0 {
		t.Fatalf("failed lock left %d locks", s.Len())
	}
	a, err := s.Lock(t0, Request{Path: "/a", Principal: "alice"})
	if err != nil {
		t.Fatalf("lock after the failed one: %v", err)
	}

	f.failNext(boom)
	if _, err := s.Refresh(t0.Add(time.Minute), a.Token, "alice", "", time.Hour); !errors.Is(err, boom) {
		t.Fatalf("refresh with failing commit: got %v, want %v", err, boom)
	}
	if l, _ := s.Get(t0, a.Token); !l.Refreshed.Equal(t0) || !l.Expires.Equal(a.Expires) {
		t.Errorf("failed refresh: got refreshed %v expires %v, want the old %v %v", l.Refreshed, l.Expires, t0, a.Expires)
	}

	f.failNext(boom)
	if _, err := s.Release(t0, a.Token, "alice", "", false); !errors.Is(err, boom) {
		t.Fatalf("release with failing commit: got %v, want %v", err, boom)
	}
	if l, ok := s.Get(t0, a.Token); !ok || l != a {
		t.Errorf("failed release: got %+v %v, want the lock back", l, ok)
	}
	if _, err := s.Lock(t0, Request{Path: "/a", Principal: "bob"}); !errors.Is(err, ErrLocked) {
		t.Errorf("after failed release: got %v, want the lock to hold", err)
	}
	if err := s.consistent(t0); err != nil {
		t.Error(err)
	}
	want := a // stored with twice its timeout: a refresh within that is answered from memory
	want.Expires = a.Refreshed.Add(2 * a.Timeout)
	if doc, ok := f.docs[a.Token]; !ok || doc != want {
		t.Errorf("stored document: got %+v %v, want %+v", doc, ok, want)
	}
}

func TestStoreReload(t *testing.T) {
	f := newFakeStore()
	s := openWithStore(t, f, t0)
	var kept []Lock
	for i, r := range []Request{
		{Path: "/keep", Principal: "alice", Timeout: time.Hour, Owner: "<D:href>a</D:href>",
			Client: Client{IP: "192.0.2.9", UserAgent: "cadaver"}},
		{Path: "/keep/forever", Scope: Shared, Depth: DepthInfinity, Principal: "bob", Timeout: Infinite, ReleaseOnUpdate: true, LockNull: true},
		{Path: "/short", Principal: "alice", Timeout: time.Minute},
	} {
		l, err := s.Lock(t0, r)
		if err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		kept = append(kept, l)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	docs := make([]Lock, 0, len(f.docs))
	for _, d := range f.docs {
		docs = append(docs, d)
	}

	f2 := newFakeStore(docs...)
	later := t0.Add(30 * time.Minute)
	s2 := openWithStore(t, f2, later)
	if got := f2.take(); !slices.Equal(got, []string{"del " + kept[2].Token}) {
		t.Errorf("at load: got changes %q, want the expired lock deleted", got)
	}
	for _, l := range kept[:2] {
		// A restart counts as a refresh within the stored expiry (twice the timeout after the
		// write): it cannot know which refresh answered from memory a client got last.
		want := l
		want.Refreshed = later
		want.Expires = later.Add(l.Timeout)
		if got, ok := s2.Get(later, l.Token); !ok || got != want {
			t.Errorf("reloaded %s: got %+v %v, want %+v", l.Path, got, ok, want)
		}
	}
	if _, ok := s2.Get(later, kept[2].Token); ok {
		t.Error("expired lock reloaded")
	}
	if _, err := s2.Lock(later, Request{Path: "/keep", Principal: "carol"}); !errors.Is(err, ErrLocked) {
		t.Errorf("reloaded lock not enforced: got %v", err)
	}
	// Expiry resumes: the hour-long lock holds for an hour after the restart, and is gone after.
	end := later.Add(time.Hour)
	if _, err := s2.Lock(end.Add(-time.Second), Request{Path: "/keep", Principal: "carol"}); !errors.Is(err, ErrLocked) {
		t.Errorf("before the reloaded lock's expiry: got %v, want it locked", err)
	}
	if _, err := s2.Lock(end, Request{Path: "/keep", Principal: "carol"}); err != nil {
		t.Errorf("after the reloaded lock's expiry: got %v", err)
	}
	if err := s2.consistent(later); err != nil {
		t.Error(err)
	}
}

func TestStoreLoadRejectsCorruptDocuments(t *testing.T) {
	good := Lock{Token: "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8", Path: "/a", Principal: "p", Timeout: Infinite, Created: t0, Refreshed: t0}
	for _, tc := range []struct {
		name string
		mod  func(l *Lock)
	}{
		{"bad token", func(l *Lock) { l.Token = "token-1" }},
		{"relative path", func(l *Lock) { l.Path = "a" }},
		{"bad scope", func(l *Lock) { l.Scope = 9 }},
		{"no principal", func(l *Lock) { l.Principal = "" }},
		{"negative timeout", func(l *Lock) { l.Timeout = -time.Second }},
		{"zero timeout", func(l *Lock) { l.Timeout = 0 }},
	} {
		l := good
		tc.mod(&l)
		if _, err := New(t0, Options{Store: newFakeStore(l)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, err := New(t0, Options{Store: newFakeStore(good)}); err != nil {
		t.Errorf("good document: %v", err)
	}
}

func TestStoreLoadConflictingNewestWins(t *testing.T) {
	old := Lock{Token: "urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8", Path: "/a", Principal: "p", Timeout: Infinite, Created: t0, Refreshed: t0}
	newer := Lock{Token: "urn:uuid:6ba7b811-9dad-41d1-80b4-00c04fd430c8", Path: "/a", Principal: "q", Timeout: Infinite,
		Created: t0.Add(time.Second), Refreshed: t0.Add(time.Second)}
	f := newFakeStore(old, newer)
	s := openWithStore(t, f, t0.Add(2*time.Second))
	if got := f.take(); !slices.Equal(got, []string{"del " + old.Token}) {
		t.Errorf("got changes %q, want the older document deleted", got)
	}
	if _, ok := s.Get(t0, newer.Token); !ok {
		t.Error("the newer lock was not loaded")
	}
}

// batchStore is a fakeStore that hands its documents over one at a time in a slice it reuses,
// as boltstore's LoadBatches does.
type batchStore struct{ *fakeStore }

func (b batchStore) LoadBatches(fn func([]Lock) error) error {
	docs, err := b.Load()
	if err != nil {
		return err
	}
	buf := make([]Lock, 1)
	for _, d := range docs {
		buf[0] = d
		if err := fn(buf); err != nil {
			return err
		}
		buf[0] = Lock{Token: "urn:uuid:garbage", Path: "/garbage"} // the batch is reused
	}
	return nil
}

// TestStoreLoadBatches: documents handed over in batches load as Load's do, expired ones and
// the older of conflicting ones deleted. C, B, A arrive oldest first; B (depth infinity on /p)
// conflicts with both others, which do not conflict with each other: newest first, A stays, B
// goes, C stays.
func TestStoreLoadBatches(t *testing.T) {
	lock := func(n int, p string, d Depth, age time.Duration) Lock {
		at := t0.Add(-age)
		return Lock{Token: fmt.Sprintf("urn:uuid:6ba7b81%d-9dad-41d1-80b4-00c04fd430c8", n), Path: p, Depth: d,
			Principal: "p", Timeout: time.Hour, Created: at, Refreshed: at}
	}
	c := lock(1, "/p/c", DepthZero, 3*time.Minute)
	b := lock(2, "/p", DepthInfinity, 2*time.Minute)
	a := lock(3, "/p", DepthZero, time.Minute)
	other := lock(4, "/q", DepthZero, 0)
	expired := lock(5, "/r", DepthZero, 2*time.Hour)
	f := newFakeStore(c, b, other, expired, a)
	s, err := New(t0, Options{Store: batchStore{f}, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	f.sys = s
	got := f.take()
	slices.Sort(got)
	if want := []string{"del " + b.Token, "del " + expired.Token}; !slices.Equal(got, want) {
		t.Errorf("changes at load = %q, want %q", got, want)
	}
	for _, l := range []Lock{a, c, other} {
		if g, ok := s.Get(t0, l.Token); !ok || g.Path != l.Path || g.Created != l.Created {
			t.Errorf("lock %s: got %+v, %v; want it loaded at %s", l.Token, g, ok, l.Path)
		}
	}
	if n := s.Len(); n != 3 {
		t.Errorf("Len() = %d, want 3", n)
	}
	if err := s.consistent(t0); err != nil {
		t.Error(err)
	}
	if got, want := s.Stats(), (Stats{Exclusive: 3, Expired: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
