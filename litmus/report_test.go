package litmus

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The testdata files are litmus 0.13 output, unedited, from runs against a bare
// golang.org/x/net/webdav server (webdav.Dir and webdav.NewMemLS): the reference lockdav
// improves on.

func parseFile(t *testing.T, name string) []Group {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	groups, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return groups
}

func TestParseStopsAtFailedGroup(t *testing.T) {
	// Without -k litmus stops after the first group that fails: props.
	got := parseFile(t, "xnet-basic-copymove-props.txt")
	if len(got) != 3 {
		t.Fatalf("got %d groups, want 3: %+v", len(got), got)
	}
	basic := Group{Name: "basic", Summary: true, Run: 16, Passed: 16}
	if !reflect.DeepEqual(got[0], basic) || !got[0].Clean() {
		t.Errorf("basic = %+v, want %+v and clean", got[0], basic)
	}
	props := got[2]
	if props.Name != "props" || props.Run != 14 || props.Passed != 10 || props.Failed != 4 || props.Clean() {
		t.Errorf("props = %+v, want 14 run, 10 passed, 4 failed, not clean", props)
	}
	if n := len(props.Skipped); n != 16 || props.SkipCount != 16 {
		t.Errorf("props skipped %d tests (count line %d), want 16 and 16", n, props.SkipCount)
	}
	if want := "3.propfind_invalid2: PROPFIND with invalid namespace declaration in body (see FAQ) got 207 response not 400"; len(props.Failures) == 0 || props.Failures[0] != want {
		t.Errorf("props first failure = %q, want %q", props.Failures, want)
	}
	if props.Skipped[0] != "7.propget" {
		t.Errorf("props first skipped = %q, want %q", props.Skipped[0], "7.propget")
	}
}

func TestParseWarningsAndSkips(t *testing.T) {
	got := parseFile(t, "xnet-http-locks.txt")
	if len(got) != 2 {
		t.Fatalf("got %d groups, want 2: %+v", len(got), got)
	}
	if got[0].Name != "http" || !got[0].Clean() {
		t.Errorf("http = %+v, want clean", got[0])
	}
	locks := got[1]
	want := []string{"18.cond_put_corrupt_token: PUT failed with 412 not 423"}
	if !reflect.DeepEqual(locks.Warnings, want) || locks.WarningCount != 1 {
		t.Errorf("locks warnings = %q (count line %d), want %q and 1", locks.Warnings, locks.WarningCount, want)
	}
	if locks.Run != 34 || locks.Passed != 30 || locks.Failed != 4 || len(locks.Failures) != 4 {
		t.Errorf("locks = %+v, want 34 run, 30 passed, 4 failures listed", locks)
	}
	if len(locks.Skipped) != 7 || locks.SkipCount != 7 || locks.Skipped[0] != "24.notowner_modify" {
		t.Errorf("locks skipped = %q (count line %d), want 7 starting at 24.notowner_modify", locks.Skipped, locks.SkipCount)
	}
	if !strings.Contains(locks.String(), "4 failed") || !strings.Contains(locks.String(), "1 warnings") {
		t.Errorf("locks row = %q, want failures and warnings shown", locks.String())
	}
}

func TestCleanNeedsEverything(t *testing.T) {
	ok := Group{Name: "basic", Summary: true, Run: 3, Passed: 3}
	tests := []struct {
		name   string
		modify func(g *Group)
		want   bool
	}{
		{"all passed", func(g *Group) {}, true},
		{"no summary", func(g *Group) { g.Summary = false }, false},
		{"nothing run", func(g *Group) { g.Run, g.Passed = 0, 0 }, false},
		{"a failure", func(g *Group) { g.Failed, g.Passed = 1, 2 }, false},
		{"a warning", func(g *Group) { g.Warnings = []string{"1.x: w"} }, false},
		{"a warning count only", func(g *Group) { g.WarningCount = 1 }, false},
		{"a skip", func(g *Group) { g.Skipped = []string{"2.y"} }, false},
		{"a skip count only", func(g *Group) { g.SkipCount = 1 }, false},
	}
	for _, tt := range tests {
		g := ok
		tt.modify(&g)
		if got := g.Clean(); got != tt.want {
			t.Errorf("%s: Clean() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseUnfinishedGroup(t *testing.T) {
	out := "-> running `locks':\r\n 0. init.................. \r 0. init.................. pass\n 1. begin................. "
	got, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Summary || got[0].Clean() {
		t.Errorf("Parse(unfinished) = %+v, want one group without summary, not clean", got)
	}
}
