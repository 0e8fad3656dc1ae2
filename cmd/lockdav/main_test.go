package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockdav/lockdav/config"
)

const testVersion = "v0.0.0-test"

// binary builds lockdav once per test binary run.
var binary = struct {
	path string
	err  error
	done bool
}{}

func build(t *testing.T) string {
	t.Helper()
	if !binary.done {
		binary.done = true
		dir, err := os.MkdirTemp("", "lockdav-bin")
		if err != nil {
			t.Fatal(err)
		}
		binary.path = filepath.Join(dir, "lockdav")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = errors.New(string(out))
		}
	}
	if binary.err != nil {
		t.Fatalf("go build: %v", binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(build(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("lockdav version: %v\n%s", err, out)
	}
	for _, want := range []string{"lockdav " + testVersion, runtime.Version()} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lockdav version = %q, want it to contain %q", out, want)
		}
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args  []string
		wants []string
	}{
		{[]string{"--help"}, []string{"serve", "version", "WebDAV"}},
		{[]string{"serve", "--help"}, []string{"--config", "--addr", "--root", "--state-dir", "SIGTERM", "127.0.0.1:8080", "./data", "./state"}},
		{[]string{"version", "--help"}, []string{"Go version"}},
	}
	for _, tt := range tests {
		out, err := exec.Command(build(t), tt.args...).CombinedOutput()
		if err != nil {
			t.Errorf("lockdav %v: %v", tt.args, err)
		}
		for _, w := range tt.wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("lockdav %v output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// TestRefusedStarts: bad settings end the process with a non-zero status and say why.
func TestRefusedStarts(t *testing.T) {
	dir := t.TempDir()
	bogus := filepath.Join(dir, "bogus.yaml")
	if err := os.WriteFile(bogus, []byte("addr: 127.0.0.1:0\nlistn: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"state dir inside root", []string{"serve", "--addr", "127.0.0.1:0", "--root", dir + "/r", "--state-dir", dir + "/r/state"},
			[]string{"state_dir", "inside the served root"}},
		{"state dir is root", []string{"serve", "--addr", "127.0.0.1:0", "--root", dir + "/r", "--state-dir", dir + "/r"},
			[]string{"state_dir", "is the served root"}},
		{"unknown config key", []string{"serve", "--config", bogus}, []string{"line 2", "listn"}},
		{"missing config file", []string{"serve", "--config", dir + "/nope.yaml"}, []string{"nope.yaml"}},
		{"unexpected argument", []string{"serve", "extra"}, []string{"extra"}},
		{"unknown flag", []string{"serve", "--port", "1"}, []string{"--port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(build(t), tt.args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("lockdav %v: err %v, want a non-zero exit\n%s", tt.args, err, out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(string(out), w) {
					t.Errorf("lockdav %v output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

// proc is a running `lockdav serve` whose JSON log lines arrive on lines.
type proc struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func startServe(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(build(t), append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan map[string]any, 100)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("lockdav: %s", sc.Text())
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.lines <- m
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			// A test that failed left lockdav running: kill it, and reap it. Kill fails only
			// when it has exited meanwhile, and Wait then reports the kill itself, so neither
			// error says anything about the test.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

// waitFor returns the first log line with the given message.
func (p *proc) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				t.Fatalf("lockdav exited before logging %q", msg)
			}
			if m["message"] == msg {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q log line within 30s", msg)
		}
	}
}

func jsonConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "lockdav.yaml")
	// addr is overridden by --addr below; this one would fail to bind.
	text := "addr: 192.0.2.1:1\nlog:\n  format: json\n  level: debug\nlimits:\n  shutdown_timeout: 5s\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeAndSignal runs the real binary: it logs its start-up, serves PUT and GET on the
// port it picked, and exits 0 on SIGTERM.
func TestServeAndSignal(t *testing.T) {
	dir := t.TempDir()
	root, state := filepath.Join(dir, "data"), filepath.Join(dir, "state")
	p := startServe(t, "--config", jsonConfig(t, dir), "--addr", "127.0.0.1:0", "--root", root, "--state-dir", state)

	startup := p.waitFor(t, "starting lockdav")
	want := map[string]any{"root": root, "state_dir": state, "version": testVersion, "addr": "127.0.0.1:0"}
	for k, v := range want {
		if startup[k] != v {
			t.Errorf("start-up line %s = %v, want %v", k, startup[k], v)
		}
	}
	addr, _ := p.waitFor(t, "listening")["addr"].(string)
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("listening addr = %q, want the real port", addr)
	}

	req, _ := http.NewRequest("PUT", "http://"+addr+"/note.txt", strings.NewReader("kept"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("PUT status = %d, want 201", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/note.txt")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "kept" {
		t.Errorf("GET = %d %q, want 200 %q", resp.StatusCode, body, "kept")
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("lockdav after SIGTERM: %v, want exit status 0", err)
	}
}

// TestSecondProcessOnStateDir: the second server on one state dir stops at once and says why.
func TestSecondProcessOnStateDir(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--config", jsonConfig(t, dir), "--addr", "127.0.0.1:0", "--root", dir + "/data", "--state-dir", dir + "/state"}
	first := startServe(t, args...)
	first.waitFor(t, "listening")

	out, err := exec.Command(build(t), append([]string{"serve"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("second lockdav: err %v, want a non-zero exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "state dir is in use") {
		t.Errorf("second lockdav output lacks %q:\n%s", "state dir is in use", out)
	}
	if err := first.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("SIGINT to the first lockdav: %v", err)
	}
	if err := first.cmd.Wait(); err != nil {
		t.Errorf("first lockdav after SIGINT: %v, want exit status 0", err)
	}
}

// TestLoadConfigPrecedence: defaults, then the file, then the flags that were given.
func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:9001\nroot: "+dir+"/fileroot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		name   string
		args   []string
		modify func(c *config.Config)
	}{
		{"no file, no flags", nil, func(c *config.Config) {}},
		{"file", []string{"--config", file}, func(c *config.Config) {
			c.Addr, c.Root = "127.0.0.1:9001", dir+"/fileroot"
		}},
		{"flags over file", []string{"--config", file, "--addr", ":7000", "--state-dir", "st"}, func(c *config.Config) {
			c.Addr, c.Root, c.StateDir = ":7000", dir+"/fileroot", "st"
		}},
		{"flags, no file", []string{"--root", "r", "--state-dir", "s"}, func(c *config.Config) {
			c.Root, c.StateDir = "r", "s"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := serveCmd()
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			f := serveFlags{}
			f.config, _ = cmd.Flags().GetString("config")
			f.addr, _ = cmd.Flags().GetString("addr")
			f.root, _ = cmd.Flags().GetString("root")
			f.stateDir, _ = cmd.Flags().GetString("state-dir")
			got, err := loadConfig(cmd, f)
			if err != nil {
				t.Fatalf("loadConfig(%v): %v", tt.args, err)
			}
			want := config.Default()
			tt.modify(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("loadConfig(%v) = %+v, want %+v", tt.args, got, want)
			}
		})
	}
}

// TestShutdownTimeoutExitsZero: a request still running when limits.shutdown_timeout ends is cut
// off with a warning, and the process, which stopped as asked and closed its stores, exits 0.
func TestShutdownTimeoutExitsZero(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "lockdav.yaml")
	text := "log:\n  format: json\n  level: debug\nlimits:\n  shutdown_timeout: 200ms\n"
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, "--config", cfgPath, "--addr", "127.0.0.1:0", "--root", filepath.Join(dir, "data"), "--state-dir", filepath.Join(dir, "state"))
	addr, _ := p.waitFor(t, "listening")["addr"].(string)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A PUT whose body never arrives whole keeps its handler running past the deadline. The
	// server answers 100 Continue when the handler starts reading the body: then it is in flight.
	fmt.Fprintf(conn, "PUT /slow.bin HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", addr)
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 100 ") {
		t.Fatalf("waiting for 100 Continue: %q, %v", status, err)
	}
	fmt.Fprint(conn, "first bytes")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "shutdown timeout: in-flight requests cut off")
	p.waitFor(t, "stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("lockdav after SIGTERM with a request in flight: %v, want exit status 0", err)
	}
}
