package server

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 64 clients contend for an exclusive lock on one file through the real server, with durable
// lock documents. Each holder reads a counter and writes it back incremented with its token:
// if a lock were ever granted twice at once, an update would be lost and the final counter
// would fall short of the number of granted locks.
func TestContendedLocksLoseNoUpdate(t *testing.T) {
	const clients, wins = 64, 1
	_, addr := start(t, testConfig(t))
	url := "http://" + addr + "/counter"
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	if st, body := do(t, c, "PUT", url, strings.NewReader("0")); st != http.StatusCreated {
		t.Fatalf("PUT: %d %s", st, body)
	}
	var granted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			for won := 0; won < wins; {
				ok, err := incrementUnderLock(c, url)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					time.Sleep(5 * time.Millisecond) // back off, as real clients do after a 423
					continue
				}
				won++
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, body := do(t, c, "GET", url, nil)
	if got := strconv.FormatInt(granted.Load(), 10); body != got {
		t.Fatalf("counter = %s after %s granted locks: an update was lost", body, got)
	}
}

// incrementUnderLock takes the lock (false if someone else holds it), increments the counter
// with the token, and unlocks.
func incrementUnderLock(c *http.Client, url string) (bool, error) {
	lockinfo := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	st, tok, _, err := send(c, "LOCK", url, lockinfo, "Depth", "0")
	switch {
	case err != nil:
		return false, err
	case st == http.StatusLocked:
		return false, nil
	case st != http.StatusOK:
		return false, fmt.Errorf("LOCK: status %d", st)
	}
	_, _, n, err := send(c, "GET", url, "")
	if err != nil {
		return false, err
	}
	v, err := strconv.Atoi(n)
	if err != nil {
		return false, fmt.Errorf("counter %q: %w", n, err)
	}
	if st, _, _, err := send(c, "PUT", url, strconv.Itoa(v+1), "If", "("+tok+")"); err != nil || st != http.StatusNoContent {
		return false, fmt.Errorf("PUT with the token: status %d, %v", st, err)
	}
	if st, _, _, err := send(c, "UNLOCK", url, "", "Lock-Token", tok); err != nil || st != http.StatusNoContent {
		return false, fmt.Errorf("UNLOCK: status %d, %v", st, err)
	}
	return true, nil
}

// send makes one request and returns its status, Lock-Token header and body.
func send(c *http.Client, method, url, body string, hdr ...string) (int, string, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Lock-Token"), string(b), err
}
