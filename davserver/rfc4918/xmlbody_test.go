package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// updateGolden rewrites the golden files under testdata/golden from the current output.
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden files")

// golden compares got with testdata/golden/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file\n got %s\nwant %s", name, got, want)
	}
}

// wellFormed asserts doc parses with encoding/xml from start to end, and returns its
// elements' names in document order.
func wellFormed(t *testing.T, doc string) []xml.Name {
	t.Helper()
	var names []xml.Name
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space == "" || se.Name.Space == "D" {
				t.Errorf("element %q has no namespace:\n%s", se.Name.Local, doc)
			}
			names = append(names, se.Name)
		}
	}
}

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testLocks() []locksystem.Lock {
	return []locksystem.Lock{
		{
			Token: "urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4", Path: "/workspace/webdav/proposal.doc",
			Scope: locksystem.Exclusive, Depth: locksystem.DepthInfinity,
			Owner:   `<href xmlns="DAV:">http://example.org/~ejw/contact.html</href>`,
			Timeout: 3600 * time.Second, Refreshed: testNow.Add(-100 * time.Second),
			Expires: testNow.Add(3500 * time.Second), Principal: "ejw", Created: testNow.Add(-100 * time.Second),
			Client: locksystem.Client{IP: "2001:db8::1", UserAgent: "Microsoft-WebDAV-MiniRedir/10.0.19045"},
		},
		{
			Token: "urn:uuid:0e8a5bd2-5c8f-4d4b-9c1e-1f0e0e0e0e0e", Path: "/a b/ü&<x>/",
			Scope: locksystem.Shared, Depth: locksystem.DepthZero,
			Owner: "litmus test suite",
		},
		{
			Token: "urn:uuid:1", Path: "/", Scope: locksystem.Shared, Depth: locksystem.DepthZero,
			Timeout: time.Minute, Expires: testNow.Add(-time.Second), // expired, not yet collected
		},
	}
}

func TestLockDiscoveryXML(t *testing.T) {
	got := string(AppendLockDiscovery(nil, testLocks(), testNow))
	golden(t, "lockdiscovery.xml", []byte(got))
	// As x/net embeds it: inside a D:prop element of a multistatus that declares nothing else.
	doc := `<multistatus xmlns="DAV:"><response><propstat><prop><lockdiscovery>` + got +
		`</lockdiscovery></prop></propstat></response></multistatus>`
	names := wellFormed(t, doc)
	var activelocks int
	for _, n := range names {
		if n == (xml.Name{Space: "DAV:", Local: "activelock"}) {
			activelocks++
		}
	}
	if activelocks != 3 {
		t.Errorf("%d activelock elements, want 3", activelocks)
	}
	if len(AppendLockDiscovery(nil, nil, testNow)) != 0 {
		t.Errorf("AppendLockDiscovery(nil) is not empty")
	}
}

func TestLockDiscoveryDecodes(t *testing.T) {
	type activelock struct {
		Scope struct {
			Exclusive *struct{} `xml:"exclusive"`
			Shared    *struct{} `xml:"shared"`
		} `xml:"lockscope"`
		Write   *struct{} `xml:"locktype>write"`
		Depth   string    `xml:"depth"`
		Owner   string    `xml:",innerxml"`
		Timeout string    `xml:"timeout"`
		Token   string    `xml:"locktoken>href"`
		Root    string    `xml:"lockroot>href"`
	}
	var got struct {
		Locks []activelock `xml:"DAV: activelock"`
	}
	if err := xml.Unmarshal([]byte("<x>"+string(AppendLockDiscovery(nil, testLocks(), testNow))+"</x>"), &got); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		shared                      bool
		depth, timeout, token, root string
	}{
		{false, "infinity", "Second-3500", "urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4", "/workspace/webdav/proposal.doc"},
		{true, "0", "Infinite", "urn:uuid:0e8a5bd2-5c8f-4d4b-9c1e-1f0e0e0e0e0e", "/a%20b/%C3%BC&%3Cx%3E/"},
		{true, "0", "Second-0", "urn:uuid:1", "/"},
	}
	if len(got.Locks) != len(want) {
		t.Fatalf("%d activelocks, want %d", len(got.Locks), len(want))
	}
	for i, w := range want {
		g := got.Locks[i]
		if (g.Scope.Shared != nil) != w.shared || (g.Scope.Exclusive != nil) == w.shared {
			t.Errorf("lock %d: scope shared=%v exclusive=%v, want shared=%v", i, g.Scope.Shared != nil, g.Scope.Exclusive != nil, w.shared)
		}
		if g.Write == nil || g.Depth != w.depth || g.Timeout != w.timeout || g.Token != w.token || g.Root != w.root {
			t.Errorf("lock %d: got write=%v depth=%q timeout=%q token=%q root=%q\nwant depth=%q timeout=%q token=%q root=%q",
				i, g.Write != nil, g.Depth, g.Timeout, g.Token, g.Root, w.depth, w.timeout, w.token, w.root)
		}
	}
}

func TestTimeoutXML(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Time
		want    string
	}{
		{"never expires: Infinite, never Second-0", time.Time{}, "Infinite"},
		{"whole seconds", testNow.Add(time.Hour), "Second-3600"},
		{"fraction rounds up", testNow.Add(599*time.Second + time.Millisecond), "Second-600"},
		{"last moment of a live lock", testNow.Add(time.Nanosecond), "Second-1"},
		{"expiring now", testNow, "Second-0"},
		{"expired: never negative", testNow.Add(-time.Hour), "Second-0"},
	}
	for _, tt := range tests {
		if got := string(appendTimeout(nil, tt.expires, testNow)); got != tt.want {
			t.Errorf("%s: appendTimeout = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOwnerXML(t *testing.T) {
	tests := []struct{ owner, want string }{
		{"plain text", "plain text"},
		{`<href xmlns="DAV:">x</href>`, `<href xmlns="DAV:">x</href>`},
		{"a & b", "a &amp; b"},
		{"<unclosed>", "&lt;unclosed&gt;"},
		{"</o><o>", "&lt;/o&gt;&lt;o&gt;"},
		{`<D:href>relies on an outer prefix</D:href>`, `&lt;D:href&gt;relies on an outer prefix&lt;/D:href&gt;`},
		{"\x01", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := ownerXML(tt.owner); got != tt.want {
			t.Errorf("ownerXML(%q) = %q, want %q", tt.owner, got, tt.want)
		}
	}
}

func TestWriteLockResponse(t *testing.T) {
	locks := testLocks()
	for _, tt := range []struct {
		name string
		lock locksystem.Lock
	}{
		{"lockresponse-exclusive.xml", locks[0]},
		{"lockresponse-shared-infinite.xml", locks[1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteLockResponse(&b, tt.lock, testNow); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
			names := wellFormed(t, b.String())
			if len(names) < 2 || names[0] != (xml.Name{Space: "DAV:", Local: "prop"}) || names[1] != (xml.Name{Space: "DAV:", Local: "lockdiscovery"}) {
				t.Errorf("document starts %v, want DAV:prop > DAV:lockdiscovery", names)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteLockResponseError(t *testing.T) {
	if err := WriteLockResponse(failingWriter{}, testLocks()[0], testNow); err == nil {
		t.Error("WriteLockResponse to a failing writer returned nil")
	}
}

func TestSupportedLockXML(t *testing.T) {
	got := SupportedLock()
	names := wellFormed(t, `<D:prop xmlns:D="DAV:">`+got+"</D:prop>")
	var scopes []string
	for _, n := range names {
		if n == (xml.Name{Space: "DAV:", Local: "exclusive"}) || n == (xml.Name{Space: "DAV:", Local: "shared"}) {
			scopes = append(scopes, n.Local)
		}
	}
	if strings.Join(scopes, ",") != "exclusive,shared" {
		t.Errorf("lock entries for %v, want exclusive and shared", scopes)
	}
	if c := strings.Count(got, `<D:lockentry>`); c != 2 {
		t.Errorf("%d lockentry elements, want 2:\n%s", c, got)
	}
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		file      string
		condition string
		hrefs     []string
	}{
		{"error-no-conflicting-lock.xml", "no-conflicting-lock", []string{"/locked/", Href("/a b/&.txt")}},
		{"error-lock-token-submitted.xml", "lock-token-submitted", []string{"/workspace/webdav/"}},
		{"error-lock-token-matches-request-uri.xml", "lock-token-matches-request-uri", nil},
		{"error-invalid-condition.xml", "<oops>", []string{"/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := ErrorBody(tt.condition, tt.hrefs...)
			golden(t, tt.file, got)
			names := wellFormed(t, string(got))
			if names[0] != (xml.Name{Space: "DAV:", Local: "error"}) {
				t.Errorf("root %v, want DAV:error", names[0])
			}
		})
	}
}

func TestMultiStatus(t *testing.T) {
	got, err := MultiStatus([]Response{
		{Href: Href("/coll/locked member.txt"), Status: 423, Reason: "Locked", Condition: "lock-token-submitted"},
		{Href: Href("/coll/"), Status: 424, Reason: "Failed Dependency"},
		{Href: "/x&y", Status: 403, Reason: "Forbidden", Condition: "cannot-modify-protected-property"},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "multistatus.xml", got)
	wellFormed(t, string(got))

	var ms struct {
		Responses []struct {
			Href   string `xml:"href"`
			Status string `xml:"status"`
			Error  *struct {
				Inner string `xml:",innerxml"`
			} `xml:"error"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(got, &ms); err != nil {
		t.Fatal(err)
	}
	want := []struct{ href, status string }{
		{"/coll/locked%20member.txt", "HTTP/1.1 423 Locked"},
		{"/coll/", "HTTP/1.1 424 Failed Dependency"},
		{"/x&y", "HTTP/1.1 403 Forbidden"},
	}
	if len(ms.Responses) != len(want) {
		t.Fatalf("%d responses, want %d", len(ms.Responses), len(want))
	}
	for i, w := range want {
		if r := ms.Responses[i]; r.Href != w.href || r.Status != w.status {
			t.Errorf("response %d = %q %q, want %q %q", i, r.Href, r.Status, w.href, w.status)
		}
	}
	if ms.Responses[1].Error != nil {
		t.Errorf("response without a condition has a DAV:error")
	}
}

func TestMultiStatusInvalid(t *testing.T) {
	for _, rs := range [][]Response{
		{{Href: "", Status: 423}},
		{{Href: "/a", Status: 0}},
		{{Href: "/a", Status: 423}, {Href: "/b", Status: 1000}},
	} {
		if body, err := MultiStatus(rs); err == nil || body != nil {
			t.Errorf("MultiStatus(%+v) = %q, %v; want no body and an error", rs, body, err)
		}
	}
}

func TestHref(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/", "/"},
		{"/a/b.txt", "/a/b.txt"},
		{"/coll/", "/coll/"},
		{"/a b/ü", "/a%20b/%C3%BC"},
		{"/50%/q?#", "/50%25/q%3F%23"},
		{"/a&b;c=d@e:f", "/a&b;c=d@e:f"},
		{"relative", "/relative"},
	}
	for _, tt := range tests {
		if got := Href(tt.path); got != tt.want {
			t.Errorf("Href(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestEscapeXML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain /a-b_c.d", "plain /a-b_c.d"},
		{`<&>"'`, "&lt;&amp;&gt;&#34;&#39;"},
		{"a\x00b", "a\uFFFDb"},
		{"\xff", "\uFFFD"},
		{"é", "é"},
	}
	for _, tt := range tests {
		if got := escapeXML(tt.in); got != tt.want {
			t.Errorf("escapeXML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
