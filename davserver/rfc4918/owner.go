package rfc4918

// The text of a DAV:owner (RFC 4918 §14.17), for people: clients fill the element with XML such
// as <D:href>mailto:ann@example.com</D:href>, and the lock page, the listing's badges and the
// lockdav locks command show what it says without its tags.

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// OwnerText is the character data of a stored owner, whitespace collapsed. An owner that is not
// well-formed XML content is shown as it came, whitespace collapsed: nothing is dropped.
func OwnerText(owner string) string {
	dec := xml.NewDecoder(strings.NewReader(owner))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return strings.Join(strings.Fields(owner), " ")
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
			text.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(text.String()), " ")
}
