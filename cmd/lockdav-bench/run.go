package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync"
	"time"
)

// result is one workload's figures on one server.
type result struct {
	Workload  string  `json:"workload"`
	Server    string  `json:"server"`
	Clients   int     `json:"clients"`
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	// CPUPerOpUs is the CPU the machine spent per operation in this server's rounds: the
	// benchmark process (clients, and lockdav or x/net) plus the server's own processes (cpu.go).
	CPUPerOpUs float64 `json:"cpu_per_op_us"`
	FirstError string  `json:"first_error,omitempty"`
	Check      *check  `json:"check,omitempty"`

	hist    hist
	elapsed time.Duration
	cpu     time.Duration
}

// tally is what one worker saw in one round.
type tally struct {
	hist     hist
	ops      int64
	errors   int64
	firstErr error
}

// measure runs w against both targets in alternation, round after round, until each has had
// w.duration, and returns one result per target in the order of targets.
func measure(ctx context.Context, w workload, targets []*target, round time.Duration) ([]*result, error) {
	runners := make([]runner, len(targets))
	results := make([]*result, len(targets))
	for i, t := range targets {
		r, err := w.start(t)
		if err != nil {
			return nil, fmt.Errorf("%s on %s: start: %w", w.name, t.name, err)
		}
		runners[i] = r
		results[i] = &result{Workload: w.name, Server: t.name, Clients: w.clients}
	}
	tallies := make([]tally, w.clients)
	if w.rounds > 0 {
		round = w.duration / time.Duration(w.rounds)
	}
	for left := w.duration; left > 0 && ctx.Err() == nil; left -= round {
		for i, t := range targets {
			// Each round on new connections: nginx's kernel spreads them over its workers anew
			// (reuseport), so no round's figure is that of one worker holding every connection.
			t.http.CloseIdleConnections()
			cpu := selfCPU() + treeCPU(t.pid)
			elapsed := runRound(ctx, runners[i], t.name, tallies, min(round, left))
			results[i].cpu += selfCPU() + treeCPU(t.pid) - cpu
			results[i].add(tallies, elapsed)
		}
	}
	var errs []error
	for i, r := range runners {
		c, err := r.finish()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s on %s: finish: %w", w.name, targets[i].name, err))
		}
		if w.name == "contended" || w.name == "contended-wait" {
			results[i].Check = &c
		}
		results[i].summarize()
	}
	return results, errors.Join(errs...)
}

// runRound runs len(tallies) workers for d and returns how long they took, from the start
// until the last operation in flight at d has ended. Worker goroutines carry the pprof label
// client=<server name>.
func runRound(ctx context.Context, r runner, server string, tallies []tally, d time.Duration) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	labels := pprof.Labels("client", server)
	for w := range tallies {
		tallies[w] = tally{}
		wg.Go(func() {
			pprof.Do(ctx, labels, func(ctx context.Context) { work(ctx, r, w, deadline, &tallies[w]) })
		})
	}
	wg.Wait()
	return time.Since(start)
}

// work is one worker's loop: operations back to back until the deadline.
func work(ctx context.Context, r runner, w int, deadline time.Time, t *tally) {
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(deadline) {
			return
		}
		err := r.op(w, deadline)
		switch {
		case err == nil:
			t.hist.record(time.Since(t0))
			t.ops++
		case errors.Is(err, errGaveUp):
		default:
			t.errors++
			if t.firstErr == nil {
				t.firstErr = err
			}
		}
	}
}

// add folds one round's tallies into r.
func (r *result) add(tallies []tally, elapsed time.Duration) {
	r.elapsed += elapsed
	for i := range tallies {
		t := &tallies[i]
		r.hist.merge(&t.hist)
		r.Ops += t.ops
		r.Errors += t.errors
		if r.FirstError == "" && t.firstErr != nil {
			r.FirstError = t.firstErr.Error()
		}
	}
}

// summarize fills the exported figures from the histogram and the elapsed time.
func (r *result) summarize() {
	r.Seconds = r.elapsed.Seconds()
	r.OpsPerSec = perSecond(r.Ops, r.elapsed)
	r.P50Ms = ms(r.hist.quantile(0.50))
	r.P99Ms = ms(r.hist.quantile(0.99))
	if r.Ops > 0 {
		r.CPUPerOpUs = float64(r.cpu.Microseconds()) / float64(r.Ops)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
