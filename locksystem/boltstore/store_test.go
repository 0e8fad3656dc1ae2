package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) locksystem.Store {
		s, err := Open(filepath.Join(dir, "locks.db"), Options{Logger: zerolog.New(zerolog.NewTestWriter(t))})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func mustOpen(t *testing.T, path string, o Options) *Store {
	t.Helper()
	s, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testLock(token string) locksystem.Lock {
	now := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	return locksystem.Lock{
		Token: token, Path: "/a", Principal: "alice", Timeout: time.Minute,
		Created: now, Refreshed: now, Expires: now.Add(time.Minute),
	}
}

// TestOpenInUse: bbolt's flock is per open file description, so a second Open in the same
// process conflicts like one in another process would.
func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	first := mustOpen(t, path, Options{})
	const timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := Open(path, Options{OpenTimeout: timeout})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err = %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "in use by another lockdav process") {
		t.Errorf("second Open: err = %q, want it to say the state dir is in use", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("second Open failed after %v, want about %v", elapsed, timeout)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mustOpen(t, path, Options{OpenTimeout: timeout})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "garbage.db")
	writeFile(t, notBolt, bytes.Repeat([]byte("not a bolt file "), 512))
	tests := []struct {
		name string
		path string
		o    Options
		want string
	}{
		{"empty path", "", Options{}, "empty path"},
		{"negative timeout", filepath.Join(dir, "x.db"), Options{OpenTimeout: -time.Second}, "negative open timeout"},
		{"missing directory", filepath.Join(dir, "missing", "locks.db"), Options{}, "no such file or directory"},
		{"directory", dir, Options{}, "is a directory"},
		{"not a bolt file", notBolt, Options{}, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path, tt.o)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) = nil error, want one containing %q", tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %q, want it to contain %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestOpenUnknownSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	boltUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(schemaKey, []byte("2")) })
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("Open of a schema 2 file: err = %v, want ErrSchema", err)
	}
}

// TestLoadSkipsBadDocuments: a document that does not decode is skipped and logged with its
// token; start-up goes on with the others.
func TestLoadSkipsBadDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	good := testLock("urn:uuid:good")
	s := mustOpen(t, path, Options{})
	if err := s.Submit(locksystem.Change{Put: &good})(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goodDoc, err := encode(&good)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"urn:uuid:truncated":   string(goodDoc[:len(goodDoc)/2]),
		"urn:uuid:not-json":    "\x00\x01garbage",
		"urn:uuid:other-token": string(goodDoc), // the document names urn:uuid:good
		"urn:uuid:sub-second":  strings.Replace(strings.Replace(string(goodDoc), `"timeout_seconds":60`, `"timeout_seconds":60.5`, 1), "urn:uuid:good", "urn:uuid:sub-second", 1),
		"urn:uuid:bad-scope":   strings.Replace(strings.Replace(string(goodDoc), `"exclusive"`, `"weird"`, 1), "urn:uuid:good", "urn:uuid:bad-scope", 1),
	}
	boltUpdate(t, path, func(tx *bolt.Tx) error {
		for k, v := range bad {
			if err := tx.Bucket(locksBucket).Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})

	var logs syncBuffer
	s = mustOpen(t, path, Options{Logger: zerolog.New(&logs)})
	got, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(got) != 1 || got[0] != good {
		t.Errorf("Load = %+v, want only %+v", got, good)
	}
	for k := range bad {
		if !strings.Contains(logs.String(), `"token":"`+k+`"`) {
			t.Errorf("log does not name skipped document %s; log:\n%s", k, logs.String())
		}
	}
}

// TestLoadManyInOrder: with enough documents to be decoded on several goroutines, Load returns
// every good one, in token order, and leaves out the bad ones wherever they fall.
func TestLoadManyInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	const n = 5 * decodeChunk
	var want []locksystem.Lock
	var changes []locksystem.Change
	for i := range n {
		l := testLock(fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i))
		l.Path = fmt.Sprintf("/d/%d", i)
		changes = append(changes, locksystem.Change{Put: &l})
		want = append(want, l)
	}
	s := mustOpen(t, path, Options{})
	if err := s.Submit(changes...)(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bad := []int{0, decodeChunk, n / 2, n - 1}
	boltUpdate(t, path, func(tx *bolt.Tx) error {
		for _, i := range bad {
			if err := tx.Bucket(locksBucket).Put([]byte(want[i].Token), []byte(`{"token":`)); err != nil {
				return err
			}
		}
		return nil
	})
	for j := len(bad) - 1; j >= 0; j-- {
		want = slices.Delete(want, bad[j], bad[j]+1)
	}

	var logs syncBuffer
	s = mustOpen(t, path, Options{Logger: zerolog.New(&logs)})
	got, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Load: got %d locks, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("Load: lock %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if c := strings.Count(logs.String(), "skipping undecodable lock document"); c != len(bad) {
		t.Errorf("log names %d skipped documents, want %d; log:\n%s", c, len(bad), logs.String())
	}
}

func TestBadSubmitQueuesNothing(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{})
	a, b := testLock("urn:uuid:a"), testLock("urn:uuid:b")
	b.Scope = 7
	err := s.Submit(locksystem.Change{Put: &a}, locksystem.Change{Put: &b})()
	if !errors.Is(err, ErrBadChange) {
		t.Fatalf("wait = %v, want ErrBadChange", err)
	}
	got, err := s.Load()
	if err != nil || len(got) != 0 {
		t.Errorf("Load = %+v, %v; want nothing stored", got, err)
	}
}

// TestCommitError: when the commit fails, every waiter of that batch gets its error, none of
// the batch is stored, and later commits go on. The batch is too big for the small log, so it
// goes to bbolt in a checkpoint, which MaxSize makes fail.
func TestCommitError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s, err := open(path, Options{WALSize: walMinSize}, &bolt.Options{MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	small := testLock("urn:uuid:small")
	if err := s.Submit(locksystem.Change{Put: &small})(); err != nil {
		t.Fatalf("small put: %v", err)
	}
	big := testLock("urn:uuid:big")
	big.Owner = strings.Repeat("x", 1<<20)
	if err := s.Submit(locksystem.Change{Put: &big})(); !errors.Is(err, bolterrors.ErrMaxSizeReached) {
		t.Fatalf("put beyond MaxSize: wait = %v, want ErrMaxSizeReached", err)
	}
	if got := s.Stats().CheckpointFailures; got != 1 {
		t.Errorf("Stats().CheckpointFailures = %d, want 1", got)
	}
	next := testLock("urn:uuid:next")
	if err := s.Submit(locksystem.Change{Put: &next})(); err != nil {
		t.Fatalf("put after a failed commit: %v", err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Token != next.Token || got[1].Token != small.Token {
		t.Errorf("Load = %+v, want next and small", got)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Close() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d = %v, want nil", i, err)
		}
	}
	if _, err := s.Load(); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close: err = %v, want ErrClosed", err)
	}
	l := testLock("urn:uuid:late")
	if err := s.Submit(locksystem.Change{Put: &l})(); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: wait = %v, want ErrClosed", err)
	}
}

// TestGroupCommit: changes queued while a commit runs share the next one.
func TestGroupCommit(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "locks.db"), Options{})
	const n = 500
	waits := make([]func() error, n)
	for i := range waits {
		l := testLock("urn:uuid:" + strings.Repeat("g", i%30) + string(rune('a'+i%26)))
		waits[i] = s.Submit(locksystem.Change{Put: &l})
	}
	for _, w := range waits {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Changes != n {
		t.Errorf("Stats().Changes = %d, want %d", st.Changes, n)
	}
	if st.Commits == 0 || st.Commits >= n {
		t.Errorf("Stats().Commits = %d, want between 1 and %d (batched)", st.Commits, n-1)
	}
	if st.LastBatch < 1 || st.LastBatch > n {
		t.Errorf("Stats().LastBatch = %d, want 1..%d", st.LastBatch, n)
	}
}

func boltUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the committer and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
