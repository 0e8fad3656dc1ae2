package server

import (
	"net/http"
	"strings"
	"testing"
)

// /.lockdav/metrics carries the lock system's and the lock store's figures beside the request
// metrics; /.lockdav/healthz proves the store writable.
func TestMetricsEndpoint(t *testing.T) {
	_, addr := start(t, testConfig(t))
	base := "http://" + addr
	c := &http.Client{}
	lock := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	if st, body := do(t, c, "LOCK", base+"/f.txt", strings.NewReader(lock)); st != http.StatusCreated {
		t.Fatalf("LOCK: %d %s", st, body)
	}
	if st, _ := do(t, c, "GET", base+"/.lockdav/healthz", nil); st != http.StatusOK {
		t.Fatalf("healthz: %d", st)
	}
	st, body := do(t, c, "GET", base+"/.lockdav/metrics", nil)
	if st != http.StatusOK {
		t.Fatalf("metrics: %d", st)
	}
	for _, s := range []string{
		`lockdav_locks_active{scope="shared"} 1`,
		`lockdav_locks_active{scope="exclusive"} 0`,
		"lockdav_lock_acquisitions_total 1",
		"lockdav_lock_conflicts_total 0",
		"lockdav_store_commit_duration_seconds_count",
		"lockdav_store_commit_batch_size_count",
		"lockdav_store_checkpoints_total",
		"lockdav_store_checkpoint_failures_total 0",
		`lockdav_http_requests_total{code="201",method="LOCK"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("metrics lack %q", s)
		}
	}
}
