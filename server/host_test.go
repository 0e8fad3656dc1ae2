package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/config"
)

// hostRequest sends method target to the server at addr with Host host and extra headers in
// name, value pairs; it returns the status.
func hostRequest(t *testing.T, addr, host, method, target, body string, extra ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// rebound are the headers a page of attacker.example sends once its name resolves to 127.0.0.1
// (DNS rebinding): to the browser, lockdav is attacker.example, and the request same-origin.
func rebound(port string) []string {
	return []string{"Origin", "http://attacker.example:" + port, "Sec-Fetch-Site", "same-origin"}
}

// TestLoopbackOnlyRefusesOtherHosts: with no users and auth.anonymous unset, the server is open
// to anyone only because it listens on loopback; a request naming another host (a rebound name)
// is refused with 421, for the tree and the lock API alike, while the loopback names still work.
func TestLoopbackOnlyRefusesOtherHosts(t *testing.T) {
	_, addr := start(t, testConfig(t))
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	evil := "attacker.example:" + port
	for _, c := range []struct{ method, target, body string }{
		{"PUT", "/stolen.txt", "x"},
		{"GET", "/.lockdav/locks", ""},
		{"GET", "/", ""},
		{"PROPFIND", "/", ""},
	} {
		if got := hostRequest(t, addr, evil, c.method, c.target, c.body, rebound(port)...); got != http.StatusMisdirectedRequest {
			t.Errorf("%s %s with Host %s: %d, want 421", c.method, c.target, evil, got)
		}
	}
	for _, host := range []string{addr, "localhost:" + port, "LOCALHOST", "dav.localhost:" + port,
		"127.0.0.2:" + port, "[::1]:" + port, "[::ffff:127.0.0.1]:" + port, "localhost.:" + port} {
		if got := hostRequest(t, addr, host, "PUT", "/ok.txt", "x"); got != http.StatusCreated && got != http.StatusNoContent {
			t.Errorf("PUT with Host %s: %d, want 201 or 204", host, got)
		}
	}
	for _, host := range []string{"localhost.attacker.example:" + port, "127.0.0.1.attacker.example", "192.0.2.1:" + port, "[::2]:" + port} {
		if got := hostRequest(t, addr, host, "GET", "/ok.txt", ""); got != http.StatusMisdirectedRequest {
			t.Errorf("GET with Host %s: %d, want 421", host, got)
		}
	}
}

// TestChosenAccessServesAnyHost: once the operator has chosen who may do what — users, or
// auth.anonymous set — the Host is theirs to arrange (a proxy, a name in /etc/hosts), as before.
func TestChosenAccessServesAnyHost(t *testing.T) {
	for name, fix := range map[string]func(c *config.Config){
		"anonymous write": func(c *config.Config) { c.Auth.Anonymous = "write" },
		"users":           func(c *config.Config) { withUsers(t, c, config.User{Name: "alice", Access: "write"}) },
	} {
		cfg := testConfig(t)
		fix(&cfg)
		_, addr := start(t, cfg)
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		got := hostRequest(t, addr, "dav.example:"+port, "GET", "/", "")
		if got == http.StatusMisdirectedRequest {
			t.Errorf("%s: GET with Host dav.example: %d, want it served", name, got)
		}
	}
}
