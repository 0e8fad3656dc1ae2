package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// Names made behind the server's back that no request can name are left out of every listing,
// whatever the count asked for, instead of failing the walk that meets them (RFC 4918 §9.1).
func TestReaddirSkipsUnnamable(t *testing.T) {
	odd := []string{"bad\xff", "ctl\x01", "new\nline", "del\x7f", "nel\u0085", `back\slash`, strings.Repeat("n", maxSegment+1)}
	forEachImpl(t, func(t *testing.T, f *FS) {
		for _, n := range append([]string{"a", "b", "\u00e9t\u00e9"}, odd...) {
			if err := afero.WriteFile(f.base, "/"+n, nil, 0o600); err != nil && len(n) <= maxSegment {
				t.Fatal(err)
			}
		}
		want := []string{"a", "b", "\u00e9t\u00e9"}
		for _, count := range []int{-1, 0, 1, 2, 100} {
			if got := readNames(t, f, count); !slices.Equal(got, want) {
				t.Errorf("Readdirnames(%d): got %q, want %q", count, got, want)
			}
		}
	})
}

// readNames lists the root count entries at a time and returns the names sorted.
func readNames(t *testing.T, f *FS, count int) []string {
	t.Helper()
	dir, err := f.OpenFile(context.Background(), "/", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	var names []string
	for {
		batch, err := dir.(afero.File).Readdirnames(count)
		names = append(names, batch...)
		if errors.Is(err, io.EOF) || err == nil && (count <= 0 || len(batch) == 0) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(names)
	return names
}
