package e2e

// curl (Debian package curl) against the JSON lock API under /.lockdav/locks: take a lock with
// POST, list and filter, read one document, release it with DELETE, and see a WebDAV client
// held off by the REST lock in between.

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// curlDo runs curl and returns the status code and body it printed.
func curlDo(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin := needBinary(t, "curl", "curl")
	args = append([]string{"--silent", "--show-error", "--max-time", "10", "--write-out", "\n%{http_code}"}, args...)
	out, err := run(t, 20*time.Second, "", nil, "", bin, args...)
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	i := strings.LastIndex(out, "\n")
	code, err := strconv.Atoi(strings.TrimSpace(out[i+1:]))
	if err != nil {
		t.Fatalf("curl: no status code in %q", out)
	}
	return code, out[:i]
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return v
}

func TestCurlLockAPI(t *testing.T) {
	l := startLive(t, liveOptions{})
	l.writeFile(t, "/projects/plan.txt", "the plan\n")
	l.writeFile(t, "/elsewhere/x.txt", "x\n")
	api := l.URL + "/.lockdav/locks"

	code, body := curlDo(t, "-X", "POST", "-H", "Content-Type: application/json", "-A", "curl-e2e",
		"--data", `{"path":"/projects/plan.txt","scope":"exclusive","depth":"0","timeout_seconds":300,"owner":"ops runbook"}`, api)
	if code != 201 {
		t.Fatalf("POST %s: got %d, want 201\n%s", api, code, body)
	}
	lock := decodeJSON[locksystem.Lock](t, body)
	if !strings.HasPrefix(lock.Token, "urn:uuid:") || lock.Path != "/projects/plan.txt" || lock.Scope != locksystem.Exclusive ||
		lock.Depth != locksystem.DepthZero || lock.Timeout != 300*time.Second || lock.Owner != "ops runbook" ||
		lock.Principal != locksystem.Anonymous || lock.Client.UserAgent != "curl-e2e" {
		t.Errorf("POST answer: got %+v, want the requested lock on /projects/plan.txt by anonymous via curl-e2e", lock)
	}
	if d := lock.Expires.Sub(lock.Created); d != 300*time.Second {
		t.Errorf("expires - created: got %v, want 5m0s", d)
	}
	// Raw JSON: the documented field names and the timeout in whole seconds.
	raw := decodeJSON[map[string]any](t, body)
	for _, k := range []string{"token", "path", "scope", "depth", "owner", "principal", "timeout_seconds", "created", "expires", "client"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("lock document: no %q field in %s", k, body)
		}
	}
	if raw["timeout_seconds"] != float64(300) || raw["scope"] != "exclusive" || raw["depth"] != "0" {
		t.Errorf("lock document: got timeout_seconds=%v scope=%v depth=%v, want 300, exclusive, 0",
			raw["timeout_seconds"], raw["scope"], raw["depth"])
	}

	// A conflicting POST names the holder.
	code, body = curlDo(t, "-X", "POST", "-H", "Content-Type: application/json", "--data", `{"path":"/projects","depth":"infinity"}`, api)
	conflict := decodeJSON[struct {
		Error     string            `json:"error"`
		Conflicts []locksystem.Lock `json:"conflicts"`
	}](t, body)
	if code != 423 || len(conflict.Conflicts) != 1 || conflict.Conflicts[0].Token != lock.Token {
		t.Errorf("conflicting POST: got %d %s, want 423 naming %s", code, body, lock.Token)
	}

	// curl's --data says application/x-www-form-urlencoded, as an HTML form does: refused.
	code, body = curlDo(t, "-X", "POST", "--data", `{"path":"/elsewhere/x.txt"}`, api)
	if code != 415 || !strings.Contains(body, "Content-Type: application/json") {
		t.Errorf("POST without Content-Type: application/json: got %d %s, want 415 saying what to send", code, body)
	}

	// A WebDAV write without the token is refused while the REST lock holds.
	if code, _ := curlDo(t, "-X", "PUT", "--data-binary", "overwritten", l.URL+"/projects/plan.txt"); code != 423 {
		t.Errorf("PUT without the token: got %d, want 423", code)
	}

	for _, q := range []struct {
		query string
		want  int
	}{
		{"", 1},
		{"?path=/projects", 1},
		{"?path=/elsewhere", 0},
		{"?path=/projects&depth=0", 0},
		{"?path=/projects&depth=1", 1},
		{"?path=/projects/plan.txt&depth=0", 1},
		{"?owner=runbook", 1},
		{"?owner=nobody", 0},
		{"?principal=anonymous", 1},
		{"?principal=alice", 0},
		{"?scope=exclusive", 1},
		{"?scope=shared", 0},
	} {
		code, body := curlDo(t, api+q.query)
		list := decodeJSON[struct {
			Locks []locksystem.Lock `json:"locks"`
			Count int               `json:"count"`
		}](t, body)
		if code != 200 || list.Count != q.want || len(list.Locks) != q.want {
			t.Errorf("GET locks%s: got %d count=%d locks=%d, want 200 and %d", q.query, code, list.Count, len(list.Locks), q.want)
		}
	}
	if code, body := curlDo(t, api+"?depth=2"); code != 400 || !strings.Contains(body, "depth") {
		t.Errorf("GET locks?depth=2: got %d %s, want 400 naming depth", code, body)
	}

	code, body = curlDo(t, api+"/"+lock.Token)
	if one := decodeJSON[locksystem.Lock](t, body); code != 200 || one.Token != lock.Token || one.Path != lock.Path {
		t.Errorf("GET one: got %d %+v, want 200 and the lock", code, one)
	}
	if code, body := curlDo(t, "-X", "DELETE", api+"/"+lock.Token); code != 204 || body != "" {
		t.Errorf("DELETE: got %d %q, want 204 and no body", code, body)
	}
	if code, body := curlDo(t, api+"/"+lock.Token); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("GET after DELETE: got %d %s, want 404 with a JSON error", code, body)
	}
	if code, _ := curlDo(t, "-X", "DELETE", api+"/"+lock.Token); code != 404 {
		t.Errorf("second DELETE: got %d, want 404", code)
	}
	if code, _ := curlDo(t, "-X", "PUT", "--data-binary", "now allowed", l.URL+"/projects/plan.txt"); code != 204 && code != 200 {
		t.Errorf("PUT after release: got %d, want 204", code)
	}
	if got, _ := l.file(t, "/projects/plan.txt"); got != "now allowed" {
		t.Errorf("plan.txt: got %q, want %q", got, "now allowed")
	}
}
