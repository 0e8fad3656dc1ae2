package fs

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/webdav"
)

// x/net's PROPPATCH opens its target O_RDWR; a collection must open too, its dead properties
// being as patchable as a file's (RFC 4918 §9.2). Truncating one still fails.
func TestOpenCollectionForPatch(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, f.Mkdir(ctx, "/d", 0o755))
		for _, name := range []string{"/", "/d"} {
			file, err := f.OpenFile(ctx, name, os.O_RDWR, 0)
			if err != nil {
				t.Fatalf("OpenFile(%s, O_RDWR): %v", name, err)
			}
			_, err = file.(webdav.DeadPropsHolder).Patch([]webdav.Proppatch{set(prop(nsX, "v"))})
			mustOK(t, errors.Join(err, file.Close()))
			if got := deadProps(t, f, name); string(got[nsX].InnerXML) != "v" {
				t.Errorf("%s: dead props %v after Patch, want %s=v", name, got, nsX.Local)
			}
		}
		if !strings.HasSuffix(t.Name(), "/os") {
			return // MemMapFs opens a directory with O_TRUNC and ignores it
		}
		if file, err := f.OpenFile(ctx, "/d", os.O_RDWR|os.O_TRUNC, 0); err == nil {
			file.Close()
			t.Errorf("OpenFile(/d, O_RDWR|O_TRUNC): opened, want an error")
		}
	})
}

// A collection made by a COPY's walk takes its source's dead properties (RFC 4918 §9.8.2);
// one made outside the copied tree, or by no COPY, starts with none.
func TestMkdirInCopy(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, f.Mkdir(ctx, "/s", 0o755))
		mustOK(t, f.Mkdir(ctx, "/s/sub", 0o755))
		patch(t, f, "/s", set(prop(nsX, "top")))
		patch(t, f, "/s/sub", set(prop(nsX, "sub")))
		cp := WithCopy(ctx, "/s/", "/d")
		for _, name := range []string{"/d", "/d/sub", "/other"} {
			mustOK(t, f.Mkdir(cp, name, 0o755))
		}
		mustOK(t, f.Mkdir(ctx, "/plain", 0o755))
		for name, want := range map[string]string{"/d": "top", "/d/sub": "sub", "/other": "", "/plain": "", "/s": "top"} {
			if got := string(deadProps(t, f, name)[nsX].InnerXML); got != want {
				t.Errorf("%s: %s = %q, want %q", name, nsX.Local, got, want)
			}
		}
	})
}
