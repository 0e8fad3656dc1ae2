package locksystem

// Lock timeouts, RFC 4918 §10.7 and §6.6: the server picks the granted timeout, which the client
// asked for in seconds or as "Infinite".

import (
	"errors"
	"fmt"
	"time"
)

// Grant turns a requested timeout (Request.Timeout: 0 when none was asked, Infinite) into the
// granted one, Infinite for a lock that never expires. A request is rounded up to whole
// seconds, since that is what the Timeout header can echo, then clamped into [Min, Max].
// Grant expects a valid policy (see Validate).
func (p Policy) Grant(requested time.Duration) time.Duration {
	switch {
	case requested == 0:
		return p.Default
	case requested < 0:
		if p.AllowInfinite {
			return Infinite
		}
		return p.Max
	}
	requested = min(requested, p.Max) // Max is whole seconds: rounding up cannot pass it
	if r := requested % time.Second; r != 0 {
		requested += time.Second - r
	}
	return min(max(requested, p.Min), p.Max)
}

// maxTimeout keeps expiry times far inside int64 Unix nanoseconds.
const maxTimeout = 100 * 365 * 24 * time.Hour

// Validate checks that the bounds are positive whole seconds with Min <= Default <= Max.
func (p Policy) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"min timeout", p.Min}, {"default timeout", p.Default}, {"max timeout", p.Max}} {
		switch {
		case f.d <= 0:
			return fmt.Errorf("locksystem: policy: %s %v must be positive", f.name, f.d)
		case f.d%time.Second != 0:
			return fmt.Errorf("locksystem: policy: %s %v must be whole seconds", f.name, f.d)
		case f.d > maxTimeout:
			return fmt.Errorf("locksystem: policy: %s %v exceeds %v", f.name, f.d, maxTimeout)
		}
	}
	if p.Min > p.Default || p.Default > p.Max {
		return errors.New("locksystem: policy: want min timeout <= default timeout <= max timeout")
	}
	return nil
}
