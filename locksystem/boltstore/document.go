package boltstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lockdav/lockdav/locksystem"
)

// Document errors.
var (
	// ErrBadChange: a Change is neither a Put nor a Delete, or its lock cannot be stored.
	ErrBadChange = errors.New("boltstore: bad change")
	// ErrBadDocument: a stored document does not decode to a lock.
	ErrBadDocument = errors.New("boltstore: bad lock document")
)

// encode turns l into the bytes stored under its token: the lock document the JSON API shows
// (locksystem.Lock's MarshalJSON), in the same shape, its expires being the one the System
// stores (which may be later than the lock's own). The layout of the file is versioned in the
// meta bucket, not in each document.
func encode(l *locksystem.Lock) ([]byte, error) {
	if l.Token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrBadChange)
	}
	b, err := l.MarshalJSON() // not json.Marshal, which would escape the owner's < and > again
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %w", ErrBadChange, l.Token, err)
	}
	return b, nil
}

// decode turns the document stored under key back into a lock, with d (one per goroutine).
// Scope and depth are checked by the Decoder; the token must be the key and the path absolute.
func decode(d *locksystem.Decoder, key, b []byte) (locksystem.Lock, error) {
	var l locksystem.Lock
	if err := d.Decode(b, &l); err != nil {
		return locksystem.Lock{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	if l.Token != string(key) {
		return locksystem.Lock{}, fmt.Errorf("%w: token %q stored under key %q", ErrBadDocument, l.Token, key)
	}
	if !strings.HasPrefix(l.Path, "/") {
		return locksystem.Lock{}, fmt.Errorf("%w: path %q is not absolute", ErrBadDocument, l.Path)
	}
	return l, nil
}
