package robustness

// The robustness test (in the spirit of etcd's tests/robustness): three lockdav replicas over
// one root and a three-member etcd cluster; clients take, use, refresh and release exclusive
// locks on a few shared paths through random replicas, incrementing a counter file under each
// lock, while a nemesis SIGKILLs and restarts a replica, SIGKILLs and restarts an etcd member,
// and SIGSTOPs a replica for longer than a lock's lease. Every request's call, return and
// outcome is recorded; the history of each path must be linearizable against the model in
// model_test.go (no double grant of a live lock, no lost acknowledged lock, no refusal from a
// stale table, no lost update), and each counter must equal the number of acknowledged
// increments, give or take the indeterminate ones.
//
// LOCKDAV_ROBUST_DURATION (a Go duration, default 60s) sets how long the load runs,
// LOCKDAV_ROBUST_SEED the seed of every random choice (printed at the start), and
// LOCKDAV_ROBUST_SLOW_BODY=1 makes one PUT in twenty send its body only after the lock's lease
// ran out, and LOCKDAV_ROBUST_OUT a directory where a failing path's history is written as porcupine's
// HTML visualization.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
)

const (
	nReplicas = 3
	nMembers  = 3
	nClients  = 16
	nPaths    = 3
	// lockTimeout is the timeout of every lock (the config grants exactly it); its etcd lease
	// is one second longer (docs/ARCHITECTURE.md "Several replicas").
	lockTimeout = 2 * time.Second
	// stopFor is the shortest SIGSTOP of a replica: longer than a lock's lease.
	stopFor = lockTimeout + 2*time.Second
	// requestTimeout is locks.etcd.request_timeout.
	requestTimeout = 2 * time.Second
	// clientTimeout bounds one HTTP request: longer than a SIGSTOP, so that a request held by
	// a paused replica is answered once it resumes, after the locks it saw have expired.
	clientTimeout = 10 * time.Second
	// checkTimeout bounds the linearizability check of one path.
	checkTimeout = time.Minute
)

func TestRobustness(t *testing.T) {
	if testing.Short() {
		t.Skip("robustness test: not with -short")
	}
	duration := 60 * time.Second
	if v := os.Getenv("LOCKDAV_ROBUST_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("LOCKDAV_ROBUST_DURATION: %v", err)
		}
		duration = d
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("LOCKDAV_ROBUST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LOCKDAV_ROBUST_SEED: %v", err)
		}
		seed = s
	}
	t.Logf("seed %d (replay: LOCKDAV_ROBUST_SEED=%d LOCKDAV_ROBUST_DURATION=%v), %d clients, %d paths",
		seed, seed, duration, nClients, nPaths)

	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, nPaths)
	for i := range paths {
		paths[i] = fmt.Sprintf("/counter%d.txt", i)
		if err := os.WriteFile(filepath.Join(root, paths[i]), []byte("0"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cluster := etcdtest.Start(t, nMembers)
	bin := buildLockdav(t, dir)
	replicas := make([]*replica, nReplicas)
	for i := range replicas {
		replicas[i] = newReplica(t, i, bin, dir, root, cluster.Endpoints())
		replicas[i].start(t)
	}

	rec := &recorder{start: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	transport := &http.Transport{MaxIdleConnsPerHost: nClients}
	defer transport.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range nClients {
		c := &client{id: i, rec: rec, paths: paths, replicas: replicas, slowBodies: os.Getenv("LOCKDAV_ROBUST_SLOW_BODY") == "1",
			http: &http.Client{Timeout: clientTimeout, Transport: transport},
			rng:  rand.New(rand.NewPCG(seed, uint64(i)+1))}
		wg.Go(func() { c.run(ctx) })
	}
	n := &nemesis{t: t, rng: rand.New(rand.NewPCG(seed, 0)), rec: rec, cluster: cluster, replicas: replicas}
	n.run(time.Now().Add(duration))
	cancel()
	wg.Wait()

	// Let whatever a paused or slow replica still holds finish, then close the history: an
	// indeterminate request takes effect before its end or never.
	for _, r := range replicas {
		if r.cmd == nil {
			r.start(t)
		}
	}
	time.Sleep(clientTimeout / 2)
	end := rec.now()
	finals := make([]int, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if finals[i], err = strconv.Atoi(string(b)); err != nil {
			t.Fatalf("%s holds %q", p, b)
		}
		rec.add(-1, opInput{kind: opGet, path: p, call: end + 1}, opOutput{res: resOK, value: finals[i], status: 200, ret: end + 2})
	}
	ops := rec.close(end)
	t.Logf("ran %v: %d operations recorded; nemesis: %s", duration, len(ops), strings.Join(n.log, "; "))
	t.Logf("outcomes: %s", summarize(ops))

	checkCounters(t, ops, paths, finals)
	checkLostLocks(t, ops)
	checkLinearizable(t, ops, paths)
	if t.Failed() {
		for _, r := range replicas {
			t.Logf("replica %d log tail:\n%s", r.i, tail(r.logPath))
		}
	}
}

// recorder collects the history.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// now is the time since the start of the history, in ns (monotonic).
func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(client int, in opInput, out opOutput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client + 1, Input: in, Call: in.call, Output: out, Return: out.ret})
}

// close gives every indeterminate operation the end of the history as its return.
func (r *recorder) close(end int64) []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.ops {
		if out := r.ops[i].Output.(opOutput); out.res == resUnknown {
			out.ret = end
			r.ops[i].Output, r.ops[i].Return = out, end
		}
	}
	return r.ops
}

// client is one WebDAV client: lock a random path, read the counter, write it plus one, now
// and then refresh, and release (or, now and then, let the lock expire), each request through
// a random replica.
type client struct {
	// slowBodies: now and then a PUT's body arrives only after the lock's lease has run out
	// (LOCKDAV_ROBUST_SLOW_BODY=1).
	slowBodies bool
	id         int
	rec        *recorder
	paths      []string
	replicas   []*replica
	http       *http.Client
	rng        *rand.Rand
}

func (c *client) run(ctx context.Context) {
	for ctx.Err() == nil {
		p := c.paths[c.rng.IntN(len(c.paths))]
		token, res := c.lock(p)
		if res != resOK {
			// Every refusal costs the replica an etcd round trip (its check catches up first):
			// back off, so that refusals do not crowd out the work under the locks.
			time.Sleep(time.Duration(30+c.rng.IntN(120)) * time.Millisecond)
			continue
		}
		if c.rng.IntN(5) == 0 && c.do(opRefresh, p, token, 0) != resOK {
			continue
		}
		v, res := c.get(p, token)
		if res != resOK {
			c.do(opUnlock, p, token, 0)
			continue
		}
		if res := c.do(opPut, p, token, v+1); res == resRefused {
			continue
		}
		switch c.rng.IntN(10) {
		case 0: // abandoned: it expires
			continue
		case 1:
			if c.do(opRefresh, p, token, 0) != resOK {
				continue
			}
		}
		c.do(opUnlock, p, token, 0)
	}
}

var tokenRe = regexp.MustCompile(`<([^>]+)>`)

// lock sends LOCK (exclusive, depth 0, write) and returns the token granted.
func (c *client) lock(p string) (string, result) {
	body := `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner>client ` + strconv.Itoa(c.id) + `</D:owner></D:lockinfo>`
	in := opInput{kind: opLock, path: p, timeout: lockTimeout}
	out, h, _, ok := c.send(&in, "LOCK", p, body, map[string]string{"Depth": "0", "Timeout": timeoutHeader()})
	if !ok {
		return "", resUnknown
	}
	switch out.status {
	case http.StatusOK, http.StatusCreated:
		m := tokenRe.FindStringSubmatch(h.Get("Lock-Token"))
		if m == nil {
			out.res = resUnknown // answered, but no token to use: as if lost
			break
		}
		out.res, out.token = resOK, m[1]
	case http.StatusLocked:
		out.res = resRefused
	default:
		out.res = resUnknown
	}
	c.rec.add(c.id, in, out)
	return out.token, out.res
}

// get reads the counter with the token in an If header (§10.4).
func (c *client) get(p, token string) (int, result) {
	in := opInput{kind: opGet, path: p}
	out, _, body, ok := c.send(&in, http.MethodGet, p, "", map[string]string{"If": "(<" + token + ">)"})
	if !ok || out.status != http.StatusOK {
		// A read's lock check answers from the replica's table as it is (docs/ARCHITECTURE.md
		// "Several replicas": reads are not caught up), so a refusal says nothing; nor does a
		// read that failed.
		return 0, resUnknown
	}
	v, err := strconv.Atoi(body)
	if err != nil {
		return 0, resUnknown
	}
	out.res, out.value = resOK, v
	c.rec.add(c.id, in, out)
	return v, resOK
}

// do sends a REFRESH, UNLOCK or PUT of value with token.
func (c *client) do(kind opKind, p, token string, value int) result {
	in := opInput{kind: kind, path: p, token: token, value: value}
	var out opOutput
	var ok bool
	switch kind {
	case opRefresh:
		in.timeout = lockTimeout
		out, _, _, ok = c.send(&in, "LOCK", p, "", map[string]string{"If": "(<" + token + ">)", "Timeout": timeoutHeader()})
	case opUnlock:
		out, _, _, ok = c.send(&in, "UNLOCK", p, "", map[string]string{"Lock-Token": "<" + token + ">"})
	default: // PUT
		header := map[string]string{"If": "(<" + token + ">)"}
		if c.slowBodies && c.rng.IntN(20) == 0 {
			header[slowBodyHeader] = "1"
		}
		out, _, _, ok = c.send(&in, http.MethodPut, p, strconv.Itoa(value), header)
	}
	if !ok {
		return resUnknown
	}
	switch s := out.status; {
	case s >= 200 && s < 300:
		out.res = resOK
	case s == http.StatusLocked || s == http.StatusPreconditionFailed || s == http.StatusConflict:
		out.res = resRefused
	default:
		out.res = resUnknown
	}
	if kind == opRefresh && out.res == resUnknown {
		return resUnknown // not recorded: see model_test.go
	}
	c.rec.add(c.id, in, out)
	return out.res
}

// send makes one request through a random replica and records its call in in. ok is false when
// the request was not recorded: the connection was refused (the replica is down, the request
// never reached it), or it was a read or refresh that failed (neither of which takes effect).
// A transport error otherwise is recorded as indeterminate.
func (c *client) send(in *opInput, method, p, body string, header map[string]string) (out opOutput, h http.Header, text string, ok bool) {
	r := c.replicas[c.rng.IntN(len(c.replicas))]
	var rd io.Reader = strings.NewReader(body)
	if header[slowBodyHeader] != "" {
		delete(header, slowBodyHeader)
		rd = io.MultiReader(delayed(stopFor), rd)
	}
	req, err := http.NewRequest(method, r.base+p, rd)
	if err != nil {
		panic(err)
	}
	req.ContentLength = int64(len(body)) // the headers go at once, the body when it is read
	for k, v := range header {
		req.Header.Set(k, v)
	}
	in.call = c.rec.now()
	resp, err := c.http.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	out.ret = c.rec.now()
	switch {
	case err != nil && errors.Is(err, syscall.ECONNREFUSED):
		return out, nil, "", false
	case err != nil:
		if in.kind == opGet || in.kind == opRefresh {
			return out, nil, "", false
		}
		out.res = resUnknown
		c.rec.add(c.id, *in, out)
		return out, nil, "", false
	}
	out.status = resp.StatusCode
	return out, resp.Header, string(b), true
}

// slowBodyHeader marks, in send's header argument, a body to send only after stopFor.
const slowBodyHeader = "X-Robustness-Slow-Body"

// delayed is a reader that returns nothing, at EOF, after d.
type delayed time.Duration

func (d delayed) Read([]byte) (int, error) {
	time.Sleep(time.Duration(d))
	return 0, io.EOF
}

func timeoutHeader() string { return fmt.Sprintf("Second-%d", lockTimeout/time.Second) }

// nemesis injects one fault at a time, the three kinds in a shuffled round, until the deadline.
type nemesis struct {
	t        *testing.T
	rng      *rand.Rand
	rec      *recorder
	cluster  *etcdtest.Cluster
	replicas []*replica
	log      []string
}

func (n *nemesis) pause(lo, hi time.Duration) {
	time.Sleep(lo + time.Duration(n.rng.Int64N(int64(hi-lo))))
}

func (n *nemesis) note(format string, args ...any) {
	n.log = append(n.log, fmt.Sprintf("%.1fs ", time.Duration(n.rec.now()).Seconds())+fmt.Sprintf(format, args...))
}

func (n *nemesis) run(deadline time.Time) {
	for {
		for _, fault := range n.rng.Perm(3) {
			n.pause(time.Second, 3*time.Second)
			if time.Now().After(deadline) {
				return
			}
			switch fault {
			case 0:
				i := n.rng.IntN(len(n.replicas))
				n.note("kill replica %d", i)
				n.replicas[i].kill()
				n.pause(500*time.Millisecond, 2*time.Second)
				n.replicas[i].start(n.t)
				n.note("replica %d back", i)
			case 1:
				i := n.rng.IntN(len(n.cluster.Members))
				n.note("kill etcd %d", i)
				n.cluster.Kill(i)
				n.pause(time.Second, 3*time.Second)
				n.cluster.Restart(i)
				n.cluster.WaitReady(30 * time.Second)
				n.note("etcd %d back", i)
			case 2:
				i := n.rng.IntN(len(n.replicas))
				n.note("stop replica %d", i)
				n.replicas[i].signal(syscall.SIGSTOP)
				n.pause(stopFor, stopFor+time.Second)
				n.replicas[i].signal(syscall.SIGCONT)
				n.note("replica %d continued", i)
			}
		}
	}
}

// summarize counts the operations by kind and outcome, with the mean time of the answered ones.
func summarize(ops []porcupine.Operation) string {
	counts, took := map[string]int{}, map[string]time.Duration{}
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		k := in.kind.String() + " " + out.res.String()
		counts[k]++
		took[k] += time.Duration(op.Return - op.Call)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range counts {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range keys {
		if strings.HasSuffix(k, resUnknown.String()) {
			parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d (mean %v)", k, counts[k], (took[k]/time.Duration(counts[k])).Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// checkCounters: each counter equals the acknowledged increments of its path, plus at most the
// indeterminate ones.
func checkCounters(t *testing.T, ops []porcupine.Operation, paths []string, finals []int) {
	t.Helper()
	for i, p := range paths {
		acked, unsure := 0, 0
		for _, op := range ops {
			in, out := op.Input.(opInput), op.Output.(opOutput)
			if in.path != p || in.kind != opPut {
				continue
			}
			switch out.res {
			case resOK:
				acked++
			case resUnknown:
				unsure++
			default:
			}
		}
		if finals[i] < acked || finals[i] > acked+unsure {
			t.Errorf("counter %s = %d, want %d acknowledged increments plus at most %d indeterminate ones", p, finals[i], acked, unsure)
		} else {
			t.Logf("counter %s = %d: %d acknowledged increments, %d indeterminate", p, finals[i], acked, unsure)
		}
	}
}

// checkLostLocks: a request naming the token of an acknowledged lock is not refused while the
// lock cannot have expired, counting from the call of the latest grant or refresh acknowledged
// before the request was sent. (The model checks this too; this says it plainly.)
func checkLostLocks(t *testing.T, ops []porcupine.Operation) {
	t.Helper()
	type ack struct{ call, ret int64 }
	acks := map[string][]ack{}
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		switch {
		case in.kind == opLock && out.res == resOK:
			acks[out.token] = append(acks[out.token], ack{in.call, out.ret})
		case in.kind == opRefresh && out.res == resOK:
			acks[in.token] = append(acks[in.token], ack{in.call, out.ret})
		}
	}
	lost := 0
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		if in.token == "" || out.res != resRefused {
			continue
		}
		var bound int64
		for _, a := range acks[in.token] {
			if a.ret < in.call {
				bound = max(bound, a.call+int64(lockTimeout))
			}
		}
		if out.ret < bound {
			lost++
			t.Errorf("lost lock: %s on %s refused (%d) at %v–%v, but its lock cannot expire before %v",
				in.kind, in.path, out.status, time.Duration(in.call), time.Duration(out.ret), time.Duration(bound))
		}
	}
}

// checkLinearizable runs porcupine on each path's history.
func checkLinearizable(t *testing.T, ops []porcupine.Operation, paths []string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range paths {
		var hist []porcupine.Operation
		for _, op := range ops {
			if op.Input.(opInput).path == p {
				hist = append(hist, op)
			}
		}
		wg.Go(func() {
			start := time.Now()
			res, info := porcupine.CheckOperationsVerbose(lockModel, hist, checkTimeout)
			switch res {
			case porcupine.Ok:
				t.Logf("%s: %d operations linearizable (checked in %v)", p, len(hist), time.Since(start).Round(time.Millisecond))
			case porcupine.Unknown:
				t.Errorf("%s: linearizability check of %d operations timed out after %v", p, len(hist), checkTimeout)
			default:
				t.Errorf("%s: %d operations NOT linearizable (checked in %v)\n%s", p, len(hist),
					time.Since(start).Round(time.Millisecond), excerpt(hist, info))
				if out := os.Getenv("LOCKDAV_ROBUST_OUT"); out != "" {
					f := filepath.Join(out, "robustness"+strings.ReplaceAll(p, "/", "-")+".html")
					if err := porcupine.VisualizePath(lockModel, info, f); err != nil {
						t.Errorf("visualization: %v", err)
					} else {
						t.Logf("%s: history written to %s", p, f)
					}
				}
			}
		})
	}
	wg.Wait()
}

// excerpt is the operations around where the longest linearization the checker found stops:
// the first operation (by call) it could not place, and those around it.
func excerpt(hist []porcupine.Operation, info porcupine.LinearizationInfo) string {
	placed := map[int]bool{}
	var longest []int
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	for _, id := range longest {
		placed[id] = true
	}
	order := make([]int, len(hist))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(hist[a].Call - hist[b].Call) })
	stuck := len(order) - 1
	for k, i := range order {
		if !placed[i] {
			stuck = k
			break
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the longest linearization places %d operations; the first left out is marked >>; "+
		"after it, refused LOCKs are left out of this excerpt\n", len(longest))
	shown := 0
	for k := max(0, stuck-30); k < len(order) && shown < 30; k++ {
		op := hist[order[k]]
		mark := "  "
		switch {
		case k == stuck:
			mark = ">>"
		case k > stuck && op.Input.(opInput).kind == opLock && op.Output.(opOutput).res == resRefused:
			continue
		case k > stuck:
			shown++
		}
		ret := fmt.Sprintf("%.3fs", time.Duration(op.Return).Seconds())
		if op.Output.(opOutput).res == resUnknown {
			ret = "end"
		}
		fmt.Fprintf(&b, "%s client %2d  %.3fs – %s  %s\n", mark, op.ClientId-1, time.Duration(op.Call).Seconds(), ret,
			describe(op.Input.(opInput), op.Output.(opOutput)))
	}
	return b.String()
}
