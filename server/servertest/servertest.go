// Package servertest runs a real lockdav server on a loopback port for the tests of other
// packages (the CLI, the litmus harness, the client tests).
package servertest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server"
)

// Config is config.Default with a free loopback port and the root and state dirs in dir.
func Config(dir string) config.Config {
	c := config.Default()
	c.Addr = "127.0.0.1:0"
	c.Root = filepath.Join(dir, "data")
	c.StateDir = filepath.Join(dir, "state")
	return c
}

// Start serves cfg on a loopback port until the test ends, then shuts the server down and
// checks that it stopped cleanly. It returns the address, host:port.
func Start(t testing.TB, cfg config.Config, log zerolog.Logger) string {
	t.Helper()
	s, err := server.New(cfg, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Limits.ShutdownTimeout))
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}
