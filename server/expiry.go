package server

import (
	"sync"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// expiry calls the lock system's Expire every tick. Locks expire on their own (every operation
// collects the expired ones, and lookups ignore them), but their Released events, with reason
// expiry, would wait for the next operation: on a quiet server, an event stream would learn of
// an expiry minutes late. The goroutine is expiry's own; Close stops it and waits for it.
type expiry struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startExpiry starts calling locks.Expire(time.Now()) every tick.
func startExpiry(locks *locksystem.System, tick time.Duration) *expiry {
	e := &expiry{stop: make(chan struct{}), done: make(chan struct{})}
	go e.run(locks, tick)
	return e
}

func (e *expiry) run(locks *locksystem.System, tick time.Duration) {
	defer close(e.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			locks.Expire(now)
		}
	}
}

// Close stops the ticker and waits for its goroutine; it is safe to call more than once.
func (e *expiry) Close() error {
	e.once.Do(func() { close(e.stop) })
	<-e.done
	return nil
}
