package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/servertest"
)

// clearLocksEnv keeps the caller's LOCKDAV_* variables out of a test.
func clearLocksEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{envServer, envUser, envPassword} {
		t.Setenv(k, "")
	}
}

// startLockdav runs an in-process server on a loopback port and returns its base URL.
func startLockdav(t *testing.T) string {
	t.Helper()
	cfg := servertest.Config(t.TempDir())
	cfg.Locks.AllowInfinite = true
	return "http://" + servertest.Start(t, cfg, zerolog.New(zerolog.NewTestWriter(t)))
}

// runLocks runs `lockdav locks ARGS…` in process with the given clock.
func runLocks(t *testing.T, now time.Time, args ...string) (stdout string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "lockdav", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newLocksCmd(func() time.Time { return now }))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"locks"}, args...))
	err = root.Execute()
	return out.String(), err
}

// request sends one request and returns the status and body.
func request(t *testing.T, method, url, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.Bytes()
}

// apiLock takes a lock through POST /.lockdav/locks.
func apiLock(t *testing.T, base, body string) locksystem.Lock {
	t.Helper()
	status, b := request(t, "POST", base+locksAPI, body, map[string]string{"Content-Type": "application/json"})
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s, want 201", body, status, b)
	}
	var l locksystem.Lock
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// fixture is a server holding three locks:
//
//	/projects            shared, depth infinity, owner ann (href), 600 s
//	/projects/notes.txt  shared, depth 0, owner bob, 300 s
//	/other.txt           exclusive, depth 0, owner carol, never expires
type fixture struct {
	base                   string
	projects, notes, other locksystem.Lock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	clearLocksEnv(t)
	f := fixture{base: startLockdav(t)}
	if status, b := request(t, "MKCOL", f.base+"/projects/", "", nil); status != http.StatusCreated {
		t.Fatalf("MKCOL: %d %s", status, b)
	}
	// Before /projects is locked: adding a member to it would then need its token.
	if status, b := request(t, "PUT", f.base+"/projects/notes.txt", "notes", nil); status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", status, b)
	}
	// A WebDAV LOCK, so the owner is real client XML.
	lockinfo := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:ann@example.com</D:href></D:owner></D:lockinfo>`
	status, b := request(t, "LOCK", f.base+"/projects/", lockinfo, map[string]string{"Depth": "infinity", "Timeout": "Second-600"})
	if status != http.StatusOK {
		t.Fatalf("LOCK /projects/: %d %s", status, b)
	}
	f.notes = apiLock(t, f.base, `{"path":"/projects/notes.txt","scope":"shared","depth":"0","timeout_seconds":300,"owner":"bob"}`)
	f.other = apiLock(t, f.base, `{"path":"/other.txt","scope":"exclusive","depth":"0","timeout_seconds":0,"owner":"carol"}`)
	out, err := runLocks(t, time.Now(), "ls", "--server", f.base, "--path", "/projects", "--depth", "0", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Locks []locksystem.Lock }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Locks) != 1 {
		t.Fatalf("ls --json of /projects = %q (%v), want one lock", out, err)
	}
	f.projects = list.Locks[0]
	return f
}

// tableRows splits a table into its rows (header dropped), each as its columns.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "PATH") {
		t.Fatalf("table starts with %q, want the PATH header", lines[0])
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestLocksLsTable(t *testing.T) {
	f := newFixture(t)
	// A clock eight minutes before /projects expires makes the EXPIRES IN column exact.
	now := f.projects.Expires.Add(-8 * time.Minute)
	out, err := runLocks(t, now, "ls", "--server", f.base)
	if err != nil {
		t.Fatalf("ls: %v", err)
	}
	got := tableRows(t, out)
	want := [][]string{
		{"/other.txt", "exclusive", "0", "anonymous", "carol", "never", f.other.Token},
		{"/projects", "shared", "infinity", "anonymous", "mailto:ann@example.com", "8m0s", f.projects.Token},
		{"/projects/notes.txt", "shared", "0", "anonymous", "bob", f.notes.Expires.Sub(now).Round(time.Second).String(), f.notes.Token},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("ls table rows\ngot  %q\nwant %q\n%s", got, want, out)
	}
	if !strings.Contains(out, "EXPIRES IN") || !strings.Contains(out, "OWNER") {
		t.Errorf("ls header lacks EXPIRES IN or OWNER:\n%s", out)
	}
}

func TestLocksLsFilters(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		want []string // paths, in order
	}{
		{"everything", nil, []string{"/other.txt", "/projects", "/projects/notes.txt"}},
		{"path depth infinity", []string{"--path", "/projects"}, []string{"/projects", "/projects/notes.txt"}},
		{"path depth 0", []string{"--path", "/projects", "--depth", "0"}, []string{"/projects"}},
		{"path depth 1", []string{"--path", "/projects", "--depth", "1"}, []string{"/projects", "/projects/notes.txt"}},
		{"member depth 0", []string{"--path", "/projects/notes.txt", "--depth", "0"}, []string{"/projects/notes.txt"}},
		{"covering", []string{"--path", "/projects/notes.txt", "--depth", "0", "--covering"}, []string{"/projects", "/projects/notes.txt"}},
		{"scope exclusive", []string{"--scope", "exclusive"}, []string{"/other.txt"}},
		{"scope shared", []string{"--scope", "shared"}, []string{"/projects", "/projects/notes.txt"}},
		{"owner substring in XML", []string{"--owner", "ann@example"}, []string{"/projects"}},
		{"principal", []string{"--principal", "anonymous", "--owner", "carol"}, []string{"/other.txt"}},
		{"no match", []string{"--principal", "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"ls", "--server", f.base}, tt.args...)
			out, err := runLocks(t, time.Now(), append(args, "--json")...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			var list struct {
				Locks []locksystem.Lock `json:"locks"`
				Count int               `json:"count"`
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("%v --json printed %q: %v", args, out, err)
			}
			var got []string
			for _, l := range list.Locks {
				got = append(got, l.Path)
			}
			if !slices.Equal(got, tt.want) || list.Count != len(tt.want) {
				t.Errorf("%v --json: got paths %q count %d, want %q", args, got, list.Count, tt.want)
			}

			out, err = runLocks(t, time.Now(), args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if len(tt.want) == 0 {
				if out != "no locks\n" {
					t.Errorf("%v printed %q, want %q", args, out, "no locks\n")
				}
				return
			}
			got = nil
			for _, row := range tableRows(t, out) {
				got = append(got, row[0])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%v table: got paths %q, want %q", args, got, tt.want)
			}
		})
	}
}

func TestLocksShow(t *testing.T) {
	f := newFixture(t)
	now := f.notes.Expires.Add(-90 * time.Second)
	out, err := runLocks(t, now, "show", "--server", f.base, f.notes.Token)
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("show line %q is not key: value", line)
		}
		fields[k] = strings.TrimSpace(v)
	}
	want := map[string]string{
		"token": f.notes.Token, "path": "/projects/notes.txt", "scope": "shared", "depth": "0",
		"owner": "bob", "principal": "anonymous", "timeout_seconds": "300 (5m0s)",
		"created":   f.notes.Created.Format(time.RFC3339),
		"refreshed": f.notes.Refreshed.Format(time.RFC3339),
		"expires":   f.notes.Expires.Format(time.RFC3339) + " (in 1m30s)",
		"client.ip": "127.0.0.1", "client.user_agent": "Go-http-client/1.1",
		"release_on_update": "false", "lock_null": "false",
	}
	for k, w := range want {
		if fields[k] != w {
			t.Errorf("show %s = %q, want %q", k, fields[k], w)
		}
	}
	if len(fields) != len(want) {
		t.Errorf("show printed %d fields, want %d:\n%s", len(fields), len(want), out)
	}

	out, err = runLocks(t, now, "show", "--server", f.base, "<"+f.other.Token+">")
	if err != nil {
		t.Fatalf("show <token>: %v", err)
	}
	for _, w := range []string{"timeout_seconds:    0 (infinite)", "expires:            never", "owner:              carol"} {
		if !strings.Contains(out, w) {
			t.Errorf("show of the infinite lock lacks %q:\n%s", w, out)
		}
	}

	out, err = runLocks(t, now, "show", "--server", f.base, "--json", f.projects.Token)
	if err != nil {
		t.Fatalf("show --json: %v", err)
	}
	var got locksystem.Lock
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("show --json printed %q: %v", out, err)
	}
	if got.Token != f.projects.Token || got.Owner != f.projects.Owner || got.Depth != locksystem.DepthInfinity {
		t.Errorf("show --json = %+v, want the /projects lock %+v", got, f.projects)
	}
}

func TestLocksRelease(t *testing.T) {
	f := newFixture(t)
	out, err := runLocks(t, time.Now(), "release", "--server", f.base, f.other.Token)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if want := "released " + f.other.Token + "\n"; out != want {
		t.Errorf("release printed %q, want %q", out, want)
	}
	if status, _ := request(t, "GET", f.base+locksAPI+"/"+f.other.Token, "", nil); status != http.StatusNotFound {
		t.Errorf("GET of the released lock: %d, want 404", status)
	}
	// The lock is gone for WebDAV too: a PUT without a token succeeds.
	if status, b := request(t, "PUT", f.base+"/other.txt", "x", nil); status != http.StatusNoContent && status != http.StatusCreated {
		t.Errorf("PUT after release: %d %s, want success", status, b)
	}

	for _, args := range [][]string{
		{"release", f.other.Token},
		{"show", f.other.Token},
		{"show", "urn:uuid:00000000-0000-4000-8000-000000000000"},
	} {
		_, err := runLocks(t, time.Now(), append(args, "--server", f.base)...)
		var se *statusError
		if !errors.As(err, &se) || se.Status != http.StatusNotFound {
			t.Fatalf("%v: err %v, want a 404 statusError", args, err)
		}
		if want := "404 Not Found: no live lock has this token"; err.Error() != want {
			t.Errorf("%v: error %q, want %q", args, err, want)
		}
	}
}

func TestLocksUnreachable(t *testing.T) {
	clearLocksEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, args := range [][]string{{"ls"}, {"show", "urn:uuid:x"}, {"release", "urn:uuid:x"}} {
		_, err := runLocks(t, time.Now(), append(args, "--server", base)...)
		want := "cannot reach lockdav at " + base + ": "
		if !errors.Is(err, errUnreachable) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%v: error %v, want %q… connection refused", args, err, want)
		}
	}
}

func TestLocksTimeout(t *testing.T) {
	clearLocksEnv(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	_, err := runLocks(t, time.Now(), "ls", "--server", slow.URL, "--timeout", "50ms")
	if !errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), "no answer within --timeout") {
		t.Errorf("ls against a silent server: %v, want %q", err, "cannot reach lockdav … no answer within --timeout")
	}
}

// TestLocksServerRefusals: error answers carry the server's error and detail; answers that are
// not the API's JSON say so.
func TestLocksServerRefusals(t *testing.T) {
	clearLocksEnv(t)
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wants       []string
	}{
		{"401", 401, "application/json", `{"error":"unauthorized","detail":"credentials required"}`,
			[]string{"401 Unauthorized: credentials required", "--user", "LOCKDAV_PASSWORD"}},
		{"403", 403, "application/json", `{"error":"forbidden","detail":"the lock belongs to another principal"}`,
			[]string{"403 Forbidden: the lock belongs to another principal", "principal or an admin"}},
		{"400 names the field", 400, "application/json", `{"error":"invalid parameter","detail":"depth must be 0, 1 or infinity"}`,
			[]string{"400 Bad Request: invalid parameter: depth must be 0, 1 or infinity"}},
		{"HTML 200", 200, "text/html", "<html><body>Welcome to nginx!</body></html>",
			[]string{"answer is not lockdav JSON", "text/html", "Welcome to nginx!", "is " + "SERVER" + " a lockdav server?"}},
		{"HTML 502", 502, "text/html", "<html>Bad Gateway</html>",
			[]string{"answered 502 Bad Gateway", "answer is not lockdav JSON", "Bad Gateway"}},
		{"JSON without error", 500, "application/json", `{"oops":1}`, []string{"answered 500", "not lockdav JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				if _, err := w.Write([]byte(tt.body)); err != nil {
					t.Errorf("fake server: writing the body: %v", err)
				}
			}))
			defer fake.Close()
			for _, args := range [][]string{{"ls"}, {"show", "urn:uuid:x"}} {
				out, err := runLocks(t, time.Now(), append(args, "--server", fake.URL)...)
				if err == nil {
					t.Fatalf("%v: no error, printed %q", args, out)
				}
				for _, w := range tt.wants {
					w = strings.ReplaceAll(w, "SERVER", fake.URL)
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%v: error %q lacks %q", args, err, w)
					}
				}
			}
		})
	}
}

// TestLocksCredentials: Basic credentials come from the flags or the environment and are sent
// only when set; --server comes from the flag, else LOCKDAV_SERVER.
func TestLocksCredentials(t *testing.T) {
	type seen struct {
		auth bool
		user string
		pass string
		path string
	}
	got := make(chan seen, 1)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		got <- seen{ok, u, p, r.URL.Path}
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(`{"locks":[],"count":0}`)); err != nil {
			t.Errorf("fake server: writing the body: %v", err)
		}
	}))
	defer fake.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want seen
	}{
		{"none", nil, []string{"--server", fake.URL}, seen{path: locksAPI}},
		{"flags", nil, []string{"--server", fake.URL, "--user", "alice", "--password", "s3cret"}, seen{true, "alice", "s3cret", locksAPI}},
		{"environment", map[string]string{envServer: fake.URL, envUser: "bob", envPassword: "pw"}, nil, seen{true, "bob", "pw", locksAPI}},
		{"flags over environment", map[string]string{envServer: "http://127.0.0.1:1", envUser: "bob", envPassword: "pw"},
			[]string{"--server", fake.URL + "/", "--user", "carol"}, seen{true, "carol", "pw", locksAPI}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearLocksEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out, err := runLocks(t, time.Now(), append([]string{"ls"}, tt.args...)...)
			if err != nil || out != "no locks\n" {
				t.Fatalf("ls: %q, %v", out, err)
			}
			if s := <-got; s != tt.want {
				t.Errorf("server saw %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestLocksBadArguments(t *testing.T) {
	clearLocksEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"ls", "--depth", "2"}, `--depth "2": want 0, 1 or infinity`},
		{[]string{"ls", "--scope", "both"}, `--scope "both": want exclusive or shared`},
		{[]string{"ls", "--path", "projects"}, `--path "projects": want an absolute path`},
		{[]string{"ls", "--server", "ftp://example.com"}, `--server "ftp://example.com": want an http:// or https:// URL`},
		{[]string{"ls", "--server", "127.0.0.1:8080"}, `want an http:// or https:// URL`},
		{[]string{"ls", "--timeout", "0s"}, `--timeout 0s: want a positive duration`},
		{[]string{"ls", "--timeout", "soon"}, `invalid argument "soon"`},
		{[]string{"ls", "extra"}, `unknown command "extra"`},
		{[]string{"show"}, "want exactly one lock token, got 0 arguments"},
		{[]string{"release", "a", "b"}, "want exactly one lock token, got 2 arguments"},
		{[]string{"show", "urn:uuid:x/../y"}, `lock token "urn:uuid:x/../y"`},
		{[]string{"release", "<>"}, `lock token "<>"`},
		{[]string{"release", "--json", "urn:uuid:x"}, "unknown flag: --json"},
	}
	for _, tt := range tests {
		out, err := runLocks(t, time.Now(), tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("locks %v: error %v (printed %q), want one containing %q", tt.args, err, out, tt.want)
		}
	}
}

// TestLocksBinary runs the built command: help, and exit status 1 with the reason on stderr.
func TestLocksBinary(t *testing.T) {
	clearLocksEnv(t)
	base := startLockdav(t)
	help := []struct {
		args  []string
		wants []string
	}{
		{[]string{"--help"}, []string{"locks"}},
		{[]string{"locks", "--help"}, []string{"ls", "show", "release", "--server", "--user", "--password", "--timeout", "LOCKDAV_SERVER", "LOCKDAV_USER", "LOCKDAV_PASSWORD", "http://127.0.0.1:8080"}},
		{[]string{"locks", "ls", "--help"}, []string{"--path", "--depth", "--covering", "--owner", "--principal", "--scope", "--json", "never", "--server"}},
		{[]string{"locks", "show", "--help"}, []string{"TOKEN", "--json"}},
		{[]string{"locks", "release", "--help"}, []string{"TOKEN", "admin"}},
	}
	for _, tt := range help {
		out, err := exec.Command(build(t), tt.args...).CombinedOutput()
		if err != nil {
			t.Errorf("lockdav %v: %v", tt.args, err)
		}
		for _, w := range tt.wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("lockdav %v output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}

	runs := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"locks", "ls", "--server", base}, 0, "no locks\n", ""},
		{[]string{"locks", "show", "urn:uuid:nope", "--server", base}, 1, "", "lockdav: 404 Not Found: no live lock has this token\n"},
		{[]string{"locks", "ls", "--depth", "2"}, 1, "", "lockdav: invalid argument: --depth \"2\": want 0, 1 or infinity\n"},
	}
	for _, tt := range runs {
		cmd := exec.Command(build(t), tt.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
			t.Errorf("lockdav %v: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestCellFormatting(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	expires := []struct {
		l    locksystem.Lock
		want string
	}{
		{locksystem.Lock{}, "never"},
		{locksystem.Lock{Expires: now.Add(10 * time.Minute)}, "10m0s"},
		{locksystem.Lock{Expires: now.Add(1500 * time.Millisecond)}, "2s"},
		{locksystem.Lock{Expires: now.Add(26*time.Hour + 3*time.Second)}, "26h0m3s"},
		{locksystem.Lock{Expires: now}, "expired"},
		{locksystem.Lock{Expires: now.Add(-time.Hour)}, "expired"},
	}
	for _, tt := range expires {
		if got := expiresIn(tt.l, now); got != tt.want {
			t.Errorf("expiresIn(expires %v) = %q, want %q", tt.l.Expires, got, tt.want)
		}
	}
	if got, want := shorten(strings.Repeat("x", 40), 10), "xxxxxxxxx…"; got != want {
		t.Errorf("shorten = %q, want %q", got, want)
	}
	if got, want := shorten("ünïcödé", 7), "ünïcödé"; got != want {
		t.Errorf("shorten = %q, want %q", got, want)
	}
	if got, want := printable("evil\x1b[31m\tred\n"), `evil\x1b[31m\tred\n`; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
}

// TestLocksTableEscapesClientText: owners come from clients; the table must not pass terminal
// escapes through.
func TestLocksTableEscapesClientText(t *testing.T) {
	clearLocksEnv(t)
	base := startLockdav(t)
	apiLock(t, base, `{"path":"/x.txt","owner":"evil\u001b[2Jowner"}`)
	out, err := runLocks(t, time.Now(), "ls", "--server", base)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `evil\x1b[2Jowner`) {
		t.Errorf("ls printed %q, want the escape shown as \\x1b", out)
	}
}
