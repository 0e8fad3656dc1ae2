package server

// Authentication, authorization and per-user roots, against a live httptest server.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/crypto/bcrypt"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// syncBuffer is a log sink the test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// authServer is a live Handler with users; each user's password is its name + "-pw".
type authServer struct {
	t     *testing.T
	url   string
	host  string
	fs    *fs.FS
	locks *locksystem.System
	log   *syncBuffer
	// mu guards now.
	mu  sync.Mutex
	now time.Time
}

func userOf(name string, access auth.Access, admin bool, root string) auth.User {
	h, err := bcrypt.GenerateFromPassword([]byte(name+"-pw"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return auth.User{Name: name, Hash: string(h), Access: access, Admin: admin, Root: root}
}

func newAuthServer(t *testing.T, anonymous auth.Access, users ...auth.User) *authServer {
	t.Helper()
	s := &authServer{t: t, log: &syncBuffer{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := zerolog.New(zerolog.MultiLevelWriter(s.log, zerolog.NewTestWriter(t)))
	s.fs = fs.New(afero.NewMemMapFs(), fs.NewMemProps(), log)
	ls, err := locksystem.New(s.now, locksystem.Options{Logger: log, MaxPerPrincipal: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	s.locks = ls
	a, err := auth.New(auth.Options{Users: users, Anonymous: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Root != "" && u.Root != "/" {
			mkdirAll(t, s.fs, u.Root)
		}
	}
	h := newHandler(handlerOptions{FS: s.fs, Locks: ls, Logger: log, Auth: a, Now: s.clock})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url, s.host = srv.URL, strings.TrimPrefix(srv.URL, "http://")
	return s
}

func mkdirAll(t *testing.T, fsys *fs.FS, p string) {
	t.Helper()
	dir := ""
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		dir += "/" + seg
		if err := fsys.Mkdir(t.Context(), dir, 0o700); err != nil && !strings.Contains(err.Error(), "exist") {
			t.Fatal(err)
		}
	}
}

func (s *authServer) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *authServer) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// do sends a request as user ("" for none; a "user:password" pair for explicit credentials),
// with extra headers in name, value pairs, and returns the response with its body read.
func (s *authServer) do(user, method, target, body string, headers ...string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+target, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if user != "" {
		name, pw, ok := strings.Cut(user, ":")
		if !ok {
			pw = name + "-pw"
		}
		req.SetBasicAuth(name, pw)
	}
	if method == http.MethodPost && strings.HasPrefix(target, apiLocks) {
		req.Header.Set("Content-Type", "application/json") // as the API's clients send
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// expect sends a request and checks its status.
func (s *authServer) expect(status int, user, method, target, body string, headers ...string) (*http.Response, string) {
	s.t.Helper()
	resp, b := s.do(user, method, target, body, headers...)
	if resp.StatusCode != status {
		s.t.Fatalf("%s %s %s: got %d, want %d; body: %s", user, method, target, resp.StatusCode, status, b)
	}
	return resp, b
}

// lock takes an exclusive lock as user and returns its token.
func (s *authServer) lock(user, target, depth string) string {
	s.t.Helper()
	resp, b := s.do(user, "LOCK", target, exclusiveBody, "Depth", depth)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("%s LOCK %s: got %d, want 200 or 201; body: %s", user, target, resp.StatusCode, b)
	}
	return strings.Trim(resp.Header.Get("Lock-Token"), "<>")
}

// raw sends bytes on a new connection and returns the status line and body, for requests
// net/http's client would clean.
func (s *authServer) raw(request string) (int, string) {
	s.t.Helper()
	conn, err := net.Dial("tcp", s.host)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		s.t.Fatalf("reading answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func basic(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

// TestBasicAuth: 401 with a Basic challenge when credentials are missing or wrong, the same
// answer for an unknown user and a wrong password; the health check needs none.
func TestBasicAuth(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""))
	var first string
	for _, tt := range []struct {
		name, user string
		headers    []string
	}{
		{"no credentials", "", nil},
		{"wrong password", "alice:nope", nil},
		{"unknown user", "mallory:alice-pw", nil},
		{"empty user", ":alice-pw", nil},
		{"other scheme", "", []string{"Authorization", "Bearer alice-pw"}},
		{"garbled basic", "", []string{"Authorization", "Basic !!!"}},
	} {
		resp, body := s.expect(http.StatusUnauthorized, tt.user, "PROPFIND", "/", "", tt.headers...)
		if got := resp.Header.Get("WWW-Authenticate"); got != challenge {
			t.Errorf("%s: WWW-Authenticate = %q, want %q", tt.name, got, challenge)
		}
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: body %q differs from %q", tt.name, body, first)
		}
	}
	s.expect(http.StatusMultiStatus, "alice", "PROPFIND", "/", "", "Depth", "0")
	s.expect(http.StatusOK, "", "GET", request.Reserved+"healthz", "")
	s.expect(http.StatusUnauthorized, "", "GET", apiLocks, "")
	if strings.Contains(s.log.String(), "alice-pw") {
		t.Errorf("the log contains a password:\n%s", s.log.String())
	}
}

// TestAnonymousRead: with anonymous read access, requests without credentials read; their
// writes are challenged (so that a client can log in); wrong credentials are still 401.
func TestAnonymousRead(t *testing.T) {
	s := newAuthServer(t, auth.Read, userOf("alice", auth.Write, false, ""))
	s.expect(http.StatusCreated, "alice", "PUT", "/f.txt", "hello")
	if _, b := s.expect(http.StatusOK, "", "GET", "/f.txt", ""); b != "hello" {
		t.Errorf("anonymous GET = %q, want hello", b)
	}
	resp, _ := s.expect(http.StatusUnauthorized, "", "PUT", "/f.txt", "overwritten")
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous write: no WWW-Authenticate challenge")
	}
	s.expect(http.StatusUnauthorized, "", "LOCK", "/f.txt", exclusiveBody)
	s.expect(http.StatusUnauthorized, "alice:wrong", "GET", "/f.txt", "")
	if got, _ := readFile(s.fs, "/f.txt"); got != "hello" {
		t.Errorf("file = %q after refused writes, want hello", got)
	}
}

func readFile(fsys *fs.FS, p string) (string, bool) {
	f, err := fsys.OpenFile(context0(), p, 0, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b), true
}

// TestReadOnlyUser: a read user may OPTIONS, GET, HEAD, PROPFIND and GET the lock API; every
// other method is 403 and changes nothing.
func TestReadOnlyUser(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""), userOf("reader", auth.Read, false, ""))
	s.expect(http.StatusCreated, "alice", "PUT", "/f.txt", "v1")
	s.expect(http.StatusCreated, "alice", "MKCOL", "/dir", "")
	tok := s.lock("alice", "/dir", "0")
	for _, m := range []struct{ method, target string }{
		{"OPTIONS", "/"}, {"GET", "/f.txt"}, {"HEAD", "/f.txt"}, {"PROPFIND", "/"}, {"GET", "/"},
		{"GET", apiLocks}, {"GET", apiLocks + "/" + tok},
	} {
		resp, _ := s.do("reader", m.method, m.target, "", "Depth", "0")
		if resp.StatusCode >= 300 {
			t.Errorf("reader %s %s = %d, want 2xx", m.method, m.target, resp.StatusCode)
		}
	}
	dest := []string{"Destination", s.url + "/g.txt"}
	for _, m := range []struct {
		method, target, body string
		headers              []string
	}{
		{"PUT", "/f.txt", "v2", nil},
		{"PUT", "/new.txt", "x", nil},
		{"DELETE", "/f.txt", "", nil},
		{"MKCOL", "/d2", "", nil},
		{"COPY", "/f.txt", "", dest},
		{"MOVE", "/f.txt", "", dest},
		{"PROPPATCH", "/f.txt", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>`, nil},
		{"LOCK", "/f.txt", exclusiveBody, nil},
		{"UNLOCK", "/dir", "", []string{"Lock-Token", "<" + tok + ">"}},
		{"POST", "/f.txt", "x", nil},
		{"POST", apiLocks, `{"path":"/f.txt"}`, nil},
		{"DELETE", apiLocks + "/" + tok, "", nil},
	} {
		resp, body := s.do("reader", m.method, m.target, m.body, m.headers...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("reader %s %s = %d, want 403; body: %s", m.method, m.target, resp.StatusCode, body)
		}
	}
	if got, _ := readFile(s.fs, "/f.txt"); got != "v1" {
		t.Errorf("/f.txt = %q, want v1", got)
	}
	if _, ok := readFile(s.fs, "/g.txt"); ok {
		t.Errorf("/g.txt exists after a refused COPY")
	}
	if _, ok := s.locks.Get(s.clock(), tok); !ok {
		t.Errorf("alice's lock is gone after the reader's refused UNLOCK and DELETE")
	}
}

// TestFailedLoginLimit: five failures from an address, then 429 with Retry-After even for the
// right password, until a second has passed; each failure is logged with the remote and the
// user, never the password.
func TestFailedLoginLimit(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""))
	for range auth.DefaultFailBurst {
		s.expect(http.StatusUnauthorized, "alice:guess", "GET", "/", "")
	}
	resp, _ := s.expect(http.StatusTooManyRequests, "alice", "GET", "/", "")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	s.expect(http.StatusUnauthorized, "", "GET", "/", "") // no credentials: nothing to limit
	s.advance(time.Second)
	s.expect(http.StatusOK, "alice", "GET", "/", "")
	log := s.log.String()
	for _, want := range []string{`"message":"login failed"`, `"user":"alice"`, `"remote":"127.0.0.1:`, "too many failed logins"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(log, "guess") || strings.Contains(log, "alice-pw") {
		t.Errorf("the log contains a password")
	}
}

// TestAccessLogNamesPrincipal: the access log names the authenticated user.
func TestAccessLogNamesPrincipal(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""))
	s.expect(http.StatusOK, "alice", "GET", "/", "")
	found := false
	for _, line := range strings.Split(s.log.String(), "\n") {
		if strings.Contains(line, `"message":"request"`) {
			found = found || strings.Contains(line, `"principal":"alice"`)
		}
	}
	if !found {
		t.Errorf("no access log line names principal alice:\n%s", s.log.String())
	}
}

// TestLocksBetweenUsers: tokens are bound to the principal that took them (RFC 4918 §6.4):
// bob submitting alice's token gets 423, bob's UNLOCK of it 403; an admin force-releases it
// through the lock API (204, logged as forced); a plain user cannot.
func TestLocksBetweenUsers(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""),
		userOf("bob", auth.Write, false, ""), userOf("root", auth.Write, true, ""))
	s.expect(http.StatusCreated, "alice", "PUT", "/doc.txt", "v1")
	tok := s.lock("alice", "/doc.txt", "0")
	s.expect(http.StatusLocked, "bob", "PUT", "/doc.txt", "bob's", "If", ifToken(tok))
	s.expect(http.StatusForbidden, "bob", "UNLOCK", "/doc.txt", "", "Lock-Token", "<"+tok+">")
	s.expect(http.StatusForbidden, "bob", "DELETE", apiLocks+"/"+tok, "")
	s.expect(http.StatusNoContent, "alice", "PUT", "/doc.txt", "v2", "If", ifToken(tok))
	s.expect(http.StatusNoContent, "root", "DELETE", apiLocks+"/"+tok, "")
	if !strings.Contains(s.log.String(), "forced") {
		t.Errorf("admin release not logged as forced:\n%s", s.log.String())
	}
	s.expect(http.StatusNoContent, "bob", "PUT", "/doc.txt", "bob's") // no lock any more
	s.expect(http.StatusNoContent, "bob", "PUT", "/doc.txt", "bob's again")
}

// TestLockLimit: past locks.max_per_principal (3 here), LOCK is refused with 423 and a
// condition naming the limit, both over WebDAV and the lock API; other principals are not
// affected, and releasing one lock makes room.
func TestLockLimit(t *testing.T) {
	s := newAuthServer(t, auth.None, userOf("alice", auth.Write, false, ""), userOf("bob", auth.Write, false, ""))
	var toks []string
	for _, p := range []string{"/a", "/b", "/c"} {
		toks = append(toks, s.lock("alice", p, "0"))
	}
	resp, body := s.expect(http.StatusLocked, "alice", "LOCK", "/d", exclusiveBody)
	if !strings.Contains(body, "lock-limit-reached") || resp.Header.Get("Retry-After") != "" {
		t.Errorf("LOCK past the limit: body %q, Retry-After %q; want lock-limit-reached and no Retry-After", body, resp.Header.Get("Retry-After"))
	}
	s.expect(http.StatusLocked, "alice", "POST", apiLocks, `{"path":"/d"}`)
	s.lock("bob", "/d", "0")
	s.expect(http.StatusNoContent, "alice", "UNLOCK", "/a", "", "Lock-Token", "<"+toks[0]+">")
	s.lock("alice", "/e", "0")
}

// TestUserRoots covers the sentences: users with different roots share one lock table
// keyed by the real path; users whose roots overlap (alice at /shared, bob at /) see and respect
// each other's locks; users with disjoint roots (carol at /c, dave at /d) never collide on the
// same relative path.
func TestUserRoots(t *testing.T) {
	s := newAuthServer(t, auth.None,
		userOf("alice", auth.Write, false, "/shared"), userOf("bob", auth.Write, false, "/"),
		userOf("carol", auth.Write, false, "/c"), userOf("dave", auth.Write, false, "/d"),
		userOf("root", auth.Write, true, "/"))

	{ // overlapping roots see and respect each other's locks
		s.expect(http.StatusCreated, "alice", "PUT", "/doc.txt", "alice's")
		if got, _ := readFile(s.fs, "/shared/doc.txt"); got != "alice's" {
			t.Fatalf("real /shared/doc.txt = %q, want alice's", got)
		}
		tok := s.lock("alice", "/doc.txt", "0")
		// alice sees her lock at her URL; bob sees the same lock at his.
		_, ab := s.expect(http.StatusMultiStatus, "alice", "PROPFIND", "/doc.txt", "", "Depth", "0")
		wantContains(t, "alice's PROPFIND", ab, "<D:href>/doc.txt</D:href></D:lockroot>", tok)
		_, bb := s.expect(http.StatusMultiStatus, "bob", "PROPFIND", "/shared/doc.txt", "", "Depth", "0")
		wantContains(t, "bob's PROPFIND", bb, "<D:href>/shared/doc.txt</D:href></D:lockroot>", tok)
		// bob respects it: no write, no conflicting lock, and the answers name his URL.
		_, body := s.expect(http.StatusLocked, "bob", "PUT", "/shared/doc.txt", "bob's")
		wantContains(t, "bob's PUT", body, "lock-token-submitted", "<D:href>/shared/doc.txt</D:href>")
		_, body = s.expect(http.StatusLocked, "bob", "LOCK", "/shared", exclusiveBody)
		wantContains(t, "bob's LOCK", body, "no-conflicting-lock", "<D:href>/shared/doc.txt</D:href>")
		s.expect(http.StatusLocked, "bob", "DELETE", "/shared/doc.txt", "")
		s.expect(http.StatusForbidden, "bob", "UNLOCK", "/shared/doc.txt", "", "Lock-Token", "<"+tok+">")
		// The lock API shows alice her path, bob (unconfined) and the admin the real one.
		wantContains(t, "alice's API", s.api("alice", "/"+tok), `"path": "/doc.txt"`)
		wantContains(t, "bob's API", s.api("bob", "/"+tok), `"path": "/shared/doc.txt"`)
		wantContains(t, "admin's API", s.api("root", "?path=/shared"), `"path": "/shared/doc.txt"`)
		s.expect(http.StatusNoContent, "alice", "UNLOCK", "/doc.txt", "", "Lock-Token", "<"+tok+">")

		// A lock above alice's root covers her tree and shows to her at "/".
		btok := s.lock("bob", "/", "infinity")
		_, ab = s.expect(http.StatusMultiStatus, "alice", "PROPFIND", "/doc.txt", "", "Depth", "0")
		wantContains(t, "alice's PROPFIND under bob's lock", ab, "<D:lockroot><D:href>/</D:href></D:lockroot>", btok)
		_, body = s.expect(http.StatusLocked, "alice", "PUT", "/doc.txt", "alice's v2")
		wantContains(t, "alice's PUT under bob's lock", body, "<D:href>/</D:href>")
		if strings.Contains(body, "shared") {
			t.Errorf("alice's 423 names the real path: %s", body)
		}
		s.expect(http.StatusLocked, "alice", "PUT", "/doc.txt", "alice's v2", "If", ifToken(btok))
		s.expect(http.StatusNoContent, "bob", "UNLOCK", "/", "", "Lock-Token", "<"+btok+">")
	}

	{ // disjoint roots never collide on the same relative path
		s.expect(http.StatusCreated, "carol", "PUT", "/same.txt", "carol's")
		s.expect(http.StatusCreated, "dave", "PUT", "/same.txt", "dave's")
		ctok := s.lock("carol", "/same.txt", "0")
		dtok := s.lock("dave", "/same.txt", "0") // no conflict: another real path
		s.expect(http.StatusNoContent, "carol", "PUT", "/same.txt", "carol's v2", "If", ifToken(ctok))
		if _, b := s.expect(http.StatusOK, "carol", "GET", "/same.txt", ""); b != "carol's v2" {
			t.Errorf("carol GET /same.txt = %q", b)
		}
		if _, b := s.expect(http.StatusOK, "dave", "GET", "/same.txt", ""); b != "dave's" {
			t.Errorf("dave GET /same.txt = %q", b)
		}
		// carol's listing, lock list and lock lookups show her tree only, in her paths.
		_, body := s.expect(http.StatusMultiStatus, "carol", "PROPFIND", "/", "", "Depth", "1")
		wantContains(t, "carol's PROPFIND", body, "<D:href>/same.txt</D:href>")
		wantLacks(t, "carol's PROPFIND", body, "/c/", dtok)
		list := s.api("carol", "")
		wantContains(t, "carol's lock list", list, ctok, `"path": "/same.txt"`, `"count": 1`)
		wantLacks(t, "carol's lock list", list, dtok, "/d/", "/c/")
		s.expect(http.StatusNotFound, "carol", "GET", apiLocks+"/"+dtok, "")
		_, html := s.expect(http.StatusOK, "carol", "GET", "/", "")
		wantContains(t, "carol's listing", html, `href="/same.txt"`)
		wantLacks(t, "carol's listing", html, "/c/", "dave")
		// COPY and MOVE stay in carol's tree: "/d/same.txt" is her /c/d/same.txt.
		dst := []string{"Destination", s.url + "/d/same.txt"}
		s.expect(http.StatusConflict, "carol", "COPY", "/same.txt", "", dst...)
		s.expect(http.StatusCreated, "carol", "MKCOL", "/d", "")
		s.expect(http.StatusCreated, "carol", "COPY", "/same.txt", "", dst...)
		if got, _ := readFile(s.fs, "/c/d/same.txt"); got != "carol's v2" {
			t.Errorf("carol's COPY wrote /c/d/same.txt = %q", got)
		}
		if got, _ := readFile(s.fs, "/d/same.txt"); got != "dave's" {
			t.Errorf("dave's /d/same.txt = %q after carol's COPY, want dave's", got)
		}
		// Her root itself can be neither deleted nor moved.
		s.expect(http.StatusMethodNotAllowed, "carol", "DELETE", "/", "", "If", "<"+s.url+"/same.txt> "+ifToken(ctok))
		s.expect(http.StatusForbidden, "carol", "MOVE", "/", "", "Destination", s.url+"/moved", "If", "<"+s.url+"/same.txt> "+ifToken(ctok))
		if _, ok := s.fs.Stat(context0(), "/c"); ok != nil {
			t.Errorf("carol's root is gone: %v", ok)
		}
	}

	{ // traversal out of a root
		auth := basic("carol", "carol-pw")
		for _, target := range []string{"/../d/same.txt", "/%2e%2e/d/same.txt", "/%2E%2E/d/same.txt",
			"/..%2fd/same.txt", "/..%5cd%5csame.txt", "/x/../../d/same.txt"} {
			status, body := s.raw("GET " + target + " HTTP/1.1\r\nHost: " + s.host + "\r\nAuthorization: " + auth + "\r\nConnection: close\r\n\r\n")
			if status != http.StatusForbidden && status != http.StatusNotFound && status != http.StatusBadRequest {
				t.Errorf("GET %s = %d, want 403, 404 or 400", target, status)
			}
			wantLacks(t, "GET "+target, body, "dave's", "/d/", "/c/")
		}
		for _, d := range []string{"/../d/x.txt", "/%2e%2e/d/x.txt", s.url + "/..%2fd/x.txt", s.url + "/a/../../d/x.txt"} {
			resp, body := s.do("carol", "COPY", "/same.txt", "", "Destination", d)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("COPY to %s = %d, want 403; body %s", d, resp.StatusCode, body)
			}
		}
		if _, ok := readFile(s.fs, "/d/x.txt"); ok {
			t.Errorf("a COPY reached dave's tree")
		}
	}
}

func (s *authServer) api(user, suffix string) string {
	s.t.Helper()
	_, body := s.expect(http.StatusOK, user, "GET", apiLocks+suffix, "")
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		s.t.Fatalf("API answer is not JSON: %v: %s", err, body)
	}
	return body
}

func wantContains(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(body, sub) {
			t.Errorf("%s: body lacks %q:\n%s", what, sub, body)
		}
	}
}

func wantLacks(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(body, sub) {
			t.Errorf("%s: body contains %q:\n%s", what, sub, body)
		}
	}
}

func context0() context.Context { return context.Background() }
