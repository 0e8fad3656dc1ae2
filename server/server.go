// Package server wires lockdav together: configuration, state directory, lock and property
// stores, the lock system, the file system and the WebDAV handler, behind one http.Server.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
)

// Server is a configured lockdav server.
type Server struct {
	cfg config.Config
	log zerolog.Logger
}

// New validates cfg and builds a server.
func New(cfg config.Config, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log}, nil
}

// Handler returns the WebDAV handler.
func (s *Server) Handler() http.Handler { return http.NotFoundHandler() }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return errors.New("server: not implemented") }

// ListenAndServe listens on the configured address and serves.
func (s *Server) ListenAndServe() error { return errors.New("server: not implemented") }

// Shutdown stops the server and closes its stores.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Addr returns the listening address once Serve has started.
func (s *Server) Addr() string { return "" }
