package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// bodyServer is a live server whose bodies must arrive within timeout, extended by a second for
// every minRate bytes.
func bodyServer(t *testing.T, timeout time.Duration, minRate int64, log zerolog.Logger) (*httptest.Server, *fs.FS) {
	t.Helper()
	fsys := fs.New(afero.NewMemMapFs(), fs.NewMemProps(), log)
	ls, err := locksystem.New(time.Now(), locksystem.Options{Policy: locksystem.DefaultPolicy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	srv := httptest.NewServer(newHandler(handlerOptions{FS: fsys, Locks: ls, Logger: log, BodyTimeout: timeout, BodyMinRate: minRate}))
	t.Cleanup(srv.Close)
	return srv, fsys
}

// trickle sends a PUT of size bytes, chunk bytes every gap, and returns the status line of the
// answer.
func trickle(t *testing.T, addr, target string, size, chunk int, gap time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", target, addr, size)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	for sent := 0; sent < size; sent += chunk {
		select {
		case line := <-answered:
			return line
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte(strings.Repeat("x", min(chunk, size-sent)))); err != nil {
			break // the server closed the connection: its answer is on the way
		}
	}
	select {
	case line := <-answered:
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("no answer 10s after the body was sent")
		return ""
	}
}

// TestBodyTimeoutTrickle: a client sending a byte every 100 ms (10 B/s, far under the minimum
// rate) is answered 408 once the timeout passes, and nothing is stored.
func TestBodyTimeoutTrickle(t *testing.T) {
	srv, fsys := bodyServer(t, 300*time.Millisecond, 1000, zerolog.New(zerolog.NewTestWriter(t)))
	addr := strings.TrimPrefix(srv.URL, "http://")
	if got := trickle(t, addr, "/slow.bin", 100, 1, 100*time.Millisecond); !strings.Contains(got, " 408 ") {
		t.Fatalf("trickled PUT answered %q, want 408 Request Timeout", got)
	}
	if _, err := fsys.Stat(t.Context(), "/slow.bin"); err == nil {
		t.Error("a timed-out upload left /slow.bin behind")
	}
}

// TestBodyTimeoutSteady: a body that arrives at a steady 20 KB/s (over the minimum rate) may
// take longer than the timeout: each 1000 bytes received extend it by a second.
func TestBodyTimeoutSteady(t *testing.T) {
	srv, fsys := bodyServer(t, 300*time.Millisecond, 1000, zerolog.New(zerolog.NewTestWriter(t)))
	addr := strings.TrimPrefix(srv.URL, "http://")
	if got := trickle(t, addr, "/steady.bin", 16000, 2000, 100*time.Millisecond); !strings.Contains(got, " 201 ") {
		t.Fatalf("steady PUT over 0.8s answered %q, want 201 Created", got)
	}
	if fi, err := fsys.Stat(t.Context(), "/steady.bin"); err != nil || fi.Size() != 16000 {
		t.Errorf("/steady.bin after the upload: %v, %v; want 16000 bytes", fi, err)
	}
}

// TestAbortedUploadIsNotServerError: a client that goes away in the middle of its body is not a
// server error: nothing logs at error level, the access line is not a 5xx, nothing is stored.
func TestAbortedUploadIsNotServerError(t *testing.T) {
	var logs syncBuffer
	srv, fsys := bodyServer(t, time.Minute, 1000, zerolog.New(&logs))
	addr := strings.TrimPrefix(srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /cut.bin HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", addr)
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, " 100 ") {
		t.Fatalf("waiting for 100 Continue: %q, %v", line, err)
	}
	fmt.Fprint(conn, "only ten b")
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"message":"request"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access line 10s after the client went away; the log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) || strings.Contains(line, `"status":5`) {
			t.Errorf("an aborted upload logged as a server error: %s", line)
		}
	}
	if _, err := fsys.Stat(t.Context(), "/cut.bin"); err == nil {
		t.Error("an aborted upload left /cut.bin behind")
	}
}

// slowRequest sends head, then body bytes one every gap, and reports how long the answer's head
// took to arrive, its status line, and whether it closes the connection.
func slowRequest(t *testing.T, addr, head string, body int, gap time.Duration) (took time.Duration, status string, closes bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			resp = &http.Response{Proto: "no answer:", Status: err.Error()}
		}
		answered <- resp
	}()
	for range body {
		select {
		case resp := <-answered:
			return time.Since(start), resp.Proto + " " + resp.Status, resp.Close
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte(" ")); err != nil {
			break // the server closed the connection: its answer is on the way
		}
	}
	select {
	case resp := <-answered:
		return time.Since(start), resp.Proto + " " + resp.Status, resp.Close
	case <-time.After(10 * time.Second):
		t.Fatal("no answer 10s after the body was sent")
		return 0, "", false
	}
}

// TestBodyTimeoutUnreadBody: a body the handler never reads falls under the body timeout too.
// net/http discards up to 256 KiB of an unread body before it answers a keep-alive request; a
// client trickling it would otherwise hold the answer, and the connection, for as long as it
// likes. Each request is answered within the timeout, not after the whole body (2 s), and the
// connection is closed: the rest of the body must not be read as another request.
func TestBodyTimeoutUnreadBody(t *testing.T) {
	srv, _ := bodyServer(t, 300*time.Millisecond, 1000, zerolog.New(zerolog.NewTestWriter(t)))
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, m := range []string{"GET /", "OPTIONS /", "DELETE /nothing", "MKCOL /m/"} {
		head := fmt.Sprintf("%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 40\r\n\r\n", m, addr)
		took, line, closes := slowRequest(t, addr, head, 40, 50*time.Millisecond)
		if took > time.Second {
			t.Errorf("%s with a trickled body: answered %q after %v, want within 1s", m, line, took)
		}
		if !strings.HasPrefix(line, "HTTP/1.1 ") || !closes {
			t.Errorf("%s with a trickled body: answered %q, closes the connection: %v; want an answer with Connection: close", m, line, closes)
		}
	}
}

// TestBodyTimeoutXMLAndJSON: a trickled body that LOCK, PROPFIND, PROPPATCH or the lock API
// reads whole is answered 408, as a PUT's is, not 400: the client was too slow, its body was
// not malformed.
func TestBodyTimeoutXMLAndJSON(t *testing.T) {
	srv, _ := bodyServer(t, 300*time.Millisecond, 1000, zerolog.New(zerolog.NewTestWriter(t)))
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, m := range []string{"LOCK /l.txt", "PROPFIND /", "PROPPATCH /", "POST /.lockdav/locks"} {
		head := fmt.Sprintf("%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", m, addr)
		if _, line, _ := slowRequest(t, addr, head, 100, 50*time.Millisecond); !strings.Contains(line, " 408 ") {
			t.Errorf("%s with a trickled body: answered %q, want 408 Request Timeout", m, line)
		}
	}
}

// TestIncompleteXMLAndJSONBody: a body that ends before its Content-Length (the client shut its
// side of the connection) is still the client's fault, 400, not a timeout.
func TestIncompleteXMLAndJSONBody(t *testing.T) {
	srv, _ := bodyServer(t, time.Minute, 1000, zerolog.New(zerolog.NewTestWriter(t)))
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, m := range []string{"LOCK /l.txt", "PROPFIND /", "PROPPATCH /", "POST /.lockdav/locks"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\nonly ten b", m, addr)
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		switch {
		case err != nil:
			t.Errorf("%s with an incomplete body: %v", m, err)
		case resp.StatusCode != http.StatusBadRequest:
			t.Errorf("%s with an incomplete body: answered %s, want 400 Bad Request", m, resp.Status)
		}
		conn.Close()
	}
}
