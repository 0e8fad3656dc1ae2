package fs

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

func TestCleanName(t *testing.T) {
	long := strings.Repeat("a", maxSegment)
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"", "/", nil},
		{"/", "/", nil},
		{"a/b", "/a/b", nil},
		{"/a//b/./c/", "/a/b/c", nil},
		{"/a/../b", "/b", nil},
		{"/../../etc/passwd", "/etc/passwd", nil},
		{"/%2e%2e/x", "/%2e%2e/x", nil},
		{"/caf\u00e9/\U0001F600", "/caf\u00e9/\U0001F600", nil},
		{"/" + long, "/" + long, nil},
		{"/" + long + "a", "", ErrInvalidName},
		{"/" + strings.Repeat("a/", maxPath/2), "", ErrInvalidName},
		{"/a\x00b", "", ErrInvalidName},
		{"/a\nb", "", ErrInvalidName},
		{"/a\x7fb", "", ErrInvalidName},
		{"/a\u0085b", "", ErrInvalidName},
		{"/a\\b", "", ErrInvalidName},
		{"/a\xffb", "", ErrInvalidName},
		{"/" + tempPrefix + "1", "", ErrHiddenName},
		{"/d/" + tempPrefix + "1/x", "", ErrHiddenName},
		{"/d/x" + tempPrefix, "/d/x" + tempPrefix, nil},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("cleanName(%q) = %q, %v; want %q, %v", propkit.Truncate(tt.in), got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzName checks the invariants of cleanName: an accepted name is clean,
// absolute, inside the root, free of forbidden bytes, within the limits, and
// cleaning it again changes nothing.
func FuzzName(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "../x", "/a/../../b", "%2e%2e", "a\\b", "a\x00b", "/\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := cleanName(in)
		if err != nil {
			if got != "" {
				t.Fatalf("cleanName(%q) = %q with error %v", in, got, err)
			}
			if !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrHiddenName) {
				t.Fatalf("cleanName(%q): unexpected error kind %v", in, err)
			}
			return
		}
		if got != path.Clean(got) || !strings.HasPrefix(got, "/") {
			t.Fatalf("cleanName(%q) = %q, not clean and absolute", in, got)
		}
		if len(got) > maxPath || !utf8.ValidString(got) || strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("cleanName(%q) = %q breaks a limit", in, got)
		}
		for _, seg := range strings.Split(got[1:], "/") {
			if seg == ".." || len(seg) > maxSegment || strings.HasPrefix(seg, tempPrefix) {
				t.Fatalf("cleanName(%q) = %q has segment %q", in, got, seg)
			}
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("cleanName(%q) = %q has a control character", in, got)
		}
		if again, err := cleanName(got); again != got || err != nil {
			t.Fatalf("cleanName(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}
