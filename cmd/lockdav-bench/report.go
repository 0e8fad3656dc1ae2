package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// report is everything one run prints, and its JSON.
type report struct {
	Command     string        `json:"command"`
	Machine     machine       `json:"machine"`
	Settings    settings      `json:"settings"`
	Results     []*result     `json:"results"`
	Comparisons []*comparison `json:"comparisons"`
	// Failures are what makes the run exit non-zero: errors, lost updates, failed checks.
	Failures []string `json:"failures"`
	// Note says why a reference did not run (nginx not installed), or is "".
	Note string `json:"note,omitempty"`
}

// machine names where the run happened.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	GoVersion  string `json:"go_version"`
	CPUModel   string `json:"cpu_model,omitempty"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute load when the run started: other work on
	// the machine moves absolute figures (the alternation keeps ratios fairer).
	LoadAvg string `json:"load_avg_at_start,omitempty"`
}

// settings are the client settings of the run.
type settings struct {
	Clients     int     `json:"clients"`
	HighClients int     `json:"contended_high_clients"`
	DurationSec float64 `json:"duration_per_workload_per_server_sec"`
	RoundSec    float64 `json:"round_sec"`
	Members     []int   `json:"propfind_members"`
	ListClients int     `json:"propfind_clients"`
	LogFormat   string  `json:"lockdav_log_format"`
	LogLevel    string  `json:"lockdav_log_level"`
}

// comparison is one lockdav's throughput over one reference's for one workload, with its target.
type comparison struct {
	Workload string   `json:"workload"`
	Clients  int      `json:"clients"`
	Server   string   `json:"server"`           // lockdav, or lockdav-etcd
	Versus   string   `json:"versus"`           // the reference: x-net or nginx
	Ratio    *float64 `json:"ratio"`            // nil when the reference did no operation
	Target   float64  `json:"target,omitempty"` // 0: no target
	Met      *bool    `json:"met,omitempty"`
}

// targets is the least ratio lockdav/reference each kind of workload must reach, by reference
// (issue: make bench; listings against nginx, the rest against bare x/net). contended's 0.7 is
// the floor one sync per hand-over leaves on the benchmark's disk, at 16 and at 64 clients.
// They are the bolt lockdav's: lockdav in etcd mode has none, its figures are for comparing
// (each LOCK and UNLOCK is an etcd transaction, and each write first a sync barrier, each a
// round trip to the member and a commit it fsyncs, where x/net keeps its locks in memory).
var targets = map[string]map[string]float64{
	"lockcycle": {referenceName: 1.0},
	"contended": {referenceName: 0.7},
	"get":       {referenceName: 1.0},
	"put":       {referenceName: 1.0},
	"propfind":  {nginxName: 1.0},
	"propnamed": {nginxName: 1.0},
	"refresh":   {referenceName: 0.9},
}

// thisMachine describes the machine the run is on.
func thisMachine() machine {
	return machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS,
		Arch: runtime.GOARCH, GoVersion: runtime.Version(), CPUModel: cpuModel("/proc/cpuinfo"),
		LoadAvg: loadAvg("/proc/loadavg")}
}

// cpuModel returns the first "model name" in a /proc/cpuinfo file, or "" if there is none.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAvg returns the three load averages of a /proc/loadavg file, or "" if it is unreadable.
func loadAvg(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// compare adds the comparisons of a workload's results (lockdav's first, then lockdav's in
// etcd mode if it ran, then the references'): each lockdav's against each reference, and the
// failures they show.
func (rp *report) compare(kind string, results []*result) {
	for _, ld := range results {
		if !isLockdav(ld.Server) {
			continue
		}
		for _, ref := range results {
			if isLockdav(ref.Server) {
				continue
			}
			c := &comparison{Workload: ld.Workload, Clients: ld.Clients, Server: ld.Server, Versus: ref.Server}
			if ld.Server == lockdavName {
				c.Target = targets[kind][ref.Server]
			}
			if q := ratio(ld.OpsPerSec, ref.OpsPerSec); !math.IsNaN(q) {
				c.Ratio = &q
				if c.Target > 0 {
					met := q >= c.Target
					c.Met = &met
				}
			}
			rp.Comparisons = append(rp.Comparisons, c)
		}
	}
	for _, r := range results {
		rp.Results = append(rp.Results, r)
		rp.checkResult(r)
	}
}

// checkResult records r's errors and lost updates as failures.
func (rp *report) checkResult(r *result) {
	if r.Errors > 0 {
		rp.fail("%s/%d on %s: %d errors, the first: %s", r.Workload, r.Clients, r.Server, r.Errors, r.FirstError)
	}
	if r.Ops == 0 {
		rp.fail("%s/%d on %s: no operation completed", r.Workload, r.Clients, r.Server)
	}
	if r.Check != nil && r.Check.LostUpdates != 0 {
		rp.fail("%s/%d on %s: %d lost updates (%d locks granted, counter %d)", r.Workload,
			r.Clients, r.Server, r.Check.LostUpdates, r.Check.Locks, r.Check.Counter)
	}
}

// isLockdav says whether the server called name is one of the lockdavs under test.
func isLockdav(name string) bool { return name == lockdavName || name == etcdName }

func (rp *report) fail(format string, args ...any) {
	rp.Failures = append(rp.Failures, fmt.Sprintf(format, args...))
}

// print writes the machine, the table and the verdicts.
func (rp *report) print(out io.Writer) error {
	m := rp.Machine
	fmt.Fprintf(out, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s, CPU %q, load average %s at start\n",
		m.CPUs, m.GOMAXPROCS, m.OS, m.Arch, m.GoVersion, m.CPUModel, m.LoadAvg)
	s := rp.Settings
	fmt.Fprintf(out, "client: %d workers (contended also at %d; listings %d), %.3gs per workload per server in "+
		"alternating rounds of %.3gs; listings of %v members; lockdav log %s/%s to a file\n",
		s.Clients, s.HighClients, s.ListClients, s.DurationSec, s.RoundSec, s.Members, s.LogFormat, s.LogLevel)
	if rp.Note != "" {
		fmt.Fprintln(out, "note:", rp.Note)
	}
	fmt.Fprintln(out)
	if err := rp.printTable(out); err != nil {
		return err
	}
	fmt.Fprintln(out, "\ntargets:")
	for _, c := range rp.Comparisons {
		if line := c.verdict(); line != "" {
			fmt.Fprintln(out, "  "+line)
		}
	}
	for _, line := range rp.contendedVerdicts() {
		fmt.Fprintln(out, "  "+line)
	}
	if len(rp.Failures) == 0 {
		fmt.Fprintln(out, "\nno errors, no lost updates")
		return nil
	}
	fmt.Fprintln(out, "\nFAILED:")
	for _, f := range rp.Failures {
		fmt.Fprintln(out, "  "+f)
	}
	return nil
}

// printTable writes one row per result and, after each workload's rows, its ratios.
func (rp *report) printTable(out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tclients\tserver\tops/s\tp50\tp99\tcpu/op\terrors\trefused(423)\tlost updates\t")
	ci := 0
	for i, r := range rp.Results {
		retries, lost := "", ""
		if r.Check != nil {
			retries, lost = fmt.Sprint(r.Check.Retries), fmt.Sprint(r.Check.LostUpdates)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.2fms\t%.2fms\t%s\t%d\t%s\t%s\t\n", r.Workload, r.Clients,
			r.Server, r.OpsPerSec, r.P50Ms, r.P99Ms, cpuText(r.CPUPerOpUs), r.Errors, retries, lost)
		if i+1 < len(rp.Results) && rp.Results[i+1].Server == lockdavName || i+1 == len(rp.Results) {
			for ; ci < len(rp.Comparisons) && rp.Comparisons[ci].Workload == r.Workload &&
				rp.Comparisons[ci].Clients == r.Clients; ci++ {
				c := rp.Comparisons[ci]
				fmt.Fprintf(tw, "%s\t%d\t%s/%s\t%s\t\t\t\t\t\t\t\n", c.Workload, c.Clients, c.Server, c.Versus, c.ratioText())
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printSteps(out, rp.Results); err != nil {
		return err
	}
	for _, r := range rp.Results {
		if r.Workload == "contended-wait" {
			_, err := fmt.Fprintln(out, "\n"+waitNote)
			return err
		}
	}
	return nil
}

// printSteps writes the mean times of the contended rows' hand-over requests, if any ran.
func printSteps(out io.Writer, results []*result) error {
	var rows []*result
	for _, r := range results {
		if r.Workload == "contended" && r.Check != nil && r.Check.Steps != nil {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(out, "\ncontended, one hand-over's requests (mean; lock: the LOCK that was granted):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tserver\tlock\tget\tput\tunlock\t")
	for _, r := range rows {
		st := r.Check.Steps
		fmt.Fprintf(tw, "%d\t%s\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t\n", r.Clients, r.Server, st.Lock, st.Get, st.Put, st.Unlock)
	}
	return tw.Flush()
}

// cpuText is a CPU time per operation in µs, as µs or ms.
func cpuText(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2fms", us/1000)
	}
	return fmt.Sprintf("%.0fµs", us)
}

func (c *comparison) ratioText() string {
	if c.Ratio == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", *c.Ratio)
}

// verdict is one line saying whether c meets its target; "" when c has none.
func (c *comparison) verdict() string {
	switch {
	case c.Target == 0:
		return ""
	case c.Met == nil:
		return fmt.Sprintf("%-15s ≥ %.2fx %s: no reference figure", c.label(), c.Target, c.Versus)
	case *c.Met:
		return fmt.Sprintf("%-15s ≥ %.2fx %s: met (%s)", c.label(), c.Target, c.Versus, c.ratioText())
	default:
		return fmt.Sprintf("%-15s ≥ %.2fx %s: MISSED (%s)", c.label(), c.Target, c.Versus, c.ratioText())
	}
}

// contendedVerdicts are the lost-update targets, one line per contended run of each lockdav.
func (rp *report) contendedVerdicts() []string {
	var lines []string
	for _, r := range rp.Results {
		if r.Check == nil || !isLockdav(r.Server) {
			continue
		}
		state := "met"
		if r.Check.LostUpdates != 0 {
			state = "MISSED"
		}
		on := ""
		if r.Server != lockdavName {
			on = " on " + r.Server
		}
		lines = append(lines, fmt.Sprintf("%-15s lost updates 0 at %d clients%s: %s (%d locks, counter %d)",
			r.Workload, r.Clients, on, state, r.Check.Locks, r.Check.Counter))
	}
	return lines
}

// waitNote explains the contended-wait rows, whose two servers do not do the same thing.
const waitNote = "contended-wait: lockdav waits on the server (POST /.lockdav/locks with \"wait\"), first come\n" +
	"first served; x/net cannot wait, so the x-net row is its polling (LOCK, 423, back off, again).\n" +
	"ops/s are grants/s; refused(423) are polls that found the lock taken, or waits that ran out."

// label names c's workload in a verdict, with its clients where a workload runs at two counts.
func (c *comparison) label() string {
	if c.Workload == "contended" || c.Workload == "contended-wait" {
		return fmt.Sprintf("%s/%d", c.Workload, c.Clients)
	}
	return c.Workload
}

// writeJSON writes rp to path.
func (rp *report) writeJSON(path string) error {
	data, err := json.MarshalIndent(rp, "", "  ")
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	// Results hold nothing secret and are meant to be shared (BENCHMARKS.md quotes them).
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil { //nolint:gosec // readable on purpose, above
		return fmt.Errorf("json: %w", err)
	}
	return nil
}
