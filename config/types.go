package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a Go duration string: "90s", "10m", "1h30m".
type Duration time.Duration

// UnmarshalYAML accepts a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as \"90s\"", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: want a Go duration such as \"90s\" or \"10m\"", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// Size is a byte count written as a plain number ("1048576") or a number with a unit:
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024). "1MiB" is 1048576.
type Size int64

// UnmarshalYAML accepts what ParseSize accepts.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size such as \"1MiB\"", n.Line)
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// MarshalYAML writes the size as a plain byte count.
func (s Size) MarshalYAML() (any, error) { return int64(s), nil }

// sizeUnits maps each accepted unit to its multiplier. Units are case-sensitive so that "mb"
// (millibits, strictly) is refused rather than guessed at.
var sizeUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KB":  1000,
	"MB":  1000 * 1000,
	"GB":  1000 * 1000 * 1000,
	"TB":  1000 * 1000 * 1000 * 1000,
	"KiB": 1 << 10,
	"MiB": 1 << 20,
	"GiB": 1 << 30,
	"TiB": 1 << 40,
}

// errSize is wrapped by every ParseSize error.
var errSize = errors.New("invalid size")

// ParseSize parses a non-negative whole number of bytes with an optional unit (see Size).
func ParseSize(text string) (Size, error) {
	s := strings.TrimSpace(text)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	digits, unit := s[:i], strings.TrimSpace(s[i:])
	mult, ok := sizeUnits[unit]
	if digits == "" || !ok {
		return 0, fmt.Errorf("%w %q: want a whole number of bytes, optionally followed by B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", errSize, text)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, fmt.Errorf("%w %q: too large", errSize, text)
	}
	return Size(n * mult), nil
}
