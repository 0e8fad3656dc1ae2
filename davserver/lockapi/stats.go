package lockapi

import "sync/atomic"

// counters are the lock API's own counts for the metrics: event streams and waiting requests.
type counters struct {
	streamsOpen    atomic.Int64
	streamsDropped atomic.Uint64
	streamsRefused atomic.Uint64
	waitsGranted   atomic.Uint64
	waitsTimedOut  atomic.Uint64
	waitsAbandoned atomic.Uint64
	waitsRefused   atomic.Uint64
}

// Stats are the counts of event streams and of lock requests that waited.
type Stats struct {
	StreamsOpen    int64  // event streams open now
	StreamsDropped uint64 // streams ended because their client fell too far behind
	StreamsRefused uint64 // streams refused at limits.max_event_streams_per_principal
	WaitsGranted   uint64 // waiting requests granted their lock
	WaitsTimedOut  uint64 // waiting requests whose wait ran out (423)
	WaitsAbandoned uint64 // waiting requests whose client went away, or cut off by shutdown
	WaitsRefused   uint64 // requests refused at locks.max_waiters_per_principal
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	c := &h.stats
	return Stats{StreamsOpen: c.streamsOpen.Load(), StreamsDropped: c.streamsDropped.Load(),
		StreamsRefused: c.streamsRefused.Load(), WaitsGranted: c.waitsGranted.Load(),
		WaitsTimedOut: c.waitsTimedOut.Load(), WaitsAbandoned: c.waitsAbandoned.Load(),
		WaitsRefused: c.waitsRefused.Load()}
}
