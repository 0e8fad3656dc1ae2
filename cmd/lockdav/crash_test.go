package main

// kill -9 under load (issue "Lock documents"): every lock whose LOCK was answered 200/201 is
// present after a restart with its token, owner, principal, scope, depth and expiry, and is
// enforced (RFC 4918 §7: a write without the token is refused with 423 Locked, §9.10: a
// conflicting LOCK too); every lock whose UNLOCK was answered 204 is gone; nothing
// half-written appears in the lock documents.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

const (
	crashRounds  = 3
	crashWorkers = 16
	// crashTimeout is the Timeout of every lock the test takes: far beyond the test's run time,
	// so every acknowledged lock must still be live after each restart.
	crashTimeout = 600
)

// crashLock is what a client learnt from an acknowledged LOCK.
type crashLock struct {
	token, path, owner string
	scope              locksystem.Scope
	depth              locksystem.Depth
}

// crashModel is what the clients know: acknowledged locks and the fate of their UNLOCKs.
type crashModel struct {
	// mu guards the maps.
	mu        sync.Mutex
	live      map[string]crashLock // LOCK acknowledged, no UNLOCK sent
	unsure    map[string]bool      // UNLOCK sent, no answer: either outcome is right
	released  map[string]bool      // UNLOCK answered 204
	attempted map[string]bool      // every path a LOCK was sent for

	acks    atomic.Int64
	target  int64
	reached chan struct{}
	once    sync.Once
}

func newCrashModel() *crashModel {
	return &crashModel{live: map[string]crashLock{}, unsure: map[string]bool{},
		released: map[string]bool{}, attempted: map[string]bool{}}
}

// ack counts an acknowledgement and signals when the round's target is reached.
func (m *crashModel) ack() {
	if m.acks.Add(1) >= m.target {
		m.once.Do(func() { close(m.reached) })
	}
}

// crashProc is a `lockdav serve` process whose log goes to a file.
type crashProc struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	done    chan struct{} // closed when stderr reached EOF
}

// startCrashServer starts serve and returns once it logs "listening". The log is drained to a
// file as it comes: under load a reader that stopped would stall the server on stderr.
func startCrashServer(t *testing.T, args []string, logPath string) *crashProc {
	t.Helper()
	cmd := exec.Command(build(t), append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		defer close(p.done)
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			var m struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Message == "listening" {
				addrc <- m.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
			_ = cmd.Wait()
		}
	})
	select {
	case addr := <-addrc:
		p.base = "http://" + addr
	case <-p.done:
		t.Fatalf("lockdav exited before listening:\n%s", tail(logPath))
	case <-time.After(30 * time.Second):
		t.Fatalf("lockdav did not log listening within 30s:\n%s", tail(logPath))
	}
	return p
}

// kill sends SIGKILL and reaps the process.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err == nil {
		t.Fatal("lockdav exited 0 after SIGKILL")
	}
}

// tail is the end of a log file, for failure messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

func lockBody(scope locksystem.Scope, owner string) string {
	return `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:` + scope.String() +
		`/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>` + owner + `</D:owner></D:lockinfo>`
}

// send makes one request; a transport error is returned, not fatal: the server may be dead.
func send(c *http.Client, method, url, body string, header map[string]string) (int, http.Header, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, resp.Header, nil
}

// crashWorker runs one client's LOCK load until its requests fail (the server died) or ctx ends.
// It owns the paths /rROUND-wID-N, so its outcomes never depend on another worker.
type crashWorker struct {
	t      *testing.T
	m      *crashModel
	c      *http.Client
	base   string
	rng    *rand.Rand
	prefix string
	n      int
	mine   []crashLock // live locks this worker holds
}

func (w *crashWorker) run(ctx context.Context) {
	for ctx.Err() == nil {
		var err error
		switch op := w.rng.IntN(100); {
		case op < 55 || len(w.mine) == 0:
			err = w.lockNew()
		case op < 70:
			err = w.lockShared()
		case op < 85:
			err = w.refresh()
		default:
			err = w.unlock()
		}
		if err != nil {
			return
		}
	}
}

// lockNew locks a path that does not exist yet (a lock-null resource, §7.3).
func (w *crashWorker) lockNew() error {
	w.n++
	path := fmt.Sprintf("/%s-%d.txt", w.prefix, w.n)
	scope := locksystem.Exclusive
	if w.rng.IntN(3) == 0 {
		scope = locksystem.Shared
	}
	depth := locksystem.DepthZero
	if w.rng.IntN(2) == 0 {
		depth = locksystem.DepthInfinity
	}
	return w.lock(path, scope, depth, http.StatusCreated)
}

// lockShared adds a second shared lock, by another owner, on a path this worker share-locked.
func (w *crashWorker) lockShared() error {
	for _, i := range w.rng.Perm(len(w.mine)) {
		if l := w.mine[i]; l.scope == locksystem.Shared {
			return w.lock(l.path, locksystem.Shared, locksystem.DepthZero, http.StatusOK)
		}
	}
	return w.lockNew()
}

func (w *crashWorker) lock(path string, scope locksystem.Scope, depth locksystem.Depth, want int) error {
	owner := fmt.Sprintf("owner %s-%d %s", w.prefix, w.n, scope)
	w.m.mu.Lock()
	w.m.attempted[path] = true
	w.m.mu.Unlock()
	status, h, err := send(w.c, "LOCK", w.base+path, lockBody(scope, owner),
		map[string]string{"Depth": depth.String(), "Timeout": fmt.Sprintf("Second-%d", crashTimeout)})
	if err != nil {
		return err
	}
	if status != want {
		w.t.Errorf("LOCK %s %s depth %s: status %d, want %d", path, scope, depth, status, want)
		return errors.New("unexpected status")
	}
	l := crashLock{token: strings.Trim(h.Get("Lock-Token"), "<>"), path: path, owner: owner, scope: scope, depth: depth}
	w.m.mu.Lock()
	w.m.live[l.token] = l
	w.m.mu.Unlock()
	w.mine = append(w.mine, l)
	w.m.ack()
	return nil
}

// refresh refreshes one of this worker's locks (§9.10.2).
func (w *crashWorker) refresh() error {
	l := w.mine[w.rng.IntN(len(w.mine))]
	status, _, err := send(w.c, "LOCK", w.base+l.path, "",
		map[string]string{"If": "(<" + l.token + ">)", "Timeout": fmt.Sprintf("Second-%d", crashTimeout)})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		w.t.Errorf("refresh LOCK %s: status %d, want 200", l.path, status)
		return errors.New("unexpected status")
	}
	w.m.ack()
	return nil
}

// unlock releases one of this worker's locks (§9.11). Until the 204 arrives its fate is unknown.
func (w *crashWorker) unlock() error {
	i := w.rng.IntN(len(w.mine))
	l := w.mine[i]
	w.mine = slices.Delete(w.mine, i, i+1)
	w.m.mu.Lock()
	delete(w.m.live, l.token)
	w.m.unsure[l.token] = true
	w.m.mu.Unlock()
	status, _, err := send(w.c, "UNLOCK", w.base+l.path, "", map[string]string{"Lock-Token": "<" + l.token + ">"})
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		w.t.Errorf("UNLOCK %s: status %d, want 204", l.path, status)
		return errors.New("unexpected status")
	}
	w.m.mu.Lock()
	delete(w.m.unsure, l.token)
	w.m.released[l.token] = true
	w.m.mu.Unlock()
	w.m.ack()
	return nil
}

// loadAndKill runs the workers against p and SIGKILLs p after target acknowledgements.
func loadAndKill(t *testing.T, p *crashProc, m *crashModel, round int, seed uint64, target int64) {
	t.Helper()
	m.acks.Store(0)
	m.target, m.reached, m.once = target, make(chan struct{}), sync.Once{}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers}}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range crashWorkers {
		w := &crashWorker{t: t, m: m, c: c, base: p.base, prefix: fmt.Sprintf("r%d-w%d", round, i),
			rng: rand.New(rand.NewPCG(seed, uint64(round*100+i)))}
		wg.Go(func() { w.run(ctx) })
	}
	select {
	case <-m.reached:
	case <-time.After(60 * time.Second):
		t.Errorf("round %d: only %d of %d acknowledgements within 60s", round, m.acks.Load(), target)
	}
	p.kill(t)
	cancel()
	wg.Wait()
	t.Logf("round %d: killed after %d acknowledgements (%d locks acknowledged and live in all)", round, m.acks.Load(), len(m.live))
}

// TestCrashKeepsAcknowledgedLocks runs the real binary under concurrent LOCK load, SIGKILLs it
// after a random number of acknowledgements, restarts it on the same state dir and checks every
// acknowledged lock; three rounds on one state dir.
func TestCrashKeepsAcknowledgedLocks(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lockdav.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  format: json\n  level: info\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfg, "--addr", "127.0.0.1:0", "--root", filepath.Join(dir, "data"), "--state-dir", filepath.Join(dir, "state")}
	logPath := filepath.Join(dir, "lockdav.log")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	m := newCrashModel()

	p := startCrashServer(t, args, logPath)
	for round := 1; round <= crashRounds; round++ {
		loadAndKill(t, p, m, round, seed, 100+rng.Int64N(400))
		if t.Failed() {
			t.Fatalf("load failed; log:\n%s", tail(logPath))
		}
		p = startCrashServer(t, args, logPath)
		verifyAfterCrash(t, p.base, m, round)
		if t.Failed() {
			t.Fatalf("round %d: checks failed; log:\n%s", round, tail(logPath))
		}
	}
	secondProcessFailsFast(t, args)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("lockdav after SIGTERM: %v, want exit status 0", err)
	}
}

// verifyAfterCrash checks the restarted server against what the clients were told.
func verifyAfterCrash(t *testing.T, base string, m *crashModel, round int) {
	t.Helper()
	now := time.Now()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers}}
	defer c.CloseIdleConnections()
	docs := listDocuments(t, c, base, m, now)

	live := make(chan crashLock)
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for l := range live {
				verifyLive(t, c, base, l, docs[l.token], now)
			}
		})
	}
	for _, l := range m.live {
		live <- l
	}
	close(live)
	wg.Wait()
	for tok := range m.released {
		if _, ok := docs[tok]; ok {
			t.Errorf("lock %s was released (UNLOCK answered 204) but is listed after the restart", tok)
		}
		status, _, err := send(c, "GET", base+locksAPI+"/"+tok, "", nil)
		if err != nil || status != http.StatusNotFound {
			t.Errorf("GET released lock %s: %d %v, want 404", tok, status, err)
		}
	}
	t.Logf("round %d: %d live locks present and enforced, %d released ones absent, %d unacknowledged UNLOCKs either way",
		round, len(m.live), len(m.released), len(m.unsure))
}

// documentFields are the keys of a lock document (issue "Lock documents").
var documentFields = []string{"client", "created", "depth", "expires", "lock_null", "owner", "path",
	"principal", "refreshed", "release_on_update", "scope", "timeout_seconds", "token"}

// listDocuments fetches every lock document and checks that each is whole and one the clients
// asked for: nothing half-written, nothing invented.
func listDocuments(t *testing.T, c *http.Client, base string, m *crashModel, now time.Time) map[string]locksystem.Lock {
	t.Helper()
	resp, err := c.Get(base + locksAPI)
	if err != nil {
		t.Fatalf("GET %s: %v", locksAPI, err)
	}
	defer resp.Body.Close()
	var list struct {
		Locks []json.RawMessage `json:"locks"`
		Count int               `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, decode: %v", locksAPI, resp.StatusCode, err)
	}
	if list.Count != len(list.Locks) {
		t.Errorf("count = %d, but %d locks listed", list.Count, len(list.Locks))
	}
	docs := map[string]locksystem.Lock{}
	for _, raw := range list.Locks {
		var fields map[string]json.RawMessage
		var l locksystem.Lock
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Errorf("document %s: %v", raw, err)
			continue
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range fields {
				if !yield(k) {
					return
				}
			}
		})
		if !slices.Equal(keys, documentFields) {
			t.Errorf("document %s has fields %q, want %q", raw, keys, documentFields)
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Errorf("document %s does not decode: %v", raw, err)
			continue
		}
		if !strings.HasPrefix(l.Token, "urn:uuid:") || !m.attempted[l.Path] || l.Principal != locksystem.Anonymous ||
			l.Timeout != crashTimeout*time.Second || l.Created.IsZero() || l.Refreshed.Before(l.Created) ||
			!l.Expires.After(now) || !strings.HasPrefix(l.Owner, "owner ") {
			t.Errorf("document %s is not one of the locks the clients asked for, or not whole", raw)
		}
		docs[l.Token] = l
	}
	return docs
}

// verifyLive checks one acknowledged lock: its document, then that it is enforced.
func verifyLive(t *testing.T, c *http.Client, base string, want crashLock, listed locksystem.Lock, now time.Time) {
	resp, err := c.Get(base + locksAPI + "/" + want.token)
	if err != nil {
		t.Errorf("GET lock %s: %v", want.token, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got locksystem.Lock
	if err == nil && resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(body, &got)
	}
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Errorf("acknowledged lock %s on %s: GET %d %s (%v), want 200 and its document", want.token, want.path, resp.StatusCode, body, err)
		return
	}
	if got.Token != want.token || got.Path != want.path || got.Owner != want.owner || got.Principal != locksystem.Anonymous ||
		got.Scope != want.scope || got.Depth != want.depth || !got.Expires.After(now) || listed.Token != want.token {
		t.Errorf("lock %s after the restart = %+v (listed: %v), want path %s owner %q principal %s scope %s depth %s, expiring after %v",
			want.token, got, listed.Token != "", want.path, want.owner, locksystem.Anonymous, want.scope, want.depth, now)
	}
	enforced := []struct {
		what   string
		method string
		body   string
		header map[string]string
		ok     func(int) bool
	}{
		{"PUT without the token", "PUT", "x", nil, func(s int) bool { return s == http.StatusLocked }},
		{"exclusive LOCK by another client", "LOCK", lockBody(locksystem.Exclusive, "intruder"), map[string]string{"Depth": "0"},
			func(s int) bool { return s == http.StatusLocked }},
		{"PUT with the token", "PUT", "y", map[string]string{"If": "(<" + want.token + ">)"},
			func(s int) bool { return s == http.StatusCreated || s == http.StatusNoContent || s == http.StatusOK }},
	}
	for _, e := range enforced {
		status, _, err := send(c, e.method, base+want.path, e.body, e.header)
		if err != nil || !e.ok(status) {
			t.Errorf("lock %s on %s after the restart: %s answered %d (%v)", want.token, want.path, e.what, status, err)
		}
	}
}

// secondProcessFailsFast: while the restarted server holds the state dir, a second serve on it
// exits non-zero within seconds and says why (the killed process left no stale claim behind,
// and the live one's is honoured).
func secondProcessFailsFast(t *testing.T, args []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, build(t), append([]string{"serve"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		t.Fatalf("second lockdav on the state dir: err %v after %v, want a non-zero exit within 5s\n%s", err, time.Since(start), out)
	}
	if !strings.Contains(string(out), "state dir is in use") {
		t.Errorf("second lockdav output lacks %q:\n%s", "state dir is in use", out)
	}
}
