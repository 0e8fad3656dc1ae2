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
		{"tls cert without key", func(c *Config) { c.TLS.Cert = "cert.pem" }, "tls"},
		{"tls key without cert", func(c *Config) { c.TLS.Key = "key.pem" }, "tls"},
		{"empty root", func(c *Config) { c.Root = "" }, "root"},
		{"empty state dir", func(c *Config) { c.StateDir = "" }, "state_dir"},
		{"zero xml body", func(c *Config) { c.Limits.MaxXMLBody = 0 }, "limits.max_xml_body"},
		{"negative upload", func(c *Config) { c.Limits.MaxUpload = -1 }, "limits.max_upload"},
		{"zero header timeout", func(c *Config) { c.Limits.ReadHeaderTimeout = 0 }, "limits.read_header_timeout"},
		{"negative idle timeout", func(c *Config) { c.Limits.IdleTimeout = Duration(-time.Second) }, "limits.idle_timeout"},
		{"zero shutdown timeout", func(c *Config) { c.Limits.ShutdownTimeout = 0 }, "limits.shutdown_timeout"},
		{"zero min timeout", func(c *Config) { c.Locks.MinTimeout = 0 }, "locks.min_timeout"},
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
