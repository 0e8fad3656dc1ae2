package server

// Prometheus metrics of the lock system and its store, served with the request metrics
// at /.lockdav/metrics.

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lockdav/lockdav/davserver/lockapi"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/boltstore"
)

// newRegistry returns a registry with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// storeCounters exports the lock store's checkpoint counters.
func storeCounters(reg prometheus.Registerer, stats func() boltstore.Stats) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "lockdav", Name: "store_checkpoints_total",
			Help: "Checkpoints of the lock store's write-ahead log into its bbolt file.",
		}, func() float64 { return float64(stats().Checkpoints) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "lockdav", Name: "store_checkpoint_failures_total",
			Help: "Checkpoints that failed; the write-ahead log kept their changes.",
		}, func() float64 { return float64(stats().CheckpointFailures) }),
	)
}

// storeMetrics observe the lock store's commits.
type storeMetrics struct {
	latency prometheus.Histogram
	batch   prometheus.Histogram
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		latency: histogram("store_commit_duration_seconds", "Time of each lock-store commit, fsync included.",
			prometheus.ExponentialBuckets(0.00005, 2, 16)), // 50 µs … ~1.6 s
		batch: histogram("store_commit_batch_size", "Lock-document changes written by each commit (group commit).",
			prometheus.ExponentialBuckets(1, 2, 10)), // 1 … 512
	}
	reg.MustRegister(m.latency, m.batch)
	return m
}

// histogram is the lockdav_ histogram name.
func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "lockdav", Name: name, Help: help, Buckets: buckets})
}

// observe is the lock store's Observe hook; it runs on the committer goroutine.
func (m *storeMetrics) observe(batch int, d time.Duration) {
	m.latency.Observe(d.Seconds())
	m.batch.Observe(float64(batch))
}

// lockCollector reads the lock system's Stats once per scrape.
type lockCollector struct {
	locks  *locksystem.System
	active *prometheus.Desc
	counts []lockCount
}

// lockCount is one counter of locksystem.Stats.
type lockCount struct {
	desc *prometheus.Desc
	get  func(locksystem.Stats) uint64
}

func newLockCollector(locks *locksystem.System) *lockCollector {
	counter := func(name, help string, get func(locksystem.Stats) uint64) lockCount {
		return lockCount{desc: prometheus.NewDesc("lockdav_"+name, help, nil, nil), get: get}
	}
	return &lockCollector{
		locks:  locks,
		active: prometheus.NewDesc("lockdav_locks_active", "Client locks held, by scope.", []string{"scope"}, nil),
		counts: []lockCount{
			counter("lock_acquisitions_total", "Locks granted.", func(s locksystem.Stats) uint64 { return s.Acquired }),
			counter("lock_refreshes_total", "Lock refreshes granted.", func(s locksystem.Stats) uint64 { return s.Refreshed }),
			counter("lock_releases_total", "Locks released (UNLOCK, forced, with their resource, on update).", func(s locksystem.Stats) uint64 { return s.Released }),
			counter("lock_expiries_total", "Locks that expired.", func(s locksystem.Stats) uint64 { return s.Expired }),
			counter("lock_conflicts_total", "Lock requests refused for conflicting locks.", func(s locksystem.Stats) uint64 { return s.Conflicts }),
			counter("lock_forced_releases_total", "Releases of another principal's lock by an admin.", func(s locksystem.Stats) uint64 { return s.ForcedReleases }),
		},
	}
}

// Describe implements prometheus.Collector.
func (c *lockCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	for _, lc := range c.counts {
		ch <- lc.desc
	}
}

// Collect implements prometheus.Collector.
func (c *lockCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.locks.Stats()
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(s.Exclusive), "exclusive")
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(s.Shared), "shared")
	for _, lc := range c.counts {
		ch <- prometheus.MustNewConstMetric(lc.desc, prometheus.CounterValue, float64(lc.get(s)))
	}
}

// apiCollector reads the lock API's stream and wait counts, and the lock system's waiters, once
// per scrape.
type apiCollector struct {
	stats   func() lockapi.Stats
	waiters func() int
	open    *prometheus.Desc
	dropped *prometheus.Desc
	refused *prometheus.Desc
	waiting *prometheus.Desc
	waits   *prometheus.Desc
}

func newAPICollector(stats func() lockapi.Stats, waiters func() int) *apiCollector {
	return &apiCollector{
		stats: stats, waiters: waiters,
		open:    prometheus.NewDesc("lockdav_event_streams_open", "Event streams (GET /.lockdav/events) open.", nil, nil),
		dropped: prometheus.NewDesc("lockdav_event_streams_dropped_total", "Event streams ended because their client read too slowly.", nil, nil),
		refused: prometheus.NewDesc("lockdav_event_streams_refused_total", "Event streams refused at limits.max_event_streams_per_principal.", nil, nil),
		waiting: prometheus.NewDesc("lockdav_lock_waiting", "Lock requests waiting for a conflicting lock to go.", nil, nil),
		waits: prometheus.NewDesc("lockdav_lock_waits_total",
			"Lock requests that waited, by how the wait ended: granted, timed_out, abandoned (client gone or shutdown), refused (locks.max_waiters_per_principal).",
			[]string{"result"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *apiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.dropped, c.refused, c.waiting, c.waits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *apiCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.StreamsOpen))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.StreamsDropped))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.StreamsRefused))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(c.waiters()))
	for result, n := range map[string]uint64{"granted": s.WaitsGranted, "timed_out": s.WaitsTimedOut,
		"abandoned": s.WaitsAbandoned, "refused": s.WaitsRefused} {
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(n), result)
	}
}
