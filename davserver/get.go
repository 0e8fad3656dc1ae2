package davserver

// GET and HEAD (RFC 9110 §9.3.1, §9.3.2; RFC 4918 §9.4). Files are served through
// http.ServeContent (ranges, If-Match, If-None-Match, ETag) as x/net would serve them; a
// collection answers an HTML listing instead of x/net's 405, so a browser pointed at the server
// shows something useful.

import (
	"errors"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/request"
)

// handleGet serves a file, or lists a collection. Files are served here rather than by x/net,
// whose GET opens the file again after lockdav has looked it up: one open and one fstat per
// request, the ETag from that fstat (the one PROPFIND and PUT report), and http.ServeContent for
// ranges and If-Match, If-None-Match, If-Modified-Since (RFC 9110 §13, §14).
func (h *Handler) handleGet(w http.ResponseWriter, r *http.Request) error {
	userContent(w.Header()) // first, so that errors, 304s and 206s carry it too
	p, err := requestPath(r)
	if err != nil {
		return err
	}
	now := h.now()
	if _, err := h.check(r, now, p); err != nil {
		return err
	}
	f, err := h.fs.OpenFile(r.Context(), p, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return h.serveListing(w, r, now, p, f)
	}
	w.Header().Set("ETag", etagOf(fi))
	c := content(f)
	if err := setTypeAndDisposition(w.Header(), p, c); err != nil {
		return err
	}
	if whole(r) {
		if ra, ok := c.(io.ReaderAt); ok {
			return serveWhole(w, r, p, fi, c, ra)
		}
	}
	http.ServeContent(w, r, p, fi.ModTime(), c) // with the type set above
	return nil
}

// userContentCSP is the Content-Security-Policy of everything served from the tree. Anyone who
// may write can upload HTML, SVG or XML with script in it; served as the server's own origin, it
// would run with the rights of whoever opens it: an admin's Basic credentials, which the browser
// sends by itself, would let it read every lock through /.lockdav/locks and write as the admin.
// The CSP sandbox directive without allow-scripts runs no script and gives the document an opaque
// origin, so nothing in it is same-origin with the server; without allow-forms it submits no form
// either. No default-src: it would only block the media viewers browsers build around images and
// video, and a document that runs no script has nothing to exfiltrate.
const userContentCSP = "sandbox"

// userContent sets the headers of every answer with, or about, the tree's content: the sandbox,
// and nosniff, so that a browser shows text/plain as text and never guesses HTML in it.
func userContent(h http.Header) {
	h["X-Content-Type-Options"] = nosniffValue
	h["Content-Security-Policy"] = cspValue
}

// Header values that are the same in every answer, set as shared slices rather than with
// Header.Set, which allocates one per header and request. Sharing is safe: net/http copies the
// values before writing them (Header.Clone), Set and Del replace a key's slice rather than
// write into it, and an append to a slice whose capacity is its length copies it first.
var (
	nosniffValue    = []string{"nosniff"}
	cspValue        = []string{userContentCSP}
	attachmentValue = []string{"attachment"}
	bytesValue      = []string{"bytes"}
)

// setTypeAndDisposition sets the Content-Type http.ServeContent would send (from name's extension,
// else sniffed) and, unless the type is one that runs no script, Content-Disposition: attachment
// (RFC 6266 §4.2). The sandbox alone keeps a document from running as the server's origin in
// today's browsers; a download is kept from it in every browser, including those that ignore
// CSP, and from phishing pages rendered under the server's name. The decision is on the type the
// answer will have, so a page uploaded without an extension and sniffed as HTML is a download
// too. PDF is a download as well: browsers show it with plugins the sandbox disables.
func setTypeAndDisposition(h http.Header, name string, c io.ReadSeeker) error {
	ctype, err := contentType(name, c)
	if err != nil {
		return err
	}
	t := typeOf(ctype)
	h["Content-Type"] = t.value
	if !t.inline {
		h["Content-Disposition"] = attachmentValue
	}
	return nil
}

// typeHeader is what a content type puts in an answer: its Content-Type value, shared as the
// constant values above are, and inline's verdict on it.
type typeHeader struct {
	value  []string
	inline bool
}

// typeHeaders maps each content type seen to its typeHeader, copied on write: the types come
// from mime's extension table and http.DetectContentType, a bounded set, and all but the first
// answer of each type read the map without a lock or an allocation.
var (
	typeHeaders   atomic.Pointer[map[string]typeHeader]
	typeHeadersMu sync.Mutex // serializes the copies
)

// typeOf returns ctype's typeHeader, adding it to typeHeaders the first time.
func typeOf(ctype string) typeHeader {
	if t, ok := lookupType(typeHeaders.Load(), ctype); ok {
		return t
	}
	typeHeadersMu.Lock()
	defer typeHeadersMu.Unlock()
	old := typeHeaders.Load()
	if t, ok := lookupType(old, ctype); ok {
		return t
	}
	m := map[string]typeHeader{}
	if old != nil {
		maps.Copy(m, *old)
	}
	t := typeHeader{value: []string{ctype}, inline: inline(ctype)}
	m[ctype] = t
	typeHeaders.Store(&m)
	return t
}

func lookupType(m *map[string]typeHeader, ctype string) (typeHeader, bool) {
	if m == nil {
		return typeHeader{}, false
	}
	t, ok := (*m)[ctype]
	return t, ok
}

// inline says whether a browser may show content of type ctype in place: plain text (kept so
// by nosniff), images other than SVG, audio and video. Everything else is a download.
func inline(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	switch {
	case err != nil, strings.HasSuffix(mt, "+xml"):
		return false
	case mt == "text/plain":
		return true
	}
	top, _, _ := strings.Cut(mt, "/")
	return top == "image" || top == "audio" || top == "video"
}

// contentType is the type of name's extension, else the one sniffed from c's first 512 bytes
// (read with ReadAt where c offers it, else read and sought back to the start).
func contentType(name string, c io.ReadSeeker) (string, error) {
	if ctype := mime.TypeByExtension(path.Ext(name)); ctype != "" {
		return ctype, nil
	}
	if ra, ok := c.(io.ReaderAt); ok {
		return sniff(ra)
	}
	var buf [512]byte
	n, err := io.ReadFull(c, buf[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	if _, err := c.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return http.DetectContentType(buf[:n]), nil
}

// sniff is the type http.DetectContentType finds in ra's first 512 bytes.
func sniff(ra io.ReaderAt) (string, error) {
	var buf [512]byte
	n, err := ra.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return http.DetectContentType(buf[:n]), nil
}

// whole says whether r asks for the whole content unconditionally: no Range (RFC 9110 §14.2)
// and none of the preconditions of §13.1, which http.ServeContent evaluates.
func whole(r *http.Request) bool {
	for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// serveWhole answers what whole allows as http.ServeContent does: 200 with the content type
// from name's extension or sniffed from the first 512 bytes (read with ReadAt, so the offset
// stays at 0), Last-Modified (§8.8.2), Accept-Ranges (§14.3) and Content-Length from fi, and the
// body for GET. It saves ServeContent's three seeks, which exist to learn the size fi gives.
func serveWhole(w http.ResponseWriter, r *http.Request, name string, fi fs.FileInfo, c io.Reader, ra io.ReaderAt) error {
	hdr := w.Header()
	if _, ok := hdr["Content-Type"]; !ok {
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			var err error
			if ctype, err = sniff(ra); err != nil {
				return err
			}
		}
		hdr.Set("Content-Type", ctype)
	}
	// Last-Modified and Content-Length share one allocation; each slice's capacity is its
	// length, so an append to one cannot write into the other.
	vals := make([]string, 2)
	vals[1] = strconv.FormatInt(fi.Size(), 10)
	if mt := fi.ModTime(); !mt.IsZero() && !mt.Equal(time.Unix(0, 0)) {
		vals[0] = mt.UTC().Format(http.TimeFormat)
		hdr["Last-Modified"] = vals[0:1:1]
	}
	hdr["Accept-Ranges"] = bytesValue
	hdr["Content-Length"] = vals[1:2:2]
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.CopyN(w, c, fi.Size()) // a client gone midway is no error of ours
	}
	return nil
}

// content is what to send f's content from: fs files offer their *os.File, which net/http
// sends with sendfile(2).
func content(f webdav.File) io.ReadSeeker {
	if c, ok := f.(interface{ Content() io.ReadSeeker }); ok {
		return c.Content()
	}
	return f
}

// listingEntry is one row of a collection listing.
type listingEntry struct {
	Name     string
	Href     string
	Dir      bool
	Size     int64
	Modified string
	Locks    []lockBadge
}

// lockBadge says who holds a lock, for people reading a listing.
type lockBadge struct {
	Principal, Scope, Depth, Since, Expires, Owner string
}

// serveListing writes an HTML page listing collection p, open as dir.
func (h *Handler) serveListing(w http.ResponseWriter, r *http.Request, now time.Time, p string, dir webdav.File) error {
	fis, err := dir.Readdir(-1)
	if err != nil {
		return err
	}
	sort.Slice(fis, func(i, j int) bool { return fis[i].Name() < fis[j].Name() })
	up := request.ToURL(request.Root(r.Context()), p) // the collection as the client names it
	entries := make([]listingEntry, 0, len(fis))
	for _, fi := range fis {
		if up == "/" && fi.Name() == strings.Trim(request.Reserved, "/") {
			continue
		}
		entries = append(entries, h.entry(now, p, up, fi))
	}
	page := listingPage{
		Title:   up,
		Crumbs:  crumbs(up),
		Locks:   badges(h.locks.Covering(now, p), now),
		Entries: entries,
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if r.Method == http.MethodHead {
		return nil
	}
	return listingTemplate.Execute(w, page)
}

// entry describes one member of collection dir (a real path), whose URL path is urlDir.
func (h *Handler) entry(now time.Time, dir, urlDir string, fi fs.FileInfo) listingEntry {
	p := path.Join(dir, fi.Name())
	e := listingEntry{
		Name:     fi.Name(),
		Href:     rfc4918.Href(path.Join(urlDir, fi.Name())),
		Dir:      fi.IsDir(),
		Size:     fi.Size(),
		Modified: fi.ModTime().UTC().Format("2006-01-02 15:04:05 UTC"),
		Locks:    badges(h.locks.Covering(now, p), now),
	}
	if e.Dir {
		e.Href += "/"
		e.Name += "/"
	}
	return e
}

// badges turns locks into listing badges.
func badges(locks []locksystem.Lock, now time.Time) []lockBadge {
	out := make([]lockBadge, 0, len(locks))
	for _, l := range locks {
		b := lockBadge{Principal: l.Principal, Scope: "exclusive", Depth: "0",
			Since: l.Created.UTC().Format(time.RFC3339), Expires: "never", Owner: rfc4918.OwnerText(l.Owner)}
		if l.Scope == locksystem.Shared {
			b.Scope = "shared"
		}
		if l.Depth == locksystem.DepthInfinity {
			b.Depth = "infinity"
		}
		if !l.Expires.IsZero() {
			b.Expires = "in " + l.Expires.Sub(now).Round(time.Second).String()
		}
		out = append(out, b)
	}
	return out
}

type crumb struct{ Name, Href string }

// crumbs is the breadcrumb trail of p.
func crumbs(p string) []crumb {
	out := []crumb{{Name: "/", Href: "/"}}
	acc := ""
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" {
			continue
		}
		acc += "/" + seg
		out = append(out, crumb{Name: seg, Href: rfc4918.Href(acc) + "/"})
	}
	return out
}

type listingPage struct {
	Title   string
	Crumbs  []crumb
	Locks   []lockBadge
	Entries []listingEntry
}

// listingTemplate has no external assets; html/template escapes every name.
var listingTemplate = template.Must(template.New("listing").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — lockdav</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eee}
td.size{text-align:right;font-variant-numeric:tabular-nums}
.lock{display:inline-block;background:#fde8e8;border:1px solid #f5b5b5;border-radius:3px;padding:0 .4em;font-size:12px;margin-left:.4em}
nav a{text-decoration:none}
</style></head><body>
<nav>{{range $i, $c := .Crumbs}}{{if $i}} / {{end}}<a href="{{$c.Href}}">{{$c.Name}}</a>{{end}}</nav>
{{with .Locks}}<p>{{range .}}<span class="lock" title="owner: {{.Owner}}">locked by {{.Principal}} ({{.Scope}}, depth {{.Depth}}) since {{.Since}}, expires {{.Expires}}</span>{{end}}</p>{{end}}
<table><thead><tr><th>Name</th><th>Size</th><th>Modified</th><th>Locks</th></tr></thead><tbody>
{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}</a></td><td class="size">{{if not .Dir}}{{.Size}}{{end}}</td><td>{{.Modified}}</td>
<td>{{range .Locks}}<span class="lock" title="owner: {{.Owner}}">{{.Principal}}: {{.Scope}}, since {{.Since}}, expires {{.Expires}}</span>{{end}}</td></tr>
{{else}}<tr><td colspan="4">empty collection</td></tr>{{end}}
</tbody></table></body></html>
`))
