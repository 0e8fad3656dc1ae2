package litmus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	cfg := servertest.Config(t.TempDir())
	cfg.Auth.Anonymous = config.AccessNone
	cfg.Auth.Users = []config.User{{Name: user, PasswordHash: string(hash), Access: "write", Root: "/home/" + user}}
	if err := os.MkdirAll(filepath.Join(cfg.Root, "home", user, "litmus"), 0o700); err != nil {
		t.Fatal(err)
	}
	return "http://" + servertest.Start(t, cfg, log) + "/litmus/"
}
