package locksystem

// The lock document: the JSON form of a Lock that the stores keep and the JSON API shows.
// Scope and depth use RFC 4918's words (§14.13 lockscope, §10.2 Depth).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

func (s Scope) String() string {
	switch s {
	case Exclusive:
		return "exclusive"
	case Shared:
		return "shared"
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}

// MarshalText writes "exclusive" or "shared".
func (s Scope) MarshalText() ([]byte, error) {
	if s != Exclusive && s != Shared {
		return nil, fmt.Errorf("%w: scope %d", ErrInvalid, uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads "exclusive" or "shared".
func (s *Scope) UnmarshalText(b []byte) error {
	switch string(b) {
	case "exclusive":
		*s = Exclusive
	case "shared":
		*s = Shared
	default:
		return fmt.Errorf("%w: scope %q, want exclusive or shared", ErrInvalid, b)
	}
	return nil
}

func (d Depth) String() string {
	switch d {
	case DepthZero:
		return "0"
	case DepthInfinity:
		return "infinity"
	}
	return fmt.Sprintf("Depth(%d)", uint8(d))
}

// MarshalText writes "0" or "infinity".
func (d Depth) MarshalText() ([]byte, error) {
	if d != DepthZero && d != DepthInfinity {
		return nil, fmt.Errorf("%w: depth %d", ErrInvalid, uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads "0" or "infinity".
func (d *Depth) UnmarshalText(b []byte) error {
	switch string(b) {
	case "0":
		*d = DepthZero
	case "infinity":
		*d = DepthInfinity
	default:
		return fmt.Errorf("%w: depth %q, want 0 or infinity", ErrInvalid, b)
	}
	return nil
}

// document is the lock document's shape. Scope and depth are pointers, so that an absent or
// null one is read as missing rather than as exclusive or 0; a nil expires is null, which reads
// back as the zero time.
type document struct {
	Token           string     `json:"token"`
	Path            string     `json:"path"`
	Scope           *Scope     `json:"scope"`
	Depth           *Depth     `json:"depth"`
	Owner           string     `json:"owner"`
	Principal       string     `json:"principal"`
	TimeoutSeconds  int64      `json:"timeout_seconds"`
	Created         time.Time  `json:"created"`
	Refreshed       time.Time  `json:"refreshed"`
	Expires         *time.Time `json:"expires"`
	Client          Client     `json:"client"`
	ReleaseOnUpdate bool       `json:"release_on_update"`
	LockNull        bool       `json:"lock_null"`
}

// MarshalJSON writes the lock document (issue "Lock documents"), which the API shows and the
// stores keep, byte for byte: there is one encoding. Times are in RFC 3339 with nanoseconds, in
// UTC; timeout in whole seconds (0 for infinite); expires null for a lock that never expires.
// Owners are XML: <, > and & stay as they are rather than \u003c escapes, so documents read well
// in curl, the CLI and the store.
func (l Lock) MarshalJSON() ([]byte, error) {
	if (l.Timeout <= 0 && l.Timeout != Infinite) || l.Timeout > maxTimeout {
		return nil, fmt.Errorf("%w: timeout %v", ErrInvalid, l.Timeout)
	}
	d := document{
		Token: l.Token, Path: l.Path, Scope: &l.Scope, Depth: &l.Depth, Owner: l.Owner,
		Principal: l.Principal, TimeoutSeconds: max(int64(l.Timeout/time.Second), 0), // Infinite: 0
		Created: l.Created.UTC(), Refreshed: l.Refreshed.UTC(), Client: l.Client,
		ReleaseOnUpdate: l.ReleaseOnUpdate, LockNull: l.LockNull,
	}
	if l.Timeout > 0 && l.Timeout%time.Second != 0 {
		d.TimeoutSeconds++ // never report less time than granted; the Policy grants whole seconds
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		d.Expires = &e
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&d); err != nil {
		return nil, err // a bad scope or depth: ErrInvalid, wrapped
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads a lock document. Scope and depth are required; times come back in UTC,
// and a null expires is the zero time. A document exactly as MarshalJSON writes it is read by
// a Decoder's own reader; any other by unmarshalGeneral.
func (l *Lock) UnmarshalJSON(b []byte) error {
	var d Decoder
	return d.Decode(b, l)
}

// unmarshalGeneral reads any lock document UnmarshalJSON accepts, in any form JSON allows, as
// encoding/json reads it: names in any case, a repeated name's last value, invalid UTF-8 as
// U+FFFD.
func unmarshalGeneral(b []byte, l *Lock) error {
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	switch {
	case d.Scope == nil:
		return fmt.Errorf("%w: scope missing", ErrInvalid)
	case d.Depth == nil:
		return fmt.Errorf("%w: depth missing", ErrInvalid)
	case d.TimeoutSeconds < 0 || d.TimeoutSeconds > int64(maxTimeout/time.Second):
		return fmt.Errorf("%w: timeout_seconds %d", ErrInvalid, d.TimeoutSeconds)
	}
	*l = Lock{
		Token: d.Token, Path: d.Path, Scope: *d.Scope, Depth: *d.Depth, Owner: d.Owner,
		Principal: d.Principal, Timeout: secondsTimeout(d.TimeoutSeconds),
		Created: d.Created.UTC(), Refreshed: d.Refreshed.UTC(), Client: d.Client,
		ReleaseOnUpdate: d.ReleaseOnUpdate, LockNull: d.LockNull,
	}
	if d.Expires != nil && !d.Expires.IsZero() {
		l.Expires = d.Expires.UTC()
	}
	return nil
}

// secondsTimeout is a document's timeout_seconds as a Lock.Timeout: 0 is Infinite.
func secondsTimeout(secs int64) time.Duration {
	if secs == 0 {
		return Infinite
	}
	return time.Duration(secs) * time.Second
}
