// Package boltstore keeps lock documents in an embedded bbolt file: the durable mirror of the
// lock manager's in-memory index.
package boltstore

import (
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/locksystem"
)

// Errors.
var (
	// ErrInUse: another lockdav process holds the store file.
	ErrInUse = errors.New("boltstore: state dir is in use by another lockdav process")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("boltstore: closed")
)

// Options configure Open.
type Options struct {
	Logger zerolog.Logger
	// OpenTimeout bounds the wait for the file lock; default 1s.
	OpenTimeout time.Duration
}

// Stats count the committer's work.
type Stats struct {
	Commits   uint64 // bbolt transactions committed
	Changes   uint64 // changes written by them
	LastBatch int    // changes in the latest commit
}

// Store is a locksystem.Store on a bbolt file.
type Store struct{}

var _ locksystem.Store = (*Store)(nil)

// Open opens (or creates) the bbolt file at path.
func Open(path string, o Options) (*Store, error) { return nil, errors.New("boltstore: not implemented") }

// Submit queues changes and returns a function that waits until they are durable.
func (s *Store) Submit(changes ...locksystem.Change) (wait func() error) {
	return func() error { return errors.New("boltstore: not implemented") }
}

// Load returns every stored lock.
func (s *Store) Load() ([]locksystem.Lock, error) { return nil, errors.New("boltstore: not implemented") }

// Close commits what is queued and closes the file.
func (s *Store) Close() error { return nil }

// Stats returns the committer's counters.
func (s *Store) Stats() Stats { return Stats{} }
