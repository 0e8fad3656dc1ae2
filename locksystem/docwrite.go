package locksystem

// Writing the lock document without reflection. Every granted lock and every refresh encodes
// one before the answer is sent (BenchmarkMarshalJSON compares this with encoding/json). The
// bytes are encoding/json's for the document struct with HTML escaping off: FuzzMarshalJSON
// compares the two.

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendDocument appends l's document to dst, as MarshalJSON writes it.
func appendDocument(dst []byte, l Lock) ([]byte, error) {
	if l.Timeout < 0 || l.Timeout > maxTimeout {
		return nil, fmt.Errorf("%w: timeout %v", ErrInvalid, l.Timeout)
	}
	if l.Scope != Exclusive && l.Scope != Shared {
		return nil, fmt.Errorf("%w: scope %d", ErrInvalid, uint8(l.Scope))
	}
	if l.Depth != DepthZero && l.Depth != DepthInfinity {
		return nil, fmt.Errorf("%w: depth %d", ErrInvalid, uint8(l.Depth))
	}
	var err error
	secs := int64(l.Timeout / time.Second)
	if l.Timeout%time.Second != 0 {
		secs++ // never report less time than granted; the Policy grants whole seconds
	}
	dst = appendField(dst, `{"token":`, l.Token)
	dst = appendField(dst, `,"path":`, l.Path)
	dst = append(append(append(dst, `,"scope":"`...), l.Scope.String()...), '"')
	dst = append(append(append(dst, `,"depth":"`...), l.Depth.String()...), '"')
	dst = appendField(dst, `,"owner":`, l.Owner)
	dst = appendField(dst, `,"principal":`, l.Principal)
	dst = strconv.AppendInt(append(dst, `,"timeout_seconds":`...), secs, 10)
	if dst, err = appendTime(append(dst, `,"created":`...), l.Created); err != nil {
		return nil, err
	}
	if dst, err = appendTime(append(dst, `,"refreshed":`...), l.Refreshed); err != nil {
		return nil, err
	}
	dst = append(dst, `,"expires":`...)
	if l.Expires.IsZero() {
		dst = append(dst, "null"...)
	} else if dst, err = appendTime(dst, l.Expires); err != nil {
		return nil, err
	}
	dst = appendField(dst, `,"client":{"ip":`, l.Client.IP)
	dst = appendField(dst, `,"user_agent":`, l.Client.UserAgent)
	dst = strconv.AppendBool(append(dst, `},"release_on_update":`...), l.ReleaseOnUpdate)
	dst = strconv.AppendBool(append(dst, `,"lock_null":`...), l.LockNull)
	return append(dst, '}'), nil
}

func appendField(dst []byte, key, s string) []byte {
	return appendString(append(dst, key...), s)
}

// appendTime writes t in UTC as time.Time's MarshalJSON does, refusing the same years.
func appendTime(dst []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("%w: time %v outside the years 0 to 9999", ErrInvalid, t)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string exactly as encoding/json does with HTML escaping off:
// quotes, backslashes and control characters escaped, invalid UTF-8 as U+FFFD, and U+2028 and
// U+2029 escaped (JavaScript reads them as line ends).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = appendEscapedByte(append(dst, s[start:i]...), b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// appendEscapedByte writes the escape of an ASCII byte that JSON strings must not hold as is.
func appendEscapedByte(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
