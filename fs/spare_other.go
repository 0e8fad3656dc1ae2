//go:build !linux

package fs

import (
	"errors"
	"os"

	"github.com/spf13/afero"
)

// Without renameat2 and leases an upload always renames, and no spare is ever kept.

func idOf(os.FileInfo) dirID { return dirID{} }

func exchange(*os.File, string, string) error { return errors.ErrUnsupported }

func removeIn(dir *os.File, name string) error { return errors.ErrUnsupported }

func reclaim(*os.File, string) (*os.File, reclaimed) { return nil, unlink }

func claim(*os.File) bool { return false }

func writeback(afero.File) {}
