package locksystem

import (
	"errors"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"
)

var _ webdav.LockSystem = (*System)(nil)

// Options configures a System.
type Options struct {
	Policy          Policy         // zero value: DefaultPolicy
	Store           Store          // nil: memory only
	MaxPerPrincipal int            // 0: unlimited; else Lock returns ErrTooMany past it
	Logger          zerolog.Logger // lock events: acquired, refreshed, released, expired, conflict
}

// System is the lock manager.
type System struct{}

var errStub = errors.New("locksystem: not implemented")

// New returns a System loaded from o.Store.
func New(now time.Time, o Options) (*System, error) { return &System{}, nil }

// Close closes the store.
func (s *System) Close() error { return nil }

func (s *System) Confirm(now time.Time, name0, name1 string, conditions ...webdav.Condition) (func(), error) {
	return nil, webdav.ErrConfirmationFailed
}
func (s *System) Create(now time.Time, details webdav.LockDetails) (string, error) {
	return "", errStub
}
func (s *System) Refresh(now time.Time, token string, duration time.Duration) (webdav.LockDetails, error) {
	return webdav.LockDetails{}, webdav.ErrNoSuchLock
}
func (s *System) Unlock(now time.Time, token string) error { return webdav.ErrNoSuchLock }

// Handler returns the view davserver gives to its x/net webdav.Handler.
func (s *System) Handler() webdav.LockSystem { return s }

func (s *System) Lock(now time.Time, r Request) (Lock, error) { return Lock{}, errStub }
func (s *System) RefreshLock(now time.Time, token, principal, path string, timeout time.Duration) (Lock, error) {
	return Lock{}, ErrNoSuchLock
}
func (s *System) Release(now time.Time, token, principal, path string, force bool) (Lock, error) {
	return Lock{}, ErrNoSuchLock
}
func (s *System) Get(now time.Time, token string) (Lock, bool)  { return Lock{}, false }
func (s *System) Covering(now time.Time, path string) []Lock    { return nil }
func (s *System) Query(now time.Time, q Query) []Lock           { return nil }
func (s *System) Missing(now time.Time, principal string, tokens []string, needs ...Need) []Lock {
	return nil
}
func (s *System) RemoveTree(now time.Time, path string) []Lock { return nil }
func (s *System) Updated(now time.Time, principal string, tokens []string, path string) []Lock {
	return nil
}
func (s *System) Len() int { return 0 }

// Grant turns a requested timeout into the granted one; 0 in the result means infinite.
func (p Policy) Grant(requested time.Duration) time.Duration { return p.Default }

// Validate checks the policy's bounds.
func (p Policy) Validate() error { return nil }
