package litmus

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
	"github.com/lockdav/lockdav/server/servertest"
)

// TestLitmusEtcd runs every litmus group against one replica in etcd mode (locks.store: etcd,
// one local etcd member): the lock table and the dead properties live in etcd, and the results
// must be those of the bolt server.
func TestLitmusEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	runSuite(t, "etcd", func(logPrefix string) string {
		return "http://" + serve(t, etcdConfig(t.TempDir(), c, "a"), logPrefix+".log") + "/litmus/"
	})
}

// TestLitmusEtcdRoundRobin runs every litmus group against two replicas in etcd mode over one
// root, behind a reverse proxy that sends each request to the other replica than the one
// before: a lock taken, a property set or a resource written through one must hold through
// the other at once.
func TestLitmusEtcdRoundRobin(t *testing.T) {
	c := etcdtest.Start(t, 1)
	runSuite(t, "etcd-roundrobin", func(logPrefix string) string {
		dir := t.TempDir()
		a := serve(t, etcdConfig(dir, c, "a"), logPrefix+"-a.log")
		b := serve(t, etcdConfig(dir, c, "b"), logPrefix+"-b.log")
		return roundRobin(t, a, b) + "/litmus/"
	})
}

// etcdConfig is a server in etcd mode with its root in dir (shared by the replicas given the
// same dir) and a state dir of its own, named replica.
func etcdConfig(dir string, c *etcdtest.Cluster, replica string) config.Config {
	cfg := servertest.Config(dir)
	cfg.StateDir = filepath.Join(dir, "state", replica)
	cfg.Locks.Store = "etcd"
	cfg.Locks.Etcd.Endpoints = c.Endpoints()
	cfg.Locks.Etcd.RequestTimeout = config.Duration(5 * time.Second)
	return cfg
}

// roundRobin serves a reverse proxy on a loopback port that sends the requests it gets to the
// backends (host:port) in turn, one request each, whatever connection they come on, and keeps
// the client's Host so that the hrefs and the Destination and If URLs stay the proxy's. It
// returns the proxy's URL.
func roundRobin(t *testing.T, backends ...string) string {
	t.Helper()
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		backend := backends[(next.Add(1)-1)%uint64(len(backends))]
		r.SetURL(&url.URL{Scheme: "http", Host: backend})
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}
