// RFC 4918 §9.1 and §14.20: the PROPFIND request body, DAV:propfind.

package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// ErrNoRoot: a body that is not empty but has no root element.
var ErrNoRoot = errors.New("rfc4918: no root element")

// CheckPropfind checks a PROPFIND body as CheckXML does, in the same single walk, and reports
// whether it asks for every property — allprop or propname, or an empty body, which means
// allprop (§9.1) — rather than the ones a DAV:prop names. Which of those it is, and whether the
// root is DAV:propfind at all, is left to x/net, whose Handler parses the body again itself.
func CheckPropfind(body []byte) (all bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return true, nil
	}
	d := newNSDecoder(bytes.NewReader(body))
	depth, roots, prop := 0, 0, false
	for {
		t, err := d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				roots++
			}
			prop = prop || (roots == 1 && depth == 2 && t.Name == xml.Name{Space: nsDAV, Local: "prop"})
		case xml.EndElement:
			depth--
		}
	}
	if roots == 0 {
		return false, fmt.Errorf("%w in %d bytes", ErrNoRoot, len(body))
	}
	return !prop, nil
}
