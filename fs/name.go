package fs

import (
	"os"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

const (
	// maxPath and maxSegment are Linux's PATH_MAX and NAME_MAX.
	maxPath    = 4096
	maxSegment = 255

	// tempPrefix starts the names of uploads in progress. Such names are
	// hidden: never listed, never opened, never created by clients.
	tempPrefix = ".lockdav-upload-"
)

// cleanName checks name as a client may have sent it and returns it in the
// canonical form "/a/b" ("/" for the root). x/net hands names over already
// cleaned; the checks are repeated here because the jail must not depend on
// the caller. A hidden name yields ErrHiddenName.
func cleanName(name string) (string, error) {
	if len(name) > maxPath {
		return "", propkit.Invalid(name, "path too long")
	}
	if !utf8.ValidString(name) {
		return "", propkit.Invalid(name, "not UTF-8")
	}
	for _, r := range name {
		if r == '\\' {
			return "", propkit.Invalid(name, "backslash")
		}
		if unicode.IsControl(r) {
			return "", propkit.Invalid(name, "control character")
		}
	}
	clean := path.Clean(rooted(name))
	for seg := range strings.SplitSeq(clean[1:], "/") {
		switch {
		case seg == "..":
			return "", propkit.Invalid(name, `".." segment`)
		case len(seg) > maxSegment:
			return "", propkit.Invalid(name, "segment too long")
		case strings.HasPrefix(seg, tempPrefix):
			return "", &os.PathError{Op: "open", Path: clean, Err: ErrHiddenName}
		}
	}
	return clean, nil
}

// CheckName returns the error any method of FS would give for name itself,
// ErrInvalidName or ErrHiddenName, or nil. It is for callers that hand names
// to code mapping errors to its own answers (x/net's webdav.Handler answers a
// hidden name's os.ErrPermission from Mkdir with 405, from OpenFile with 500).
func CheckName(name string) error {
	_, err := cleanName(name)
	return err
}

// checkMember is cleanName's verdict on dir/name for a name a directory read returned (one
// segment, never "" or "." or ".."), without building the path: a listing checks every member.
func checkMember(dir, name string) error {
	full := len(dir) + 1 + len(name)
	if dir == "/" {
		full--
	}
	switch {
	case full > maxPath:
		return propkit.Invalid(name, "path too long")
	case len(name) > maxSegment:
		return propkit.Invalid(name, "segment too long")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c == 0x7f || c == '\\' || c >= utf8.RuneSelf {
			_, err := cleanName(dir + "/" + name)
			return err
		}
	}
	return nil
}

// isHidden reports whether a directory entry is an upload in progress.
func isHidden(base string) bool {
	return strings.HasPrefix(base, tempPrefix)
}

// rooted is "/" + name, without building a new string for a name that starts with "/" already,
// as every name from a request does: path.Clean then returns a clean name as it is.
func rooted(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/" + name
}
