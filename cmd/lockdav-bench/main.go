// Command lockdav-bench drives lockdav, a bare x/net/webdav reference and, where they are
// installed, nginx with dav_ext and lockdav in etcd mode (etcd.go) side by side on loopback and
// prints throughput and latency per workload (make bench).
//
// lockdav and x/net run in this process, each on its own 127.0.0.1 port over its own temporary
// root: lockdav as users run it (default configuration, durable lock documents, logging to a
// file in the temporary directory), and webdav.Handler with webdav.Dir and webdav.NewMemLS.
// nginx runs as its own process over its own root (nginx.go), for the listings, GET and PUT.
// Every workload runs against them in alternating rounds with the same client settings.
//
// With -cpuprofile the whole process is profiled; server and client goroutines carry pprof
// labels, so `go tool pprof -tagfocus 'server=^lockdav$'` shows lockdav alone (the value is a
// regular expression: unanchored, lockdav would match lockdav-etcd too).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockdav/lockdav/config"
)

// options are the command-line flags.
type options struct {
	plan
	round        time.Duration
	workloads    []string
	jsonPath     string
	cpuProfile   string
	mutexProfile string
	keep         bool
	progress     io.Writer // one line per workload as it starts
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lockdav-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o.progress = os.Stderr
	rp, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lockdav-bench:", err)
		os.Exit(1)
	}
	if len(rp.Failures) > 0 {
		os.Exit(1)
	}
}

// parseFlags reads the flags; the defaults are what make bench runs, under two minutes and a
// half on two busy cores.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("lockdav-bench", flag.ContinueOnError)
	fs.IntVar(&o.clients, "clients", 16, "concurrent workers")
	fs.IntVar(&o.highClients, "contended-clients", 64,
		"contended and contended-wait also run at this many workers, for half the duration (0: not)")
	fs.DurationVar(&o.duration, "duration", 6*time.Second,
		"time per workload per server (contended at -contended-clients: half; propfind: two rounds of half of it)")
	fs.DurationVar(&o.round, "round", 2*time.Second, "length of one round before switching server")
	members := fs.String("members", "2000,10000", "comma-separated member counts of the listed collections")
	fs.IntVar(&o.listClients, "list-clients", 4, "workers of propfind and propnamed")
	list := fs.String("workloads", strings.Join(workloadNames, ","), "comma-separated workloads to run")
	fs.StringVar(&o.jsonPath, "json", "bench-results.json", "write the results as JSON to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&o.mutexProfile, "mutexprofile", "", "write a mutex contention profile of the whole run to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary roots, state and lockdav log")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.workloads = strings.Split(*list, ",")
	for _, m := range strings.Split(*members, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(m))
		if err != nil {
			return options{}, fmt.Errorf("-members %q: %w", *members, err)
		}
		o.members = append(o.members, n)
	}
	return o, o.validate()
}

func (o options) validate() error {
	var errs []error
	if o.clients < 1 || o.listClients < 1 {
		errs = append(errs, fmt.Errorf("-clients %d, -list-clients %d: want at least 1", o.clients, o.listClients))
	}
	if o.highClients < 0 {
		errs = append(errs, fmt.Errorf("-contended-clients %d: want 0 or more", o.highClients))
	}
	if o.duration <= 0 || o.round <= 0 {
		errs = append(errs, fmt.Errorf("-duration %v, -round %v: want both positive", o.duration, o.round))
	}
	for _, m := range o.members {
		if m < 0 {
			errs = append(errs, fmt.Errorf("-members %d: want 0 or more", m))
		}
	}
	if o.jsonPath == "" {
		errs = append(errs, errors.New("-json: want a file name"))
	}
	if _, err := workloads(o.workloads, o.plan); err != nil {
		errs = append(errs, fmt.Errorf("-workloads: %w", err))
	}
	return errors.Join(errs...)
}

// run sets both servers up, measures every workload, prints the report to out and writes its
// JSON. The returned error is for a run that could not be made; a run with errors or lost
// updates returns a report with Failures.
func run(ctx context.Context, o options, out io.Writer) (rp *report, err error) {
	ws, err := workloads(o.workloads, o.plan)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lockdav-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(out, "kept", dir)
			return
		}
		err = errors.Join(err, os.RemoveAll(dir))
	}()
	ts, note, err := startTargets(dir, ws, o.clients)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stopTargets(ts)) }()
	rp, err = measureAll(ctx, o, ws, ts)
	if rp != nil {
		rp.Note = note
	}
	if err != nil {
		return nil, err
	}
	if err := rp.print(out); err != nil {
		return nil, err
	}
	if err := rp.writeJSON(o.jsonPath); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "\nresults written to", o.jsonPath)
	return rp, nil
}

// startTargets lays the workloads' files out under dir/<server>/root, then starts lockdav,
// lockdav in etcd mode if etcd is installed and some workload runs on it, the x/net reference
// and, if it is installed and some workload runs on it, nginx. note says why etcd or nginx is
// not among them.
func startTargets(dir string, ws []workload, clients int) (ts []*target, note string, err error) {
	names := []string{lockdavName}
	etcd, etcdNote := findEtcd()
	if etcd != "" && slices.ContainsFunc(ws, func(w workload) bool { return w.etcd }) {
		names = append(names, etcdName)
	}
	names = append(names, referenceName)
	ng, nginxNote := findNginx()
	if ng != nil && slices.ContainsFunc(ws, func(w workload) bool { return w.nginx }) {
		names = append(names, nginxName)
	}
	for _, name := range names {
		for _, w := range ws {
			if !w.runsOn(name) {
				continue
			}
			if err := w.layout(filepath.Join(dir, name, "root")); err != nil {
				return nil, "", fmt.Errorf("%s on %s: %w", w.name, name, err)
			}
		}
	}
	most := clients
	for _, w := range ws {
		most = max(most, w.clients)
	}
	for _, name := range names {
		t, err := startTarget(name, dir, most, etcd, ng)
		if err != nil {
			return nil, "", errors.Join(err, stopTargets(ts))
		}
		ts = append(ts, t)
	}
	return ts, strings.Join(slices.DeleteFunc([]string{etcdNote, nginxNote}, func(n string) bool { return n == "" }), "; "), nil
}

// startTarget starts the server called name over dir/name.
func startTarget(name, dir string, clients int, etcd string, ng *nginxSetup) (*target, error) {
	switch name {
	case lockdavName:
		return startLockdav(lockdavName, lockdavConfig(filepath.Join(dir, lockdavName), clients),
			filepath.Join(dir, "lockdav.log"), clients)
	case etcdName:
		return startLockdavEtcd(etcd, filepath.Join(dir, etcdName), clients)
	case referenceName:
		return startReference(filepath.Join(dir, referenceName), clients)
	default:
		return startNginx(ng, dir, filepath.Join(dir, nginxName), clients)
	}
}

// targetsOf returns the targets w runs on: lockdav first, then lockdav in etcd mode, then the
// references.
func targetsOf(w workload, ts []*target) []*target {
	var out []*target
	for _, t := range ts {
		if w.runsOn(t.name) {
			out = append(out, t)
		}
	}
	return out
}

func stopTargets(ts []*target) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, t := range ts {
		t.http.CloseIdleConnections()
		if err := t.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", t.name, err))
		}
	}
	return errors.Join(errs...)
}

// measureAll runs every workload against both targets, under the profiles asked for.
func measureAll(ctx context.Context, o options, ws []workload, ts []*target) (rp *report, err error) {
	rp = &report{Command: strings.Join(os.Args, " "), Machine: thisMachine(), Failures: []string{},
		Settings: o.settings()}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.mutexProfile != "" {
		prev := runtime.SetMutexProfileFraction(1)
		defer func() {
			err = errors.Join(err, writeProfile("mutex", o.mutexProfile))
			runtime.SetMutexProfileFraction(prev)
		}()
	}
	for _, w := range ws {
		if o.progress != nil {
			fmt.Fprintf(o.progress, "%s at %d clients, %v per server\n", w.name, w.clients, w.duration)
		}
		results, err := measure(ctx, w, targetsOf(w, ts), o.round)
		if results == nil {
			return nil, err
		}
		rp.compare(w.kind, results)
		if err != nil {
			rp.fail("%v", err)
		}
	}
	if err := ctx.Err(); err != nil {
		rp.fail("interrupted: %v", err)
	}
	return rp, nil
}

// settings are the report's record of o.
func (o options) settings() settings {
	def := config.Default().Log
	return settings{Clients: o.clients, HighClients: o.highClients, DurationSec: o.duration.Seconds(),
		RoundSec: o.round.Seconds(), Members: o.members, ListClients: o.listClients,
		LogFormat: def.Format, LogLevel: def.Level}
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path) //nolint:gosec // path is the -cpuprofile/-mutexprofile flag of whoever runs the benchmark
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	return nil
}
