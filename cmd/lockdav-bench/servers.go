package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server"
)

// Server names, as printed and written to JSON.
const (
	lockdavName   = "lockdav"
	referenceName = "x-net"
)

// target is one server under test, listening on loopback, with the client that drives it.
type target struct {
	name string
	base string // "http://127.0.0.1:port"
	root string // the directory it serves
	http *http.Client
	stop func(context.Context) error
	// pid is the server's own process (nginx's master, lockdav-etcd's etcd member), whose CPU
	// and its children's counts with the benchmark process's (cpu.go); 0 for none.
	pid int
}

// newClient is the client both servers get: keep-alive connections enough for every worker,
// so no run measures connection set-up.
func newClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// listen opens a loopback listener on a free port.
func listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// lockdavConfig is the configuration lockdav runs with over dir/root, its state in dir/state:
// the default one, logging included, as users run it.
func lockdavConfig(dir string, clients int) config.Config {
	cfg := config.Default()
	cfg.Root = filepath.Join(dir, "root")
	cfg.StateDir = filepath.Join(dir, "state")
	// Every worker is the one anonymous principal; contended-wait has them all wait at once, as
	// that many separate users would, each within the default locks.max_waiters_per_principal.
	cfg.Locks.MaxWaitersPerPrincipal = max(cfg.Locks.MaxWaitersPerPrincipal, clients)
	return cfg
}

// startLockdav runs lockdav with cfg in this process, as the target called name, its log in
// logPath. Its goroutines carry the pprof label server=<name>, so one CPU profile of the whole
// run can be narrowed to it with -tagfocus.
func startLockdav(name string, cfg config.Config, logPath string, clients int) (*target, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("lockdav log: %w", err)
	}
	log, logCloser, err := server.NewLogger(cfg.Log, logFile)
	if err != nil {
		return nil, errors.Join(err, logFile.Close())
	}
	ln, err := listen()
	if err != nil {
		return nil, errors.Join(err, logCloser.Close(), logFile.Close())
	}
	cfg.Addr = ln.Addr().String()
	var srv *server.Server
	labels := pprof.Labels("server", name)
	pprof.Do(context.Background(), labels, func(context.Context) { srv, err = server.New(cfg, log) })
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", name, err), ln.Close(), logCloser.Close(), logFile.Close())
	}
	done := make(chan error, 1)
	go pprof.Do(context.Background(), labels, func(context.Context) { done <- srv.Serve(ln) })
	stop := func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		return errors.Join(err, <-done, logCloser.Close(), logFile.Close())
	}
	return &target{name: name, base: "http://" + ln.Addr().String(), root: cfg.Root,
		http: newClient(clients), stop: stop}, nil
}

// startReference runs the bare x/net/webdav handler with in-memory locks over dir/root, its
// goroutines labelled server=reference.
func startReference(dir string, clients int) (*target, error) {
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("reference root: %w", err)
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	def := config.Default().Limits
	srv := &http.Server{
		Handler:           &webdav.Handler{FileSystem: webdav.Dir(root), LockSystem: webdav.NewMemLS()},
		ReadHeaderTimeout: time.Duration(def.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(def.IdleTimeout),
	}
	done := make(chan error, 1)
	labels := pprof.Labels("server", referenceName)
	go pprof.Do(context.Background(), labels, func(context.Context) { done <- srv.Serve(ln) })
	stop := func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}
	return &target{name: referenceName, base: "http://" + ln.Addr().String(), root: root,
		http: newClient(clients), stop: stop}, nil
}
