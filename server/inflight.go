package server

import (
	"sync/atomic"
	"time"
)

// handlerDrainTimeout bounds how long Shutdown waits, once it has closed the connections of the
// requests that outlived limits.shutdown_timeout, for their handlers to return. Closing a
// connection does not stop its handler: that goes on until its next read or write fails, then
// cleans up (an upload removes its temporary file), which takes moments. A handler still
// running after this has the stores closed under it.
const handlerDrainTimeout = 2 * time.Second

// inflight counts the requests inside the handler (middleware.wrap), so that Shutdown can wait
// for those it cut off. Two atomic adds per request: no lock on the request path.
type inflight struct {
	n       atomic.Int64
	waiting atomic.Bool
	idle    chan struct{} // buffered; signalled when n drops to 0 while wait is waiting
}

func newInflight() *inflight { return &inflight{idle: make(chan struct{}, 1)} }

// enter and leave do nothing on a nil inflight: a middleware built without one counts nothing.
func (f *inflight) enter() {
	if f != nil {
		f.n.Add(1)
	}
}

func (f *inflight) leave() {
	if f == nil {
		return
	}
	// Sequentially consistent atomics: either wait sees n at 0, or this sees waiting set.
	if f.n.Add(-1) == 0 && f.waiting.Load() {
		select {
		case f.idle <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// wait waits until no request is being handled, for at most d, and returns how many still are.
func (f *inflight) wait(d time.Duration) int64 {
	if f == nil {
		return 0
	}
	f.waiting.Store(true)
	defer f.waiting.Store(false)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		n := f.n.Load()
		if n <= 0 {
			return 0
		}
		select {
		case <-f.idle:
		case <-timer.C:
			return f.n.Load()
		}
	}
}
