package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/auth"
)

// TestLogLinesBounded: strings a client supplies — headers, paths, names, methods — are
// shortened in every log line (request.Clip), so one request of a megabyte of headers cannot
// write a megabyte to the log, nor ten lines of it.
func TestLogLinesBounded(t *testing.T) {
	s := newAuthServer(t, auth.Write, userOf("alice", auth.Write, false, ""))
	big := strings.Repeat("x", 100<<10)
	s.do("", http.MethodPut, "/f.txt", "content")
	s.do("", http.MethodGet, "/", "", "User-Agent", big, "Lock-Token", "<"+big+">")
	s.do("", http.MethodGet, "/"+big, "")
	s.do("", big, "/", "")
	for range 7 { // past the failed-login limit: 401, then 429
		s.do(big+":wrong", http.MethodGet, "/", "")
	}
	s.do("", http.MethodPost, "/f.txt", "x", "Origin", "http://"+big, "Sec-Fetch-Site", big)
	resp, _ := s.do("", "COPY", "/f.txt", "", "Destination", "http://elsewhere.example/"+big)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("COPY to another server: %s, want 502", resp.Status)
	}
	for _, want := range []string{`"user_agent":"xxx`, `"lock_token":"<xxx`, `"message":"login failed"`,
		`"message":"login refused`, `"origin":"http://xxx`, `"status":502`} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("no log line has %s", want)
		}
	}
	for line := range strings.SplitSeq(strings.TrimSpace(s.log.String()), "\n") {
		if len(line) > 4<<10 {
			t.Errorf("a log line of %d bytes: %.300s…", len(line), line)
		}
		var ev struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Status  int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("a log line that is not JSON (%v): %.300s…", err, line)
			continue
		}
		// A Destination on another server is the client's mistake, not the server's error.
		if ev.Message == "request failed" && ev.Status == http.StatusBadGateway && ev.Level != "debug" {
			t.Errorf("a 502 for a foreign Destination logged at %s: %.300s…", ev.Level, line)
		}
	}
}
