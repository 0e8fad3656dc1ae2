// RFC 4918 §9.1, §13 and §14.16-§14.22: a PROPFIND's 207 Multi-Status, written response by
// response as the resources are read, so that a listing of any size needs memory for one
// response at a time rather than for the whole body.

package rfc4918

import (
	"bufio"
	"encoding/xml"
	"io"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// PropWriter writes a DAV:multistatus of DAV:response elements holding DAV:propstat elements
// (§14.16, §14.22), through a buffer. The DAV: namespace is bound to prefix D on the root, and
// every DAV: element uses it: some versions of Windows' Mini-Redirector ignore elements in a
// default namespace. Property values given to it are XML content already; text is escaped by
// the caller with AppendText. Write errors are sticky: Close reports the first.
type PropWriter struct {
	w   *bufio.Writer
	buf []byte // one element at a time, reused
}

// propWriterBuffer is the size of the write buffer: a few dozen responses per write(2).
const propWriterBuffer = 32 << 10

// NewPropWriter returns a PropWriter to w and writes the XML declaration and the multistatus
// start tag into its buffer.
func NewPropWriter(w io.Writer) *PropWriter {
	pw := &PropWriter{w: bufio.NewWriterSize(w, propWriterBuffer), buf: make([]byte, 0, 512)}
	_, _ = pw.w.WriteString(xmlHeader + `<D:multistatus xmlns:D="DAV:">`) // sticky; Close reports it
	return pw
}

// StartResponse opens a DAV:response for the resource at href, already percent-encoded (Href,
// AppendHrefSegment), and its first DAV:propstat.
func (pw *PropWriter) StartResponse(href []byte) {
	b := append(pw.buf[:0], `<D:response><D:href>`...)
	b = AppendText(b, href)
	pw.flush(append(b, `</D:href><D:propstat><D:prop>`...))
}

// NextPropstat ends the current DAV:propstat with status and opens another.
func (pw *PropWriter) NextPropstat(status int, reason string) {
	pw.endPropstat(status, reason)
	_, _ = pw.w.WriteString(`<D:propstat><D:prop>`)
}

// EndResponse ends the current DAV:propstat with status, and the response.
func (pw *PropWriter) EndResponse(status int, reason string) {
	pw.endPropstat(status, reason)
	_, _ = pw.w.WriteString(`</D:response>`)
}

func (pw *PropWriter) endPropstat(status int, reason string) {
	b := append(pw.buf[:0], `</D:prop><D:status>HTTP/1.1 `...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	pw.flush(append(b, `</D:status></D:propstat>`...))
}

// DAV writes the DAV: property local with value, XML content; "" writes an empty element.
func (pw *PropWriter) DAV(local string, value []byte) {
	b := append(pw.buf[:0], "<D:"...)
	b = append(b, local...)
	if len(value) == 0 {
		pw.flush(append(b, "/>"...))
		return
	}
	b = append(b, '>')
	b = append(b, value...)
	b = append(b, "</D:"...)
	b = append(b, local...)
	pw.flush(append(b, '>'))
}

// Prop writes the property name with an optional xml:lang and value, XML content that stands
// alone (each element declaring its namespace, as stored dead properties do); an empty value
// writes an empty element, as for propname and 404 (§9.1). A DAV: property uses prefix D,
// another namespace is declared as the element's default, and none is left undeclared (the
// multistatus binds no default namespace).
func (pw *PropWriter) Prop(name xml.Name, lang string, value []byte) {
	b := append(pw.buf[:0], '<')
	b = appendName(b, name)
	if lang != "" {
		b = append(b, ` xml:lang="`...)
		b = AppendText(b, lang)
		b = append(b, '"')
	}
	if len(value) == 0 {
		pw.flush(append(b, "/>"...))
		return
	}
	b = append(b, '>')
	b = append(b, value...)
	b = append(b, "</"...)
	if name.Space == nsDAV {
		b = append(b, "D:"...)
	}
	b = append(b, name.Local...)
	pw.flush(append(b, '>'))
}

// appendName appends an element's name and, outside DAV:, its namespace declaration.
func appendName(b []byte, name xml.Name) []byte {
	switch name.Space {
	case nsDAV:
		return append(append(b, "D:"...), name.Local...)
	case "":
		return append(b, name.Local...)
	}
	b = append(b, name.Local...)
	b = append(b, ` xmlns="`...)
	b = AppendText(b, name.Space)
	return append(b, '"')
}

// flush hands b to the buffer and keeps it for the next element.
func (pw *PropWriter) flush(b []byte) {
	_, _ = pw.w.Write(b) // sticky; Close reports it
	pw.buf = b[:0]
}

// Close ends the multistatus and flushes the buffer, returning the first write error.
func (pw *PropWriter) Close() error {
	_, _ = pw.w.WriteString(`</D:multistatus>`)
	return pw.w.Flush()
}

// Flush writes what is buffered, without ending the document, and returns the first error.
func (pw *PropWriter) Flush() error { return pw.w.Flush() }

// AppendText appends s escaped for XML character data or a double-quoted attribute value, as
// escapeXML does, without allocating for text that needs no escape.
func AppendText[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if ' ' <= c && c <= '~' && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		var n int
		b, n = appendEscaped(b, string(s[i:min(i+utf8.UTFMax, len(s))]))
		i += n
		start = i
	}
	return append(b, s[start:]...)
}

// appendEscaped appends the escape of the first character of s and says how many bytes it took.
func appendEscaped(b []byte, s string) ([]byte, int) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == '&':
		return append(b, "&amp;"...), 1
	case r == '<':
		return append(b, "&lt;"...), 1
	case r == '>':
		return append(b, "&gt;"...), 1
	case r == '"':
		return append(b, "&#34;"...), 1
	case r == '\'':
		return append(b, "&#39;"...), 1
	case r == '\t':
		return append(b, "&#x9;"...), 1
	case r == '\n':
		return append(b, "&#xA;"...), 1
	case r == '\r':
		return append(b, "&#xD;"...), 1
	case !isXMLChar(r) || (r == utf8.RuneError && n == 1):
		return append(b, "\uFFFD"...), n
	}
	return append(b, s[:n]...), n
}

// isXMLChar is the Char production of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// AppendHrefSegment appends name, one path segment, percent-encoded as Href encodes it.
func AppendHrefSegment(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		if !unreserved(name[i]) {
			return append(b, (&url.URL{Path: name}).EscapedPath()...)
		}
	}
	return append(b, name...)
}

// unreserved is RFC 3986's unreserved set, which a path never escapes.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
