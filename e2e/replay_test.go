package e2e

// Replays the desktop-client transcripts in testdata/clients/*.txt against a live server and
// asserts the statuses and headers those clients depend on. The format is described in
// testdata/clients/README.md; in short:
//
//	# comment                       (outside request bodies)
//	seed /path = text               write a file on the server's disk before the next step (\n escapes)
//	>>> METHOD /path                a request; header lines follow, then a blank line, then the body
//	<<< 200 204                     the statuses accepted; expectations follow until the next >>>
//	Name: value                     header equals value
//	Name: ~text                     header contains text
//	Name: *                         header present
//	!Name                           header absent
//	body ~ text / body !~ text      the response body contains / does not contain text
//	capture NAME header Name REGEX  {{NAME}} becomes group 1 of REGEX matched on the header
//	capture NAME body REGEX         the same on the response body
//	file /path = text               the file on disk after this step (\n escapes)
//	file /path empty                an empty file on disk
//	file /path absent               no such file on disk
//
// {{host}} and {{base}} name the live server; {{NAME}} anything captured before.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// step is one request of a transcript and what its response must show.
type step struct {
	line    int // of the >>> line, for messages
	seeds   []seed
	method  string
	target  string
	headers [][2]string
	body    string
	status  []int
	expects []expect
}

type seed struct{ path, content string }

// expect is one expectation line; kind is one of header, absent, body, notbody, capture, file.
type expect struct {
	line              int
	kind              string
	name, value, text string
	re                *regexp.Regexp
}

// parseTranscript reads a transcript; errors name the line at fault.
func parseTranscript(r io.Reader) ([]step, error) {
	p := &transcriptParser{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.n++
		if err := p.line(strings.TrimRight(sc.Text(), "\r")); err != nil {
			return nil, fmt.Errorf("line %d: %w", p.n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if p.cur != nil && p.state != stateExpect {
		return nil, fmt.Errorf("line %d: request at line %d has no <<< status line", p.n, p.cur.line)
	}
	p.flush()
	if len(p.steps) == 0 {
		return nil, fmt.Errorf("no requests")
	}
	return p.steps, nil
}

type parseState int

const (
	stateTop     parseState = iota // between steps
	stateHeaders                   // after >>>
	stateBody                      // after the blank line ending the headers
	stateExpect                    // after <<<
)

type transcriptParser struct {
	n     int
	state parseState
	cur   *step
	body  []string
	seeds []seed
	steps []step
}

func (p *transcriptParser) flush() {
	if p.cur != nil {
		p.steps = append(p.steps, *p.cur)
		p.cur = nil
	}
}

func (p *transcriptParser) line(s string) error {
	switch {
	case strings.HasPrefix(s, ">>> "):
		if p.cur != nil && p.state != stateExpect {
			return fmt.Errorf("new request before the <<< status of the one at line %d", p.cur.line)
		}
		p.flush()
		f := strings.Fields(strings.TrimPrefix(s, ">>> "))
		if len(f) != 2 {
			return fmt.Errorf("want \">>> METHOD /path\", got %q", s)
		}
		p.cur = &step{line: p.n, method: f[0], target: f[1], seeds: p.seeds}
		p.seeds, p.body, p.state = nil, nil, stateHeaders
		return nil
	case strings.HasPrefix(s, "<<< "):
		if p.cur == nil || p.state == stateExpect {
			return fmt.Errorf("<<< without a request")
		}
		return p.status(strings.TrimPrefix(s, "<<< "))
	}
	switch p.state {
	case stateHeaders:
		if s == "" {
			p.state = stateBody
			return nil
		}
		name, value, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("want a header line \"Name: value\", got %q", s)
		}
		p.cur.headers = append(p.cur.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
		return nil
	case stateBody:
		p.body = append(p.body, s)
		return nil
	case stateTop, stateExpect:
		// Comments, seeds and (after <<<) expectations: read below.
	}
	if s == "" || strings.HasPrefix(s, "#") {
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "seed "); ok {
		path, content, ok := strings.Cut(rest, " = ")
		if !ok {
			return fmt.Errorf("want \"seed /path = text\", got %q", s)
		}
		if p.state == stateExpect {
			p.flush()
			p.state = stateTop
		}
		p.seeds = append(p.seeds, seed{strings.TrimSpace(path), unescape(content)})
		return nil
	}
	if p.state != stateExpect {
		return fmt.Errorf("unexpected line outside a step: %q", s)
	}
	e, err := parseExpect(s)
	if err != nil {
		return err
	}
	e.line = p.n
	p.cur.expects = append(p.cur.expects, e)
	return nil
}

// status ends a request: its body is complete, and the accepted statuses follow.
func (p *transcriptParser) status(s string) error {
	for len(p.body) > 0 && p.body[len(p.body)-1] == "" {
		p.body = p.body[:len(p.body)-1]
	}
	p.cur.body = strings.Join(p.body, "\n")
	for _, f := range strings.Fields(s) {
		code, err := strconv.Atoi(f)
		if err != nil || code < 100 || code > 599 {
			return fmt.Errorf("bad status %q", f)
		}
		p.cur.status = append(p.cur.status, code)
	}
	if len(p.cur.status) == 0 {
		return fmt.Errorf("<<< needs at least one status")
	}
	p.state = stateExpect
	return nil
}

var captureLine = regexp.MustCompile(`^capture (\w+) (header (\S+)|body) (.+)$`)

func parseExpect(s string) (expect, error) {
	switch {
	case strings.HasPrefix(s, "capture "):
		m := captureLine.FindStringSubmatch(s)
		if m == nil {
			return expect{}, fmt.Errorf("want \"capture NAME header Name REGEX\" or \"capture NAME body REGEX\", got %q", s)
		}
		re, err := regexp.Compile(m[4])
		if err != nil || re.NumSubexp() < 1 {
			return expect{}, fmt.Errorf("capture %s: want a regexp with a group, got %q (%v)", m[1], m[4], err)
		}
		return expect{kind: "capture", name: m[1], value: m[3], re: re}, nil
	case strings.HasPrefix(s, "body ~ "):
		return expect{kind: "body", text: strings.TrimPrefix(s, "body ~ ")}, nil
	case strings.HasPrefix(s, "body !~ "):
		return expect{kind: "notbody", text: strings.TrimPrefix(s, "body !~ ")}, nil
	case strings.HasPrefix(s, "file "):
		rest := strings.TrimPrefix(s, "file ")
		if path, ok := strings.CutSuffix(rest, " absent"); ok {
			return expect{kind: "nofile", name: path}, nil
		}
		if path, ok := strings.CutSuffix(rest, " empty"); ok {
			return expect{kind: "file", name: path}, nil
		}
		path, content, ok := strings.Cut(rest, " = ")
		if !ok {
			return expect{}, fmt.Errorf("want \"file /path = text\" or \"file /path absent\", got %q", s)
		}
		return expect{kind: "file", name: path, text: unescape(content)}, nil
	case strings.HasPrefix(s, "!"):
		return expect{kind: "absent", name: strings.TrimPrefix(s, "!")}, nil
	}
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return expect{}, fmt.Errorf("not an expectation: %q", s)
	}
	return expect{kind: "header", name: strings.TrimSpace(name), text: strings.TrimSpace(value)}, nil
}

func unescape(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }

var placeholder = regexp.MustCompile(`\{\{(\w+)\}\}`)

// fill replaces {{name}} placeholders; an unknown one is an error.
func fill(s string, vars map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown placeholder {{%s}}", strings.Join(missing, "}}, {{"))
	}
	return out, nil
}

// replay runs steps against l; it stops at the first step whose status is wrong, since later
// steps depend on it.
func replay(t *testing.T, l *live, steps []step) {
	t.Helper()
	vars := map[string]string{"host": l.Host, "base": l.URL}
	for _, st := range steps {
		for _, s := range st.seeds {
			l.writeFile(t, s.path, s.content)
		}
		resp, err := send(l, st, vars)
		if err != nil {
			t.Fatalf("line %d: %s %s: %v", st.line, st.method, st.target, err)
		}
		if !containsInt(st.status, resp.Status) {
			t.Fatalf("line %d: %s %s: got %d, want %v\n%s", st.line, st.method, st.target, resp.Status, st.status, resp.Body)
		}
		for _, e := range st.expects {
			if err := check(t, l, e, resp, vars); err != nil {
				t.Errorf("line %d (%s %s): %v", e.line, st.method, st.target, err)
			}
		}
	}
}

// send builds and sends the request of st. A "Transfer-Encoding: chunked" header sends the body
// chunked, as Finder does; the other transport headers are Go's to set.
func send(l *live, st step, vars map[string]string) (response, error) {
	target, err := fill(st.target, vars)
	if err != nil {
		return response{}, err
	}
	body, err := fill(st.body, vars)
	if err != nil {
		return response{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, st.method, l.URL+target, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for _, h := range st.headers {
		v, err := fill(h[1], vars)
		if err != nil {
			return response{}, err
		}
		switch http.CanonicalHeaderKey(h[0]) {
		case "Host", "Connection", "Content-Length":
		case "Transfer-Encoding":
			req.ContentLength = -1
			req.Body = io.NopCloser(strings.NewReader(body))
		default:
			req.Header.Add(h[0], v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// check evaluates one expectation, recording captures in vars.
func check(t *testing.T, l *live, e expect, r response, vars map[string]string) error {
	text, err := fill(e.text, vars)
	if err != nil {
		return err
	}
	switch e.kind {
	case "header":
		got, present := r.Header[http.CanonicalHeaderKey(e.name)]
		v := strings.Join(got, ", ")
		switch {
		case !present:
			return fmt.Errorf("header %s: missing, want %q", e.name, text)
		case text == "*":
		case strings.HasPrefix(text, "~"):
			if !strings.Contains(v, text[1:]) {
				return fmt.Errorf("header %s: got %q, want it to contain %q", e.name, v, text[1:])
			}
		case v != text:
			return fmt.Errorf("header %s: got %q, want %q", e.name, v, text)
		}
	case "absent":
		if v := r.Header.Get(e.name); v != "" {
			return fmt.Errorf("header %s: got %q, want none", e.name, v)
		}
	case "body", "notbody":
		if strings.Contains(r.Body, text) != (e.kind == "body") {
			return fmt.Errorf("body: got %q, want it %s %q", r.Body, map[bool]string{true: "to contain", false: "not to contain"}[e.kind == "body"], text)
		}
	case "capture":
		src := r.Body
		if e.value != "" {
			src = r.Header.Get(e.value)
		}
		m := e.re.FindStringSubmatch(src)
		if m == nil {
			return fmt.Errorf("capture %s: %q does not match %s", e.name, src, e.re)
		}
		vars[e.name] = m[1]
	case "file", "nofile":
		got, ok := l.file(t, e.name)
		if e.kind == "nofile" && ok {
			return fmt.Errorf("file %s: exists with %q, want none", e.name, got)
		}
		if e.kind == "file" && (!ok || got != text) {
			return fmt.Errorf("file %s: got %q (exists %v), want %q", e.name, got, ok, text)
		}
	}
	return nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

const transcriptDir = "../testdata/clients"

func TestReplayClients(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gnome-gvfs.txt", "libreoffice.txt", "macos-finder.txt", "msoffice.txt", "windows-explorer.txt"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("transcripts: got %q, want %q", got, want)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if err := hasSourceNote(fh); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if _, err := fh.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			steps, err := parseTranscript(fh)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			replay(t, startLive(t, liveOptions{}), steps)
		})
	}
}

// hasSourceNote checks that a transcript opens with a comment block that names its sources.
func hasSourceNote(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		if strings.HasPrefix(line, "# Source") {
			return nil
		}
	}
	return fmt.Errorf("the opening comment names no source (want a line starting \"# Source\")")
}

func TestParseTranscript(t *testing.T) {
	good := `# Source: a test
seed /a.txt = one\ntwo

>>> PUT /a.txt
If: (<{{tok}}>)

line one

line three

<<< 200 204
DAV: 1, 2
Allow: ~LOCK
X-Any: *
!Lock-Token
body ~ ok
body !~ bad
capture tok header Lock-Token ^<(.*)>$
file /a.txt = x\ny
file /b.txt empty
file /c.txt absent

>>> OPTIONS /
<<< 200
`
	steps, err := parseTranscript(strings.NewReader(good))
	if err != nil {
		t.Fatalf("parseTranscript: %v", err)
	}
	if len(steps) != 2 {
		t.Fatalf("steps: got %d, want 2", len(steps))
	}
	st := steps[0]
	if st.method != "PUT" || st.target != "/a.txt" || st.line != 4 {
		t.Errorf("request line: got %s %s at %d, want PUT /a.txt at 4", st.method, st.target, st.line)
	}
	if len(st.seeds) != 1 || st.seeds[0] != (seed{"/a.txt", "one\ntwo"}) {
		t.Errorf("seeds: got %q, want /a.txt = one, newline, two", st.seeds)
	}
	if len(st.headers) != 1 || st.headers[0] != [2]string{"If", "(<{{tok}}>)"} {
		t.Errorf("headers: got %q", st.headers)
	}
	if want := "line one\n\nline three"; st.body != want {
		t.Errorf("body: got %q, want %q", st.body, want)
	}
	if len(st.status) != 2 || st.status[0] != 200 || st.status[1] != 204 {
		t.Errorf("statuses: got %v, want [200 204]", st.status)
	}
	var kinds []string
	for _, e := range st.expects {
		kinds = append(kinds, e.kind)
	}
	if got, want := strings.Join(kinds, " "), "header header header absent body notbody capture file file nofile"; got != want {
		t.Errorf("expectation kinds: got %q, want %q", got, want)
	}
	if len(steps[1].expects) != 0 || steps[1].body != "" {
		t.Errorf("second step: got %+v, want no body and no expectations", steps[1])
	}

	for _, c := range []struct{ name, in, want string }{
		{"empty", "# nothing\n", "no requests"},
		{"no status", ">>> GET /\n\n", "has no <<< status line"},
		{"bad request line", ">>> GET\n<<< 200\n", "line 1: want \">>> METHOD /path\""},
		{"bad status", ">>> GET /\n\n<<< 2x0\n", "line 3: bad status"},
		{"status without request", "<<< 200\n", "line 1: <<< without a request"},
		{"bad header", ">>> GET /\nno colon here\n", "line 2: want a header line"},
		{"stray line", "hello\n", "line 1: unexpected line outside a step"},
		{"bad capture", ">>> GET /\n\n<<< 200\ncapture x header\n", "line 4: want \"capture NAME"},
		{"capture without group", ">>> GET /\n\n<<< 200\ncapture x body abc\n", "want a regexp with a group"},
		{"bad file", ">>> GET /\n\n<<< 200\nfile /a\n", "line 4: want \"file /path = text\""},
		{"request before status", ">>> GET /\n\n>>> GET /\n", "line 3: new request before the <<< status"},
	} {
		_, err := parseTranscript(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestFillPlaceholders(t *testing.T) {
	vars := map[string]string{"a": "1", "b": "two"}
	if got, err := fill("x{{a}}y{{b}}", vars); err != nil || got != "x1ytwo" {
		t.Errorf("fill: got %q, %v, want x1ytwo", got, err)
	}
	if _, err := fill("{{a}}{{nope}}", vars); err == nil || !strings.Contains(err.Error(), "{{nope}}") {
		t.Errorf("fill with an unknown placeholder: got %v, want an error naming {{nope}}", err)
	}
}

func TestCheckExpectations(t *testing.T) {
	l := &live{Root: t.TempDir()}
	l.writeFile(t, "/f.txt", "content")
	r := response{Status: 200, Header: http.Header{"Dav": {"1, 2"}, "Lock-Token": {"<urn:uuid:abc>"}}, Body: "<x>hello</x>"}
	vars := map[string]string{}
	for _, c := range []struct {
		line    string
		wantErr string
	}{
		{"DAV: 1, 2", ""},
		{"DAV: 1", `got "1, 2", want "1"`},
		{"DAV: ~2", ""},
		{"DAV: ~3", "want it to contain"},
		{"Lock-Token: *", ""},
		{"X-Missing: *", "missing"},
		{"!X-Missing", ""},
		{"!DAV", "want none"},
		{"body ~ hello", ""},
		{"body ~ bye", "want it to contain"},
		{"body !~ hello", "want it not to contain"},
		{"capture tok header Lock-Token ^<(.*)>$", ""},
		{"Lock-Token: <{{tok}}>", ""},
		{"capture nope body ^(zzz)$", "does not match"},
		{"file /f.txt = content", ""},
		{"file /f.txt = other", "want \"other\""},
		{"file /f.txt absent", "want none"},
		{"file /g.txt absent", ""},
		{"file /g.txt empty", "exists false"},
	} {
		e, err := parseExpect(c.line)
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		err = check(t, l, e, r, vars)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%q: got %v, want no error", c.line, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%q: got %v, want an error containing %q", c.line, err, c.wantErr)
		}
	}
	if vars["tok"] != "urn:uuid:abc" {
		t.Errorf("captured tok: got %q, want urn:uuid:abc", vars["tok"])
	}
}
