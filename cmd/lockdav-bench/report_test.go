package main

import (
	"math"
	"os"
	"strings"
	"testing"
)

func TestCompareVerdicts(t *testing.T) {
	tests := []struct {
		workload     string
		lockdav, ref float64
		wantMet      *bool
		wantRatio    float64
	}{
		{"lockcycle", 3700, 3700, ptr(true), 1},
		{"lockcycle", 3600, 3700, ptr(false), 3600.0 / 3700},
		{"get", 1000, 1000, ptr(true), 1},
		{"put", 899, 1000, ptr(false), 0.899},
		{"refresh", 900, 1000, ptr(true), 0.9},
		{"contended", 690, 1000, ptr(false), 0.69},
		{"propfind", 10, 1000, nil, 0.01}, // held to nginx, not to x/net
		{"other", 10, 1000, nil, 0.01},    // no target
	}
	for _, tt := range tests {
		rp := &report{}
		rp.compare(tt.workload, []*result{{Workload: tt.workload, Server: lockdavName, OpsPerSec: tt.lockdav, Ops: 1},
			{Workload: tt.workload, Server: referenceName, OpsPerSec: tt.ref, Ops: 1}})
		c := rp.Comparisons[0]
		if c.Ratio == nil || math.Abs(*c.Ratio-tt.wantRatio) > 1e-9 {
			t.Errorf("%s %v/%v: ratio %v, want %v", tt.workload, tt.lockdav, tt.ref, c.Ratio, tt.wantRatio)
		}
		if (c.Met == nil) != (tt.wantMet == nil) || (c.Met != nil && *c.Met != *tt.wantMet) {
			t.Errorf("%s %v/%v: met %v, want %v", tt.workload, tt.lockdav, tt.ref, deref(c.Met), deref(tt.wantMet))
		}
		if len(rp.Failures) != 0 {
			t.Errorf("%s: failures %q, want none: a missed ratio is reported, not a failure", tt.workload, rp.Failures)
		}
	}
}

// TestCompareNginx: a listing is held to nginx, with x/net's ratio reported beside it.
func TestCompareNginx(t *testing.T) {
	rp := &report{}
	rp.compare("propfind", []*result{{Workload: "propfind-2000", Server: lockdavName, OpsPerSec: 140, Ops: 1},
		{Workload: "propfind-2000", Server: referenceName, OpsPerSec: 30, Ops: 1},
		{Workload: "propfind-2000", Server: nginxName, OpsPerSec: 135, Ops: 1}})
	if len(rp.Comparisons) != 2 {
		t.Fatalf("%d comparisons, want 2", len(rp.Comparisons))
	}
	x, n := rp.Comparisons[0], rp.Comparisons[1]
	if x.Versus != referenceName || x.Met != nil || n.Versus != nginxName || n.Met == nil || !*n.Met {
		t.Errorf("comparisons %+v, %+v: want x-net without a target, nginx with one met", x, n)
	}
}

// TestCompareEtcd: lockdav in etcd mode is compared with x/net beside the bolt lockdav, without a
// target, and its lost updates fail the run and have their verdict like the bolt one's.
func TestCompareEtcd(t *testing.T) {
	rp := &report{}
	rp.compare("contended", []*result{
		{Workload: "contended", Clients: 16, Server: lockdavName, OpsPerSec: 800, Ops: 1, Check: &check{}},
		{Workload: "contended", Clients: 16, Server: etcdName, OpsPerSec: 200, Ops: 1, Check: &check{Locks: 3, Counter: 2, LostUpdates: 1}},
		{Workload: "contended", Clients: 16, Server: referenceName, OpsPerSec: 1000, Ops: 1, Check: &check{}}})
	if len(rp.Comparisons) != 2 {
		t.Fatalf("%d comparisons, want 2", len(rp.Comparisons))
	}
	b, e := rp.Comparisons[0], rp.Comparisons[1]
	if b.Server != lockdavName || b.Versus != referenceName || b.Met == nil || !*b.Met {
		t.Errorf("bolt comparison %+v: want lockdav/x-net with its target met", b)
	}
	if e.Server != etcdName || e.Versus != referenceName || e.Ratio == nil || *e.Ratio != 0.2 || e.Target != 0 || e.Met != nil {
		t.Errorf("etcd comparison %+v: want lockdav-etcd/x-net at 0.2 without a target", e)
	}
	if len(rp.Failures) != 1 {
		t.Errorf("failures %q, want the etcd lockdav's lost update", rp.Failures)
	}
	if v := rp.contendedVerdicts(); len(v) != 2 || !strings.Contains(v[1], "on lockdav-etcd: MISSED") {
		t.Errorf("verdicts %q, want the bolt one met and the etcd one missed", v)
	}
}

func TestCompareFailsOnErrorsAndLostUpdates(t *testing.T) {
	rp := &report{}
	rp.compare("contended", []*result{
		{Workload: "contended", Server: lockdavName, Ops: 10, Check: &check{Locks: 10, Counter: 9, LostUpdates: 1}},
		{Workload: "contended", Server: referenceName, Ops: 10, Errors: 2, FirstError: "boom", Check: &check{}}})
	if len(rp.Failures) != 2 {
		t.Errorf("failures %q, want one for the lost update and one for the errors", rp.Failures)
	}
}

func TestCPUModel(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/cpuinfo"
	text := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := cpuModel(path), "AMD EPYC 7B13"; got != want {
		t.Errorf("cpuModel = %q, want %q", got, want)
	}
	if got := cpuModel(dir + "/missing"); got != "" {
		t.Errorf("cpuModel of a missing file = %q, want \"\"", got)
	}
}

func TestLoadAvg(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/loadavg"
	if err := os.WriteFile(path, []byte("6.60 6.35 5.49 3/412 19561\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := loadAvg(path), "6.60 6.35 5.49"; got != want {
		t.Errorf("loadAvg = %q, want %q", got, want)
	}
	if got := loadAvg(dir + "/missing"); got != "" {
		t.Errorf("loadAvg of a missing file = %q, want \"\"", got)
	}
}

func ptr(b bool) *bool { return &b }

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
