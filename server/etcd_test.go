package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
	"github.com/lockdav/lockdav/server/servertest"
)

// replicas starts n servers in etcd mode over one root and one etcd member.
func replicas(t *testing.T, c *etcdtest.Cluster, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var addrs []string
	for i := range n {
		cfg := servertest.Config(dir)
		cfg.StateDir = filepath.Join(dir, "state", string(rune('a'+i)))
		cfg.Locks.Store = "etcd"
		cfg.Locks.Etcd.Endpoints = c.Endpoints()
		cfg.Locks.Etcd.RequestTimeout = config.Duration(2 * time.Second)
		addrs = append(addrs, servertest.Start(t, cfg, zerolog.Nop()))
	}
	return addrs
}

func do(t *testing.T, method, url, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func bodyOf(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const lockBody = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
	`<D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`

// twoReplicasWithFile starts two replicas on one etcd member and PUTs /f.txt through the first;
// it returns the cluster and the replicas' base URLs.
func twoReplicasWithFile(t *testing.T) (c *etcdtest.Cluster, a, b string) {
	t.Helper()
	c = etcdtest.Start(t, 1)
	addrs := replicas(t, c, 2)
	a, b = "http://"+addrs[0], "http://"+addrs[1]
	if r := do(t, "PUT", a+"/f.txt", "one"); r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT on a = %d", r.StatusCode)
	}
	return c, a, b
}

// A lock taken through one replica holds on the other, a property set on one is seen on the
// other, and the release on the second frees the first.
func TestReplicasServeOneLockTable(t *testing.T) {
	_, a, b := twoReplicasWithFile(t)
	r := do(t, "LOCK", a+"/f.txt", lockBody, "Timeout", "Second-60")
	tok := strings.Trim(r.Header.Get("Lock-Token"), "<>")
	if r.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("LOCK on a = %d, token %q", r.StatusCode, tok)
	}
	if r := do(t, "PUT", b+"/f.txt", "two"); r.StatusCode != http.StatusLocked {
		t.Fatalf("PUT on b without the token = %d, want 423", r.StatusCode)
	}
	if r := do(t, "PUT", b+"/f.txt", "two", "If", "(<"+tok+">)"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT on b with the token = %d, want 204", r.StatusCode)
	}
	if r := do(t, "LOCK", b+"/f.txt", lockBody); r.StatusCode != http.StatusLocked {
		t.Fatalf("second LOCK on b = %d, want 423", r.StatusCode)
	}
	patch := `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>` +
		`<Z:color>green</Z:color></D:prop></D:set></D:propertyupdate>`
	if r := do(t, "PROPPATCH", a+"/f.txt", patch, "If", "(<"+tok+">)"); r.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPPATCH on a = %d", r.StatusCode)
	}
	find := `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:color/><D:lockdiscovery/></D:prop></D:propfind>`
	got := bodyOf(t, do(t, "PROPFIND", b+"/f.txt", find, "Depth", "0"))
	if !strings.Contains(got, "green") || !strings.Contains(got, tok) {
		t.Fatalf("PROPFIND on b lacks the property or the lock:\n%s", got)
	}
	if r := do(t, "UNLOCK", b+"/f.txt", "", "Lock-Token", "<"+tok+">"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("UNLOCK on b = %d", r.StatusCode)
	}
	if r := do(t, "PUT", a+"/f.txt", "three"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT on a after the UNLOCK on b = %d, want 204", r.StatusCode)
	}
}

// With etcd down, writes answer 503 with Retry-After, reads go on, healthz says so; when etcd
// is back, the replica works again by itself.
func TestReplicaWithEtcdDown(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := "http://" + replicas(t, c, 1)[0]
	if r := do(t, "PUT", a+"/f.txt", "one"); r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d", r.StatusCode)
	}
	held := do(t, "LOCK", a+"/held.txt", lockBody)
	tok := held.Header.Get("Lock-Token")
	if held.StatusCode != http.StatusCreated || tok == "" {
		t.Fatalf("LOCK = %d, token %q", held.StatusCode, tok)
	}
	c.Kill(0)
	// A refresh that cannot reach etcd is not told its lock is gone (412): the lock may well
	// be there, and only the store can say.
	if r := do(t, "LOCK", a+"/held.txt", "", "If", "("+tok+")", "Timeout", "Second-60"); r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("refresh with etcd down = %d, Retry-After %q; want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	for _, m := range []string{"PUT", "LOCK", "DELETE"} {
		body := ""
		if m == "LOCK" {
			body = lockBody
		}
		r := do(t, m, a+"/f.txt", body)
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with etcd down = %d, Retry-After %q; want 503 with Retry-After", m, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	if r := do(t, "GET", a+"/f.txt", ""); r.StatusCode != http.StatusOK || bodyOf(t, r) != "one" {
		t.Fatalf("GET with etcd down = %d", r.StatusCode)
	}
	if r := do(t, "GET", a+"/.lockdav/healthz", ""); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz with etcd down = %d, want 503", r.StatusCode)
	}
	c.Restart(0)
	c.WaitReady(20 * time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for do(t, "PUT", a+"/f.txt", "two").StatusCode != http.StatusNoContent {
		if time.Now().After(deadline) {
			t.Fatal("PUT still failing 20s after etcd came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := do(t, "GET", a+"/.lockdav/healthz", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz after etcd came back = %d", r.StatusCode)
	}
}

// apiLock takes a lock through the JSON API and returns the status and the token.
func apiLock(t *testing.T, base, body string) (int, string) {
	t.Helper()
	r := do(t, "POST", base+"/.lockdav/locks", body, "Content-Type", "application/json")
	var doc struct {
		Token string `json:"token"`
	}
	_ = json.NewDecoder(r.Body).Decode(&doc)
	return r.StatusCode, doc.Token
}

// A waiter on one replica is woken by a release on another, and a replica's event stream
// carries the other replica's grants and releases.
func TestWaitAndEventsAcrossReplicas(t *testing.T) {
	c := etcdtest.Start(t, 1)
	addrs := replicas(t, c, 2)
	a, b := "http://"+addrs[0], "http://"+addrs[1]
	events := do(t, "GET", b+"/.lockdav/events", "")
	if events.StatusCode != http.StatusOK {
		t.Fatalf("GET events on b = %d", events.StatusCode)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(events.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	st, held := apiLock(t, a, `{"path": "/f", "depth": "0"}`)
	if st != http.StatusCreated {
		t.Fatalf("lock on a = %d", st)
	}
	waited := make(chan int, 1)
	go func() {
		st, _ := apiLock(t, b, `{"path": "/f", "depth": "0", "wait": "30s"}`)
		waited <- st
	}()
	time.Sleep(500 * time.Millisecond) // b's waiter is in line (it cannot be granted before the release)
	select {
	case st := <-waited:
		t.Fatalf("b's waiter answered %d while a held the lock", st)
	default:
	}
	released := time.Now()
	if r := do(t, "DELETE", a+"/.lockdav/locks/"+held, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("release on a = %d", r.StatusCode)
	}
	select {
	case st := <-waited:
		if st != http.StatusCreated {
			t.Fatalf("b's waiter = %d, want 201", st)
		}
		t.Logf("b's waiter granted %v after the release on a", time.Since(released))
	case <-time.After(10 * time.Second):
		t.Fatal("b's waiter not granted within 10s of the release on a")
	}
	want := []string{`"kind":"acquired"`, `"kind":"released"`, `"kind":"acquired"`}
	for i, w := range want {
		for line := range lines {
			if strings.HasPrefix(line, "data:") && strings.Contains(line, `"kind":"conflict"`) {
				continue
			}
			if strings.HasPrefix(line, "data:") {
				if !strings.Contains(line, w) {
					t.Fatalf("event on b: %s, want %s", line, w)
				}
				if i < 2 && !strings.Contains(line, held) {
					t.Fatalf("event %d on b: %s, want one of a's lock %s", i, line, held)
				}
				break
			}
		}
	}
}

// A lock taken or released through one replica shows at once in the other's lockdiscovery:
// PROPFIND catches up with etcd as a write does (SyncRead).
func TestLockdiscoveryAlikeOnReplicas(t *testing.T) {
	c, a, b := twoReplicasWithFile(t)
	find := `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>`
	for i := range 100 {
		r := do(t, "LOCK", a+"/f.txt", lockBody, "Timeout", "Second-60")
		tok := strings.Trim(r.Header.Get("Lock-Token"), "<>")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("LOCK %d on a = %d", i, r.StatusCode)
		}
		if got := bodyOf(t, do(t, "PROPFIND", b+"/f.txt", find, "Depth", "0")); !strings.Contains(got, tok) {
			t.Fatalf("round %d: b's lockdiscovery right after the LOCK on a lacks %s:\n%s", i, tok, got)
		}
		if r := do(t, "UNLOCK", a+"/f.txt", "", "Lock-Token", "<"+tok+">"); r.StatusCode != http.StatusNoContent {
			t.Fatalf("UNLOCK %d on a = %d", i, r.StatusCode)
		}
		if got := bodyOf(t, do(t, "PROPFIND", b+"/f.txt", find, "Depth", "0")); strings.Contains(got, tok) {
			t.Fatalf("round %d: b's lockdiscovery right after the UNLOCK on a still has %s", i, tok)
		}
	}
	// With etcd gone, a listing still answers, from what the replica knows, without waiting
	// for etcd's timeout each time.
	c.Kill(0)
	start := time.Now()
	for range 5 {
		if r := do(t, "PROPFIND", b+"/f.txt", find, "Depth", "0"); r.StatusCode != http.StatusMultiStatus {
			t.Fatalf("PROPFIND with etcd down = %d", r.StatusCode)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("5 PROPFINDs with etcd down took %v, want the first to give up within 1s and the rest not to wait", d)
	}
	// allprop needs the dead properties, which are in etcd: a plain 503, not a listing cut short.
	r := do(t, "PROPFIND", b+"/f.txt", "", "Depth", "0")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("allprop PROPFIND with etcd down = %d, Retry-After %q; want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

// A PROPPATCH within limits.max_xml_body and 128 properties, on a long path, can still make an
// etcd transaction over its request limit (values in base64, the path in every key): 507, as
// for a server that cannot record the properties (RFC 4918 §9.2.1), not a 500.
func TestProppatchOverEtcdRequestLimit(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := "http://" + replicas(t, c, 1)[0]
	p := ""
	for i := range 8 {
		p += "/" + strings.Repeat(string(rune('a'+i)), 240)
		if r := do(t, "MKCOL", a+p, ""); r.StatusCode != http.StatusCreated {
			t.Fatalf("MKCOL = %d", r.StatusCode)
		}
	}
	p += "/f"
	if r := do(t, "PUT", a+p, "x"); r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT = %d", r.StatusCode)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>`)
	for i := range 120 {
		fmt.Fprintf(&b, "<Z:p%d>%s</Z:p%d>", i, strings.Repeat("v", 8500), i)
	}
	b.WriteString(`</D:prop></D:set></D:propertyupdate>`)
	if r := do(t, "PROPPATCH", a+p, b.String()); r.StatusCode != http.StatusInsufficientStorage {
		t.Fatalf("PROPPATCH of %d bytes = %d, want 507", b.Len(), r.StatusCode)
	}
}
