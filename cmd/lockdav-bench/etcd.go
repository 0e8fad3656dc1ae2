package main

// lockdav in etcd mode (locks.store: etcd, README "Running several replicas") beside the bolt
// one, for the lock workloads: the lock table then lives on one etcd member the benchmark
// starts itself, on loopback ports with a temporary data directory. It is left out, with a
// note, where etcd is not installed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// etcdName is the etcd-mode lockdav target's name, as printed and written to JSON.
const etcdName = "lockdav-etcd"

// findEtcd returns the etcd program ($ETCD_BIN, else etcd on PATH), or "" and why it is not
// there (the note printed).
func findEtcd() (bin, note string) {
	if p := os.Getenv("ETCD_BIN"); p != "" {
		return p, ""
	}
	p, err := exec.LookPath("etcd")
	if err != nil {
		return "", "etcd not installed (Debian: etcd-server); lockdav in etcd mode is skipped"
	}
	return p, ""
}

// startLockdavEtcd starts one etcd member with its data and log in dir, then lockdav over
// dir/root in etcd mode against it; stopping the target stops both, lockdav first.
func startLockdavEtcd(bin, dir string, clients int) (*target, error) {
	endpoint, pid, stopEtcd, err := startEtcd(bin, dir)
	if err != nil {
		return nil, err
	}
	cfg := lockdavConfig(dir, clients)
	cfg.Locks.Store = "etcd"
	cfg.Locks.Etcd.Endpoints = []string{endpoint}
	t, err := startLockdav(etcdName, cfg, filepath.Join(dir, "lockdav.log"), clients)
	if err != nil {
		return nil, errors.Join(err, stopEtcd(context.Background()))
	}
	t.pid = pid
	stopLockdav := t.stop
	t.stop = func(ctx context.Context) error { return errors.Join(stopLockdav(ctx), stopEtcd(ctx)) }
	return t, nil
}

// startEtcd runs a one-member etcd cluster on two free loopback ports (client and peer), its
// data in dir/etcd and its log in dir/etcd.log, and waits until it has a leader. It returns
// the client URL, the member's pid and what stops it.
func startEtcd(bin, dir string) (string, int, func(context.Context) error, error) {
	var urls [2]string
	for i := range urls {
		ln, err := listen()
		if err != nil {
			return "", 0, nil, err
		}
		urls[i] = "http://" + ln.Addr().String()
		if err := ln.Close(); err != nil { // etcd binds it itself, a moment later
			return "", 0, nil, err
		}
	}
	client, peer := urls[0], urls[1]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, nil, fmt.Errorf("etcd: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		return "", 0, nil, fmt.Errorf("etcd: %w", err)
	}
	cmd := exec.Command(bin, "--name", "bench", "--data-dir", filepath.Join(dir, "etcd"), //nolint:gosec // the etcd found by findEtcd
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "bench="+peer, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return "", 0, nil, errors.Join(fmt.Errorf("etcd: %w", err), logf.Close())
	}
	done := make(chan error, 1)
	go func() { done <- stoppedBy(cmd.Wait(), syscall.SIGTERM) }()
	stop := func(ctx context.Context) error {
		return errors.Join(stopProcess(ctx, cmd, done, syscall.SIGTERM), logf.Close())
	}
	if err := awaitHealthy(client, done); err != nil {
		return "", 0, nil, errors.Join(err, stop(context.Background()))
	}
	return client, cmd.Process.Pid, stop, nil
}

// awaitHealthy waits up to 20 s for etcd's /health to say true (it has a leader), or for etcd
// to exit.
func awaitHealthy(client string, done <-chan error) error {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			return fmt.Errorf("etcd exited at start: %v", err)
		default:
		}
		if healthy(c, client+"/health") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("etcd at %s not healthy after 20s", client)
}

func healthy(c *http.Client, url string) bool {
	resp, err := c.Get(url) //nolint:gosec // the loopback URL of the etcd started here
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"health":"true"`))
}

// stoppedBy is err, cmd.Wait's, but nil where the process ended on sig: etcd, having shut
// down on SIGTERM, raises it again on itself rather than exit 0.
func stoppedBy(err error, sig syscall.Signal) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
			return nil
		}
	}
	return err
}
