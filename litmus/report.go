// Package litmus runs the litmus WebDAV conformance suite (Debian package litmus) against
// lockdav and reads its output. The test in litmus_test.go starts a server and runs it;
// README.md says how to run litmus against any server.
package litmus

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Group is the result of one litmus test program (basic, copymove, props, locks, http).
type Group struct {
	Name     string
	Summary  bool // the "<- summary" line was seen: the program ran to its end
	Run      int  // tests run, as the summary counts them (skipped ones excluded)
	Passed   int
	Failed   int
	Skipped  []string // names of SKIPPED tests, "N.name"
	Failures []string // "N.name: reason"
	Warnings []string // "N.name: text"
	// WarningCount and SkipCount are litmus's own "-> N warning(s) were issued" and
	// "-> N tests were skipped" lines; they should agree with the lists above.
	WarningCount int
	SkipCount    int
}

// Clean reports whether the group ran to its end with every test passing, none skipped and
// no warnings.
func (g Group) Clean() bool {
	return g.Summary && g.Failed == 0 && g.Passed == g.Run && g.Run > 0 &&
		len(g.Skipped) == 0 && g.SkipCount == 0 && len(g.Warnings) == 0 && g.WarningCount == 0
}

// String is one row of the results table.
func (g Group) String() string {
	if !g.Summary {
		return fmt.Sprintf("%-9s did not finish (no summary line)", g.Name)
	}
	return fmt.Sprintf("%-9s %3d run, %3d passed, %3d failed, %2d skipped, %2d warnings",
		g.Name, g.Run, g.Passed, g.Failed, max(len(g.Skipped), g.SkipCount), max(len(g.Warnings), g.WarningCount))
}

var (
	runningRE = regexp.MustCompile("^-> running `([^']+)':")
	summaryRE = regexp.MustCompile("^<- summary for `([^']+)': of (\\d+) tests run: (\\d+) passed, (\\d+) failed")
	warnedRE  = regexp.MustCompile(`^-> (\d+) warnings? (?:was|were) issued`)
	skippedRE = regexp.MustCompile(`^-> (\d+) tests? (?:was|were) skipped`)
	// A test line: " 7. delete_null........... pass", "18. cond_put_corrupt_token WARNING: ...".
	testRE = regexp.MustCompile(`^\s*(\d+)\.\s([A-Za-z0-9_]+)\.*\s*(.*)$`)
	// The line litmus prints after a test that warned: "    ...... pass (with 1 warning)".
	afterWarnRE = regexp.MustCompile(`^\s+\.+\s*(.*)$`)
)

// Parse reads litmus output. litmus redraws each test line with a carriage return when it
// finishes; both \r and \n end a line here.
func Parse(r io.Reader) ([]Group, error) {
	var p parser
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	sc.Split(scanLines)
	for sc.Scan() {
		p.line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("litmus: reading output: %w", err)
	}
	return p.groups, nil
}

// parser is Parse's state: the group and test being read.
type parser struct {
	groups []Group
	cur    *Group // nil outside "-> running" .. "<- summary"
	last   *Group // the group whose summary was read last: warnings counts follow it
	test   string // "N.name" of the latest test line
}

func (p *parser) line(s string) {
	switch {
	case runningRE.MatchString(s):
		p.groups = append(p.groups, Group{Name: runningRE.FindStringSubmatch(s)[1]})
		p.cur, p.test = &p.groups[len(p.groups)-1], ""
	case summaryRE.MatchString(s):
		p.summary(summaryRE.FindStringSubmatch(s))
	case warnedRE.MatchString(s):
		if g := p.current(); g != nil {
			g.WarningCount, _ = strconv.Atoi(warnedRE.FindStringSubmatch(s)[1])
		}
	case skippedRE.MatchString(s):
		if g := p.current(); g != nil {
			g.SkipCount, _ = strconv.Atoi(skippedRE.FindStringSubmatch(s)[1])
		}
	case p.cur == nil:
	case testRE.MatchString(s):
		m := testRE.FindStringSubmatch(s)
		p.test = m[1] + "." + m[2]
		p.status(m[3])
	case afterWarnRE.MatchString(s):
		p.status(afterWarnRE.FindStringSubmatch(s)[1])
	}
}

// current is the group a "-> N ..." count line belongs to: the running one, or else the one
// that just ended (litmus prints the warnings count after the summary).
func (p *parser) current() *Group {
	if p.cur != nil {
		return p.cur
	}
	return p.last
}

func (p *parser) summary(m []string) {
	g := p.cur
	if g == nil || g.Name != m[1] {
		p.groups = append(p.groups, Group{Name: m[1]})
		g = &p.groups[len(p.groups)-1]
	}
	g.Summary = true
	g.Run, _ = strconv.Atoi(m[2])
	g.Passed, _ = strconv.Atoi(m[3])
	g.Failed, _ = strconv.Atoi(m[4])
	p.cur, p.last = nil, g
}

// status records what the rest of a test line says about the current test.
func (p *parser) status(rest string) {
	rest = strings.TrimSpace(rest)
	switch {
	case strings.HasPrefix(rest, "WARNING:"):
		p.cur.Warnings = append(p.cur.Warnings, p.test+": "+strings.TrimSpace(strings.TrimPrefix(rest, "WARNING:")))
	case strings.HasPrefix(rest, "FAIL"):
		reason := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(rest, "FAIL")), "("), ")")
		p.cur.Failures = append(p.cur.Failures, p.test+": "+reason)
	case rest == "SKIPPED":
		p.cur.Skipped = append(p.cur.Skipped, p.test)
	}
}

// scanLines is bufio.ScanLines that also ends a line at a carriage return.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
