// RFC 4918 §9.10 and §14.11: the LOCK request body, DAV:lockinfo. x/net answers 501 to shared
// locks before any LockSystem sees them, and passes DAV:owner on as raw inner XML whose
// namespace prefixes may be declared outside it; this parser does neither.

package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/lockdav/lockdav/locksystem"
)

// LockInfo is what a LOCK body asks for. The lock type is always DAV:write.
type LockInfo struct {
	Scope locksystem.Scope
	// Owner is DAV:owner's content re-serialized to stand alone: every element declares its own
	// namespace, so it can be stored and embedded in any later response. "" when absent.
	Owner string
}

// maxOwner bounds the re-serialized DAV:owner: the lock system's one limit, for WebDAV and the
// lock API alike. Declaring namespaces on every element makes it longer than the body it came
// from (a long namespace declared once and used by many nested elements, many times over).
const maxOwner = locksystem.MaxOwner

const (
	nsDAV   = "DAV:"
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// parsedLockInfo remembers the LOCK bodies parsed without error (memo.go): 4 KiB holds the
// lockinfo of every client seen, owner included, with room to spare.
var parsedLockInfo = newMemo[LockInfo](1024, 4<<10)

// ParseLockInfo reads a LOCK body. empty is true for a body with nothing but whitespace, which
// asks for a refresh (§9.10.2). The body must be well-formed XML with valid namespace declarations,
// its root DAV:lockinfo, with exactly one known DAV:lockscope (errLockInfo otherwise) and a
// DAV:locktype of DAV:write (ErrLockType otherwise). Unknown elements are ignored (§17). Limiting
// the body's size is the caller's job. Every token goes through the namespace-checking decoder,
// so a body that parses needs no CheckXML first; one refused for its lock type is checked to the
// end, so that malformed XML is reported as such wherever it is.
func ParseLockInfo(data []byte) (li LockInfo, empty bool, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return LockInfo{}, true, nil
	}
	if li, ok := parsedLockInfo.getBytes(data); ok {
		return li, false, nil
	}
	li, err = readLockInfo(newNSDecoder(bytes.NewReader(data)))
	if err == nil {
		parsedLockInfo.put(string(data), li)
	}
	if errors.Is(err, ErrLockType) {
		if xerr := CheckXML(data); xerr != nil {
			err = xerr
		}
	}
	if err != nil && !errors.Is(err, ErrLockType) {
		err = fmt.Errorf("%w: %w", errLockInfo, err) // ErrTooLong stays visible
	}
	return li, false, err
}

// readLockInfo reads the document: prolog, the DAV:lockinfo element, and nothing after it.
func readLockInfo(d *nsDecoder) (LockInfo, error) {
	root, err := d.root()
	if err != nil {
		return LockInfo{}, err
	}
	if root.Name != (xml.Name{Space: nsDAV, Local: "lockinfo"}) {
		return LockInfo{}, fmt.Errorf("root element is {%s}%s, not DAV:lockinfo", root.Name.Space, root.Name.Local)
	}
	var li LockInfo
	var seen struct{ scope, typ, owner bool }
	err = d.children(func(el xml.StartElement) error {
		var err error
		switch el.Name {
		case xml.Name{Space: nsDAV, Local: "lockscope"}:
			err = once(&seen.scope, el, func() (err error) { li.Scope, err = readLockScope(d); return err })
		case xml.Name{Space: nsDAV, Local: "locktype"}:
			err = once(&seen.typ, el, func() error { return readLockType(d) })
		case xml.Name{Space: nsDAV, Local: "owner"}:
			err = once(&seen.owner, el, func() (err error) { li.Owner, err = d.innerXML(maxOwner); return err })
		default:
			err = d.skip()
		}
		return err
	})
	switch {
	case err != nil:
		return LockInfo{}, err
	case !seen.scope:
		return LockInfo{}, errors.New("no DAV:lockscope")
	case !seen.typ:
		return LockInfo{}, errors.New("no DAV:locktype")
	}
	return li, d.end()
}

// once runs read for the first el of its kind and refuses a second one.
func once(seen *bool, el xml.StartElement, read func() error) error {
	if *seen {
		return fmt.Errorf("more than one DAV:%s", el.Name.Local)
	}
	*seen = true
	return read()
}

// readLockScope reads DAV:lockscope's content: exactly one of DAV:exclusive and DAV:shared.
func readLockScope(d *nsDecoder) (locksystem.Scope, error) {
	var scopes []locksystem.Scope
	err := d.children(func(el xml.StartElement) error {
		switch el.Name {
		case xml.Name{Space: nsDAV, Local: "exclusive"}:
			scopes = append(scopes, locksystem.Exclusive)
		case xml.Name{Space: nsDAV, Local: "shared"}:
			scopes = append(scopes, locksystem.Shared)
		default:
			return fmt.Errorf("unknown lock scope {%s}%s", el.Name.Space, el.Name.Local)
		}
		return d.skip()
	})
	switch {
	case err != nil:
		return 0, err
	case len(scopes) != 1:
		return 0, fmt.Errorf("DAV:lockscope holds %d scopes, want 1", len(scopes))
	}
	return scopes[0], nil
}

// readLockType reads DAV:locktype's content, which must be DAV:write alone.
func readLockType(d *nsDecoder) error {
	n := 0
	err := d.children(func(el xml.StartElement) error {
		n++
		if el.Name != (xml.Name{Space: nsDAV, Local: "write"}) {
			return fmt.Errorf("%w: {%s}%s", ErrLockType, el.Name.Space, el.Name.Local)
		}
		return d.skip()
	})
	switch {
	case err != nil:
		return err
	case n != 1:
		return fmt.Errorf("DAV:locktype holds %d types, want 1", n)
	}
	return nil
}
