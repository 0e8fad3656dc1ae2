package e2e

// A live lockdav server per test, and the helpers every client test shares: running a client
// binary with a deadline, plain HTTP requests, and the files the server wrote on disk.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server/servertest"
)

// live is a running server: its base URL ("http://127.0.0.1:port") and the directory it serves.
type live struct {
	URL  string
	Host string // "127.0.0.1:port"
	Root string
}

// liveOptions change how a test server runs.
type liveOptions struct {
	// users are accounts with write access, each with the password userPassword(name); anonymous
	// requests keep write access, so clients without credentials still work beside them.
	users []string
	// admins are users with write access and the admin flag, passwords as for users.
	admins []string
	// roots confine users (by name) to a subtree.
	roots map[string]string
	// anonymous, when set, replaces the write access anonymous requests get beside users.
	anonymous string
}

// userPassword is the password of a test user.
func userPassword(name string) string { return "pw-" + name }

// startLive starts a server on a loopback port over a fresh root and state dir, and stops it
// when the test ends.
func startLive(t *testing.T, o liveOptions) *live {
	t.Helper()
	cfg := servertest.Config(t.TempDir())
	if len(o.users)+len(o.admins) > 0 {
		cfg.Auth.Anonymous = "write"
		if o.anonymous != "" {
			cfg.Auth.Anonymous = o.anonymous
		}
		for i, name := range append(append([]string{}, o.users...), o.admins...) {
			hash, err := bcrypt.GenerateFromPassword([]byte(userPassword(name)), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Auth.Users = append(cfg.Auth.Users, config.User{Name: name, PasswordHash: string(hash), Access: "write",
				Admin: i >= len(o.users), Root: o.roots[name]})
		}
	}
	addr := servertest.Start(t, cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	return &live{URL: "http://" + addr, Host: addr, Root: cfg.Root}
}

// file returns the content of path (slash-separated, relative to the served root).
func (l *live) file(t *testing.T, p string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.Root, filepath.FromSlash(strings.TrimPrefix(p, "/"))))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// writeFile puts content at path under the served root, creating directories.
func (l *live) writeFile(t *testing.T, p, content string) {
	t.Helper()
	full := filepath.Join(l.Root, filepath.FromSlash(strings.TrimPrefix(p, "/")))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// response is what do saw.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// do sends one request and reads the whole answer. headers alternate name, value.
func (l *live) do(t *testing.T, method, p, body string, headers ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, l.URL+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, p, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// needBinary fails the test (never skips) when a client program is not installed.
func needBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install %s (apt-get install %s)", name, pkg, pkg)
	}
	return p
}

// run runs a program with a deadline and returns its combined output. stdin may be empty.
func run(t *testing.T, timeout time.Duration, dir string, env []string, stdin, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.String(), err
}

// eventually polls cond every 50ms until it holds or the deadline passes. It waits for another
// process (an upload by a mounted file system), never for a timer inside the server.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// basicAuth is the Authorization header value of a test user.
func basicAuth(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+userPassword(user)))
}
