package server

// Users, permissions and hardening against a live server built from a configuration.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/lockdav/lockdav/config"
)

const lockBody = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`

// withUsers adds users to cfg; each one's password is its name + "-pw".
func withUsers(t *testing.T, cfg *config.Config, users ...config.User) {
	t.Helper()
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Name+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = string(h)
		cfg.Auth.Users = append(cfg.Auth.Users, u)
	}
}

// client sends requests as one user ("" for none) to a server.
type client struct {
	t    *testing.T
	base string
	user string
	http *http.Client
}

func (c client) do(method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.user+"-pw")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c client) expect(status int, method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	resp, b := c.do(method, path, body, headers...)
	if resp.StatusCode != status {
		c.t.Fatalf("%s: %s %s = %d, want %d; body: %s", c.user, method, path, resp.StatusCode, status, b)
	}
	return resp, b
}

func (c client) lock(path string) string {
	c.t.Helper()
	resp, _ := c.expect(http.StatusCreated, "LOCK", path, lockBody, "Depth", "0")
	return strings.Trim(resp.Header.Get("Lock-Token"), "<>")
}

// TestNewRefusesOpenAnonymous: with no users and auth.anonymous unset, a server on an address
// other than loopback does not start, and says what to do.
func TestNewRefusesOpenAnonymous(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.0.2.1:8080"} {
		cfg := testConfig(t)
		cfg.Addr = addr
		_, err := New(cfg, zerolog.Nop())
		if !errors.Is(err, config.ErrAnonymousUnset) || !strings.Contains(err.Error(), "set auth.anonymous") {
			t.Errorf("New(addr %s, no users, anonymous unset) = %v, want ErrAnonymousUnset", addr, err)
		}
	}
	for _, fix := range []func(c *config.Config){
		func(c *config.Config) { c.Auth.Anonymous = "read" },
		func(c *config.Config) { withUsers(t, c, config.User{Name: "alice", Access: "write"}) },
	} {
		cfg := testConfig(t)
		cfg.Addr = "0.0.0.0:8080"
		fix(&cfg)
		s, err := New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatalf("New(0.0.0.0, %+v) = %v, want a server", cfg.Auth, err)
		}
		_ = s.Shutdown(t.Context())
	}
}

// TestUsersLive: the rules with two users and an admin against a live server.
func TestUsersLive(t *testing.T) {
	cfg := testConfig(t)
	withUsers(t, &cfg,
		config.User{Name: "alice", Access: "write"},
		config.User{Name: "bob", Access: "write"},
		config.User{Name: "reader", Access: "read"},
		config.User{Name: "root", Access: "write", Admin: true},
		config.User{Name: "carol", Access: "write", Root: "/home/carol"})
	_, addr := start(t, cfg)
	base := "http://" + addr
	alice, bob := client{t: t, base: base, user: "alice"}, client{t: t, base: base, user: "bob"}
	reader, admin := client{t: t, base: base, user: "reader"}, client{t: t, base: base, user: "root"}
	anon := client{t: t, base: base}

	resp, _ := anon.expect(http.StatusUnauthorized, "GET", "/", "")
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="lockdav"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	alice.expect(http.StatusCreated, "PUT", "/doc.txt", "v1")
	reader.expect(http.StatusOK, "GET", "/doc.txt", "")
	reader.expect(http.StatusForbidden, "PUT", "/doc.txt", "reader's")
	reader.expect(http.StatusForbidden, "DELETE", "/doc.txt", "")

	tok := alice.lock("/locked.txt")
	bob.expect(http.StatusLocked, "PUT", "/locked.txt", "bob's", "If", "(<"+tok+">)")
	bob.expect(http.StatusForbidden, "UNLOCK", "/locked.txt", "", "Lock-Token", "<"+tok+">")
	bob.expect(http.StatusForbidden, "DELETE", "/.lockdav/locks/"+tok, "")
	_, list := bob.expect(http.StatusOK, "GET", "/.lockdav/locks", "")
	if !strings.Contains(list, tok) {
		t.Errorf("bob's lock list lacks alice's lock: %s", list)
	}
	admin.expect(http.StatusNoContent, "DELETE", "/.lockdav/locks/"+tok, "")
	bob.expect(http.StatusNoContent, "PUT", "/locked.txt", "bob's")

	// carol's root was created at start-up, and her URL / is it.
	if fi, err := os.Stat(filepath.Join(cfg.Root, "home", "carol")); err != nil || !fi.IsDir() {
		t.Fatalf("carol's root: %v", err)
	}
	carol := client{t: t, base: base, user: "carol"}
	carol.expect(http.StatusCreated, "PUT", "/mine.txt", "carol's")
	if b, _ := os.ReadFile(filepath.Join(cfg.Root, "home", "carol", "mine.txt")); string(b) != "carol's" {
		t.Errorf("carol's file on disk = %q", b)
	}
	carol.expect(http.StatusNotFound, "GET", "/doc.txt", "")
}

// TestLockLimitLive: locks.max_per_principal through the real server: the next LOCK is 423.
func TestLockLimitLive(t *testing.T) {
	cfg := testConfig(t)
	cfg.Locks.MaxPerPrincipal = 2
	_, addr := start(t, cfg)
	c := client{t: t, base: "http://" + addr}
	c.lock("/a")
	c.lock("/b")
	_, body := c.expect(http.StatusLocked, "LOCK", "/c", lockBody, "Depth", "0")
	if !strings.Contains(body, "lock-limit-reached") {
		t.Errorf("body = %q, want the lock-limit-reached condition", body)
	}
}

// TestUploadLimitLive: a PUT over limits.max_upload gets 413 and leaves no file (nor a
// temporary one), whether its length is announced or not; the old content survives.
func TestUploadLimitLive(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.MaxUpload = 1024
	_, addr := start(t, cfg)
	c := client{t: t, base: "http://" + addr}
	c.expect(http.StatusCreated, "PUT", "/keep.txt", "old")
	big := strings.Repeat("x", 4096)
	for _, p := range []string{"/big.bin", "/keep.txt"} {
		c.expect(http.StatusRequestEntityTooLarge, "PUT", p, big)
		// Chunked: no Content-Length, so the limit is found while reading.
		req, _ := http.NewRequest("PUT", c.base+p, io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked PUT %s = %d, want 413", p, resp.StatusCode)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, "big.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("big.bin after refused uploads: %v, want it absent", err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.Root, "keep.txt")); string(b) != "old" {
		t.Errorf("keep.txt = %q after a refused overwrite, want old", b)
	}
	entries, _ := os.ReadDir(cfg.Root)
	for _, e := range entries {
		if e.Name() != "keep.txt" {
			t.Errorf("left in the root: %s", e.Name())
		}
	}
}

// rawRequest sends request on a new connection and returns the status and body.
func rawRequest(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPathChecksLive: traversal in every encoding, symlinks leading out of the root, control
// characters, very long names and paths, and Destinations on another host or outside the root
// are each refused with their status, and nothing outside the root is read or written.
func TestPathChecksLive(t *testing.T) {
	cfg := testConfig(t)
	outside := filepath.Join(filepath.Dir(cfg.Root), "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	const secret = "TOP-SECRET-CONTENT"
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(cfg.Root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(cfg.Root, "secret-link")); err != nil {
		t.Fatal(err)
	}
	_, addr := start(t, cfg)
	c := client{t: t, base: "http://" + addr}
	c.expect(http.StatusCreated, "PUT", "/in.txt", "inside")

	raw := func(method, target string, headers ...string) (int, string) {
		req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\nContent-Length: 0\r\n"
		for i := 0; i+1 < len(headers); i += 2 {
			req += headers[i] + ": " + headers[i+1] + "\r\n"
		}
		return rawRequest(t, addr, req+"\r\n")
	}
	tests := []struct {
		name, method, target string
		headers              []string
		want                 int
	}{
		{"dot-dot", "GET", "/../outside/secret.txt", nil, http.StatusForbidden},
		{"%2e%2e", "GET", "/%2e%2e/outside/secret.txt", nil, http.StatusForbidden},
		{"%2E%2E", "GET", "/%2E%2E/outside/secret.txt", nil, http.StatusForbidden},
		{"mixed .%2e", "GET", "/.%2e/outside/secret.txt", nil, http.StatusForbidden},
		{"..%2f", "GET", "/..%2foutside%2fsecret.txt", nil, http.StatusForbidden},
		{"%5c", "GET", "/..%5coutside%5csecret.txt", nil, http.StatusForbidden},
		{"deep dot-dot", "GET", "/a/b/../../../outside/secret.txt", nil, http.StatusForbidden},
		{"dot-dot PROPFIND", "PROPFIND", "/%2e%2e/", []string{"Depth", "1"}, http.StatusForbidden},
		{"dot-dot PUT", "PUT", "/%2e%2e/outside/new.txt", nil, http.StatusForbidden},
		{"NUL", "GET", "/in.txt%00.jpg", nil, http.StatusForbidden},
		{"control character", "GET", "/a%01b", nil, http.StatusBadRequest},
		{"control character PUT", "PUT", "/a%0d%0ab", nil, http.StatusBadRequest},
		{"symlinked dir out of the root", "GET", "/escape/secret.txt", nil, http.StatusForbidden},
		{"symlinked file out of the root", "GET", "/secret-link", nil, http.StatusForbidden},
		{"PROPFIND through the symlink", "PROPFIND", "/escape/", []string{"Depth", "1"}, http.StatusForbidden},
		{"PUT through the symlink", "PUT", "/escape/new.txt", nil, http.StatusForbidden},
		{"long name", "PUT", "/" + strings.Repeat("n", 300), nil, http.StatusBadRequest},
		{"long path", "PUT", strings.Repeat("/abcdefghij", 500), nil, http.StatusBadRequest},
		{"COPY to another host", "COPY", "/in.txt", []string{"Destination", "http://elsewhere.example/x.txt"}, http.StatusBadGateway},
		{"COPY to another scheme", "COPY", "/in.txt", []string{"Destination", "ftp://" + addr + "/x.txt"}, http.StatusBadGateway},
		{"MOVE out of the root", "MOVE", "/in.txt", []string{"Destination", "http://" + addr + "/../outside/moved.txt"}, http.StatusForbidden},
		{"COPY out, encoded", "COPY", "/in.txt", []string{"Destination", "/%2e%2e/outside/copied.txt"}, http.StatusForbidden},
		{"COPY through the symlink", "COPY", "/in.txt", []string{"Destination", "/escape/copied.txt"}, http.StatusForbidden},
		{"COPY to a backslash path", "COPY", "/in.txt", []string{"Destination", "/..%5coutside%5ccopied.txt"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		status, body := raw(tt.method, tt.target, tt.headers...)
		if status != tt.want {
			t.Errorf("%s: %s %.60s = %d, want %d; body %.200s", tt.name, tt.method, tt.target, status, tt.want, body)
		}
		if strings.Contains(body, secret) || strings.Contains(body, outside) || strings.Contains(body, cfg.Root) {
			t.Errorf("%s: the answer leaks the secret or a server path: %.300s", tt.name, body)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside the root now holds %d entries, want only secret.txt", len(entries))
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.Root, "in.txt")); string(b) != "inside" {
		t.Errorf("in.txt = %q, want it unmoved", b)
	}
	// The listing does not follow the links either.
	_, body := c.expect(http.StatusMultiStatus, "PROPFIND", "/", "", "Depth", "1")
	if strings.Contains(body, "secret.txt<") {
		t.Errorf("PROPFIND / lists a file behind a symlink: %s", body)
	}
}

// TestAuthOverTLS: Basic authentication over HTTPS (HTTP/2), the deployment docs/SECURITY.md
// describes for anything but loopback.
func TestAuthOverTLS(t *testing.T) {
	cfg := testConfig(t)
	withUsers(t, &cfg, config.User{Name: "alice", Access: "write"})
	certPEM := writeSelfSigned(t, &cfg)
	_, addr := start(t, cfg)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	c := client{t: t, base: "https://" + addr, user: "alice", http: hc}
	resp, _ := c.expect(http.StatusCreated, "PUT", "/f.txt", "over tls")
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol = %s, want HTTP/2", resp.Proto)
	}
	c.user = ""
	c.expect(http.StatusUnauthorized, "GET", "/f.txt", "")
	_ = bytes.MinRead
}
