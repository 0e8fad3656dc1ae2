package fs

// DAV:getcontenttype (RFC 4918 §15.5) in PROPFIND (§9.1).

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

func TestContentType(t *testing.T) {
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"/d/a.txt", "text/plain; charset=utf-8", nil},
		{"/d/b.html", "text/html; charset=utf-8", nil},
		{"/d/c.PNG", "image/png", nil},
		{"/d/noext", "", webdav.ErrNotImplemented},
		{"/d/unknown.zzzq", "", webdav.ErrNotImplemented},
	}
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, f.Mkdir(ctx, "/d", 0o755))
		for _, tt := range tests {
			mustOK(t, create(ctx, f, tt.name, "<html>"))
		}
		listed := map[string]os.FileInfo{}
		dir, err := f.OpenFile(ctx, "/d", os.O_RDONLY, 0)
		mustOK(t, err)
		infos, err := dir.Readdir(0)
		mustOK(t, errors.Join(err, dir.Close()))
		for _, fi := range infos {
			listed["/d/"+fi.Name()] = fi
		}
		for _, tt := range tests {
			stat, err := f.Stat(ctx, tt.name)
			mustOK(t, err)
			for how, fi := range map[string]os.FileInfo{"Stat": stat, "Readdir": listed[tt.name]} {
				ct, ok := fi.(webdav.ContentTyper)
				if !ok {
					t.Fatalf("%s %s: got %T, want a webdav.ContentTyper", how, tt.name, fi)
				}
				got, err := ct.ContentType(ctx)
				if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Errorf("%s %s: got %q, %v, want %q, %v", how, tt.name, got, err, tt.want, tt.wantErr)
				}
			}
		}
	})
}

// countingFs counts the opens of each name.
type countingFs struct {
	afero.Fs
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	c.mu.Lock()
	c.opens[name]++
	c.mu.Unlock()
	return c.Fs.OpenFile(name, flag, perm)
}

func (c *countingFs) Open(name string) (afero.File, error) { return c.OpenFile(name, os.O_RDONLY, 0) }

// TestPropfindContentTypeOpens: an allprop PROPFIND answers getcontenttype
// from the extension without opening the member for it, and sniffs the
// content of a member without one.
func TestPropfindContentTypeOpens(t *testing.T) {
	base := &countingFs{Fs: afero.NewMemMapFs(), opens: map[string]int{}}
	f := New(base, NewMemProps(), zerolog.New(zerolog.NewTestWriter(t)))
	srv := httptest.NewServer(&webdav.Handler{FileSystem: f, LockSystem: webdav.NewMemLS()})
	defer srv.Close()
	c := davClient{t, srv.URL}
	c.want("MKCOL", "/d", "", http.StatusCreated)
	c.want("PUT", "/d/a.txt", "plain", http.StatusCreated)
	c.want("PUT", "/d/page", "<!DOCTYPE html><html></html>", http.StatusCreated)

	base.mu.Lock()
	clear(base.opens)
	base.mu.Unlock()
	resp := c.want("PROPFIND", "/d", "", http.StatusMultiStatus, "Depth", "1")
	for _, want := range []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"} {
		if !strings.Contains(resp, want) {
			t.Errorf("got no getcontenttype %q in\n%s", want, resp)
		}
	}
	base.mu.Lock()
	defer base.mu.Unlock()
	// x/net opens each member once to list its property names and once to
	// read them; only the member without an extension is opened to sniff.
	for name, want := range map[string]int{"/d/a.txt": 2, "/d/page": 3} {
		if got := base.opens[name]; got != want {
			t.Errorf("%s: got %d opens, want %d", name, got, want)
		}
	}
}
