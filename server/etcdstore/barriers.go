package etcdstore

import "sync"

// barriers lets concurrent Syncs share barrier writes. A barrier serves every call that joined
// it before it was written; a call that arrives while one is being written joins the next, which
// is written as soon as the current one returns. So each call still waits for a write made after
// it began, and under load the writes are one per round trip, not one per request.
type barriers struct {
	mu      sync.Mutex
	next    *barrier // the barrier calls join; written when running is false
	running bool     // a barrier is being written
}

// barrier is one barrier write: done is closed once rev or err is set.
type barrier struct {
	done chan struct{}
	rev  int64
	err  error
}

// join returns the barrier the caller waits for, and starts writing it with write unless a write
// is running (which writes it next).
func (bs *barriers) join(write func() (int64, error)) *barrier {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.next == nil {
		bs.next = &barrier{done: make(chan struct{})}
	}
	b := bs.next
	if !bs.running {
		bs.running = true
		bs.next = nil
		go bs.run(b, write)
	}
	return b
}

// run writes b, then every barrier joined meanwhile, one at a time.
func (bs *barriers) run(b *barrier, write func() (int64, error)) {
	for b != nil {
		b.rev, b.err = write()
		close(b.done)
		bs.mu.Lock()
		b, bs.next = bs.next, nil
		bs.running = b != nil
		bs.mu.Unlock()
	}
}
