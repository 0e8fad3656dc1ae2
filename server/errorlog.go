package server

import (
	"log"
	"strings"

	"github.com/rs/zerolog"
)

// httpErrorLog routes net/http's own messages (TLS handshake errors, panics it recovered,
// malformed requests) into the zerolog logger at warn level.
func httpErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Warn().Str("source", "net/http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
