package locksystem

// Reading lock documents fast. Start-up decodes every stored document, and encoding/json spends
// most of start-up's CPU on reflection and on strings that repeat in every document
// (BenchmarkRestart, against its 3 s target). Almost every document is exactly what MarshalJSON
// wrote, so exactReader reads that one shape, byte for byte, and anything else — whitespace,
// another order, escapes it does not know, a document of an older version — goes to
// unmarshalGeneral (encoding/json). exactReader accepts a document only where unmarshalGeneral
// would read the same Lock from it (FuzzDecodeExact checks this).

import (
	"time"
	"unicode/utf8"
)

// Decoder reads lock documents as Lock.UnmarshalJSON does, and gives the locks it reads one
// copy of each principal, owner and client string that repeats from one document to the next,
// so that loading a million locks of a few users allocates those strings once. A Decoder is for
// one goroutine; strings are immutable, so the locks it returns may go anywhere.
type Decoder struct {
	seen    map[string]string
	scratch []byte // unescaped string contents
}

// Bounds of a Decoder's shared strings: past them a string is copied as usual, so a load of
// documents that share nothing costs a full map, not a growing one.
const (
	maxShared    = 4096
	maxSharedLen = 512
)

// NewDecoder returns a Decoder that shares repeated strings.
func NewDecoder() *Decoder { return &Decoder{seen: make(map[string]string)} }

// Decode reads the lock document b into l.
func (d *Decoder) Decode(b []byte, l *Lock) error {
	r := exactReader{b: b, d: d}
	if r.lock(l) {
		return nil
	}
	return unmarshalGeneral(b, l)
}

// share returns b as a string, the same string as for an equal b before when there is one.
func (d *Decoder) share(b []byte) string {
	if s, ok := d.seen[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.seen != nil && len(d.seen) < maxShared && len(s) <= maxSharedLen {
		d.seen[s] = s
	}
	return s
}

// exactReader reads the document shape MarshalJSON writes; each method reports whether the
// input continues in that shape, and the reader is abandoned at the first that does not.
type exactReader struct {
	b []byte
	i int
	d *Decoder
}

// lock reads a whole document into l, which it changes only when it reports true.
func (r *exactReader) lock(l *Lock) bool {
	var x Lock
	var secs int64
	var expires time.Time
	ok := r.lit(`{"token":`) && r.copied(&x.Token) &&
		r.lit(`,"path":`) && r.copied(&x.Path) &&
		r.lit(`,"scope":`) && r.scope(&x.Scope) &&
		r.lit(`,"depth":`) && r.depth(&x.Depth) &&
		r.lit(`,"owner":`) && r.shared(&x.Owner) &&
		r.lit(`,"principal":`) && r.shared(&x.Principal) &&
		r.lit(`,"timeout_seconds":`) && r.seconds(&secs) &&
		r.lit(`,"created":`) && r.time(&x.Created) &&
		r.lit(`,"refreshed":`) && r.time(&x.Refreshed) &&
		r.lit(`,"expires":`) && (r.lit(`null`) || r.time(&expires)) &&
		r.lit(`,"client":{"ip":`) && r.shared(&x.Client.IP) &&
		r.lit(`,"user_agent":`) && r.shared(&x.Client.UserAgent) &&
		r.lit(`},"release_on_update":`) && r.bool(&x.ReleaseOnUpdate) &&
		r.lit(`,"lock_null":`) && r.bool(&x.LockNull) &&
		r.lit(`}`) && r.i == len(r.b)
	if !ok {
		return false
	}
	x.Timeout = secondsTimeout(secs)
	if !expires.IsZero() { // as the general decoder: an expires of the zero time is none
		x.Expires = expires
	}
	*l = x
	return true
}

// lit consumes s.
func (r *exactReader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

func (r *exactReader) copied(s *string) bool {
	b, ok := r.str()
	if ok {
		*s = string(b)
	}
	return ok
}

func (r *exactReader) shared(s *string) bool {
	b, ok := r.str()
	if ok {
		*s = r.d.share(b)
	}
	return ok
}

// str consumes a JSON string and returns its contents, valid until the next call. It takes the
// escapes encoding/json writes for quotes, backslashes and white space; a \u escape, a raw
// control character or invalid UTF-8 (which the general decoder turns into U+FFFD) is not
// this shape.
func (r *exactReader) str() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	start := r.i + 1
	ascii := true
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			return r.b[start:j], ascii || utf8.Valid(r.b[start:j])
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// escaped is str for a string with escapes, from its first byte at start.
func (r *exactReader) escaped(start int) ([]byte, bool) {
	out := r.d.scratch[:0]
	for j := start; j < len(r.b); j++ {
		c := r.b[j]
		switch {
		case c == '"':
			r.i = j + 1
			r.d.scratch = out // kept for the next string with escapes
			return out, utf8.Valid(out)
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if j++; j == len(r.b) {
			return nil, false
		}
		u, ok := unescape[r.b[j]]
		if !ok {
			return nil, false
		}
		out = append(out, u)
	}
	return nil, false
}

// unescape maps the letter after a backslash to its byte, for the escapes str takes.
var unescape = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func (r *exactReader) scope(s *Scope) bool {
	switch {
	case r.lit(`"exclusive"`):
		*s = Exclusive
	case r.lit(`"shared"`):
		*s = Shared
	default:
		return false
	}
	return true
}

func (r *exactReader) depth(d *Depth) bool {
	switch {
	case r.lit(`"0"`):
		*d = DepthZero
	case r.lit(`"infinity"`):
		*d = DepthInfinity
	default:
		return false
	}
	return true
}

func (r *exactReader) bool(v *bool) bool {
	switch {
	case r.lit("true"):
		*v = true
	case r.lit("false"):
		*v = false
	default:
		return false
	}
	return true
}

// seconds reads a timeout: a JSON integer without sign or leading zero, at most maxTimeout.
func (r *exactReader) seconds(v *int64) bool {
	n, digits := r.digits(11)
	switch {
	case digits == 0 || digits > 1 && r.b[r.i-digits] == '0':
		return false
	case r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E'):
		return false
	case n > int64(maxTimeout/time.Second):
		return false
	}
	*v = n
	return true
}

// digits consumes up to max decimal digits and returns their value and how many there were.
func (r *exactReader) digits(max int) (n int64, count int) {
	for count < max && r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		n = n*10 + int64(r.b[r.i]-'0')
		r.i++
		count++
	}
	return n, count
}

// fixed consumes exactly width digits.
func (r *exactReader) fixed(width int, v *int) bool {
	n, count := r.digits(width)
	*v = int(n)
	return count == width
}

// time reads the form MarshalJSON writes, "2006-01-02T15:04:05.999999999Z" (RFC 3339 in UTC),
// and only a valid date and time of day in it.
func (r *exactReader) time(t *time.Time) bool {
	var y, mo, d, h, mi, s, ns int
	ok := r.lit(`"`) && r.fixed(4, &y) && r.lit("-") && r.fixed(2, &mo) && r.lit("-") && r.fixed(2, &d) &&
		r.lit("T") && r.fixed(2, &h) && r.lit(":") && r.fixed(2, &mi) && r.lit(":") && r.fixed(2, &s) &&
		r.fraction(&ns) && r.lit(`Z"`)
	if !ok || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 {
		return false
	}
	v := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	if v.Day() != d { // the 31st of a 30-day month, which time.Date would move on
		return false
	}
	*t = v
	return true
}

// fraction reads an optional ".", then 1 to 9 digits, as nanoseconds.
func (r *exactReader) fraction(ns *int) bool {
	if !r.lit(".") {
		*ns = 0
		return true
	}
	n, count := r.digits(9)
	if count == 0 || r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		return false
	}
	for range 9 - count {
		n *= 10
	}
	*ns = int(n)
	return true
}
