package davserver

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// flakyStore is a lock store in memory whose commits fail with err while failing is set.
type flakyStore struct {
	failing atomic.Bool
	err     error
}

func (s *flakyStore) Submit(...locksystem.Change) func() error {
	if s.failing.Load() {
		return func() error { return s.err }
	}
	return func() error { return nil }
}
func (s *flakyStore) Load() ([]locksystem.Lock, error) { return nil, nil }
func (s *flakyStore) Close() error                     { return nil }

// A refresh the lock store could not commit is not answered 412 (RFC 4918 §9.10.2: no lock
// matches the If header): the lock is still there, and the client that hears 412 gives it up.
// It gets the store's failure: 503 with Retry-After when the store is out of reach (etcd), a
// server error otherwise.
func TestRefreshStoreFailureIsNot412(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("etcd: %w", locksystem.ErrUnavailable), http.StatusServiceUnavailable},
		{errors.New("disk on fire"), http.StatusInternalServerError},
	} {
		store := &flakyStore{err: tt.err}
		ts := newTestServerWithStore(t, locksystem.DefaultPolicy, store)
		ts.put("/f", "x")
		tok := ts.lock("/f", exclusiveBody, http.StatusOK, "Timeout", "Second-60")
		store.failing.Store(true)
		// A longer timeout than the lock has: the refresh must be written to be answered.
		w := ts.do("LOCK", "/f", "", "If", ifToken(tok), "Timeout", "Second-3600")
		if w.Code != tt.want {
			t.Errorf("refresh with the store failing (%v) = %d, want %d", tt.err, w.Code, tt.want)
		}
		if tt.want == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		store.failing.Store(false)
		if w := ts.do("LOCK", "/f", "", "If", ifToken(tok), "Timeout", "Second-3600"); w.Code != http.StatusOK {
			t.Errorf("refresh once the store works again = %d, want 200: the lock was kept", w.Code)
		}
	}
}
