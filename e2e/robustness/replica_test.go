package robustness

// lockdav replicas as real processes: one binary, one config file per replica (its own addr and
// state_dir, the shared root, locks.store etcd), SIGKILL, restart, SIGSTOP and SIGCONT.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
	// The test runs the lockdav binary it builds, which go test's cache cannot see: importing
	// what the binary is made of makes a change to it rerun the test instead of reusing a pass.
	_ "github.com/lockdav/lockdav/server"
)

// buildLockdav builds the lockdav binary into dir.
func buildLockdav(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "lockdav")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/lockdav/lockdav/cmd/lockdav").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// replica is one lockdav process.
type replica struct {
	i       int
	bin     string
	config  string
	base    string // http://addr
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// replicaConfig is the configuration of every replica but its addr and state_dir.
const replicaConfig = `addr: %s
root: %s
state_dir: %s
log:
  format: json
  level: info
  flush_interval: 0s
locks:
  min_timeout: 1s
  max_timeout: %ds
  default_timeout: %ds
  store: etcd
  etcd:
    endpoints: [%s]
    prefix: /robustness/
    dial_timeout: 2s
    request_timeout: %s
`

func newReplica(t *testing.T, i int, bin, dir, root string, endpoints []string) *replica {
	t.Helper()
	addr := etcdtest.FreeAddr(t) // a replica keeps it across restarts
	cfg := filepath.Join(dir, fmt.Sprintf("replica%d.yaml", i))
	body := fmt.Sprintf(replicaConfig, addr, root, filepath.Join(dir, fmt.Sprintf("state%d", i)),
		lockTimeout/time.Second, lockTimeout/time.Second, strings.Join(endpoints, ", "), requestTimeout)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &replica{i: i, bin: bin, config: cfg, base: "http://" + addr, logPath: filepath.Join(dir, fmt.Sprintf("replica%d.log", i))}
	t.Cleanup(r.kill)
	return r
}

// start starts the process and waits until its health check answers 200.
func (r *replica) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.bin, "serve", "--config", r.config) //nolint:gosec // G204: the binary this test built
	cmd.Stdout, cmd.Stderr = logf, logf
	// A replica dies with the test binary, as etcdtest's members do: a test killed or timed out
	// midway, with a replica stopped by the nemesis (SIGSTOP ignores SIGTERM), left it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start replica %d: %v", r.i, err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}(r.done)
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(r.base + "/.lockdav/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-r.done:
			t.Fatalf("replica %d exited while starting:\n%s", r.i, tail(r.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %d not healthy after 30s (%v):\n%s", r.i, err, tail(r.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the process (stopped or not) and reaps it.
func (r *replica) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

func (r *replica) signal(sig syscall.Signal) {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(sig)
	}
}

// tail is the end of a log file, for failure messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}
