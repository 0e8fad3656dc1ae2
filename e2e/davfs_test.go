package e2e

// davfs2 (Debian package davfs2) mounts the server as a file system and takes a lock (RFC 4918
// §9.10) on every file it opens for writing. The test mounts a collection, writes a file through
// the mount, finds davfs2's lock in the JSON lock API while the file is open, closes it,
// unmounts, and finds the content on the server.
//
// What is tested is what works on these machines: davfs2 mounts, reads and writes files by path,
// but listing a mounted directory fails with "Invalid argument" against every server tried
// (Apache mod_dav and bare x/net/webdav too) — a FUSE limit of the machines, not a server fault.
// The listing is attempted and its result logged, never asserted.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

func TestDavfs2(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); errors.Is(err, os.ErrNotExist) {
		t.Skip("skipped: no /dev/fuse")
	}
	mountBin := needBinary(t, "mount.davfs", "davfs2")
	umountBin := needBinary(t, "umount", "mount")
	if os.Geteuid() != 0 {
		t.Fatalf("mount.davfs needs root here (uid %d): run the e2e tests as root", os.Geteuid())
	}
	l := startLive(t, liveOptions{})
	l.writeFile(t, "/mounted/existing.txt", "already on the server\n")
	url := l.URL + "/mounted/"

	conf := davfsConf(t, url)
	mnt := t.TempDir()
	out, err := run(t, 30*time.Second, "", nil, "", mountBin, "-o", "conf="+conf, url, mnt)
	if err != nil {
		t.Fatalf("mount.fs: %v\n%s", err, out)
	}
	unmounted := false
	unmount := func() {
		if unmounted {
			return
		}
		unmounted = true
		if out, err := run(t, 30*time.Second, "", nil, "", umountBin, mnt); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	}
	t.Cleanup(unmount)

	got, err := os.ReadFile(filepath.Join(mnt, "existing.txt"))
	if err != nil || string(got) != "already on the server\n" {
		t.Errorf("read by path through the mount: got %q, %v; want the server's content", got, err)
	}
	if names, err := os.ReadDir(mnt); err != nil {
		t.Logf("listing the mounted directory: %v (known FUSE limit on these machines, not asserted)", err)
	} else {
		t.Logf("listing the mounted directory worked here: %d entries (not asserted)", len(names))
	}

	const content = "written through davfs2\n"
	f, err := os.OpenFile(filepath.Join(mnt, "new.txt"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatalf("open for writing through the mount: %v", err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatalf("write through the mount: %v", err)
	}
	var held []locksystem.Lock
	eventually(t, 10*time.Second, "davfs2's lock on /mounted/new.txt never showed in /.lockdav/locks", func() bool {
		held = apiLocks(t, l, "/.lockdav/locks?path=/mounted/new.txt&depth=0")
		return len(held) == 1
	})
	if ua := held[0].Client.UserAgent; !strings.HasPrefix(ua, "davfs2/") {
		t.Errorf("lock's user agent: got %q, want davfs2's", ua)
	}
	if held[0].Scope != locksystem.Exclusive {
		t.Errorf("davfs2's lock scope: got %v, want exclusive", held[0].Scope)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close through the mount: %v", err)
	}
	unmount()

	if got, ok := l.file(t, "/mounted/new.txt"); got != content {
		t.Errorf("on the server after unmount: got %q (exists %v), want %q", got, ok, content)
	}
	if left := apiLocks(t, l, "/.lockdav/locks"); len(left) != 0 {
		t.Errorf("locks after unmount: got %d (%+v), want davfs2 to have released its lock", len(left), left)
	}
}

// davfsConf writes a davfs2 user configuration with locks on, uploads on close, no prompts and
// a secrets file of its own, and returns its path. The cache stays davfs2's own (it drops to the
// davfs2 user, who cannot enter a test's temporary directory).
func davfsConf(t *testing.T, url string) string {
	t.Helper()
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	// No credentials: the server does not ask for any, and davfs2 must not prompt.
	if err := os.WriteFile(secrets, []byte(url+` "" ""`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "davfs2.conf")
	body := strings.Join([]string{
		"use_locks 1",
		"lock_timeout 120",
		"delay_upload 0",
		"ask_auth 0",
		"secrets " + secrets,
	}, "\n") + "\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// apiLocks reads the locks a GET on the JSON lock API lists.
func apiLocks(t *testing.T, l *live, query string) []locksystem.Lock {
	t.Helper()
	r := l.do(t, "GET", query, "")
	if r.Status != 200 {
		t.Fatalf("GET %s: got %d, want 200\n%s", query, r.Status, r.Body)
	}
	var body struct {
		Locks []locksystem.Lock `json:"locks"`
		Count int               `json:"count"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("GET %s: %v in %s", query, err, r.Body)
	}
	if body.Count != len(body.Locks) {
		t.Errorf("GET %s: count %d, but %d locks listed", query, body.Count, len(body.Locks))
	}
	return body.Locks
}
