package rfc4918

// Who holds a lock: lockdav's urn:lockdav: elements in DAV:activelock and beside the RFC 4918
// §16 conditions (§17: clients ignore elements they do not know), as the writers produce them.

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

// evilUA tries markup, entities, a quote and a character XML 1.0 cannot carry.
const (
	evilUA    = "x<script>&\"\x01y"
	evilUAOut = "x<script>&\"\uFFFDy" // as a client reads it back
)

// holderXML is lockdav's holder elements, as found in DAV:activelock and L:lock-holder.
type holderXML struct {
	Href      string        `xml:"DAV: href"`
	Root      string        `xml:"DAV: lockroot>href"`
	Principal string        `xml:"urn:lockdav: principal"`
	Owner     *ownerXMLText `xml:"DAV: owner"`
	Created   string        `xml:"urn:lockdav: created"`
	Expires   *string       `xml:"urn:lockdav: expires"`
	Client    *struct {
		IP        string  `xml:"urn:lockdav: ip"`
		UserAgent *string `xml:"urn:lockdav: user-agent"`
	} `xml:"urn:lockdav: client"`
}

// ownerXMLText is a DAV:owner's content, markup and all.
type ownerXMLText struct {
	Inner string `xml:",innerxml"`
}

// holdersIn decodes every element named name in doc, which must be well-formed.
func holdersIn(t *testing.T, doc string, name xml.Name) []holderXML {
	t.Helper()
	wellFormed(t, doc)
	var out []holderXML
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name == name {
			var h holderXML
			if err := d.DecodeElement(&h, &se); err != nil {
				t.Fatal(err)
			}
			out = append(out, h)
		}
	}
}

var (
	nameActiveLock = xml.Name{Space: "DAV:", Local: "activelock"}
	nameLockHolder = xml.Name{Space: "urn:lockdav:", Local: "lock-holder"}
)

// wantHolder checks one holder's principal, times and client.
func wantHolder(t *testing.T, what string, h holderXML, principal, created, expires, ip, ua string) {
	t.Helper()
	gotExp := "(none)"
	if h.Expires != nil {
		gotExp = *h.Expires
	}
	gotIP, gotUA := "(none)", "(none)"
	if h.Client != nil {
		gotIP = h.Client.IP
		if h.Client.UserAgent != nil {
			gotUA = *h.Client.UserAgent
		}
	}
	if h.Principal != principal || h.Created != created || gotExp != expires || gotIP != ip || gotUA != ua {
		t.Errorf("%s: holder principal=%q created=%q expires=%q ip=%q ua=%q\nwant principal=%q created=%q expires=%q ip=%q ua=%q",
			what, h.Principal, h.Created, gotExp, gotIP, gotUA, principal, created, expires, ip, ua)
	}
}

func holderLock() locksystem.Lock {
	return locksystem.Lock{
		Token: "urn:uuid:5c3f8c2e-0000-4000-8000-000000000001", Path: "/docs/a.txt", Depth: locksystem.DepthZero,
		Owner: "ann", Principal: "al&ce", Timeout: time.Hour,
		Created: testNow.Add(-time.Minute), Refreshed: testNow.Add(-time.Minute), Expires: testNow.Add(59 * time.Minute),
		Client: locksystem.Client{IP: "192.0.2.7", UserAgent: evilUA},
	}
}

func TestActiveLockHolder(t *testing.T) {
	never := holderLock()
	never.Expires, never.Client = time.Time{}, locksystem.Client{}
	doc := `<x xmlns="urn:test">` + LockDiscovery([]locksystem.Lock{holderLock(), never}, testNow) + `</x>`
	hs := holdersIn(t, doc, nameActiveLock)
	if len(hs) != 2 {
		t.Fatalf("%d activelocks, want 2:\n%s", len(hs), doc)
	}
	wantHolder(t, "timed lock", hs[0], "al&ce", "2025-03-01T11:59:00Z", "2025-03-01T12:59:00Z", "192.0.2.7", evilUAOut)
	wantHolder(t, "never-expiring lock", hs[1], "al&ce", "2025-03-01T11:59:00Z", "(none)", "(none)", "(none)")
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
	hs := holdersIn(t, string(got), nameLockHolder)
	if len(hs) != 2 {
		t.Fatalf("%d lock-holder elements, want 2:\n%s", len(hs), got)
	}
	wantHolder(t, "first", hs[0], "al&ce", "2025-03-01T11:59:00Z", "2025-03-01T12:59:00Z", "192.0.2.7", evilUAOut)
	if hs[0].Href != "/docs/a.txt" || hs[0].Owner == nil || hs[0].Owner.Inner != "ann" {
		t.Errorf("first holder href=%q owner=%v, want /docs/a.txt, ann", hs[0].Href, hs[0].Owner)
	}
	if hs[1].Href != "/a%20b/%C3%BC&%3Cx%3E/" || hs[1].Expires != nil {
		t.Errorf("second holder href=%q expires=%v, want the escaped root and no expiry", hs[1].Href, hs[1].Expires)
	}
}
