package etcdstore

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Calls that arrive while a barrier is written share the next one, written after they arrived;
// none waits on a barrier written before it joined.
func TestBarriersShareWrites(t *testing.T) {
	var bs barriers
	var writes atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	write := func() (int64, error) {
		n := writes.Add(1)
		if n == 1 {
			started <- struct{}{}
			<-release // the first write blocks while the others join
		}
		return n, nil
	}
	first := bs.join(write)
	<-started
	var wg sync.WaitGroup
	joined := make([]*barrier, 32)
	for i := range joined {
		wg.Go(func() { joined[i] = bs.join(write) })
	}
	wg.Wait() // all 32 joined while write 1 runs
	close(release)
	<-first.done
	for i, b := range joined {
		<-b.done
		if b.rev != 2 {
			t.Fatalf("call %d waited on barrier %d, want 2 (the one written after it joined)", i, b.rev)
		}
	}
	if first.rev != 1 || writes.Load() != 2 {
		t.Fatalf("first barrier %d, writes %d; want 1 and 2", first.rev, writes.Load())
	}
	if b := bs.join(write); func() int64 { <-b.done; return b.rev }() != 3 {
		t.Fatal("a call after the others did not get a write of its own")
	}
}
