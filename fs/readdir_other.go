//go:build !linux

package fs

import "os"

// dirBatch holds ReadDirStat's buffers on Linux only.
type dirBatch struct{} //nolint:unused // the field that holds it is read on Linux only

// ReadDirStat is Readdir where the directory read of readdir_linux.go is not available.
func (f *file) ReadDirStat(count int) ([]os.FileInfo, error) { return f.Readdir(count) }
