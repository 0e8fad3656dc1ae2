package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// A workload is one kind of operation, run by a number of concurrent workers against each
// server in turn. Each worker uses its own paths except in contended.
type workload struct {
	name string // as printed: the kind, and for a listing its member count ("propfind-2000")
	kind string // one of workloadNames
	// members is the size of a listing's collection; 0 for the other kinds.
	members  int
	clients  int
	duration time.Duration // per server
	// rounds, if not 0, is how many alternating rounds each server gets, overriding -round:
	// for operations so long that a round of -round would last as long as its slowest one.
	rounds int
	// layout creates, directly on disk under a server's root and before any timing, the files
	// the workload needs.
	layout func(root string) error
	// start prepares a run against t (untimed) and returns what the workers call.
	start func(t *target) (runner, error)
	// nginx says whether nginx runs it too: the workloads the issue compares with nginx
	// (listings, GET and PUT), not those that need locks nginx's dav_ext lacks.
	nginx bool
	// etcd says whether lockdav in etcd mode runs it too: the lock workloads the issue names
	// (lockcycle and contended), where the lock table's store is what is measured.
	etcd bool
}

// runsOn says whether w runs on the target called name: lockdav and x/net run every workload.
func (w workload) runsOn(name string) bool {
	switch name {
	case nginxName:
		return w.nginx
	case etcdName:
		return w.etcd
	}
	return true
}

// runner runs one workload against one server.
type runner interface {
	// op performs one operation as worker w. An op that waited past deadline for its turn may
	// give up with errGaveUp: it counts neither as done nor as an error.
	op(w int, deadline time.Time) error
	// finish ends the run (untimed) and reports what it checks.
	finish() (check, error)
}

// check is what contended verifies: every successful LOCK added one to the counter.
type check struct {
	Locks       int64 `json:"locks"`
	Retries     int64 `json:"retries_on_423"`
	Counter     int64 `json:"counter"`
	LostUpdates int64 `json:"lost_updates"`
	// Steps are the mean times of a hand-over's requests, in ms: the LOCK that was granted
	// (not the refused ones before it), the GET, the PUT and the UNLOCK. One lock goes from
	// worker to worker, so these add up to most of the time between two grants.
	Steps *handover `json:"steps_ms,omitempty"`
}

// handover is check.Steps.
type handover struct {
	Lock   float64 `json:"lock"`
	Get    float64 `json:"get"`
	Put    float64 `json:"put"`
	Unlock float64 `json:"unlock"`
}

// stepTimes sums the durations of one kind of request across workers.
type stepTimes struct{ total, n atomic.Int64 }

func (s *stepTimes) add(since time.Time) {
	s.total.Add(int64(time.Since(since)))
	s.n.Add(1)
}

// meanMs is the mean duration in ms, 0 without any.
func (s *stepTimes) meanMs() float64 {
	if n := s.n.Load(); n > 0 {
		return float64(s.total.Load()) / float64(n) / float64(time.Millisecond)
	}
	return 0
}

// errGaveUp: the round ended while the op waited for a lock held by another worker.
var errGaveUp = errors.New("gave up waiting for the lock at the end of the round")

// workloadNames lists every workload, in the order they run.
var workloadNames = []string{"lockcycle", "contended", "contended-wait", "get", "put", "propfind", "propnamed", "refresh"}

// plan is what the flags ask for.
type plan struct {
	clients     int
	highClients int // contended runs again at this many clients
	duration    time.Duration
	members     []int // members of the listed collections: propfind and propnamed run on each
	// listClients is how many workers propfind and propnamed run with: the issue measured 4,
	// as a few mounted clients refreshing a folder view.
	listClients int
}

// workloads returns the named workloads, configured by p, in the order of workloadNames.
func workloads(names []string, p plan) ([]workload, error) {
	want := map[string]bool{}
	for _, n := range names {
		if !slices.Contains(workloadNames, n) {
			return nil, fmt.Errorf("unknown workload %q: want some of %v", n, workloadNames)
		}
		want[n] = true
	}
	var ws []workload
	for _, n := range workloadNames {
		if !want[n] {
			continue
		}
		switch n {
		case "lockcycle":
			ws = append(ws, lockcycle(p.clients, p.duration))
		case "contended":
			ws = append(ws, contended(p.clients, p.duration))
			if p.highClients > 0 && p.highClients != p.clients {
				ws = append(ws, contended(p.highClients, p.duration/2))
			}
		case "contended-wait":
			ws = append(ws, contendedWait(p.clients, p.duration))
			if p.highClients > 0 && p.highClients != p.clients {
				ws = append(ws, contendedWait(p.highClients, p.duration/2))
			}
		case "get":
			ws = append(ws, getFile(p.clients, p.duration))
		case "put":
			ws = append(ws, putFile(p.clients, p.duration))
		case "propfind", "propnamed":
			for _, m := range p.members {
				ws = append(ws, propfind(n, p.listClients, p.duration, m))
			}
		case "refresh":
			ws = append(ws, refresh(p.clients, p.duration))
		}
	}
	for i := range ws {
		if ws[i].kind == "" {
			ws[i].kind = ws[i].name
		}
	}
	return ws, nil
}

// workerPaths is dir/w<w><suffix>, built once per worker rather than per op.
func workerPaths(dir, suffix string, clients int) []string {
	ps := make([]string, clients)
	for w := range ps {
		ps[w] = dir + "/w" + strconv.Itoa(w) + suffix
	}
	return ps
}

// writeFiles creates dir under root and, in it, one file per name with body.
func writeFiles(root, dir string, names []string, body []byte) error {
	d := filepath.Join(root, filepath.FromSlash(dir))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(d, n), body, 0o600); err != nil {
			return fmt.Errorf("layout: %w", err)
		}
	}
	return nil
}

// workerNames is w0<suffix> … w<clients-1><suffix>.
func workerNames(suffix string, clients int) []string {
	ns := make([]string, clients)
	for w := range ns {
		ns[w] = "w" + strconv.Itoa(w) + suffix
	}
	return ns
}

// --- lockcycle: LOCK an unmapped URL, PUT with the token, UNLOCK -------------------------

type lockcycleRun struct {
	t    *target
	dirs []string
	seq  []paddedInt
}

// paddedInt keeps each worker's counter on its own cache line.
type paddedInt struct {
	n int64
	_ [56]byte
}

func lockcycle(clients int, d time.Duration) workload {
	dir := fmt.Sprintf("/lockcycle-%d", clients)
	return workload{name: "lockcycle", clients: clients, duration: d, etcd: true,
		layout: func(root string) error {
			for _, p := range workerPaths(dir, "", clients) {
				if err := writeFiles(root, p, nil, nil); err != nil {
					return err
				}
			}
			return nil
		},
		start: func(t *target) (runner, error) {
			return &lockcycleRun{t: t, dirs: workerPaths(dir, "/", clients),
				seq: make([]paddedInt, clients)}, nil
		},
	}
}

func (r *lockcycleRun) op(w int, _ time.Time) error {
	r.seq[w].n++
	path := r.dirs[w] + strconv.FormatInt(r.seq[w].n, 10)
	tok, resp, err := r.t.lock(path)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("LOCK %s: status %d, want 201 for an unmapped URL", path, resp.StatusCode)
	}
	if err := r.t.put(path, payload, tok); err != nil {
		return errors.Join(err, r.t.unlock(path, tok))
	}
	return r.t.unlock(path, tok)
}

func (r *lockcycleRun) finish() (check, error) { return check{}, nil }

// --- contended: every worker locks one counter file, reads it, writes it + 1, unlocks ------

type contendedRun struct {
	t       *target
	path    string
	locks   atomic.Int64
	retries atomic.Int64 // 423 answers: polling's retries, waiting's waits that ran out
	bufs    []bytes.Buffer
	wait    bool // acquire by waiting on the server rather than by polling
	// lock, get, put and unlock time a hand-over's requests (check.Steps).
	lock, get, put, unlock stepTimes
}

// Backoff after a 423, doubled on each retry up to the maximum, with jitter.
const (
	minBackoff = 50 * time.Microsecond
	maxBackoff = 2 * time.Millisecond
)

func contended(clients int, d time.Duration) workload {
	file := fmt.Sprintf("counter-%d", clients)
	return workload{name: "contended", clients: clients, duration: d, etcd: true,
		layout: func(root string) error {
			return writeFiles(root, "/contended", []string{file}, []byte("0"))
		},
		start: func(t *target) (runner, error) {
			return &contendedRun{t: t, path: "/contended/" + file,
				bufs: make([]bytes.Buffer, clients)}, nil
		},
	}
}

// --- contended-wait: contended, each worker waiting in line on the server for the lock --------
//
// lockdav's POST /.lockdav/locks with "wait" holds the request until the lock is granted, first
// come first served, so a worker asks once per grant instead of retrying after each 423. The
// reference (x/net's handler) cannot wait: against it the workload is contended's polling, the
// best it offers, so the comparison is waiting against polling on the same counter. Refused
// requests (the retries column) are then 423s: each poll that found the lock taken on the
// reference; on lockdav only waits that ran out at the end of a round.

func contendedWait(clients int, d time.Duration) workload {
	w := contended(clients, d)
	w.name = "contended-wait"
	w.etcd = false
	file := fmt.Sprintf("counter-wait-%d", clients)
	w.layout = func(root string) error {
		return writeFiles(root, "/contended", []string{file}, []byte("0"))
	}
	w.start = func(t *target) (runner, error) {
		return &contendedRun{t: t, path: "/contended/" + file, bufs: make([]bytes.Buffer, clients),
			wait: t.name == lockdavName}, nil
	}
	return w
}

func (r *contendedRun) op(w int, deadline time.Time) error {
	acquire := r.acquire
	if r.wait {
		acquire = func(deadline time.Time) (string, error) { return r.acquireWaiting(w, deadline) }
	}
	tok, err := acquire(deadline)
	if err != nil {
		return err
	}
	r.locks.Add(1)
	t0 := time.Now()
	n, err := r.read(w)
	if err != nil {
		return errors.Join(err, r.t.unlock(r.path, tok))
	}
	r.get.add(t0)
	t0 = time.Now()
	if err := r.t.put(r.path, strconv.AppendInt(nil, n+1, 10), tok); err != nil {
		return errors.Join(err, r.t.unlock(r.path, tok))
	}
	r.put.add(t0)
	t0 = time.Now()
	err = r.t.unlock(r.path, tok)
	r.unlock.add(t0)
	return err
}

// acquire locks the counter, retrying after 423 Locked until deadline.
func (r *contendedRun) acquire(deadline time.Time) (string, error) {
	backoff := minBackoff
	for {
		t0 := time.Now()
		tok, resp, err := r.t.lock(r.path)
		if err == nil {
			r.lock.add(t0)
			return tok, nil
		}
		if resp == nil || resp.StatusCode != http.StatusLocked {
			return "", err
		}
		if time.Now().After(deadline) {
			return "", errGaveUp
		}
		r.retries.Add(1)
		// Jitter only spreads the retries; nothing depends on its being unpredictable.
		time.Sleep(backoff/2 + rand.N(backoff/2+1)) //nolint:gosec // not a secret, above
		backoff = min(2*backoff, maxBackoff)
	}
}

// acquireWaiting locks the counter through the lock API, waiting on the server until the
// round's deadline; it returns the token as a Coded-URL, as LOCK's Lock-Token header has it.
func (r *contendedRun) acquireWaiting(w int, deadline time.Time) (string, error) {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return "", errGaveUp
		}
		body := fmt.Appendf(nil, `{"path": %q, "depth": "0", "timeout_seconds": 600, "wait": %q}`, r.path, left.String())
		r.bufs[w].Reset()
		t0 := time.Now()
		resp, err := r.t.call("POST", locksAPI, body, &r.bufs[w], okAPILock, "Content-Type", "application/json")
		if err == nil {
			r.lock.add(t0) // the wait included: a waiting LOCK's time is mostly its turn
			return tokenOf(&r.bufs[w])
		}
		if resp == nil || resp.StatusCode != http.StatusLocked {
			return "", err
		}
		r.retries.Add(1)
	}
}

// tokenOf reads the token of a lock document as a Coded-URL.
func tokenOf(doc *bytes.Buffer) (string, error) {
	var l struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(doc.Bytes(), &l); err != nil || l.Token == "" {
		return "", fmt.Errorf("POST %s: no token in %q", locksAPI, doc.String())
	}
	return "<" + l.Token + ">", nil
}

// read returns the counter's value.
func (r *contendedRun) read(w int) (int64, error) {
	if _, err := r.t.call("GET", r.path, nil, &r.bufs[w], okGet); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(r.bufs[w].String(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GET %s: counter %q: %w", r.path, r.bufs[w].String(), err)
	}
	return n, nil
}

func (r *contendedRun) finish() (check, error) {
	n, err := r.read(0)
	if err != nil {
		return check{}, err
	}
	locks := r.locks.Load()
	steps := &handover{Lock: r.lock.meanMs(), Get: r.get.meanMs(), Put: r.put.meanMs(), Unlock: r.unlock.meanMs()}
	return check{Locks: locks, Retries: r.retries.Load(), Counter: n, LostUpdates: locks - n, Steps: steps}, nil
}

// --- get and put: 4 KiB, each worker its own file ------------------------------------------

type fileRun struct {
	t     *target
	paths []string
	get   bool
}

func getFile(clients int, d time.Duration) workload { return fileWorkload("get", clients, d) }
func putFile(clients int, d time.Duration) workload { return fileWorkload("put", clients, d) }

func fileWorkload(name string, clients int, d time.Duration) workload {
	dir := fmt.Sprintf("/%s-%d", name, clients)
	return workload{name: name, clients: clients, duration: d, nginx: true,
		layout: func(root string) error {
			return writeFiles(root, dir, workerNames(".bin", clients), payload)
		},
		start: func(t *target) (runner, error) {
			return &fileRun{t: t, paths: workerPaths(dir, ".bin", clients), get: name == "get"}, nil
		},
	}
}

func (r *fileRun) op(w int, _ time.Time) error {
	if r.get {
		_, err := r.t.call("GET", r.paths[w], nil, nil, okGet)
		return err
	}
	return r.t.put(r.paths[w], payload, "")
}

func (r *fileRun) finish() (check, error) { return check{}, nil }

// --- propfind and propnamed: Depth 1 on one collection of many members ----------------------

// namedBody asks for what Finder and Explorer ask of every member of a folder they show.
var namedBody = []byte(`<?xml version="1.0" encoding="utf-8"?>` +
	`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/>` +
	`<D:getlastmodified/><D:creationdate/><D:getetag/><D:lockdiscovery/></D:prop></D:propfind>`)

type propfindRun struct {
	t    *target
	path string
	body []byte
}

// The collection is read-only and shared by all workers: a copy per worker would put
// members×clients files on disk for no difference in what the server does. A listing of 10,000
// members takes long enough that a round of -round measures little more than the first ones in
// flight: each server gets two rounds of half the duration, in alternation, and a round lasts
// until the operations in flight at its end have finished. (One round of a quarter of the
// duration, 1.5 s of 3-4 s operations, measured little more than the first 16 in flight, and one
// round each, whole, still left the order of the servers in the figure: one build gave
// 0.84x-1.10x.) propfind asks allprop, propnamed the properties of namedBody.
func propfind(kind string, clients int, d time.Duration, members int) workload {
	dir := fmt.Sprintf("/propfind-%d", members)
	body := allpropBody
	if kind == "propnamed" {
		body = namedBody
	}
	return workload{name: fmt.Sprintf("%s-%d", kind, members), kind: kind, members: members,
		clients: clients, duration: max(d, time.Millisecond), rounds: 2, nginx: true,
		layout: func(root string) error {
			if _, err := os.Stat(filepath.Join(root, dir)); err == nil {
				return nil // laid out for the other kind already
			}
			names := make([]string, members)
			for i := range names {
				names[i] = fmt.Sprintf("m%06d.txt", i)
			}
			return writeFiles(root, dir, names, []byte("m"))
		},
		start: func(t *target) (runner, error) {
			r := &propfindRun{t: t, path: dir + "/", body: body}
			return r, r.verify(members)
		},
	}
}

// verify checks, once and untimed, that the listing names the collection and every member.
func (r *propfindRun) verify(members int) error {
	var body bytes.Buffer
	if _, err := r.t.call("PROPFIND", r.path, r.body, &body, okMulti, "Depth", "1",
		"Content-Type", "application/xml; charset=utf-8"); err != nil {
		return err
	}
	got := bytes.Count(body.Bytes(), []byte(":response>")) / 2
	if got != members+1 {
		return fmt.Errorf("PROPFIND %s: %d responses, want %d", r.path, got, members+1)
	}
	return nil
}

func (r *propfindRun) op(int, time.Time) error {
	_, err := r.t.call("PROPFIND", r.path, r.body, nil, okMulti, "Depth", "1",
		"Content-Type", "application/xml; charset=utf-8")
	return err
}

func (r *propfindRun) finish() (check, error) { return check{}, nil }

// --- refresh: each worker holds one lock and refreshes it -----------------------------------

type refreshRun struct {
	t     *target
	paths []string
	ifs   []string // "(<token>)" per worker
	toks  []string
}

func refresh(clients int, d time.Duration) workload {
	dir := fmt.Sprintf("/refresh-%d", clients)
	return workload{name: "refresh", clients: clients, duration: d,
		layout: func(root string) error {
			return writeFiles(root, dir, workerNames("", clients), nil)
		},
		start: func(t *target) (runner, error) {
			r := &refreshRun{t: t, paths: workerPaths(dir, "", clients),
				ifs: make([]string, clients), toks: make([]string, clients)}
			for w, p := range r.paths {
				tok, _, err := t.lock(p)
				if err != nil {
					return nil, errors.Join(err, r.release())
				}
				r.toks[w], r.ifs[w] = tok, "("+tok+")"
			}
			return r, nil
		},
	}
}

func (r *refreshRun) op(w int, _ time.Time) error {
	_, err := r.t.call("LOCK", r.paths[w], nil, nil, okRefresh, "If", r.ifs[w], "Timeout", lockTimeout)
	return err
}

func (r *refreshRun) finish() (check, error) { return check{}, r.release() }

// release unlocks every lock taken.
func (r *refreshRun) release() error {
	var errs []error
	for w, tok := range r.toks {
		if tok != "" {
			errs = append(errs, r.t.unlock(r.paths[w], tok))
		}
	}
	return errors.Join(errs...)
}
