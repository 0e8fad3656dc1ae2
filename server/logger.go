package server

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
)

// NewLogger builds lockdav's logger from log.level, log.format and log.flush_interval, writing
// to w. Format "auto" is console (human-readable) when w is a terminal and json otherwise:
// zerolog's console writer re-parses every line, which a server logging each request to a file
// or a collector should not pay for. With a flush interval, lines are gathered and written
// together (logBuffer); the returned Closer writes those still waiting and must be closed at exit.
func NewLogger(c config.Log, w io.Writer) (zerolog.Logger, io.Closer, error) {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		return zerolog.Logger{}, nil, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	if c.FlushInterval < 0 {
		return zerolog.Logger{}, nil, fmt.Errorf("log.flush_interval %v: must not be negative", c.FlushInterval)
	}
	tty := isTerminal(w)
	var closer io.Closer = nopCloser{}
	if c.FlushInterval > 0 {
		b := newLogBuffer(w, time.Duration(c.FlushInterval))
		w, closer = b, b
	}
	switch {
	case c.Format == "json", c.Format == "auto" && !tty:
	case c.Format == "console", c.Format == "auto":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !tty}
	default:
		return zerolog.Logger{}, nil, fmt.Errorf("log.format %q: want auto, console or json", c.Format)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), closer, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

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
