// RFC 4918 §9.1 and §14.20: the PROPFIND request body, DAV:propfind.

package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrNoRoot: a body that is not empty but has no root element.
	ErrNoRoot = errors.New("rfc4918: no root element")
	// ErrPropfind: a well-formed body that is not a DAV:propfind of §14.20.
	ErrPropfind = errors.New("rfc4918: invalid propfind body")
)

// PropfindKind is what a PROPFIND asks for (§14.20: one of allprop, propname, prop).
type PropfindKind int

const (
	// AllProp asks for the properties this server defines plus the dead ones (§9.1), and
	// those named by DAV:include.
	AllProp PropfindKind = iota
	// PropName asks for the names of every property.
	PropName
	// Prop asks for the named properties.
	Prop
)

// Propfind is a parsed DAV:propfind.
type Propfind struct {
	Kind PropfindKind
	// Names are the properties DAV:prop names (Prop) or DAV:include adds (AllProp), in the
	// order the body gives them.
	Names []xml.Name
}

// ParsePropfind parses a PROPFIND body with the namespace-checking decoder. An empty body means
// allprop (§9.1); one of white space only is not empty, and has no root. The root must be DAV:propfind holding exactly one of allprop, propname or a
// non-empty prop, include only beside allprop; each named property must be empty. Other
// elements are ignored (§17). An error wrapping ErrNoRoot or ErrPropfind is a body of the
// wrong shape; any other is XML that is not namespace-well-formed.
func ParsePropfind(body []byte) (Propfind, error) {
	if len(body) == 0 {
		return Propfind{Kind: AllProp}, nil
	}
	d := newNSDecoder(bytes.NewReader(body))
	root, err := d.root()
	if err != nil {
		return Propfind{}, err
	}
	if root.Name != (xml.Name{Space: nsDAV, Local: "propfind"}) {
		return Propfind{}, fmt.Errorf("%w: root {%s}%s", ErrPropfind, root.Name.Space, root.Name.Local)
	}
	var p propfindParts
	if err := d.children(p.child(d)); err != nil {
		return Propfind{}, err
	}
	if err := drain(d); err != nil {
		return Propfind{}, err
	}
	return p.result()
}

// propfindParts is what the children of DAV:propfind said.
type propfindParts struct {
	allprop, propname, prop, include bool
	props, includes                  []xml.Name
}

// child reads one child of DAV:propfind.
func (p *propfindParts) child(d *nsDecoder) func(xml.StartElement) error {
	return func(el xml.StartElement) (err error) {
		switch el.Name {
		case xml.Name{Space: nsDAV, Local: "allprop"}:
			p.allprop = true
		case xml.Name{Space: nsDAV, Local: "propname"}:
			p.propname = true
		case xml.Name{Space: nsDAV, Local: "prop"}:
			p.prop = true
			p.props, err = propNames(d, p.props)
			return err
		case xml.Name{Space: nsDAV, Local: "include"}:
			p.include = true
			p.includes, err = propNames(d, p.includes)
			return err
		}
		return d.skip()
	}
}

// result checks that exactly one kind was asked for.
func (p *propfindParts) result() (Propfind, error) {
	switch {
	case p.allprop && !p.propname && !p.prop:
		return Propfind{Kind: AllProp, Names: p.includes}, nil
	case p.include:
		return Propfind{}, fmt.Errorf("%w: include without allprop", ErrPropfind)
	case p.allprop:
		return Propfind{}, fmt.Errorf("%w: allprop beside propname or prop", ErrPropfind)
	case p.propname && !p.prop:
		return Propfind{Kind: PropName}, nil
	case p.prop && !p.propname:
		return Propfind{Kind: Prop, Names: p.props}, nil
	}
	return Propfind{}, fmt.Errorf("%w: want one of allprop, propname, prop", ErrPropfind)
}

// propNames appends the names of the empty elements inside a DAV:prop or DAV:include (§14.18)
// to names; text between them is ignored, an element with content or none at all is an error.
func propNames(d *nsDecoder, names []xml.Name) ([]xml.Name, error) {
	n := len(names)
	err := d.children(func(el xml.StartElement) error {
		t, err := d.next()
		if err != nil {
			return err
		}
		if _, ok := t.(xml.EndElement); !ok {
			return fmt.Errorf("%w: property {%s}%s has content", ErrPropfind, el.Name.Space, el.Name.Local)
		}
		names = append(names, el.Name)
		return nil
	})
	if err == nil && len(names) == n {
		err = fmt.Errorf("%w: empty property list", ErrPropfind)
	}
	return names, err
}

// drain reads what follows the root element, so that a body malformed after it is refused.
func drain(d *nsDecoder) error {
	for {
		if _, err := d.next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}
