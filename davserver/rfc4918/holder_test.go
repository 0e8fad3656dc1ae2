package rfc4918

// Who holds a lock: lockdav's urn:lockdav: elements in DAV:activelock and beside the RFC 4918
// §16 conditions (§17: clients ignore elements they do not know), as the writers produce them.

import (
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918/holdertest"
	"github.com/lockdav/lockdav/locksystem"
)

func holderLock() locksystem.Lock {
	return locksystem.Lock{
		Token: "urn:uuid:5c3f8c2e-0000-4000-8000-000000000001", Path: "/docs/a.txt", Depth: locksystem.DepthZero,
		Owner: "ann", Principal: "al&ce", Timeout: time.Hour,
		Created: testNow.Add(-time.Minute), Refreshed: testNow.Add(-time.Minute), Expires: testNow.Add(59 * time.Minute),
		Client: locksystem.Client{IP: "192.0.2.7", UserAgent: holdertest.EvilUA},
	}
}

func TestActiveLockHolder(t *testing.T) {
	never := holderLock()
	never.Expires, never.Client = time.Time{}, locksystem.Client{}
	doc := `<x xmlns="urn:test">` + string(AppendLockDiscovery(nil, []locksystem.Lock{holderLock(), never}, testNow)) + `</x>`
	hs := holdertest.In(t, doc, holdertest.ActiveLock)
	if len(hs) != 2 {
		t.Fatalf("%d activelocks, want 2:\n%s", len(hs), doc)
	}
	holdertest.Want(t, "timed lock", hs[0], "al&ce", "2025-03-01T11:59:00Z", "2025-03-01T12:59:00Z", "192.0.2.7", holdertest.EvilUAOut)
	holdertest.Want(t, "never-expiring lock", hs[1], "al&ce", "2025-03-01T11:59:00Z", "(none)", "(none)", "(none)")
	if strings.Contains(doc, "<script>") {
		t.Errorf("user agent not escaped:\n%s", doc)
	}
}

func TestLockedBody(t *testing.T) {
	locks := []locksystem.Lock{holderLock(), testLocks()[1]}
	got := LockedBody("no-conflicting-lock", locks)
	golden(t, "error-no-conflicting-lock-holders.xml", got)
	const rfc = xmlHeader + `<D:error xmlns:D="DAV:"><D:no-conflicting-lock><D:href>/docs/a.txt</D:href>` +
		`<D:href>/a%20b/%C3%BC&amp;%3Cx%3E/</D:href></D:no-conflicting-lock>`
	if !strings.HasPrefix(string(got), rfc) {
		t.Errorf("the RFC 4918 §16 element changed:\n got %s\nwant %s…", got, rfc)
	}
	hs := holdertest.In(t, string(got), holdertest.LockHolder)
	if len(hs) != 2 {
		t.Fatalf("%d lock-holder elements, want 2:\n%s", len(hs), got)
	}
	holdertest.Want(t, "first", hs[0], "al&ce", "2025-03-01T11:59:00Z", "2025-03-01T12:59:00Z", "192.0.2.7", holdertest.EvilUAOut)
	if hs[0].Href != "/docs/a.txt" || hs[0].Owner == nil || hs[0].Owner.Inner != "ann" {
		t.Errorf("first holder href=%q owner=%v, want /docs/a.txt, ann", hs[0].Href, hs[0].Owner)
	}
	if hs[1].Href != "/a%20b/%C3%BC&%3Cx%3E/" || hs[1].Expires != nil {
		t.Errorf("second holder href=%q expires=%v, want the escaped root and no expiry", hs[1].Href, hs[1].Expires)
	}
}
