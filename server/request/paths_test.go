package request

import (
	"errors"
	"path"
	"strings"
	"testing"
)

// FuzzCleanPath: whatever the path, CleanPath refuses it or returns a clean absolute path with no
// traversal and no control character, which it returns unchanged, and which stays inside any
// user root. Seeds live in testdata/fuzz/FuzzCleanPath/.

func FuzzCleanPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		got, err := CleanPath(p)
		if err != nil {
			if !errors.Is(err, ErrTraversal) && !errors.Is(err, ErrBadPath) {
				t.Fatalf("CleanPath(%q) error %v, want ErrTraversal or ErrBadPath", p, err)
			}
			return
		}
		switch {
		case !strings.HasPrefix(got, "/") || path.Clean(got) != got:
			t.Fatalf("CleanPath(%q) = %q, not a clean absolute path", p, got)
		case HasDotDot(got) || strings.ContainsAny(got, "\\\x00"):
			t.Fatalf("CleanPath(%q) = %q still holds a traversal", p, got)
		case strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r == 0x7f }):
			t.Fatalf("CleanPath(%q) = %q holds a control character", p, got)
		}
		if again, err := CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath(CleanPath(%q)) = %q, %v; want %q", p, again, err, got)
		}
		// Under any user root the result stays inside it.
		for _, root := range []string{"/", "/alice", "/a/b"} {
			if real := ToReal(root, got); !InTree(root, real) || ToURL(root, real) != got {
				t.Fatalf("ToReal(%q, %q) = %q: outside the root or not reversible", root, got, real)
			}
		}
	})
}
