package e2e

// cadaver (Debian package cadaver), driven by a script on stdin, against a live server: the
// class 1 methods, dead properties, and the class 2 commands lock, unlock, discover and steal
// (RFC 4918 §9.10, §9.11; §6.4: a lock token is bound to its principal).

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cadaverRun runs one cadaver session in dir with a fresh HOME and returns each command's output,
// keyed by the command line as typed. A command typed twice gets "#2" appended to its key.
func cadaverRun(t *testing.T, dir, url string, commands ...string) map[string]string {
	t.Helper()
	bin := needBinary(t, "cadaver", "cadaver")
	home := t.TempDir()
	script := strings.Join(commands, "\n") + "\nquit\n"
	out, err := run(t, 60*time.Second, dir, []string{"HOME=" + home}, script, bin, url)
	if err != nil {
		t.Fatalf("cadaver: %v\n%s", err, out)
	}
	t.Logf("cadaver session:\n%s", out)
	return splitPrompts(out)
}

// splitPrompts cuts a cadaver transcript at its "dav:/> " prompts.
func splitPrompts(out string) map[string]string {
	got := map[string]string{}
	for _, chunk := range strings.Split(out, "dav:/> ")[1:] {
		cmd, rest, _ := strings.Cut(chunk, "\n")
		key := cmd
		for n := 2; ; n++ {
			if _, dup := got[key]; !dup {
				break
			}
			key = cmd + "#" + strconv.Itoa(n)
		}
		got[key] = rest
	}
	return got
}

// wantOutput checks that the output of command contains every one of wants.
func wantOutput(t *testing.T, outs map[string]string, command string, wants ...string) {
	t.Helper()
	got, ok := outs[command]
	if !ok {
		t.Errorf("cadaver never ran %q", command)
		return
	}
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("cadaver %q: got %q, want it to contain %q", command, got, w)
		}
	}
}

func TestCadaver(t *testing.T) {
	l := startLive(t, liveOptions{})
	dir := t.TempDir()
	writeLocal(t, dir, "a.txt", "first version\n")
	writeLocal(t, dir, "a2.txt", "second version, written under the lock\n")

	outs := cadaverRun(t, dir, l.URL+"/",
		"put a.txt",
		"mkcol docs",
		"put a.txt docs/a.txt",
		"copy docs/a.txt docs/b.txt",
		"move docs/b.txt docs/c.txt",
		"propset docs/c.txt colour blue",
		"propget docs/c.txt colour",
		"get docs/c.txt got.txt",
		"lock docs/a.txt",
		"discover docs/a.txt",
		"showlocks",
		"put a2.txt docs/a.txt",
		"unlock docs/a.txt",
		"delete a.txt",
		"discover docs/a.txt",
	)

	for _, c := range []string{"put a.txt", "mkcol docs", "put a.txt docs/a.txt", "copy docs/a.txt docs/b.txt",
		"move docs/b.txt docs/c.txt", "propset docs/c.txt colour blue", "get docs/c.txt got.txt",
		"lock docs/a.txt", "put a2.txt docs/a.txt", "unlock docs/a.txt", "delete a.txt"} {
		wantOutput(t, outs, c, "succeeded")
	}
	wantOutput(t, outs, "propget docs/c.txt colour", "Value of colour is: blue")
	// RFC 4918 §15.8 lockdiscovery as cadaver prints it: the token is a urn:uuid URI (§6.5).
	wantOutput(t, outs, "discover docs/a.txt", "Lock token <urn:uuid:", "Depth 0 on", "/docs/a.txt", "Scope: exclusive", "Type: write")
	wantOutput(t, outs, "showlocks", "Lock token <urn:uuid:")
	if strings.Contains(outs["discover docs/a.txt#2"], "Lock token") {
		t.Errorf("discover after unlock: got %q, want no lock", outs["discover docs/a.txt#2"])
	}

	for _, f := range []struct {
		path, want string
		exists     bool
	}{
		{"/a.txt", "", false},
		{"/docs/a.txt", "second version, written under the lock\n", true},
		{"/docs/b.txt", "", false},
		{"/docs/c.txt", "first version\n", true},
	} {
		got, ok := l.file(t, f.path)
		if ok != f.exists || got != f.want {
			t.Errorf("on disk %s: got %q (exists %v), want %q (exists %v)", f.path, got, ok, f.want, f.exists)
		}
	}
	if got := readLocal(t, dir, "got.txt"); got != "first version\n" {
		t.Errorf("cadaver get: got %q, want %q", got, "first version\n")
	}
	if r := l.do(t, "GET", "/.lockdav/locks", ""); !strings.Contains(r.Body, `"count": 0`) {
		t.Errorf("locks after unlock: got %s, want none", r.Body)
	}
}

// TestCadaverSecondSessionRefused: a lock taken by one cadaver session keeps a second session
// (which does not hold the token) from writing (RFC 4918 §7.4: 423).
func TestCadaverSecondSessionRefused(t *testing.T) {
	l := startLive(t, liveOptions{})
	dir := t.TempDir()
	writeLocal(t, dir, "doc.txt", "from session one\n")
	writeLocal(t, dir, "other.txt", "from session two\n")

	first := cadaverRun(t, dir, l.URL+"/", "put doc.txt", "lock doc.txt")
	wantOutput(t, first, "lock doc.txt", "succeeded")

	second := cadaverRun(t, dir, l.URL+"/", "put other.txt doc.txt", "delete doc.txt")
	wantOutput(t, second, "put other.txt doc.txt", "failed", "423 Locked")
	wantOutput(t, second, "delete doc.txt", "failed", "423 Locked")
	if got, _ := l.file(t, "/doc.txt"); got != "from session one\n" {
		t.Errorf("doc.txt after the refused writes: got %q, want %q", got, "from session one\n")
	}
}

// TestCadaverStealRefused: cadaver's steal discovers another principal's lock token and puts
// it in its session; lockdav still refuses the writes (423) and the UNLOCK (403), because a
// token is usable only by the principal that created it.
func TestCadaverStealRefused(t *testing.T) {
	l := startLive(t, liveOptions{users: []string{"alice", "bob"}})
	l.writeFile(t, "/report.txt", "alice's report\n")
	r := l.do(t, "LOCK", "/report.txt", lockinfoBody("alice"), "Authorization", basicAuth("alice"), "Depth", "0")
	if r.Status != 200 {
		t.Fatalf("LOCK as alice: got %d, want 200\n%s", r.Status, r.Body)
	}
	token := strings.Trim(r.Header.Get("Lock-Token"), "<>")

	dir := t.TempDir()
	writeLocal(t, dir, "mine.txt", "mallory was here\n")
	outs := cadaverRun(t, dir, l.URL+"/",
		"put mine.txt report.txt",
		"steal report.txt",
		"showlocks",
		"put mine.txt report.txt",
		"unlock report.txt",
	)
	wantOutput(t, outs, "put mine.txt report.txt", "failed", "423 Locked")
	wantOutput(t, outs, "steal report.txt", token)
	wantOutput(t, outs, "showlocks", token)
	wantOutput(t, outs, "put mine.txt report.txt#2", "failed", "423 Locked")
	wantOutput(t, outs, "unlock report.txt", "failed", "403 Forbidden")

	if got, _ := l.file(t, "/report.txt"); got != "alice's report\n" {
		t.Errorf("report.txt: got %q, want alice's content unchanged", got)
	}
	g := l.do(t, "GET", "/.lockdav/locks/"+token, "")
	if g.Status != 200 || !strings.Contains(g.Body, `"principal": "alice"`) {
		t.Errorf("alice's lock after the steal: got %d %s, want it live and alice's", g.Status, g.Body)
	}
}

func writeLocal(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readLocal(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(b)
}

// lockinfoBody is an exclusive write lockinfo (RFC 4918 §14.11) owned by owner.
func lockinfoBody(owner string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>` +
		`<D:owner><D:href>` + owner + `</D:href></D:owner></D:lockinfo>`
}
