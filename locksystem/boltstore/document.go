package boltstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// docVersion is the "version" field of the documents this package writes and reads.
const docVersion = 1

// Document errors.
var (
	// ErrBadChange: a Change is neither a Put nor a Delete, or its lock cannot be stored.
	ErrBadChange = errors.New("boltstore: bad change")
	// ErrBadDocument: a stored document does not decode to a lock.
	ErrBadDocument = errors.New("boltstore: bad lock document")
)

// document is the stored form of a locksystem.Lock: the lock document of the JSON API plus a
// version, so that a later format can be told apart.
type document struct {
	Version         int               `json:"version"`
	Token           string            `json:"token"`
	Path            string            `json:"path"`
	Scope           string            `json:"scope"`
	Depth           string            `json:"depth"`
	Owner           string            `json:"owner"`
	Principal       string            `json:"principal"`
	TimeoutSeconds  seconds           `json:"timeout_seconds"`
	Created         time.Time         `json:"created"`
	Refreshed       time.Time         `json:"refreshed"`
	Expires         *time.Time        `json:"expires"`
	Client          locksystem.Client `json:"client"`
	ReleaseOnUpdate bool              `json:"release_on_update"`
	LockNull        bool              `json:"lock_null"`
}

// encode turns l into its document bytes. Times are written in UTC.
func encode(l *locksystem.Lock) ([]byte, error) {
	if l.Token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrBadChange)
	}
	if l.Timeout < 0 {
		return nil, fmt.Errorf("%w: lock %s: negative timeout %v", ErrBadChange, l.Token, l.Timeout)
	}
	scope, err := scopeName(l.Scope)
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %w", ErrBadChange, l.Token, err)
	}
	depth, err := depthName(l.Depth)
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %w", ErrBadChange, l.Token, err)
	}
	d := document{
		Version: docVersion, Token: l.Token, Path: l.Path, Scope: scope, Depth: depth,
		Owner: l.Owner, Principal: l.Principal, TimeoutSeconds: seconds(l.Timeout),
		Created: l.Created.UTC(), Refreshed: l.Refreshed.UTC(), Client: l.Client,
		ReleaseOnUpdate: l.ReleaseOnUpdate, LockNull: l.LockNull,
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		d.Expires = &e
	}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %w", ErrBadChange, l.Token, err)
	}
	return b, nil
}

// decode turns the document stored under key back into a lock.
func decode(key, b []byte) (locksystem.Lock, error) {
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return locksystem.Lock{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	if d.Version != docVersion {
		return locksystem.Lock{}, fmt.Errorf("%w: version %d, want %d", ErrBadDocument, d.Version, docVersion)
	}
	if d.Token != string(key) {
		return locksystem.Lock{}, fmt.Errorf("%w: token %q stored under key %q", ErrBadDocument, d.Token, key)
	}
	if !strings.HasPrefix(d.Path, "/") {
		return locksystem.Lock{}, fmt.Errorf("%w: path %q is not absolute", ErrBadDocument, d.Path)
	}
	l := locksystem.Lock{
		Token: d.Token, Path: d.Path, Owner: d.Owner, Principal: d.Principal,
		Timeout: time.Duration(d.TimeoutSeconds), Created: d.Created.UTC(),
		Refreshed: d.Refreshed.UTC(), Client: d.Client,
		ReleaseOnUpdate: d.ReleaseOnUpdate, LockNull: d.LockNull,
	}
	if d.Expires != nil {
		l.Expires = d.Expires.UTC()
	}
	var err error
	if l.Scope, err = parseScope(d.Scope); err != nil {
		return locksystem.Lock{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	if l.Depth, err = parseDepth(d.Depth); err != nil {
		return locksystem.Lock{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	return l, nil
}

func scopeName(s locksystem.Scope) (string, error) {
	switch s {
	case locksystem.Exclusive:
		return "exclusive", nil
	case locksystem.Shared:
		return "shared", nil
	}
	return "", fmt.Errorf("unknown scope %d", s)
}

func parseScope(s string) (locksystem.Scope, error) {
	switch s {
	case "exclusive":
		return locksystem.Exclusive, nil
	case "shared":
		return locksystem.Shared, nil
	}
	return 0, fmt.Errorf("unknown scope %q", s)
}

func depthName(d locksystem.Depth) (string, error) {
	switch d {
	case locksystem.DepthZero:
		return "0", nil
	case locksystem.DepthInfinity:
		return "infinity", nil
	}
	return "", fmt.Errorf("unknown depth %d", d)
}

func parseDepth(s string) (locksystem.Depth, error) {
	switch s {
	case "0":
		return locksystem.DepthZero, nil
	case "infinity":
		return locksystem.DepthInfinity, nil
	}
	return 0, fmt.Errorf("unknown depth %q", s)
}

// seconds is a duration written as a JSON number of seconds: an integer for whole seconds
// (the usual case, "timeout_seconds": 600), else a decimal with up to nine fraction digits,
// so every duration survives the round trip exactly.
type seconds time.Duration

func (s seconds) MarshalJSON() ([]byte, error) {
	d := time.Duration(s)
	if d < 0 {
		return nil, fmt.Errorf("negative duration %v", d)
	}
	whole, frac := d/time.Second, d%time.Second
	if frac == 0 {
		return strconv.AppendInt(nil, int64(whole), 10), nil
	}
	f := strings.TrimRight(fmt.Sprintf("%09d", int64(frac)), "0")
	return fmt.Appendf(nil, "%d.%s", int64(whole), f), nil
}

func (s *seconds) UnmarshalJSON(b []byte) error {
	n := string(b)
	if n == "null" {
		return errors.New("timeout_seconds is null")
	}
	if strings.ContainsAny(n, "-eE+") || n == "" {
		return fmt.Errorf("timeout_seconds %s: want a non-negative decimal number", n)
	}
	// ParseDuration reads the decimal exactly and rejects overflow.
	d, err := time.ParseDuration(n + "s")
	if err != nil {
		return fmt.Errorf("timeout_seconds %s: %w", n, err)
	}
	*s = seconds(d)
	return nil
}
