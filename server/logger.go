package server

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
)

// NewLogger builds lockdav's logger from log.level and log.format, writing to w. Format "auto"
// is console (human-readable) when w is a terminal and json otherwise: zerolog's console writer
// re-parses every line, which a server logging each request to a file or a collector should not
// pay for.
func NewLogger(c config.Log, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		return zerolog.Logger{}, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	tty := isTerminal(w)
	switch {
	case c.Format == "json", c.Format == "auto" && !tty:
	case c.Format == "console", c.Format == "auto":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !tty}
	default:
		return zerolog.Logger{}, fmt.Errorf("log.format %q: want auto, console or json", c.Format)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a character device (a terminal): colours only go there,
// not into files and pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
