package litmus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server/servertest"
)

// Groups are the litmus test programs run, in order.
var Groups = []string{"basic", "copymove", "props", "locks", "http"}

// Required are the groups that must pass every test with no warning and no skip. The others'
// results are logged only.
var Required = []string{"basic", "copymove", "props", "http", "locks"}

// runTimeout bounds one litmus run; the whole suite takes seconds on loopback.
const runTimeout = 5 * time.Minute

// TestLitmus starts lockdav on a loopback port with a temporary root and state dir, runs
// every litmus group against it, and fails on any failure, warning or skip in Required.
func TestLitmus(t *testing.T) {
	runSuite(t, "", func(logPrefix string) string {
		return "http://" + serve(t, servertest.Config(t.TempDir()), logPrefix+".log") + "/litmus/"
	})
}

// runSuite starts the server(s) under test with start, which is given the path its server logs
// begin with (artifacts/server-<name>-<time>) and returns the collection URL litmus tests under;
// it then runs every litmus group against that URL and fails on any failure, warning or skip
// in Required. The raw output is kept as artifacts/litmus-<name>-<time>.txt.
func runSuite(t *testing.T, name string, start func(logPrefix string) string) {
	t.Helper()
	bin, err := exec.LookPath("litmus")
	if err != nil {
		t.Fatal("litmus not found: apt-get install litmus")
	}
	artifacts, stamp := artifactsDir(t), time.Now().UTC().Format("20060102T150405Z")
	if name != "" {
		stamp = name + "-" + stamp
	}
	url := start(filepath.Join(artifacts, "server-"+stamp))

	out, runErr := runLitmus(t, bin, url, artifacts)
	t.Logf("litmus %s output (as a terminal shows it):\n%s", url, rendered(out))
	rawPath := filepath.Join(artifacts, "litmus-"+stamp+".txt")
	if err := os.WriteFile(rawPath, out, 0o644); err != nil {
		t.Errorf("saving litmus output: %v", err)
	}
	groups, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("litmus results (raw output in %s):\n%s", rawPath, table(groups))
	if runErr != nil {
		t.Errorf("litmus: %v", runErr)
	}
	check(t, groups)
}

// check fails the test for each required group that is missing or not clean, and logs the
// details of every group that is not clean.
func check(t *testing.T, groups []Group) {
	t.Helper()
	byName := map[string]Group{}
	for _, g := range groups {
		byName[g.Name] = g
	}
	required := map[string]bool{}
	for _, name := range Required {
		required[name] = true
		if _, ok := byName[name]; !ok {
			t.Errorf("required group %s did not run", name)
		}
	}
	for _, g := range groups {
		if g.Clean() {
			continue
		}
		report := t.Logf
		if required[g.Name] {
			report = t.Errorf
		}
		report("group %s is not clean: %s%s", g.Name, g, details(g))
	}
}

func details(g Group) string {
	var b strings.Builder
	for _, list := range []struct {
		what  string
		items []string
	}{{"FAIL", g.Failures}, {"WARNING", g.Warnings}, {"SKIPPED", g.Skipped}} {
		for _, it := range list.items {
			fmt.Fprintf(&b, "\n    %s %s", list.what, it)
		}
	}
	return b.String()
}

func table(groups []Group) string {
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "  %s\n", g)
	}
	return b.String()
}

// artifactsDir is litmus/artifacts (ignored by git), where each run leaves its raw output,
// litmus's debug.log and the server log.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serve runs lockdav with cfg on 127.0.0.1:0, with the collection litmus works in, and returns
// its address, host:port. The server's log goes to logPath; warnings and errors also go to the
// test log.
func serve(t *testing.T, cfg config.Config, logPath string) string {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	log := zerolog.New(zerolog.MultiLevelWriter(logFile,
		levelWriter{zerolog.NewTestWriter(t), zerolog.WarnLevel})).With().Timestamp().Logger()

	// litmus creates and deletes its own collection, "litmus/", inside the URL it is given.
	if err := os.MkdirAll(filepath.Join(cfg.Root, "litmus"), 0o700); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, cfg, log)
}

// runLitmus runs every group, continuing past failing ones (-k), in a scratch directory so
// that litmus's debug.log lands there; the debug log is then kept in artifacts.
func runLitmus(t *testing.T, bin, url, artifacts string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	work := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "-k", url)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TESTS="+strings.Join(Groups, " "))
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", runTimeout, err)
	}
	if dbg, rerr := os.ReadFile(filepath.Join(work, "debug.log")); rerr == nil {
		if werr := os.WriteFile(filepath.Join(artifacts, "debug.log"), dbg, 0o644); werr != nil {
			t.Logf("saving debug.log: %v", werr)
		}
	}
	return out, err
}

// rendered is litmus output as a terminal shows it: litmus redraws each test line after a
// carriage return, so of each line only the text after the last \r remains.
func rendered(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		lines[i] = l[strings.LastIndexByte(l, '\r')+1:]
	}
	return strings.Join(lines, "\n")
}

// levelWriter passes on only events at or above min.
type levelWriter struct {
	w   io.Writer
	min zerolog.Level
}

func (l levelWriter) Write(p []byte) (int, error) { return l.w.Write(p) }

func (l levelWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level < l.min {
		return len(p), nil
	}
	return l.w.Write(p)
}
