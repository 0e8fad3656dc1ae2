package davserver

// A Depth 1 PROPFIND streams its 207 (RFC 4918 §9.1, §13): a listing of 100,000 members must
// not hold its answer, or its members, in memory. The server runs in this process, on a real
// loopback listener, and the client discards the body as it reads it, so the process's peak
// resident set (VmHWM in /proc/self/status, reset through /proc/self/clear_refs) measures what
// the server needed.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const rssMembers = 100_000

func TestPropfindStreamsLargeListing(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set here: %v", err)
	}
	ts, root := newOSTestServer(t)
	start := time.Now()
	makeMembers(t, filepath.Join(root, "big"), rssMembers)
	made := time.Since(start)
	srv := httptest.NewServer(ts.h)
	defer srv.Close()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	before := procStatus(t, "VmRSS")
	n, responses := listDiscarding(t, srv.URL+"/big/")
	peak := procStatus(t, "VmHWM")
	t.Logf("%d members made in %v, listed in %v: %d bytes, %d responses; RSS %d KiB before, peak %d KiB (+%d KiB)",
		rssMembers, made.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)-made.Round(time.Millisecond),
		n, responses, before, peak, peak-before)
	if responses != rssMembers+1 {
		t.Errorf("%d responses, want %d", responses, rssMembers+1)
	}
	if grew := peak - before; grew >= 16<<10 {
		t.Errorf("peak RSS grew by %d KiB over the listing, want under 16 MiB", grew)
	}
}

// makeMembers creates dir with n members, hard links to empty files (a new file every
// linksPerFile members: ext4 allows 65,000 links to one): one link(2) each, where creating
// files would take an open and a close (and os.Create an fcntl and a finalizer more), in a
// set-up that must stay within seconds. Each link is a member of its own, which a listing
// stats on its own.
func makeMembers(t *testing.T, dir string, n int) {
	const linksPerFile = 50_000
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range n {
		p := filepath.Join(dir, "m"+strconv.Itoa(i)+".txt")
		var err error
		if i%linksPerFile == 0 {
			first, err = p, os.WriteFile(p, nil, 0o600)
		} else {
			err = syscall.Link(first, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// listDiscarding sends PROPFIND Depth 1 allprop and counts the body's bytes and responses as it
// reads them, keeping none.
func listDiscarding(t *testing.T, url string) (n int64, responses int) {
	r, err := http.NewRequest("PROPFIND", url, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Depth", "1")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("status %d, want 207", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	sc.Split(splitAfter([]byte("</D:response>")))
	for sc.Scan() {
		n += int64(len(sc.Bytes()))
		responses += bytes.Count(sc.Bytes(), []byte("</D:response>"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n, responses
}

// splitAfter splits a stream after each sep.
func splitAfter(sep []byte) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.Index(data, sep); i >= 0 {
			return i + len(sep), data[:i+len(sep)], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		if atEOF {
			return 0, nil, io.EOF
		}
		return 0, nil, nil
	}
}

// procStatus is a /proc/self/status field in KiB.
func procStatus(t *testing.T, field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(fmt.Errorf("%s: %w", field, err))
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
