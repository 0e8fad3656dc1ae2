package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// ReadDirStat lists what Readdir lists, with the same attributes, at any batch size: files,
// collections, a symbolic link as a link, none of the hidden or unnamable names (RFC 4918 §9.1).
func TestReadDirStatAsReaddir(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		mustOK(t, f.base.Mkdir("/d", 0o700))
		for i := range 40 {
			mustOK(t, afero.WriteFile(f.base, "/d/f"+strings.Repeat("x", i), []byte(strings.Repeat("y", i)), 0o600))
		}
		mustOK(t, f.base.Mkdir("/d/sub", 0o700))
		mustOK(t, afero.WriteFile(f.base, "/d/"+tempPrefix+"1", nil, 0o600))
		mustOK(t, afero.WriteFile(f.base, "/d/bad\xff", nil, 0o600))
		if rfs, ok := f.base.(*jailFs); ok {
			mustOK(t, os.Symlink("sub", filepath.Join(rfs.real, "d", "link")))
		}
		want := listed(t, f, func(d *file, n int) ([]os.FileInfo, error) { return d.Readdir(n) }, 1000)
		for _, n := range []int{1, 7, 256} {
			got := listed(t, f, (*file).ReadDirStat, n)
			if !slices.Equal(got, want) {
				t.Errorf("ReadDirStat(%d):\n%q\nwant what Readdir lists:\n%q", n, got, want)
			}
		}
	})
}

// listed reads /d with read, n at a time, and describes each member, sorted.
func listed(t *testing.T, f *FS, read func(*file, int) ([]os.FileInfo, error), n int) []string {
	t.Helper()
	wf, err := f.OpenFile(context.Background(), "/d", os.O_RDONLY, 0)
	mustOK(t, err)
	defer wf.Close()
	var out []string
	for {
		fis, err := read(wf.(*file), n)
		for _, fi := range fis {
			size := fi.Size()
			if fi.IsDir() {
				size = 0 // a directory's size is the file system's business
			}
			out = append(out, fmt.Sprint(fi.Name(), " ", fi.Mode(), " ", fi.ModTime().UnixNano(), " ", size))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		mustOK(t, err)
		if len(fis) == 0 {
			break
		}
	}
	slices.Sort(out)
	return out
}
