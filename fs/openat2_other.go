//go:build !linux

package fs

import (
	"errors"
	"os"
)

// Without openat2(2), jailFs always walks with os.Root: dirfd is -1 and the
// fast calls below are never made.

func openDirFd(string, *os.Root) int { return -1 }

func closeDirFd(int) error { return nil }

func fallBack(error) bool { return true }

func (r *jailFs) fastOpen(string, int, os.FileMode) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

func (r *jailFs) fastStat(string) (os.FileInfo, error) { return nil, errors.ErrUnsupported }

func (r *jailFs) fastMkdir(string, os.FileMode) error { return errors.ErrUnsupported }

func (r *jailFs) fastRemove(string) error { return errors.ErrUnsupported }

func (r *jailFs) fastRename(string, string) error { return errors.ErrUnsupported }
