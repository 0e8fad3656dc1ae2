package locksystem

// Lock timeouts (RFC 4918 §6.6): a lock whose timeout has passed is gone. Expiry is incremental:
// a min-heap by expiry, from which each operation collects at most maxExpirePerCall locks.
// Meanwhile every lookup checks the expiry against now, so a lock that has expired but is not
// collected yet is absent everywhere. When 900,000 locks expire together, no call does more than
// maxExpirePerCall removals for them; the rest are collected by the calls that follow.

import (
	"time"

	"github.com/rs/zerolog"
)

// maxExpirePerCall bounds the expired locks one operation removes from the heap.
const maxExpirePerCall = 64

// expire collects at most maxExpirePerCall locks that expired at or before now, deletes them from
// the store without waiting, and returns them for their events and the log. The caller holds s.mu.
func (s *System) expire(now int64) []Lock {
	if s.closed || len(s.heap) == 0 || s.heap[0].expiry() > now {
		return nil
	}
	var gone []Lock
	var changes []Change
	k := 0
	for ; k < maxExpirePerCall && len(s.heap) > 0 && s.heap[0].expiry() <= now; k++ {
		e := s.heap[0]
		gone = append(gone, e.lock())
		if s.store != nil {
			changes = append(changes, Change{Delete: tokenString(e.token)})
		}
		s.remove(e)
	}
	s.popped += k
	s.count.expired.Add(uint64(k))
	if len(changes) > 0 {
		s.store.Submit(changes...) // nothing to wait for: the lock is gone either way
	}
	return gone
}

// expired publishes and logs the locks expire collected at now.
func (s *System) expired(now int64, gone []Lock) {
	if len(gone) == 0 {
		return
	}
	s.ev.publish(released(time.Unix(0, now).UTC(), Expired, gone)...)
	if s.log.GetLevel() > zerolog.InfoLevel || zerolog.GlobalLevel() > zerolog.InfoLevel {
		return
	}
	for i := range gone {
		event(s.log.Info(), &gone[i]).Msg("lock expired")
	}
}

// Expire collects the locks whose timeout passed at or before now, at most maxExpirePerCall at
// a time under the lock, and reports how many it collected. Every operation collects some;
// calling Expire every second makes their Expired events timely when nothing else runs.
func (s *System) Expire(now time.Time) int {
	n := 0
	for {
		s.mu.Lock()
		gone := s.expire(now.UnixNano())
		s.mu.Unlock()
		s.expired(now.UnixNano(), gone)
		n += len(gone)
		if len(gone) < maxExpirePerCall {
			return n
		}
	}
}

// The heap of entries with a timeout, ordered by expiry. Each entry knows its index.

func (s *System) heapLess(i, j int) bool { return s.heap[i].expiry() < s.heap[j].expiry() }

func (s *System) heapSwap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = heapIndex(i)
	h[j].heapIdx = heapIndex(j)
}

func (s *System) heapPush(e *entry) {
	e.heapIdx = heapIndex(len(s.heap))
	s.heap = append(s.heap, e)
	s.heapUp(len(s.heap) - 1)
}

func (s *System) heapRemove(i int) {
	last := len(s.heap) - 1
	e := s.heap[i]
	if i != last {
		s.heapSwap(i, last)
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	e.heapIdx = -1
	if i != last {
		s.heapFix(i)
	}
}

func (s *System) heapFix(i int) {
	if !s.heapDown(i) {
		s.heapUp(i)
	}
}

func (s *System) heapUp(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !s.heapLess(j, i) {
			break
		}
		s.heapSwap(i, j)
		j = i
	}
}

// heapDown reports whether the element at i0 moved.
func (s *System) heapDown(i0 int) bool {
	i, n := i0, len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && s.heapLess(r, l) {
			j = r
		}
		if !s.heapLess(j, i) {
			break
		}
		s.heapSwap(i, j)
		i = j
	}
	return i > i0
}

// heapIndex is a heap position as an entry keeps it: int32 keeps the entry small (the
// heap-bytes-per-lock target of BenchmarkCreate), and 2^31 locks would need over 500 GB.
func heapIndex(i int) int32 {
	return int32(i) //nolint:gosec // G115: bounded by the number of locks, see above
}
