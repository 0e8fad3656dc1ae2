package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// slowFailBody is a request body whose failure reaches the handler late: a read that fails
// returns only after delay. It stands for a handler that needs a moment, after its connection
// is closed, to notice and clean up.
type slowFailBody struct {
	io.ReadCloser
	delay time.Duration
}

func (b slowFailBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		time.Sleep(b.delay)
	}
	return n, err
}

// TestShutdownCutOffUploadLeavesNothing: a PUT whose body is still arriving when the shutdown
// deadline passes is cut off. Shutdown must not return before its handler has removed the
// temporary upload file (the process exits right after), and the cut-off is no server error:
// nothing is logged at error level and the access log does not say 500.
func TestShutdownCutOffUploadLeavesNothing(t *testing.T) {
	cfg := testConfig(t)
	var logs syncBuffer
	s, err := New(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	handled := make(chan struct{})
	inner := s.http.Handler
	s.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = slowFailBody{r.Body, 300 * time.Millisecond}
		entered <- struct{}{}
		inner.ServeHTTP(w, r)
		close(handled)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()

	// A raw connection: the client never sends the rest of its Content-Length.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "PUT /long.bin HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nContent-Length: 100000\r\n\r\n"
	if _, err := io.WriteString(conn, head+strings.Repeat("x", 1000)); err != nil {
		t.Fatal(err)
	}
	<-entered
	waitFor(t, "the temporary upload file", func() bool { return len(uploads(t, cfg.Root)) > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if left := uploads(t, cfg.Root); len(left) != 0 {
		t.Errorf("after Shutdown returned: temporary upload files left: %v", left)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("the cut-off PUT's handler did not return")
	}
	access := 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Status  int    `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line.Level == "error" || line.Status >= 500 {
			t.Errorf("cut-off upload logged as a server error: %s", sc.Text())
		}
		if line.Message == "request" {
			access = line.Status
		}
	}
	if access != 499 {
		t.Errorf("access log: status %d, want 499 (cut off)", access)
	}
}

// uploads lists the temporary upload files in dir.
func uploads(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".lockdav-upload-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestInflightWait: wait returns as soon as the last request leaves, and after its bound with
// the number still running.
func TestInflightWait(t *testing.T) {
	f := newInflight()
	if n := f.wait(time.Hour); n != 0 {
		t.Fatalf("idle: wait = %d, want 0", n)
	}
	f.enter()
	f.enter()
	if n := f.wait(10 * time.Millisecond); n != 2 {
		t.Fatalf("two running: wait = %d, want 2", n)
	}
	go func() {
		f.leave()
		time.Sleep(20 * time.Millisecond)
		f.leave()
	}()
	start := time.Now()
	if n := f.wait(5 * time.Second); n != 0 {
		t.Fatalf("after both left: wait = %d, want 0", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("wait took %v after the last request left", d)
	}
}
