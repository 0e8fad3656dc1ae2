package main

// nginx with dav_ext as a second reference (BENCHMARKS.md "nginx"): the server the issue measured
// mounted clients' listings against. It runs as its own process, started here with its own
// configuration over its own temporary root, and is left out, with a note, where it is not
// installed.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nginxName is the nginx target's name, as printed and written to JSON.
const nginxName = "nginx"

// nginxModuleDirs are where Debian's nginx-extras puts dav_ext when it is a dynamic module.
var nginxModuleDirs = []string{"/usr/lib/nginx/modules", "/usr/share/nginx/modules"}

// nginxSetup is what a run needs to start nginx: the binary, the load_module line dav_ext
// needs ("" when it is built in), and the user its workers run as when started by root.
type nginxSetup struct {
	bin        string
	loadModule string
	owner      *nginxOwner // nil unless root
}

// nginxOwner is the unprivileged user nginx's workers run as, and who must own its tree.
type nginxOwner struct {
	user, group string
	uid, gid    int
}

// findNginx returns how to run nginx with dav_ext, or why it cannot be (the note printed).
func findNginx() (*nginxSetup, string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, "nginx not installed (Debian: nginx-extras); its reference is skipped"
		}
		bin = "/usr/sbin/nginx"
	}
	s := &nginxSetup{bin: bin}
	out, err := exec.Command(bin, "-V").CombinedOutput() //nolint:gosec // the nginx found on PATH
	if err != nil {
		return nil, fmt.Sprintf("nginx -V: %v; its reference is skipped", err)
	}
	if !strings.Contains(string(out), "dav-ext") && !strings.Contains(string(out), "dav_ext") {
		so := findDavExt()
		if so == "" {
			return nil, "nginx has no dav_ext module (Debian: nginx-extras); its reference is skipped"
		}
		s.loadModule = "load_module " + so + ";"
	}
	if os.Geteuid() == 0 {
		o, err := unprivileged()
		if err != nil {
			return nil, fmt.Sprintf("nginx as root needs an unprivileged user: %v; its reference is skipped", err)
		}
		s.owner = o
	}
	return s, ""
}

// findDavExt returns the path of the dynamic dav_ext module, or "".
func findDavExt() string {
	for _, d := range nginxModuleDirs {
		p := filepath.Join(d, "ngx_http_dav_ext_module.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// unprivileged looks up nobody and its primary group (Debian's is nogroup, not nobody, and
// nginx's `user nobody;` alone would look for a group named nobody).
func unprivileged() (*nginxOwner, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, err
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, err
	}
	return &nginxOwner{user: u.Username, group: g.Name, uid: uid, gid: gid}, nil
}

// nginxConf is the configuration: every path inside the run's directory; as many workers as
// CPUs ("auto"), as the Go servers get GOMAXPROCS = CPUs, each with its own listening socket
// (reuseport) so that the kernel spreads connections across them: with one shared socket, one
// worker accepted every connection of a run and the others stayed idle, leaving nginx one core
// (nginx wakes one worker per new connection, EPOLLEXCLUSIVE); an access log batched like lockdav's
// (64 KiB buffer, flushed every 100 ms); keep-alive connections without a request limit, as
// net/http's; dav_ext's PROPFIND and OPTIONS beside the dav module's PUT.
const nginxConf = `%s
%s
worker_processes auto;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 1024; }
http {
	access_log %s/access.log combined buffer=64k flush=100ms;
	client_body_temp_path %s/tmp/body;
	proxy_temp_path %s/tmp/proxy;
	fastcgi_temp_path %s/tmp/fastcgi;
	uwsgi_temp_path %s/tmp/uwsgi;
	scgi_temp_path %s/tmp/scgi;
	sendfile on;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen %s reuseport;
		root %s;
		dav_methods PUT DELETE MKCOL COPY MOVE;
		dav_ext_methods PROPFIND OPTIONS;
		dav_access user:rw;
	}
}
`

// writeNginxConf writes dir/nginx.conf for a server on addr over dir/root.
func writeNginxConf(s *nginxSetup, dir, addr string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	userLine := ""
	if s.owner != nil {
		userLine = "user " + s.owner.user + " " + s.owner.group + ";"
	}
	conf := fmt.Sprintf(nginxConf, s.loadModule, userLine, dir, dir, dir, dir, dir, dir, dir, dir,
		addr, filepath.Join(dir, "root"))
	p := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	return p, nil
}

// chownTree gives dir and everything below it to o, so that workers running as o can read the
// root and write uploads and their temporary files; the directories above it get search
// permission for others (the run's directory is made 0700).
func chownTree(o *nginxOwner, runDir, dir string) error {
	if err := os.Chmod(runDir, 0o711); err != nil { //nolint:gosec // search only, for nobody's workers
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, o.uid, o.gid) //nolint:gosec // G122: the benchmark's own fresh tree, nobody else writes it

	})
}

// startNginx runs nginx over dir/root in the foreground (daemon off), its pid file, logs and
// temporary files in dir, and waits until it answers.
func startNginx(s *nginxSetup, runDir, dir string, clients int) (*target, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil { // nginx binds it itself, a moment later
		return nil, err
	}
	conf, err := writeNginxConf(s, dir, addr)
	if err != nil {
		return nil, err
	}
	if s.owner != nil {
		if err := chownTree(s.owner, runDir, dir); err != nil {
			return nil, fmt.Errorf("nginx: %w", err)
		}
	}
	cmd := exec.Command(s.bin, "-c", conf, "-p", dir, "-g", "daemon off;") //nolint:gosec // nginx found above, our config
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := awaitListening(addr, done); err != nil {
		return nil, errors.Join(err, stopProcess(context.Background(), cmd, done, syscall.SIGQUIT))
	}
	return &target{name: nginxName, base: "http://" + addr, root: filepath.Join(dir, "root"),
		http: newClient(clients), pid: cmd.Process.Pid,
		stop: func(ctx context.Context) error { return stopProcess(ctx, cmd, done, syscall.SIGQUIT) }}, nil
}

// awaitListening waits up to 10 s for addr to accept connections, or for nginx to exit.
func awaitListening(addr string, done <-chan error) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			return fmt.Errorf("nginx exited at start: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			return c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nginx: nothing listening on %s after 10s", addr)
}

// stopProcess asks cmd to finish gracefully with sig (nginx: SIGQUIT, etcd: SIGTERM), and kills
// it if it has not by ctx's end. done is where cmd.Wait's error arrives.
func stopProcess(ctx context.Context, cmd *exec.Cmd, done <-chan error, sig syscall.Signal) error {
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-done: // 0 after a graceful stop
		return err
	case <-ctx.Done():
		return errors.Join(cmd.Process.Kill(), <-done)
	}
}
