package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/webdav"
)

// TestSmoke runs every workload briefly against both servers: no errors, no lost updates,
// every workload does some work on each server, and the JSON says the same as the table.
func TestSmoke(t *testing.T) {
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	o := options{
		plan:      plan{clients: 2, highClients: 4, duration: 200 * time.Millisecond, members: []int{50}, listClients: 2},
		round:     100 * time.Millisecond,
		workloads: workloadNames,
		jsonPath:  jsonPath,
	}
	var out bytes.Buffer
	rp, err := run(context.Background(), o, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(rp.Failures) > 0 {
		t.Errorf("failures %q, want none\n%s", rp.Failures, out.String())
	}
	nginx, etcd := 0, 0
	if ng, _ := findNginx(); ng != nil {
		nginx = 1
	}
	if bin, _ := findEtcd(); bin != "" {
		etcd = 1
	}
	// Each workload on lockdav and x/net, contended and contended-wait twice; get, put and the
	// two listings on nginx; lockcycle and contended twice on lockdav in etcd mode.
	if got, want := len(rp.Results), 2*(len(workloadNames)+2)+4*nginx+3*etcd; got != want {
		t.Errorf("%d results, want %d", got, want)
	}
	for _, r := range rp.Results {
		if r.Ops == 0 || r.Errors != 0 || r.OpsPerSec <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms {
			t.Errorf("%s/%d on %s: ops %d, errors %d, %v ops/s, p50 %vms, p99 %vms; want work, no errors, p99 ≥ p50 > 0",
				r.Workload, r.Clients, r.Server, r.Ops, r.Errors, r.OpsPerSec, r.P50Ms, r.P99Ms)
		}
		if (r.Workload == "contended" || r.Workload == "contended-wait") != (r.Check != nil) {
			t.Errorf("%s on %s: check %v, want one for contended and contended-wait only", r.Workload, r.Server, r.Check)
		}
		if r.Check != nil && (r.Check.LostUpdates != 0 || r.Check.Locks == 0 || r.Check.Counter != r.Check.Locks) {
			t.Errorf("%s/%d on %s: %+v, want the counter to equal the locks granted", r.Workload, r.Clients, r.Server, *r.Check)
		}
	}
	wants := []string{"machine:", "lockdav/x-net", "lockcycle       ≥ 1.00x x-net", "no errors, no lost updates",
		"contended-wait: lockdav waits on the server"}
	if etcd == 1 {
		wants = append(wants, "lockdav-etcd/x-net", " on lockdav-etcd: met")
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var back report
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("json: %v", err)
	}
	if len(back.Results) != len(rp.Results) || len(back.Comparisons) != len(rp.Comparisons) || back.Machine.CPUs < 1 {
		t.Errorf("json holds %d results, %d comparisons, %d CPUs; want %d, %d, ≥1",
			len(back.Results), len(back.Comparisons), back.Machine.CPUs, len(rp.Results), len(rp.Comparisons))
	}
}

// TestContendedDetectsLostUpdates drives contended against a server that grants locks but drops
// every write: each lock granted is a lost update, and the check must say so.
func TestContendedDetectsLostUpdates(t *testing.T) {
	root := t.TempDir()
	w := contended(2, 0)
	if err := w.layout(root); err != nil {
		t.Fatal(err)
	}
	dav := &webdav.Handler{FileSystem: webdav.Dir(root), LockSystem: webdav.NewMemLS()}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		dav.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	tg := &target{name: "dropper", base: srv.URL, http: srv.Client()}
	r, err := w.start(tg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for range 3 {
		if err := r.op(0, deadline); err != nil {
			t.Fatalf("op: %v", err)
		}
	}
	got, err := r.finish()
	if err != nil {
		t.Fatal(err)
	}
	steps := got.Steps
	got.Steps = nil
	if want := (check{Locks: 3, Counter: 0, LostUpdates: 3}); got != want {
		t.Errorf("check = %+v, want %+v", got, want)
	}
	// Every request of the three hand-overs was timed.
	if steps == nil || steps.Lock <= 0 || steps.Get <= 0 || steps.Put <= 0 || steps.Unlock <= 0 {
		t.Errorf("steps = %+v, want a positive mean for each request", steps)
	}
}

// TestContendedRetriesOn423 holds the counter's lock from outside: an op waits, counts its
// retries, and gives up at the deadline without counting an error.
func TestContendedRetriesOn423(t *testing.T) {
	root := t.TempDir()
	w := contended(1, 0)
	if err := w.layout(root); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&webdav.Handler{FileSystem: webdav.Dir(root), LockSystem: webdav.NewMemLS()})
	defer srv.Close()
	tg := &target{name: "reference", base: srv.URL, http: srv.Client()}
	r, err := w.start(tg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tg.lock(r.(*contendedRun).path); err != nil {
		t.Fatal(err)
	}
	err = r.op(0, time.Now().Add(20*time.Millisecond))
	if err != errGaveUp {
		t.Errorf("op on a held lock = %v, want errGaveUp", err)
	}
	got, err := r.finish()
	if err != nil {
		t.Fatal(err)
	}
	if got.Retries == 0 || got.Locks != 0 || got.LostUpdates != 0 {
		t.Errorf("check = %+v, want retries > 0 and no lock granted", got)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"some workloads", []string{"-workloads", "get,put", "-clients", "4"}, ""},
		{"unknown workload", []string{"-workloads", "get,teleport"}, `unknown workload "teleport"`},
		{"no clients", []string{"-clients", "0"}, "-clients 0"},
		{"negative duration", []string{"-duration", "-1s"}, "-duration -1s"},
		{"stray argument", []string{"now"}, "unexpected arguments"},
		{"no json file", []string{"-json", ""}, "-json"},
		{"member counts", []string{"-members", "10,20"}, ""},
		{"bad member count", []string{"-members", "10,x"}, "-members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseFlags(%q) = %v, want no error", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestDefaultsRunEverything(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workloads(o.workloads, o.plan)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.name)
	}
	want := "lockcycle contended contended contended-wait contended-wait get put propfind-2000 propfind-10000 propnamed-2000 propnamed-10000 refresh"
	if got := strings.Join(names, " "); got != want || o.clients != 16 || o.highClients != 64 || o.listClients != 4 {
		t.Errorf("defaults run %q at %d clients (contended also %d, listings %d); want %q at 16 (64, 4)",
			got, o.clients, o.highClients, o.listClients, want)
	}
}
