package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
)

// testConfig returns a valid configuration rooted in a fresh temporary directory.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.Addr = "127.0.0.1:0"
	c.Root = filepath.Join(dir, "data")
	c.StateDir = filepath.Join(dir, "state")
	return c
}

// start runs a new Server on a loopback port and shuts it down at the end of the test.
func start(t *testing.T, cfg config.Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v, want nil after Shutdown", err)
		}
	})
	return s, ln.Addr().String()
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServePutGet(t *testing.T) {
	cfg := testConfig(t)
	s, addr := start(t, cfg)
	base := "http://" + addr
	if code, _ := do(t, http.DefaultClient, "PUT", base+"/hello.txt", strings.NewReader("hello\n")); code != http.StatusCreated {
		t.Fatalf("PUT status = %d, want 201", code)
	}
	code, body := do(t, http.DefaultClient, "GET", base+"/hello.txt", nil)
	if code != http.StatusOK || body != "hello\n" {
		t.Errorf("GET = %d %q, want 200 %q", code, body, "hello\n")
	}
	if got := s.Addr(); got != addr {
		t.Errorf("Addr() = %q, want %q", got, addr)
	}
	onDisk, err := os.ReadFile(filepath.Join(cfg.Root, "hello.txt"))
	if err != nil || string(onDisk) != "hello\n" {
		t.Errorf("file on disk = %q, %v; want %q", onDisk, err, "hello\n")
	}
}

func TestNewCreatesDirectories(t *testing.T) {
	cfg := testConfig(t)
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	for _, dir := range []string{cfg.Root, cfg.StateDir} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatalf("Stat(%s): %v", dir, err)
		}
		if got := fi.Mode().Perm(); !fi.IsDir() || got != 0o700 {
			t.Errorf("%s: dir %v mode %v, want a directory with mode 0700", dir, fi.IsDir(), got)
		}
	}
	for _, name := range []string{locksFile, propsFile} {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, name)); err != nil {
			t.Errorf("state file %s: %v", name, err)
		}
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.StateDir = filepath.Join(cfg.Root, ".state")
	_, err := New(cfg, zerolog.Nop())
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "inside the served root") {
		t.Fatalf("New(state dir inside root) = %v, want an invalid-config error saying why", err)
	}
	if _, err := os.Stat(cfg.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root exists after a refused start (Stat error %v), want nothing created", err)
	}
}

func TestStateDirInUse(t *testing.T) {
	cfg := testConfig(t)
	first, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("first New: %v", err)
	}
	other := cfg
	other.Root = filepath.Join(t.TempDir(), "other-root")
	_, err = New(other, zerolog.Nop())
	if !errors.Is(err, ErrStateInUse) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second New on the same state dir = %v, want ErrStateInUse", err)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown released the stores: the state dir can be used again.
	again, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("New after Shutdown: %v", err)
	}
	if err := again.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := again.Shutdown(context.Background()); err != nil {
		t.Errorf("repeated Shutdown = %v, want nil", err)
	}
}

// TestShutdownFinishesInFlight: a PUT whose body is still arriving when Shutdown starts
// completes, and Shutdown waits for it.
func TestShutdownFinishesInFlight(t *testing.T) {
	cfg := testConfig(t)
	s, err := New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	// net/http drops a connection whose request has not reached a handler when shutdown
	// starts; this request must be inside one.
	entered := make(chan struct{}, 1)
	inner := s.http.Handler
	s.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		inner.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()

	pr, pw := io.Pipe()
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("PUT", "http://"+ln.Addr().String()+"/big.bin", pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{code: resp.StatusCode}
	}()
	if _, err := pw.Write([]byte("first half,")); err != nil {
		t.Fatal(err)
	}
	<-entered // the handler is reading the body

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	case r := <-res:
		t.Fatalf("PUT ended (%d, %v) before its body was sent", r.code, r.err)
	default:
	}
	if _, err := pw.Write([]byte("second half")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if r := <-res; r.err != nil || r.code != http.StatusCreated {
		t.Errorf("in-flight PUT = %d, %v; want 201", r.code, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if got, _ := os.ReadFile(filepath.Join(cfg.Root, "big.bin")); string(got) != "first half,second half" {
		t.Errorf("uploaded file = %q, want the whole body", got)
	}
}

// TestReadHeaderTimeout: a client that never finishes its headers is disconnected.
func TestReadHeaderTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.ReadHeaderTimeout = config.Duration(50 * time.Millisecond)
	_, addr := start(t, cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// A guard against hanging forever if the server never drops the connection.
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 10s, want it closed after the 50ms header timeout")
	}
	if len(b) > 0 && !bytes.HasPrefix(b, []byte("HTTP/1.1 408")) {
		t.Errorf("server answered %q to an unfinished request, want nothing or 408", b)
	}
}

func TestTLSServesHTTP2(t *testing.T) {
	cfg := testConfig(t)
	certPEM := writeSelfSigned(t, &cfg)
	_, addr := start(t, cfg)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol = %s, want HTTP/2", resp.Proto)
	}
	// Plain HTTP on the TLS port is refused rather than served.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if strings.HasPrefix(line, "HTTP/1.1 2") {
		t.Errorf("plain HTTP on the TLS port got %q, want a refusal", line)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, sets cfg.TLS, and returns
// the certificate PEM.
func writeSelfSigned(t *testing.T, cfg *config.Config) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lockdav test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.TLS.Cert = filepath.Join(dir, "cert.pem")
	cfg.TLS.Key = filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(cfg.TLS.Cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(cfg.TLS.Key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func TestNewRefusesBadTLSFiles(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	cfg.TLS.Cert = filepath.Join(dir, "missing-cert.pem")
	cfg.TLS.Key = filepath.Join(dir, "missing-key.pem")
	_, err := New(cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "tls.cert") {
		t.Fatalf("New(missing TLS files) = %v, want an error naming tls.cert", err)
	}
	// The refused start released the state dir.
	cfg.TLS = config.TLS{}
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("New after a refused start: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestIdleTimeout: a keep-alive connection with no further request is closed.
func TestIdleTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.IdleTimeout = config.Duration(50 * time.Millisecond)
	_, addr := start(t, cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /.lockdav/healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	resp.Body.Close()
	if resp.Close {
		t.Fatalf("server closed the connection with the response; want keep-alive")
	}
	_, err = br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("idle connection still open after 10s, want it closed after the 50ms idle timeout")
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("read on idle connection = %v, want EOF", err)
	}
}
