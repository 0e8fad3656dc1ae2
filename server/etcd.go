package server

// locks.store: etcd — several replicas share the lock table and the dead properties
// (docs/ARCHITECTURE.md "Several replicas").

import (
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/fs/etcdprops"
	"github.com/lockdav/lockdav/server/etcdstore"
)

// openEtcd connects to the cluster of locks.etcd and opens both stores on it.
func (s *Server) openEtcd(reg *prometheus.Registry) (stores, error) {
	e := s.cfg.Locks.Etcd
	cli, err := etcdClient(e)
	if err != nil {
		return stores{}, err
	}
	s.closers = append(s.closers, cli)
	m := newEtcdMetrics(reg)
	timeout := time.Duration(e.RequestTimeout)
	store := etcdstore.New(etcdstore.Options{
		Client: cli, Prefix: e.Prefix, Timeout: timeout, Logger: s.log,
		Observe: m.observe, ObserveLag: m.observeLag,
	})
	// Closed before the client they use.
	props := etcdprops.New(cli, e.Prefix, timeout)
	s.closers = append([]io.Closer{props, store}, s.closers...)
	return stores{locks: store, props: props, ping: store.Ping}, nil
}

// etcdClient dials the cluster; TLS files and credentials as configured.
func etcdClient(e config.Etcd) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   e.Endpoints,
		DialTimeout: time.Duration(e.DialTimeout),
		Username:    e.Username,
		Password:    e.Password,
		Logger:      zap.NewNop(), // lockdav logs what matters through zerolog
	}
	if e.CA != "" || e.Cert != "" {
		tlsInfo := transport.TLSInfo{TrustedCAFile: e.CA, CertFile: e.Cert, KeyFile: e.Key}
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("server: locks.etcd TLS: %w", err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("server: locks.etcd %v: %w", e.Endpoints, err)
	}
	return cli, nil
}

// etcdMetrics are the round trips to etcd and how far the watch is behind.
type etcdMetrics struct {
	ops    *prometheus.HistogramVec
	errors *prometheus.CounterVec
	lag    prometheus.Histogram
}

func newEtcdMetrics(reg prometheus.Registerer) *etcdMetrics {
	m := &etcdMetrics{
		ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lockdav", Name: "etcd_request_duration_seconds",
			Help:    "Time of each lock operation on etcd (grant, refresh, release, sync, load), its round trips included.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 15), // 200 µs … ~3.3 s
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lockdav", Name: "etcd_request_errors_total",
			Help: "Lock operations on etcd that failed (etcd unreachable or too slow), by op.",
		}, []string{"op"}),
		lag: histogram("etcd_watch_lag_seconds",
			"Time from a barrier's write to its arrival through the watch: how far the lock index trails etcd.",
			prometheus.ExponentialBuckets(0.0001, 2, 16)), // 100 µs … ~3.3 s
	}
	reg.MustRegister(m.ops, m.errors, m.lag)
	return m
}

func (m *etcdMetrics) observe(op string, d time.Duration, err error) {
	m.ops.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(op).Inc()
	}
}

func (m *etcdMetrics) observeLag(d time.Duration) { m.lag.Observe(d.Seconds()) }
