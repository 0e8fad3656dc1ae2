package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

var tokenLine = regexp.MustCompile(`^urn:uuid:[0-9a-f-]{36}\n$`)

// TestLocksAcquire: acquire takes the lock its flags describe and prints only its token; a
// conflict fails naming the holder; --json prints the document.
func TestLocksAcquire(t *testing.T) {
	clearLocksEnv(t)
	base := startLockdav(t)
	out, err := runLocks(t, time.Now(), "acquire", "/plan.odt", "--server", base, "--scope", "shared",
		"--depth", "0", "--lock-timeout", "90s", "--owner", "ann (laptop)")
	if err != nil || !tokenLine.MatchString(out) {
		t.Fatalf("acquire = %q, %v; want a token on a line of its own", out, err)
	}
	doc := apiGet(t, base, strings.TrimSpace(out))
	if doc.Scope.String() != "shared" || doc.Depth.String() != "0" || doc.Timeout != 90*time.Second || doc.Owner != "ann (laptop)" {
		t.Errorf("acquired %+v, want shared, depth 0, 90s, owner ann (laptop)", doc)
	}
	_, err = runLocks(t, time.Now(), "acquire", "/plan.odt", "--server", base, "--owner", "bob")
	var se *statusError
	if !errors.As(err, &se) || se.Status != http.StatusLocked || !strings.Contains(err.Error(), "held by anonymous on /plan.odt (shared, depth 0)") {
		t.Errorf("conflicting acquire = %v, want 423 naming the shared lock on /plan.odt", err)
	}
	out, err = runLocks(t, time.Now(), "acquire", "/other.txt", "--server", base, "--json")
	if err != nil || !strings.Contains(out, `"path": "/other.txt"`) || !strings.Contains(out, `"depth": "infinity"`) {
		t.Errorf("acquire --json = %q, %v; want the document, depth infinity by default", out, err)
	}
	for _, bad := range [][]string{{"relative"}, {"/x", "--scope", "both"}, {"/x", "--depth", "1"},
		{"/x", "--lock-timeout", "soon"}, {"/x", "--wait", "-1s"}, {}} {
		if _, err := runLocks(t, time.Now(), append([]string{"acquire", "--server", base}, bad...)...); !errors.Is(err, errBadArg) {
			t.Errorf("acquire %q = %v, want a bad argument", bad, err)
		}
	}
}

// TestLocksAcquireWait: with --wait, acquire waits for the lock in its way to go and then
// prints its own token; without it, or when the wait runs out, it fails with 423.
func TestLocksAcquireWait(t *testing.T) {
	clearLocksEnv(t)
	base := startLockdav(t)
	held := apiLock(t, base, `{"path": "/counter", "depth": "0"}`)
	if _, err := runLocks(t, time.Now(), "acquire", "/counter", "--server", base, "--wait", "200ms"); err == nil || !strings.Contains(err.Error(), "423") {
		t.Fatalf("acquire --wait 200ms on a held lock = %v, want 423 when the wait runs out", err)
	}
	release := mustRequest(t, "DELETE", base+locksAPI+"/"+held.Token)
	time.AfterFunc(500*time.Millisecond, func() {
		if resp, err := http.DefaultClient.Do(release); err == nil {
			_ = resp.Body.Close()
		}
	})
	out, err := runLocks(t, time.Now(), "acquire", "/counter", "--server", base, "--depth", "0", "--wait", "10s", "--timeout", "1s")
	if err != nil || !tokenLine.MatchString(out) || strings.TrimSpace(out) == held.Token {
		t.Fatalf("acquire --wait 10s = %q, %v; want a new token once the holder lets go", out, err)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// apiGet reads one lock document.
func apiGet(t *testing.T, base, token string) locksystem.Lock {
	t.Helper()
	status, b := request(t, "GET", base+locksAPI+"/"+token, "", nil)
	var l locksystem.Lock
	if status != http.StatusOK || json.Unmarshal(b, &l) != nil {
		t.Fatalf("GET %s: %d %s", token, status, b)
	}
	return l
}
