package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockdav/lockdav/config"
)

// apiLock takes a lock through the API, with body's fields; it returns the status and token.
func apiLock(c *http.Client, base, body string) (int, string, error) {
	req, err := http.NewRequest("POST", base+apiLocks, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var doc struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc.Token, nil
}

// metric reads one sample of the server's metrics, -1 if absent.
func metric(t *testing.T, c *http.Client, base, name string) float64 {
	t.Helper()
	resp, err := c.Get(base + "/.lockdav/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// waitMetric polls a metric until it is want.
func waitMetric(t *testing.T, c *http.Client, base, name string, want float64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); metric(t, c, base, name) != want; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, metric(t, c, base, name), want)
		}
	}
}

// 64 clients wait for the lock on one counter file through the real server, each arriving
// only once the one before is in line. Each is granted exactly once, in the order they
// arrived, and increments the counter under its lock: first come, first served, and no
// update lost.
func TestWaitersServedInArrivalOrder(t *testing.T) {
	const waiters = 64
	cfg := testConfig(t)
	cfg.Locks.MaxWaitersPerPrincipal = waiters
	_, addr := start(t, cfg)
	base := "http://" + addr
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * waiters}}
	if st, body := do(t, c, "PUT", base+"/counter", strings.NewReader("0")); st != http.StatusCreated {
		t.Fatalf("PUT: %d %s", st, body)
	}
	st, holder, err := apiLock(c, base, `{"path": "/counter", "depth": "0"}`)
	if err != nil || st != http.StatusCreated {
		t.Fatalf("holder's lock: %d %v", st, err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for i := range waiters {
		wg.Go(func() {
			st, tok, err := apiLock(c, base, `{"path": "/counter", "depth": "0", "wait": "60s"}`)
			if err != nil || st != http.StatusCreated {
				errs <- fmt.Errorf("waiter %d: %d %v", i, st, err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			errs <- incrementAndRelease(c, base, tok)
		})
		waitMetric(t, c, base, "lockdav_lock_waiting", float64(i+1))
	}
	if st, _ := do(t, c, "DELETE", base+apiLocks+"/"+holder, nil); st != http.StatusNoContent {
		t.Fatalf("releasing the holder's lock: %d", st)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range order {
		if i != w {
			t.Fatalf("grant %d went to waiter %d: order %v, want arrival order", i, w, order)
		}
	}
	if _, body := do(t, c, "GET", base+"/counter", nil); body != strconv.Itoa(waiters) || len(order) != waiters {
		t.Fatalf("counter = %s after %d grants, want %d", body, len(order), waiters)
	}
	if got := metric(t, c, base, `lockdav_lock_waits_total{result="granted"}`); got != waiters {
		t.Errorf("lockdav_lock_waits_total{result=\"granted\"} = %v, want %d", got, waiters)
	}
}

// incrementAndRelease increments the counter with the token and releases the lock.
func incrementAndRelease(c *http.Client, base, tok string) error {
	_, _, n, err := send(c, "GET", base+"/counter", "")
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(n)
	if err != nil {
		return fmt.Errorf("counter %q: %w", n, err)
	}
	if st, _, _, err := send(c, "PUT", base+"/counter", strconv.Itoa(v+1), "If", "(<"+tok+">)"); err != nil || st != http.StatusNoContent {
		return fmt.Errorf("PUT with the token: status %d, %v", st, err)
	}
	if st, _, _, err := send(c, "DELETE", base+apiLocks+"/"+tok, ""); err != nil || st != http.StatusNoContent {
		return fmt.Errorf("DELETE: status %d, %v", st, err)
	}
	return nil
}

// A wait outlives limits.body_timeout: the body's read deadline, set on the connection, must
// not cut the waiting request off as if its client had gone (net/http clears it once the body
// is read; this keeps it so).
func TestWaitOutlivesBodyTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.BodyTimeout = config.Duration(300 * time.Millisecond)
	_, addr := start(t, cfg)
	base := "http://" + addr
	c := &http.Client{}
	st, holder, err := apiLock(c, base, `{"path": "/f", "depth": "0"}`)
	if err != nil || st != http.StatusCreated {
		t.Fatalf("holder: %d %v", st, err)
	}
	time.AfterFunc(time.Second, func() {
		_, _, _, _ = send(c, "DELETE", base+apiLocks+"/"+holder, "")
	})
	if st, _, err := apiLock(c, base, `{"path": "/f", "depth": "0", "wait": "10s"}`); err != nil || st != http.StatusCreated {
		t.Fatalf("waiting past the body timeout: %d %v, want 201 when the holder lets go", st, err)
	}
}

// Shutdown does not wait on event streams or waiting requests: it ends them at once, and the
// expiry ticker publishes an expiry on a server nobody else calls.
func TestShutdownEndsStreamsAndWaiters(t *testing.T) {
	cfg := testConfig(t)
	cfg.Locks.MinTimeout = config.Duration(time.Second)
	s, addr := start(t, cfg)
	base := "http://" + addr
	c := &http.Client{}
	resp, err := c.Get(base + "/.lockdav/events")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if st, _, err := apiLock(c, base, `{"path": "/g", "timeout_seconds": 1}`); err != nil || st != http.StatusCreated {
		t.Fatalf("lock: %d %v", st, err)
	}
	expiry := make(chan bool, 1)
	go func() {
		for lines.Scan() {
			if strings.Contains(lines.Text(), `"reason":"expiry"`) {
				expiry <- true
				return
			}
		}
		expiry <- false
	}()
	select {
	case ok := <-expiry:
		if !ok {
			t.Fatal("stream ended before the expiry event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no expiry event within 5s of a 1s lock on an idle server")
	}
	st, _, _ := apiLock(c, base, `{"path": "/h"}`)
	waiter := make(chan int, 1)
	go func() {
		st, _, _ := apiLock(c, base, `{"path": "/h", "wait": "60s"}`)
		waiter <- st
	}()
	waitMetric(t, c, base, "lockdav_lock_waiting", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	if err := s.Shutdown(ctx); err != nil || time.Since(began) > 2*time.Second {
		t.Fatalf("Shutdown with a stream and a waiter open: %v after %v", err, time.Since(began))
	}
	if got := <-waiter; got != http.StatusServiceUnavailable || st != http.StatusCreated {
		t.Errorf("waiter at shutdown: %d, want 503", got)
	}
}
