package server

import (
	"errors"
	"log"
	"strings"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/server/request"
)

// httpErrorLog routes net/http's own messages (TLS handshake errors, panics it recovered,
// malformed requests) into the zerolog logger at warn level. They may quote what a client sent (a
// TLS handshake's offer), so they are shortened as errors are (request.ClipErr).
func httpErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	w.l.Warn().Str("source", "net/http").Msg(request.ClipErr(errors.New(msg)).Error())
	return len(p), nil
}
