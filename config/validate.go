package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid configuration")

// Validate checks every value and returns all problems found, each naming its key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...)))
	}
	c.validateServer(add)
	c.Limits.validate(add)
	c.Locks.validate(add)
	c.Auth.validate(add)
	return errors.Join(errs...)
}

// problem records one invalid key.
type problem func(key, format string, args ...any)

func (c Config) validateServer(add problem) {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		add("addr", "%q is not host:port", c.Addr)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "console", "json":
	default:
		add("log.format", "%q is not one of auto, console, json", c.Log.Format)
	}
	if c.Log.FlushInterval < 0 || c.Log.FlushInterval > Duration(10*time.Second) {
		add("log.flush_interval", "%v is not between 0 and 10s", time.Duration(c.Log.FlushInterval))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls", "set both tls.cert and tls.key, or neither")
	}
	if c.Root == "" {
		add("root", "must not be empty")
	}
	if c.StateDir == "" {
		add("state_dir", "must not be empty")
	}
	if c.Root != "" && c.StateDir != "" {
		if err := checkStateOutsideRoot(c.Root, c.StateDir); err != nil {
			add("state_dir", "%v", err)
		}
	}
}

func (l Limits) validate(add problem) {
	if l.MaxXMLBody <= 0 {
		add("limits.max_xml_body", "must be positive, got %d", l.MaxXMLBody)
	}
	if l.MaxUpload < 0 {
		add("limits.max_upload", "must be 0 (unlimited) or positive, got %d", l.MaxUpload)
	}
	positive(add, "limits.read_header_timeout", l.ReadHeaderTimeout)
	positive(add, "limits.idle_timeout", l.IdleTimeout)
	positive(add, "limits.shutdown_timeout", l.ShutdownTimeout)
	if l.BodyTimeout < 0 {
		add("limits.body_timeout", "must be 0 (no limit) or positive, got %s", l.BodyTimeout)
	}
	if l.BodyMinRate <= 0 {
		add("limits.body_min_rate", "must be positive, got %d", l.BodyMinRate)
	}
	if l.MaxEventStreamsPerPrincipal <= 0 {
		add("limits.max_event_streams_per_principal", "must be positive, got %d", l.MaxEventStreamsPerPrincipal)
	}
}

func (l Locks) validate(add problem) {
	positive(add, "locks.min_timeout", l.MinTimeout)
	positive(add, "locks.max_timeout", l.MaxTimeout)
	positive(add, "locks.default_timeout", l.DefaultTimeout)
	if l.MinTimeout > l.DefaultTimeout || l.DefaultTimeout > l.MaxTimeout {
		add("locks", "want min_timeout <= default_timeout <= max_timeout, got %s, %s, %s",
			l.MinTimeout, l.DefaultTimeout, l.MaxTimeout)
	}
	if l.MaxPerPrincipal <= 0 {
		add("locks.max_per_principal", "must be positive, got %d", l.MaxPerPrincipal)
	}
	// The history is allocated whole at start-up: a million events of a few hundred bytes
	// each is as much memory as anyone should give it.
	if l.EventHistory <= 0 || l.EventHistory > maxEventHistory {
		add("locks.event_history", "must be between 1 and %d, got %d", maxEventHistory, l.EventHistory)
	}
	positive(add, "locks.max_wait", l.MaxWait)
	if l.MaxWaitersPerPrincipal <= 0 {
		add("locks.max_waiters_per_principal", "must be positive, got %d", l.MaxWaitersPerPrincipal)
	}
	switch l.Store {
	case "bolt":
	case "etcd":
		l.Etcd.validate(add)
	default:
		add("locks.store", "%q is not one of bolt, etcd", l.Store)
	}
}

func (e Etcd) validate(add problem) {
	if len(e.Endpoints) == 0 {
		add("locks.etcd.endpoints", "must name at least one member")
	}
	for _, ep := range e.Endpoints {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			add("locks.etcd.endpoints", "%q is not an http:// or https:// URL", ep)
		}
	}
	if e.Prefix == "" {
		add("locks.etcd.prefix", "must not be empty")
	}
	positive(add, "locks.etcd.dial_timeout", e.DialTimeout)
	positive(add, "locks.etcd.request_timeout", e.RequestTimeout)
	if (e.Cert == "") != (e.Key == "") {
		add("locks.etcd", "set both cert and key, or neither")
	}
	if (e.Username == "") != (e.Password == "") {
		add("locks.etcd", "set both username and password, or neither")
	}
}

// maxEventHistory bounds locks.event_history.
const maxEventHistory = 1 << 20

func positive(add problem, key string, d Duration) {
	if d <= 0 {
		add(key, "must be positive, got %s", d)
	}
}

// checkStateOutsideRoot refuses a state dir equal to the root or inside it: clients could then
// read or overwrite the lock and property databases. Both paths are compared absolute and with
// symlinks resolved, so neither a relative spelling nor a link hides the nesting.
func checkStateOutsideRoot(root, state string) error {
	r, err := resolve(root)
	if err != nil {
		return fmt.Errorf("resolving root: %w", err)
	}
	s, err := resolve(state)
	if err != nil {
		return fmt.Errorf("resolving state_dir: %w", err)
	}
	if s == r {
		return fmt.Errorf("%s is the served root: clients could reach the lock and property databases", state)
	}
	if rel, err := filepath.Rel(r, s); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is inside the served root %s: clients could reach the lock and property databases", state, root)
	}
	return nil
}

// resolve returns the absolute, symlink-free form of path. Directories that do not exist yet
// (they are created at start-up) are resolved through their deepest existing ancestor.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	dir := abs
	for {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if _, lerr := os.Lstat(dir); lerr == nil {
			return "", fmt.Errorf("%s: dangling symbolic link", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", err
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
		dir = parent
	}
}
