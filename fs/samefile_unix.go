//go:build unix

package fs

import (
	"os"
	"syscall"
)

// sameFile is os.SameFile for the FileInfos of jailFs too: its fast Stat (openat2_linux.go)
// returns a FileInfo of its own, which os.SameFile does not know, with the same
// *syscall.Stat_t behind Sys.
func sameFile(a, b os.FileInfo) bool {
	if os.SameFile(a, b) {
		return true
	}
	sa, okA := a.Sys().(*syscall.Stat_t)
	sb, okB := b.Sys().(*syscall.Stat_t)
	return okA && okB && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
