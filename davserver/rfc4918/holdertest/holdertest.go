// Package holdertest reads lockdav's lock-holder elements (urn:lockdav:, inside DAV:activelock
// and beside the RFC 4918 §16 conditions of a 423) back out of XML answers, for the tests of the
// writers (rfc4918) and of the handlers that send them (davserver).
package holdertest

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// EvilUA tries markup, entities, a quote and a character XML 1.0 cannot carry.
const (
	EvilUA    = "x<script>&\"\x01y"
	EvilUAOut = "x<script>&\"\uFFFDy" // as a client reads it back
)

// Holder is lockdav's holder elements, as found in DAV:activelock and L:lock-holder.
type Holder struct {
	Href      string    `xml:"DAV: href"`
	Root      string    `xml:"DAV: lockroot>href"`
	Principal string    `xml:"urn:lockdav: principal"`
	Owner     *OwnerXML `xml:"DAV: owner"`
	Created   string    `xml:"urn:lockdav: created"`
	Expires   *string   `xml:"urn:lockdav: expires"`
	Client    *struct {
		IP        string  `xml:"urn:lockdav: ip"`
		UserAgent *string `xml:"urn:lockdav: user-agent"`
	} `xml:"urn:lockdav: client"`
}

// OwnerXML is a DAV:owner's content, markup and all.
type OwnerXML struct {
	Inner string `xml:",innerxml"`
}

// In decodes every element named name in doc, which must be well-formed.
func In(t *testing.T, doc string, name xml.Name) []Holder {
	t.Helper()
	WellFormed(t, doc)
	var out []Holder
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
			var h Holder
			if err := d.DecodeElement(&h, &se); err != nil {
				t.Fatal(err)
			}
			out = append(out, h)
		}
	}
}

var (
	ActiveLock = xml.Name{Space: "DAV:", Local: "activelock"}
	LockHolder = xml.Name{Space: "urn:lockdav:", Local: "lock-holder"}
)

// Want checks one holder's principal, times and client.
func Want(t *testing.T, what string, h Holder, principal, created, expires, ip, ua string) {
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

// WellFormed asserts doc parses with encoding/xml from start to end.
func WellFormed(t *testing.T, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
}
