package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// valid returns a valid Config whose directories live under a fresh temporary directory.
func valid(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	c := Default()
	c.Root = filepath.Join(dir, "data")
	c.StateDir = filepath.Join(dir, "state")
	return c
}

func TestValidateDefaults(t *testing.T) {
	if err := valid(t).Validate(); err != nil {
		t.Errorf("Validate(defaults) = %v, want nil", err)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		key    string // the key the error must name
	}{
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, "addr"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"log flush negative", func(c *Config) { c.Log.FlushInterval = -1 }, "log.flush_interval"},
		{"log flush too long", func(c *Config) { c.Log.FlushInterval = Duration(11 * time.Second) }, "log.flush_interval"},
		{"tls cert without key", func(c *Config) { c.TLS.Cert = "cert.pem" }, "tls"},
		{"tls key without cert", func(c *Config) { c.TLS.Key = "key.pem" }, "tls"},
		{"empty root", func(c *Config) { c.Root = "" }, "root"},
		{"empty state dir", func(c *Config) { c.StateDir = "" }, "state_dir"},
		{"zero xml body", func(c *Config) { c.Limits.MaxXMLBody = 0 }, "limits.max_xml_body"},
		{"negative upload", func(c *Config) { c.Limits.MaxUpload = -1 }, "limits.max_upload"},
		{"zero header timeout", func(c *Config) { c.Limits.ReadHeaderTimeout = 0 }, "limits.read_header_timeout"},
		{"negative idle timeout", func(c *Config) { c.Limits.IdleTimeout = Duration(-time.Second) }, "limits.idle_timeout"},
		{"zero shutdown timeout", func(c *Config) { c.Limits.ShutdownTimeout = 0 }, "limits.shutdown_timeout"},
		{"negative body timeout", func(c *Config) { c.Limits.BodyTimeout = -1 }, "limits.body_timeout"},
		{"zero body rate", func(c *Config) { c.Limits.BodyMinRate = 0 }, "limits.body_min_rate"},
		{"zero min timeout", func(c *Config) { c.Locks.MinTimeout = 0 }, "locks.min_timeout"},
		{"unknown store", func(c *Config) { c.Locks.Store = "redis" }, "locks.store"},
		{"etcd without endpoints", func(c *Config) { c.Locks.Store, c.Locks.Etcd.Endpoints = "etcd", nil }, "locks.etcd.endpoints"},
		{"etcd endpoint not a URL", func(c *Config) { c.Locks.Store, c.Locks.Etcd.Endpoints = "etcd", []string{"10.0.0.1:2379"} }, "locks.etcd.endpoints"},
		{"etcd empty prefix", func(c *Config) { c.Locks.Store, c.Locks.Etcd.Prefix = "etcd", "" }, "locks.etcd.prefix"},
		{"etcd zero dial timeout", func(c *Config) { c.Locks.Store, c.Locks.Etcd.DialTimeout = "etcd", 0 }, "locks.etcd.dial_timeout"},
		{"etcd zero request timeout", func(c *Config) { c.Locks.Store, c.Locks.Etcd.RequestTimeout = "etcd", 0 }, "locks.etcd.request_timeout"},
		{"etcd cert without key", func(c *Config) { c.Locks.Store, c.Locks.Etcd.Cert = "etcd", "c.pem" }, "locks.etcd"},
		{"etcd user without password", func(c *Config) { c.Locks.Store, c.Locks.Etcd.Username = "etcd", "u" }, "locks.etcd"},
		{"zero max timeout", func(c *Config) { c.Locks.MaxTimeout = 0 }, "locks.max_timeout"},
		{"zero default timeout", func(c *Config) { c.Locks.DefaultTimeout = 0 }, "locks.default_timeout"},
		{"default below min", func(c *Config) { c.Locks.DefaultTimeout = Duration(time.Millisecond) }, "min_timeout <= default_timeout"},
		{"default above max", func(c *Config) { c.Locks.DefaultTimeout = Duration(48 * time.Hour) }, "default_timeout <= max_timeout"},
		{"min above max", func(c *Config) {
			c.Locks.MinTimeout = Duration(time.Hour)
			c.Locks.DefaultTimeout = Duration(time.Hour)
			c.Locks.MaxTimeout = Duration(time.Minute)
		}, "default_timeout <= max_timeout"},
		{"zero locks per principal", func(c *Config) { c.Locks.MaxPerPrincipal = 0 }, "locks.max_per_principal"},
		{"zero event history", func(c *Config) { c.Locks.EventHistory = 0 }, "locks.event_history"},
		{"huge event history", func(c *Config) { c.Locks.EventHistory = 1<<20 + 1 }, "locks.event_history"},
		{"zero max wait", func(c *Config) { c.Locks.MaxWait = 0 }, "locks.max_wait"},
		{"zero waiters per principal", func(c *Config) { c.Locks.MaxWaitersPerPrincipal = 0 }, "locks.max_waiters_per_principal"},
		{"zero event streams per principal", func(c *Config) { c.Limits.MaxEventStreamsPerPrincipal = 0 }, "limits.max_event_streams_per_principal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.key)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, want errors.Is(err, ErrInvalid)", err)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Validate() = %q, want it to name %q", err, tt.key)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := valid(t)
	c.Log.Level = "loud"
	c.Locks.MaxPerPrincipal = -1
	err := c.Validate()
	for _, key := range []string{"log.level", "locks.max_per_principal"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want it to name %q", err, key)
		}
	}
}

// TestStateDirPlacement: the state dir may not be the root or lie inside it, however spelled.
func TestStateDirPlacement(t *testing.T) {
	base := t.TempDir()
	mustMkdir(t, filepath.Join(base, "data", "sub"))
	mustMkdir(t, filepath.Join(base, "elsewhere"))
	// "link" points into the root, "outlink" out of it.
	mustSymlink(t, filepath.Join(base, "data"), filepath.Join(base, "link"))
	mustSymlink(t, filepath.Join(base, "elsewhere"), filepath.Join(base, "outlink"))
	mustSymlink(t, filepath.Join(base, "nowhere"), filepath.Join(base, "dangling"))
	t.Chdir(base)

	tests := []struct {
		name, root, state string
		wantErr           bool
	}{
		{"sibling", "data", "state", false},
		{"sibling sharing a prefix", "data", "data2", false},
		{"sibling named with dots", "data", "data..state", false},
		{"root inside state", "state/data", "state", false},
		{"equal", "data", "data", true},
		{"equal, spelled differently", "data", base + "/data/../data/", true},
		{"inside", "data", "data/state", true},
		{"inside, existing", "data", "data/sub", true},
		{"inside, absolute vs relative", base + "/data", "data/.state", true},
		{"through a symlink", "data", "link/state", true},
		{"symlink equal to root", "data", "link", true},
		{"root through a symlink", "link", "data/state", true},
		{"symlink pointing outside", "data", "outlink/state", false},
		{"dangling symlink", "data", "dangling/state", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Root, c.StateDir = tt.root, tt.state
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(root %q, state_dir %q) = %v, want error %v", tt.root, tt.state, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "state_dir") {
				t.Errorf("Validate() = %q, want it to name state_dir", err)
			}
		})
	}
}

func mustMkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// bcryptHash is a well-formed bcrypt hash (of "pw", cost 4).
const bcryptHash = "$2a$04$0JkgK7JPvHJ.CsCHlc/TxeHoFsbm5JpX7lu3PX2SQeUPhKZrrDpEm"

func TestValidateAuth(t *testing.T) {
	user := func(mod func(u *User)) func(c *Config) {
		return func(c *Config) {
			u := User{Name: "alice", PasswordHash: bcryptHash, Access: "write", Root: "/alice"}
			mod(&u)
			c.Auth.Users = []User{u}
		}
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		key    string // "" means valid
	}{
		{"a user", user(func(u *User) {}), ""},
		{"read access", user(func(u *User) { u.Access = "read" }), ""},
		{"no root", user(func(u *User) { u.Root = "" }), ""},
		{"root /", user(func(u *User) { u.Root = "/" }), ""},
		{"$2b$ hash", user(func(u *User) { u.PasswordHash = "$2b$" + bcryptHash[4:] }), ""},
		{"anonymous read", func(c *Config) { c.Auth.Anonymous = "read" }, ""},
		{"anonymous bogus", func(c *Config) { c.Auth.Anonymous = "rw" }, "auth.anonymous"},
		{"empty name", user(func(u *User) { u.Name = "" }), "auth.users[0].name"},
		{"name anonymous", user(func(u *User) { u.Name = "anonymous" }), ".name"},
		{"name with colon", user(func(u *User) { u.Name = "a:b" }), ".name"},
		{"name with newline", user(func(u *User) { u.Name = "a\nb" }), ".name"},
		{"plain-text password", user(func(u *User) { u.PasswordHash = "hunter2" }), ".password_hash"},
		{"empty hash", user(func(u *User) { u.PasswordHash = "" }), ".password_hash"},
		{"hash cost too low", user(func(u *User) { u.PasswordHash = "$2a$03" + bcryptHash[6:] }), ".password_hash"},
		{"hash bad character", user(func(u *User) { u.PasswordHash = bcryptHash[:59] + "!" }), ".password_hash"},
		{"md5 crypt", user(func(u *User) { u.PasswordHash = "$1$abc$" + strings.Repeat("x", 53) }), ".password_hash"},
		{"no access", user(func(u *User) { u.Access = "" }), ".access"},
		{"admin access", user(func(u *User) { u.Access = "admin" }), ".access"},
		{"relative root", user(func(u *User) { u.Root = "alice" }), ".root"},
		{"unclean root", user(func(u *User) { u.Root = "/a/../b" }), ".root"},
		{"trailing slash root", user(func(u *User) { u.Root = "/alice/" }), ".root"},
		{"reserved root", user(func(u *User) { u.Root = "/.lockdav/x" }), ".root"},
		{"duplicate names", func(c *Config) {
			u := User{Name: "bob", PasswordHash: bcryptHash, Access: "read"}
			c.Auth.Users = []User{u, u}
		}, "auth.users[1] (bob).name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.modify(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate() = %v, want an ErrInvalid naming %q", err, tt.key)
			}
		})
	}
}

// TestAnonymousAccess: the safe default — anonymous write only on loopback when nothing is set.
func TestAnonymousAccess(t *testing.T) {
	someone := []User{{Name: "a", PasswordHash: bcryptHash, Access: "read"}}
	tests := []struct {
		addr, anonymous string
		users           []User
		want            string // "" means ErrAnonymousUnset
	}{
		{"127.0.0.1:8080", "", nil, AccessWrite},
		{"[::1]:8080", "", nil, AccessWrite},
		{"localhost:8080", "", nil, AccessWrite},
		{"127.1.2.3:8080", "", nil, AccessWrite},
		{"0.0.0.0:8080", "", nil, ""},
		{":8080", "", nil, ""},
		{"[::]:8080", "", nil, ""},
		{"192.0.2.1:8080", "", nil, ""},
		{"example.com:8080", "", nil, ""},
		{"0.0.0.0:8080", "read", nil, AccessRead},
		{"0.0.0.0:8080", "write", nil, AccessWrite},
		{"0.0.0.0:8080", "none", nil, AccessNone},
		{"0.0.0.0:8080", "", someone, AccessNone},
		{"127.0.0.1:8080", "", someone, AccessNone},
		{"127.0.0.1:8080", "read", someone, AccessRead},
	}
	for _, tt := range tests {
		c := Default()
		c.Addr, c.Auth.Anonymous, c.Auth.Users = tt.addr, tt.anonymous, tt.users
		got, err := c.AnonymousAccess()
		if tt.want == "" {
			if !errors.Is(err, ErrAnonymousUnset) || !strings.Contains(err.Error(), "auth.anonymous") {
				t.Errorf("AnonymousAccess(%s, %q, %d users) = %q, %v; want ErrAnonymousUnset", tt.addr, tt.anonymous, len(tt.users), got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("AnonymousAccess(%s, %q, %d users) = %q, %v; want %q", tt.addr, tt.anonymous, len(tt.users), got, err, tt.want)
		}
	}
}
