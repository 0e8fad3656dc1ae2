//go:build !unix

package fs

import "os"

// sameFile is os.SameFile: without openat2, every FileInfo of jailFs is the os package's.
func sameFile(a, b os.FileInfo) bool { return os.SameFile(a, b) }
