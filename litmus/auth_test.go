package litmus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server"
)

// TestLitmusWithAuth runs every litmus group as an authenticated user, with anonymous access
// off: authentication must not change a single result. The user is confined to a subtree, so
// the per-user root mapping (paths, hrefs, Destination, If tags) is under litmus too.
func TestLitmusWithAuth(t *testing.T) {
	bin, err := exec.LookPath("litmus")
	if err != nil {
		t.Fatal("litmus not found: apt-get install litmus")
	}
	artifacts, stamp := artifactsDir(t), time.Now().UTC().Format("20060102T150405Z")
	const user, password = "litmus", "litmus-secret"
	url := startAuthServer(t, filepath.Join(artifacts, "server-auth-"+stamp+".log"), user, password)

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-k", url, user, password)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "TESTS="+strings.Join(Groups, " "))
	out, runErr := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		runErr = fmt.Errorf("timed out after %s: %w", runTimeout, runErr)
	}
	t.Logf("litmus %s as %s (as a terminal shows it):\n%s", url, user, rendered(out))
	groups, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("litmus results with authentication:\n%s", table(groups))
	if runErr != nil {
		t.Errorf("litmus: %v", runErr)
	}
	check(t, groups)
}

// startAuthServer runs lockdav with one user (root /home/litmus) and anonymous access off, and
// returns the collection URL litmus tests under.
func startAuthServer(t *testing.T, logPath, user, password string) string {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	log := zerolog.New(zerolog.MultiLevelWriter(logFile,
		levelWriter{zerolog.NewTestWriter(t), zerolog.WarnLevel})).With().Timestamp().Logger()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Root = filepath.Join(dir, "data")
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.Auth.Anonymous = config.AccessNone
	cfg.Auth.Users = []config.User{{Name: user, PasswordHash: string(hash), Access: "write", Root: "/home/" + user}}
	if err := os.MkdirAll(filepath.Join(cfg.Root, "home", user, "litmus"), 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Limits.ShutdownTimeout))
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/litmus/"
}
