// Package etcdtest runs real etcd members on loopback ports for tests: Debian's etcd-server
// binary (`make deps` installs it), one process per member, so that a test can SIGKILL, restart
// and SIGSTOP a member as a real failure would.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is the etcd program: $ETCD_BIN, else etcd on PATH. A test fails (never skips) when
// it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ETCD_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd not found: install etcd-server (apt-get install etcd-server, or make deps)")
	}
	return p
}

// Member is one etcd process.
type Member struct {
	Name      string
	Dir       string // data directory; kept across restarts
	ClientURL string
	PeerURL   string
	cmd       *exec.Cmd
	done      chan struct{}
}

// Cluster is a set of members started together.
type Cluster struct {
	t       testing.TB
	bin     string
	initial string // --initial-cluster
	Members []*Member
}

// Start starts an n-member cluster and waits until it answers; the test's cleanup kills it.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t)}
	base := t.TempDir()
	var peers []string
	for i := range n {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			Dir:       filepath.Join(base, fmt.Sprintf("m%d", i)),
			ClientURL: "http://" + FreeAddr(t),
			PeerURL:   "http://" + FreeAddr(t),
		}
		c.Members = append(c.Members, m)
		peers = append(peers, m.Name+"="+m.PeerURL)
	}
	c.initial = strings.Join(peers, ",")
	for i := range c.Members {
		c.start(i, "new")
	}
	t.Cleanup(func() {
		for i := range c.Members {
			c.Kill(i)
		}
	})
	c.WaitReady(30 * time.Second)
	return c
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Client returns a client of every member, closed by the test's cleanup.
func (c *Cluster) Client() *clientv3.Client {
	c.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	c.t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// WaitReady waits until a linearizable read succeeds through every running member.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for i, m := range c.Members {
		if m.cmd == nil {
			continue
		}
		// Its retries while the member comes up are expected: not logged.
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.ClientURL}, DialTimeout: time.Second, Logger: zap.NewNop()})
		if err != nil {
			c.t.Fatalf("etcd client of %s: %v", m.Name, err)
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = cli.Get(ctx, "etcdtest-ready")
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				_ = cli.Close()
				c.t.Fatalf("etcd member %d (%s) not ready after %v: %v; log:\n%s", i, m.Name, timeout, err, c.log(i))
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cli.Close()
	}
}

func (c *Cluster) start(i int, state string) {
	c.t.Helper()
	m := c.Members[i]
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	logf, err := os.OpenFile(m.Dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, //nolint:gosec // G204: the etcd binary of the test machine
		"--name", m.Name, "--data-dir", m.Dir,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", c.initial, "--initial-cluster-state", state,
		"--initial-cluster-token", "etcdtest",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	// A test binary that dies (a timeout's panic) takes its members with it, instead of leaving
	// them running on the machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		c.t.Fatalf("start etcd %s: %v", m.Name, err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}(m.done)
}

// Kill SIGKILLs member i and waits for it to exit; a stopped member is killed too.
func (c *Cluster) Kill(i int) {
	m := c.Members[i]
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

// Restart starts killed member i again on its data directory.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Members[i].cmd != nil {
		c.t.Fatalf("etcd member %d is running", i)
	}
	c.start(i, "existing")
}

// Stop SIGSTOPs member i; Continue resumes it.
func (c *Cluster) Stop(i int) { c.signal(i, syscall.SIGSTOP) }

// Continue resumes member i after Stop.
func (c *Cluster) Continue(i int) { c.signal(i, syscall.SIGCONT) }

func (c *Cluster) signal(i int, sig syscall.Signal) {
	if m := c.Members[i]; m.cmd != nil {
		_ = m.cmd.Process.Signal(sig)
	}
}

func (c *Cluster) log(i int) string {
	b, _ := os.ReadFile(c.Members[i].Dir + ".log")
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
