package locksystem

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"
)

// goldenLocks are the locks whose documents testdata/documents.golden holds, one a line, in
// this order. The file was written by the codec of commit 48275cc, the one every existing
// bbolt database was written by; it is never regenerated, so that a change of encoder cannot
// quietly change what old stores are read as.
var goldenLocks = func() []Lock {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return []Lock{
		{Token: "urn:uuid:00000000-0000-4000-8000-000000000001", Path: "/d0/f1",
			Owner: `<D:href>mailto:someone@example.com</D:href>`, Principal: "alice", Timeout: time.Hour,
			Created: at, Refreshed: at, Expires: at.Add(time.Hour),
			Client: Client{IP: "192.0.2.10", UserAgent: "Microsoft-WebDAV-MiniRedir/10.0.19045"}},
		{Token: "urn:uuid:1", Path: "/", Scope: Shared, Depth: DepthInfinity, Principal: "p", Timeout: Infinite,
			Created: at.Add(123456789), Refreshed: at.Add(time.Minute + 1), ReleaseOnUpdate: true, LockNull: true},
		{Token: "t", Path: "/a b/ünï cödé/\u2603", Owner: `<D:owner xmlns:D="DAV:">a\b	"c"</D:owner>`,
			Principal: "bob", Timeout: maxTimeout, Created: time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
			Refreshed: time.Date(9999, 12, 31, 0, 0, 0, 100, time.UTC), Expires: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
			Client: Client{IP: "::1", UserAgent: "curl/8.5.0\r\n"}},
		{Path: "/", Principal: "p", Timeout: Infinite},
		{Token: "urn:uuid:0f0e", Path: "/a/b", Scope: Shared, Depth: DepthInfinity,
			Owner: "q\" b\\ \b\f\n\r\t \x00\x1f \u2028\u2029 é 😀 <>&", Principal: "alice",
			Timeout: 2 * time.Second, Created: at.Add(123456789), Refreshed: at.Add(time.Second),
			Expires: at.Add(3 * time.Second), Client: Client{IP: "::1", UserAgent: "cadaver/0.24"},
			ReleaseOnUpdate: true},
	}
}()

// TestDocumentGolden: the documents of today's stores are read as the locks they were written
// from, and written again byte for byte.
func TestDocumentGolden(t *testing.T) {
	f, err := os.Open("testdata/documents.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs [][]byte
	for sc := bufio.NewScanner(f); sc.Scan(); {
		docs = append(docs, bytes.Clone(sc.Bytes()))
	}
	if len(docs) != len(goldenLocks) {
		t.Fatalf("%d documents in the golden file, %d locks", len(docs), len(goldenLocks))
	}
	for i, doc := range docs {
		var got Lock
		if err := NewDecoder().Decode(doc, &got); err != nil || got != goldenLocks[i] {
			t.Errorf("document %d: %s\ngot  %+v, %v\nwant %+v", i, doc, got, err, goldenLocks[i])
		}
		if b, err := goldenLocks[i].MarshalJSON(); err != nil || !bytes.Equal(b, doc) {
			t.Errorf("lock %d written as\n%s, %v\nwant\n%s", i, b, err, doc)
		}
	}
}
