package davserver

// The properties of one PROPFIND response (RFC 4918 §9.1, §15): the live ones computed from the
// attributes a directory read or a stat returned, the lock ones from the lock table, and the
// dead ones as stored. Which live properties a resource has, and which a collection lacks, are
// what x/net reported, so that clients see the same names as before.

import (
	"encoding/xml"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/fs"
)

// liveProp is a DAV: property computed by the server (§15).
type liveProp struct {
	local string
	dir   bool // a collection has it too
}

// liveProps are the live properties, in the order allprop and propname list them. creationdate
// and getcontentlanguage are not among them: nothing records them, and a PROPFIND naming them
// gets 404 for them, as before.
var liveProps = []liveProp{
	{"resourcetype", true}, {"displayname", true}, {"getcontentlength", false},
	{"getlastmodified", true}, {"getcontenttype", false}, {"getetag", false},
	{"lockdiscovery", true}, {"supportedlock", true},
}

// isLive reports whether name is one of liveProps that res has.
func isLive(name xml.Name, dir bool) bool {
	if name.Space != "DAV:" {
		return false
	}
	for _, p := range liveProps {
		if p.local == name.Local {
			return p.dir || !dir
		}
	}
	return false
}

// supportedLock is DAV:supportedlock's value, the same for every resource (§15.10).
var supportedLock = []byte(rfc4918.SupportedLock())

// write writes the response for res as the request asks.
func (l *lister) write(res *resource) {
	l.pw.StartResponse(res.href)
	switch l.pf.Kind {
	case rfc4918.PropName:
		l.writeNames(res)
	case rfc4918.AllProp:
		l.writeAll(res)
	default:
		l.writeNamed(res, l.pf.Names)
	}
}

// writeNames lists the names of res's properties, without values (§9.1 propname).
func (l *lister) writeNames(res *resource) {
	dir := res.fi.IsDir()
	for _, p := range liveProps {
		if p.dir || !dir {
			l.pw.DAV(p.local, nil)
		}
	}
	for name := range res.dead {
		if !isLive(name, dir) {
			l.pw.Prop(name, "", nil)
		}
	}
	l.pw.EndResponse(http.StatusOK, "OK")
}

// writeAll writes every live and dead property, then 404 for what DAV:include names that res
// lacks (§9.1 allprop).
func (l *lister) writeAll(res *resource) {
	dir := res.fi.IsDir()
	for _, p := range liveProps {
		if p.dir || !dir {
			l.writeLive(res, p.local)
		}
	}
	for name, p := range res.dead {
		if !isLive(name, dir) {
			l.pw.Prop(name, p.Lang, p.InnerXML)
		}
	}
	missing := 0
	for _, name := range l.pf.Names {
		if _, ok := res.dead[name]; !ok && !isLive(name, dir) {
			if missing == 0 {
				l.pw.NextPropstat(http.StatusOK, "OK")
			}
			l.pw.Prop(name, "", nil)
			missing++
		}
	}
	l.endResponse(missing > 0)
}

// writeNamed writes the properties names asks for that res has, then 404 for the others (§9.1
// prop). A dead property comes before a live one of the same name, as in x/net.
func (l *lister) writeNamed(res *resource, names []xml.Name) {
	dir, found, missing := res.fi.IsDir(), 0, 0
	for _, name := range names {
		if p, ok := res.dead[name]; ok {
			l.pw.Prop(name, p.Lang, p.InnerXML)
			found++
		} else if isLive(name, dir) {
			l.writeLive(res, name.Local)
			found++
		}
	}
	for _, name := range names {
		if _, ok := res.dead[name]; !ok && !isLive(name, dir) {
			if missing == 0 && found > 0 {
				l.pw.NextPropstat(http.StatusOK, "OK")
			}
			l.pw.Prop(name, "", nil)
			missing++
		}
	}
	l.endResponse(missing > 0)
}

// endResponse ends the open propstat: 404 when it holds missing properties, else 200.
func (l *lister) endResponse(missing bool) {
	if missing {
		l.pw.EndResponse(http.StatusNotFound, "Not Found")
		return
	}
	l.pw.EndResponse(http.StatusOK, "OK")
}

// writeLive writes the live property local of res.
func (l *lister) writeLive(res *resource, local string) {
	v := l.val[:0]
	switch local {
	case "resourcetype":
		if res.fi.IsDir() {
			v = append(v, `<D:collection/>`...)
		}
	case "displayname":
		if !res.top { // the root's own name is the server's business
			v = rfc4918.AppendText(v, res.fi.Name())
		}
	case "getcontentlength":
		v = strconv.AppendInt(v, res.fi.Size(), 10)
	case "getlastmodified":
		v = l.dates.append(v, res.fi.ModTime())
	case "getcontenttype":
		v = rfc4918.AppendText(v, l.types.of(res.fi.Name()))
	case "getetag":
		v = fs.AppendETag(v, res.fi) // the ETag GET and PUT send
	case "lockdiscovery":
		if len(res.locks) > 0 {
			v = rfc4918.AppendLockDiscovery(v, res.locks, l.now)
		}
	case "supportedlock":
		v = supportedLock
	}
	l.pw.DAV(local, v)
	if local != "supportedlock" {
		l.val = v
	}
}

// dateCache remembers the last second's HTTP-date (RFC 9110 §5.6.7): the members of a listing
// were often written within the same second.
type dateCache struct {
	sec  int64
	text []byte
}

func (c *dateCache) append(b []byte, t time.Time) []byte {
	if s := t.Unix(); s != c.sec || c.text == nil {
		c.sec, c.text = s, t.UTC().AppendFormat(c.text[:0], http.TimeFormat)
	}
	return append(b, c.text...)
}

// typeCache remembers the last extension's type: a listing's members mostly share a few.
type typeCache struct{ ext, typ string }

func (c *typeCache) of(name string) string {
	if ext := path.Ext(name); ext != c.ext || c.typ == "" {
		c.ext, c.typ = ext, listedType(name)
	}
	return c.typ
}

// listedType is DAV:getcontenttype (§15.5) from the name's extension alone, and
// application/octet-stream without a known one: GET sniffs such a file's content, which a
// listing cannot afford (an open and a read per member).
func listedType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
