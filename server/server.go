// Package server wires lockdav together: configuration, state directory, lock and property
// stores, the lock system, the file system, and the handler — the middleware every request
// passes (request id, access log and request metrics, panic recovery, body timeout, cross-origin
// check, authentication) in front of the lock API (davserver/lockapi) and the WebDAV tree
// (davserver) — behind one http.Server.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/davserver/lockapi"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/boltstore"
)

// File names inside the state dir.
const (
	locksFile = "locks.db"
	propsFile = "props.db"
)

// storeOpenTimeout is how long New waits for another process to release the state dir.
const storeOpenTimeout = time.Second

// Errors.
var (
	// ErrStateInUse: another lockdav process is using the state dir.
	ErrStateInUse = errors.New("state dir is in use by another lockdav process")
)

// Server is a configured lockdav server: its stores are open from New until Shutdown.
type Server struct {
	// mu guards addr and closed.
	mu     sync.Mutex
	addr   string
	closed bool

	cfg     config.Config
	log     zerolog.Logger
	http    *http.Server
	handler http.Handler
	api     *lockapi.Handler // closed as shutdown begins: event streams and waiters end
	auth    *auth.Authenticator
	// running counts the requests the handler is serving: Shutdown waits for those it cut off.
	running *inflight
	// closers release the stores, in order, at Shutdown.
	closers []io.Closer
}

// New validates cfg, creates the root and state dir (0700) and opens the stores in the state
// dir. A second process on the same state dir gets an error wrapping ErrStateInUse.
func New(cfg config.Config, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	authn, err := newAuth(cfg)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.Root, cfg.StateDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	s := &Server{cfg: cfg, log: log, auth: authn, running: newInflight()}
	if err := s.open(); err != nil {
		return nil, errors.Join(err, s.closeStores())
	}
	tlsConfig, err := loadTLS(cfg.TLS)
	if err != nil {
		return nil, errors.Join(err, s.closeStores())
	}
	s.http = &http.Server{
		TLSConfig:         tlsConfig,
		Handler:           s.handler,
		ReadHeaderTimeout: time.Duration(cfg.Limits.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(cfg.Limits.IdleTimeout),
		ErrorLog:          httpErrorLog(log),
	}
	// Shutdown waits for every request to end; event streams and waiting lock requests only
	// end when told to.
	s.http.RegisterOnShutdown(s.api.Close)
	return s, nil
}

// open opens the stores and builds the handler, recording what to close. The lock store goes
// first: the embedded one detects, within storeOpenTimeout, another process on the state dir.
func (s *Server) open() error {
	reg := newRegistry()
	st, err := s.openStores(reg)
	if err != nil {
		return err
	}
	locks, err := locksystem.New(time.Now(), s.lockOptions(st.locks))
	if err != nil {
		return fmt.Errorf("server: lock system: %w", err)
	}
	// Closed before the store it writes to.
	s.closers = append([]io.Closer{locks}, s.closers...)
	fsys, err := fs.NewOS(s.cfg.Root, st.props, s.log)
	if err != nil {
		return fmt.Errorf("server: root %s: %w", s.cfg.Root, err)
	}
	if s.cfg.Locks.Store == "etcd" {
		fsys.SetShared() // other replicas write the root too
	}
	if c, ok := any(fsys).(io.Closer); ok {
		s.closers = append([]io.Closer{c}, s.closers...)
	}
	if err := makeUserRoots(fsys, s.cfg.Auth.Users); err != nil {
		return err
	}
	s.handler, s.api = newHandlerAPI(s.handlerOptions(fsys, locks, reg, st.ping))
	reg.MustRegister(newLockCollector(locks))
	// Stopped before the lock system it expires locks of.
	s.closers = append([]io.Closer{startExpiry(locks, time.Second)}, s.closers...)
	return nil
}

// stores are the lock store and the dead-property store, and the lock store's health check.
type stores struct {
	locks locksystem.Store
	props fs.PropStore
	ping  func() error
}

// openStores opens the stores locks.store names, recording what to close.
func (s *Server) openStores(reg *prometheus.Registry) (stores, error) {
	if s.cfg.Locks.Store == "etcd" {
		return s.openEtcd(reg)
	}
	store, err := boltstore.Open(filepath.Join(s.cfg.StateDir, locksFile), boltstore.Options{
		Logger: s.log, OpenTimeout: storeOpenTimeout, Observe: newStoreMetrics(reg).observe,
	})
	if errors.Is(err, boltstore.ErrInUse) {
		return stores{}, fmt.Errorf("server: %w: %s (stop the other process or use another --state-dir): %w",
			ErrStateInUse, s.cfg.StateDir, err)
	}
	if err != nil {
		return stores{}, fmt.Errorf("server: lock store: %w", err)
	}
	s.closers = append(s.closers, store)
	storeCounters(reg, store.Stats)
	props, err := fs.OpenProps(filepath.Join(s.cfg.StateDir, propsFile), s.log)
	if err != nil {
		return stores{}, fmt.Errorf("server: property store: %w", err)
	}
	s.closers = append(s.closers, props)
	return stores{locks: store, props: props, ping: store.Ping}, nil
}

// handlerOptions are the handler's options from the configuration.
func (s *Server) handlerOptions(fsys *fs.FS, locks *locksystem.System, reg *prometheus.Registry, health func() error) handlerOptions {
	l := s.cfg.Limits
	return handlerOptions{
		FS:           fsys,
		Locks:        locks,
		Logger:       s.log,
		MaxXMLBody:   int64(l.MaxXMLBody),
		MaxUpload:    int64(l.MaxUpload),
		BodyTimeout:  time.Duration(l.BodyTimeout),
		BodyMinRate:  int64(l.BodyMinRate),
		Auth:         s.auth,
		LoopbackOnly: s.cfg.ReliesOnLoopback(),
		Metrics:      reg,
		Health:       health,
		Running:      s.running,
		MaxWait:      time.Duration(s.cfg.Locks.MaxWait),
		MaxStreams:   l.MaxEventStreamsPerPrincipal,
	}
}

// loadTLS loads tls.cert and tls.key at start-up, so a bad file stops New rather than Serve.
// It returns nil when TLS is off.
func loadTLS(c config.TLS) (*tls.Config, error) {
	if c.Cert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("server: tls.cert %s, tls.key %s: %w", c.Cert, c.Key, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func (s *Server) lockOptions(store locksystem.Store) locksystem.Options {
	l := s.cfg.Locks
	return locksystem.Options{
		Policy: locksystem.Policy{
			Min:           time.Duration(l.MinTimeout),
			Max:           time.Duration(l.MaxTimeout),
			Default:       time.Duration(l.DefaultTimeout),
			AllowInfinite: l.AllowInfinite,
		},
		Store:                  store,
		MaxPerPrincipal:        l.MaxPerPrincipal,
		Logger:                 s.log,
		EventHistory:           l.EventHistory,
		MaxWaitersPerPrincipal: l.MaxWaitersPerPrincipal,
	}
}

// Handler returns the WebDAV handler, middleware included.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln (HTTPS and HTTP/2 when tls.cert and tls.key are set) until Shutdown,
// after which it returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	secure := s.http.TLSConfig != nil
	s.log.Info().Str("addr", ln.Addr().String()).Bool("tls", secure).Msg("listening")
	var err error
	if secure {
		err = s.http.ServeTLS(ln, "", "") // the certificate is in TLSConfig; ServeTLS adds h2
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on the configured addr and serves; see Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return s.Serve(ln)
}

// Addr is the address Serve listens on ("host:port" with the real port), or "" before Serve.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections, waits for in-flight requests until ctx ends, then
// closes the lock system and the stores. Requests still running when ctx ends are cut off with
// a warning: the server stopped as asked and what it acknowledged is durable, so that is not an
// error; the error reports only what failed to close. Their handlers are then given up to
// handlerDrainTimeout to return, so that what they clean up on failure (an upload's temporary
// file) is cleaned up before the stores close and the process exits. It may be called once
// Serve has returned or before Serve was ever called; later calls return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var err error
	if cut := s.http.Shutdown(ctx); cut != nil {
		// Requests still running past the deadline lose their connections now, so the
		// stores close under no one.
		s.log.Warn().Err(cut).Msg("shutdown timeout: in-flight requests cut off")
		if cerr := s.http.Close(); cerr != nil {
			err = fmt.Errorf("server: close connections: %w", cerr)
		}
		// Closing a connection stops no handler; it fails at its next read or write and then
		// cleans up. Without this wait the stores closed under it and the process exited
		// first, leaving a partial upload behind. (Without a cut-off there is nothing to wait
		// for: http.Server.Shutdown returns only once every handler has.)
		if n := s.running.wait(handlerDrainTimeout); n > 0 {
			s.log.Warn().Int64("requests", n).Dur("waited", handlerDrainTimeout).
				Msg("shutdown: handlers still running; closing the stores under them")
		}
	}
	return errors.Join(err, s.closeStores())
}

// closeStores closes everything open has opened, in order.
func (s *Server) closeStores() error {
	var errs []error
	for _, c := range s.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: close: %w", err))
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}
