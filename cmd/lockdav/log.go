package main

import (
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
)

// newLogger builds the server's logger from log.level and log.format.
func newLogger(c config.Log, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		return zerolog.Logger{}, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	switch c.Format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	default:
		return zerolog.Logger{}, fmt.Errorf("log.format %q: want console or json", c.Format)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
