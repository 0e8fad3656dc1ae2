// Namespaces in XML 1.0 over encoding/xml: every request body lockdav reads or lets x/net read
// goes through this decoder first, because encoding/xml, and so x/net, accept what the
// namespace rules forbid (RFC 4918 §8.2 requires namespace-well-formed bodies).

package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// CheckXML walks a body with the namespace-checking decoder. encoding/xml, and so x/net, accept
// what Namespaces in XML 1.0 forbids: xmlns:p="" (litmus propfind_invalid2), an undeclared
// prefix, a name that is not an XML name. Such a body must be refused before any of it is stored
// or echoed: a PROPFIND for a property x:000 would otherwise answer <000 xmlns="x">, which is not
// XML. Whether the body is the right document is left to its parser.
func CheckXML(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := newNSDecoder(bytes.NewReader(body))
	for {
		_, err := d.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// nsDecoder reads XML with namespaces resolved by hand over RawToken, because encoding/xml lets
// through what XML Namespaces 1.0 forbids: undeclared prefixes (left as the prefix), a prefix
// bound to "" (xmlns:p=""), and rebinding xml or xmlns. It also checks that end tags match.
type nsDecoder struct {
	d *xml.Decoder
	// bindings maps a prefix ("" for the default namespace) to the namespaces bound to it by
	// the open elements, innermost last, so resolving a name costs the same at any depth.
	bindings map[string][]string
	open     []openElement
}

// openElement is an element whose end tag has not been read yet.
type openElement struct {
	raw      xml.Name // as written, prefix in Space
	declared []string // prefixes it binds
}

func newNSDecoder(r io.Reader) *nsDecoder {
	return &nsDecoder{d: xml.NewDecoder(r), bindings: map[string][]string{}}
}

// next returns the next element or text token, resolved; comments, processing instructions and
// directives are skipped (§17 and x/net's next). At the end of the document it returns io.EOF.
func (n *nsDecoder) next() (xml.Token, error) {
	for {
		t, err := n.d.RawToken()
		if errors.Is(err, io.EOF) && len(n.open) > 0 {
			return nil, fmt.Errorf("unexpected end of document inside <%s>", rawName(n.open[len(n.open)-1].raw))
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return n.start(t)
		case xml.EndElement:
			return n.endElement(t)
		case xml.CharData:
			return t.Copy(), nil
		}
	}
}

// start opens a namespace scope with t's declarations and resolves t's names in it.
func (n *nsDecoder) start(t xml.StartElement) (xml.StartElement, error) {
	el := openElement{raw: t.Name}
	var attrs []xml.Attr
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			el.declared = append(el.declared, "")
			n.bindings[""] = append(n.bindings[""], a.Value)
		case a.Name.Space == "xmlns":
			if err := checkDeclaration(a.Name.Local, a.Value); err != nil {
				return xml.StartElement{}, err
			}
			el.declared = append(el.declared, a.Name.Local)
			n.bindings[a.Name.Local] = append(n.bindings[a.Name.Local], a.Value)
		default:
			attrs = append(attrs, a)
		}
	}
	n.open = append(n.open, el)
	name, err := n.resolve(t.Name, true)
	if err != nil {
		return xml.StartElement{}, err
	}
	out := xml.StartElement{Name: name}
	seen := map[xml.Name]bool{}
	for _, a := range attrs {
		if a.Name, err = n.resolve(a.Name, false); err != nil {
			return xml.StartElement{}, err
		}
		if seen[a.Name] {
			return xml.StartElement{}, fmt.Errorf("attribute {%s}%s repeated on <%s>", a.Name.Space, a.Name.Local, rawName(t.Name))
		}
		seen[a.Name] = true
		out.Attr = append(out.Attr, a)
	}
	return out, nil
}

// checkDeclaration applies XML Namespaces 1.0 §3 to xmlns:prefix="uri".
func checkDeclaration(prefix, uri string) error {
	switch {
	case uri == "":
		return fmt.Errorf("invalid namespace declaration xmlns:%s=\"\"", prefix)
	case prefix == "xmlns" || uri == nsXMLNS:
		return fmt.Errorf("invalid namespace declaration xmlns:%s=%q", prefix, uri)
	case (prefix == "xml") != (uri == nsXML):
		return fmt.Errorf("invalid namespace declaration xmlns:%s=%q", prefix, uri)
	case prefix == "" || strings.Contains(prefix, ":"):
		return fmt.Errorf("invalid namespace prefix %q", prefix)
	}
	return nil
}

// resolve turns a raw prefix:local name into {namespace}local. Unprefixed attributes are in no
// namespace; unprefixed elements are in the default one.
func (n *nsDecoder) resolve(raw xml.Name, element bool) (xml.Name, error) {
	if !isNCName(raw.Local) || (raw.Space != "" && !isNCName(raw.Space)) {
		return xml.Name{}, fmt.Errorf("invalid name %q", rawName(raw))
	}
	switch {
	case raw.Space == "" && !element:
		return raw, nil
	case raw.Space == "xml":
		return xml.Name{Space: nsXML, Local: raw.Local}, nil
	case raw.Space == "xmlns":
		return xml.Name{}, fmt.Errorf("reserved prefix in %q", rawName(raw))
	}
	if uris := n.bindings[raw.Space]; len(uris) > 0 {
		return xml.Name{Space: uris[len(uris)-1], Local: raw.Local}, nil
	}
	if raw.Space == "" {
		return raw, nil // no default namespace declared: no namespace
	}
	return xml.Name{}, fmt.Errorf("undeclared namespace prefix in %q", rawName(raw))
}

// endElement checks t closes the innermost open element, resolves it and closes its scope.
func (n *nsDecoder) endElement(t xml.EndElement) (xml.EndElement, error) {
	if len(n.open) == 0 || n.open[len(n.open)-1].raw != t.Name {
		return xml.EndElement{}, fmt.Errorf("unexpected </%s>", rawName(t.Name))
	}
	name, err := n.resolve(t.Name, true)
	el := n.open[len(n.open)-1]
	n.open = n.open[:len(n.open)-1]
	for _, prefix := range el.declared {
		uris := n.bindings[prefix]
		n.bindings[prefix] = uris[:len(uris)-1]
	}
	return xml.EndElement{Name: name}, err
}

// isNCName reports whether s is an XML name without a colon (Namespaces in XML 1.0 §3, XML 1.0
// §2.3): a letter or "_" first, then letters, digits, ".", "-", "_" and combining marks.
// encoding/xml accepts names such as "000" that no XML parser reads back.
func isNCName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '.' || r == '-' || r == 0xB7 || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd)):
		default:
			return false
		}
	}
	return s != ""
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// root skips the prolog and returns the root element's start.
func (n *nsDecoder) root() (xml.StartElement, error) {
	for {
		t, err := n.next()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, ErrNoRoot
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, errors.New("text before the root element")
			}
		}
	}
}

// end checks that nothing but whitespace and comments follow the root element.
func (n *nsDecoder) end() error {
	for {
		t, err := n.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if cd, ok := t.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return errors.New("content after the root element")
		}
	}
}

// children calls fn for each child element of the element just opened, up to its end tag; fn
// must consume the child (skip, or read it to its end). Text between children is ignored.
func (n *nsDecoder) children(fn func(xml.StartElement) error) error {
	for {
		t, err := n.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// skip consumes the rest of the element just opened, however deep.
func (n *nsDecoder) skip() error {
	for depth := 1; depth > 0; {
		t, err := n.next()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// innerXML consumes the rest of the element just opened and re-serializes its content so that
// it stands alone: each element declares its namespace with xmlns="…" (xmlns="" for none), and
// each namespaced attribute gets a prefix declared on its own element. A result longer than
// limit bytes is an error.
func (n *nsDecoder) innerXML(limit int) (string, error) {
	var b strings.Builder
	depth, pending := 0, false // pending: a start tag written without its closing ">"
	for b.Len() <= limit {
		t, err := n.next()
		if err != nil {
			return "", err
		}
		if _, isEnd := t.(xml.EndElement); pending && !isEnd {
			b.WriteString(">")
		}
		switch t := t.(type) {
		case xml.StartElement:
			writeStart(&b, t)
			depth, pending = depth+1, true
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			if pending {
				b.WriteString("/>")
			} else {
				b.WriteString("</" + t.Name.Local + ">")
			}
			depth, pending = depth-1, false
		case xml.CharData:
			writeEscaped(&b, string(t), false)
			pending = false
		}
	}
	return "", fmt.Errorf("%w: content longer than %d bytes", ErrTooLong, limit)
}

// writeStart writes "<local xmlns="ns" attrs…" without the closing ">".
func writeStart(b *strings.Builder, t xml.StartElement) {
	b.WriteString("<" + t.Name.Local + ` xmlns="`)
	writeEscaped(b, t.Name.Space, true)
	b.WriteString(`"`)
	for i, a := range t.Attr {
		name := a.Name.Local
		switch a.Name.Space {
		case "":
		case nsXML:
			name = "xml:" + a.Name.Local
		default:
			prefix := fmt.Sprintf("a%d", i)
			b.WriteString(" xmlns:" + prefix + `="`)
			writeEscaped(b, a.Name.Space, true)
			b.WriteString(`"`)
			name = prefix + ":" + a.Name.Local
		}
		b.WriteString(" " + name + `="`)
		writeEscaped(b, a.Value, true)
		b.WriteString(`"`)
	}
}

// writeEscaped writes s as XML character data, or as an attribute value. Whitespace that
// attribute-value normalization would turn into spaces is kept as character references.
func writeEscaped(b *strings.Builder, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;")
		case (r == '\n' || r == '\t') && attr:
			fmt.Fprintf(b, "&#x%X;", r)
		default:
			b.WriteRune(r)
		}
	}
}
