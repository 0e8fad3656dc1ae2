package fs

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

// impl is one way to build an FS; the conformance suite runs on each.
type impl struct {
	name string
	open func(t *testing.T) *FS
}

var impls = []impl{
	{"mem", func(t *testing.T) *FS {
		return New(afero.NewMemMapFs(), NewMemProps(), zerolog.New(zerolog.NewTestWriter(t)))
	}},
	{"os", func(t *testing.T) *FS {
		f, _ := openOS(t, t.TempDir())
		return f
	}},
}

// openOS opens an OS-backed FS at root with bolt properties kept beside it.
func openOS(t *testing.T, root string) (*FS, *BoltProps) {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t))
	props, err := OpenProps(filepath.Join(t.TempDir(), "props.db"), log)
	if err != nil {
		t.Fatalf("OpenProps: %v", err)
	}
	t.Cleanup(func() { props.Close() })
	f, err := NewOS(root, props, log)
	if err != nil {
		t.Fatalf("NewOS: %v", err)
	}
	return f, props
}

func forEachImpl(t *testing.T, test func(t *testing.T, f *FS)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { test(t, im.open(t)) })
	}
}

func errStr(err error) string {
	switch {
	case errors.Is(err, os.ErrExist):
		return "errExist"
	case errors.Is(err, os.ErrNotExist):
		return "errNotExist"
	case errors.Is(err, ErrInvalidName):
		return "errInvalid"
	case errors.Is(err, ErrHiddenName):
		return "errHidden"
	case err != nil:
		return "err"
	}
	return "ok"
}

// TestFS runs a script of tree operations, in the manner of x/net's testFS.
// Lines starting with spaces only look; the others change the tree.
func TestFS(t *testing.T) {
	script := []string{
		"  stat / want dir",
		"  stat /a want errNotExist",
		"create /a A want ok",
		"  stat /a want 1",
		"  read /a want A",
		"create /d/e EEE want errNotExist",
		"mk-dir /a want errExist",
		"mk-dir /d/m want errNotExist",
		"mk-dir /a/x want errNotExist",
		"create /a/x X want errNotExist",
		"mk-dir /d want ok",
		"  stat /d want dir",
		"create /d/e EEE want ok",
		"create /d/f FFFF want ok",
		"mk-dir /d/m want ok",
		"create /d/m/p PPPPP want ok",
		"  find / /a /d /d/e /d/f /d/m /d/m/p",
		"create /d/e XY want ok",
		"  stat /d/e want 2",
		"  read /d/e want XY",
		"hidden /d/.lockdav-upload-123",
		"  find / /a /d /d/e /d/f /d/m /d/m/p",
		"  stat /d/.lockdav-upload-123 want errHidden",
		"  read /d/.lockdav-upload-123 want errHidden",
		"create /d/.lockdav-upload-9 Z want errHidden",
		"rename /d/f /d/g want ok",
		"  stat /d/f want errNotExist",
		"  stat /d/g want 4",
		"rename /d/m /d/n want ok",
		"  stat /d/n/p want 5",
		"rename /d /d/n/z want err",
		"rename / /z want err",
		"rename /a / want err",
		"rename /nope /z want errNotExist",
		"rename /a /nope/a want errNotExist",
		"rename /a /d/e want ok",
		"  read /d/e want A",
		"  stat /a want errNotExist",
		"mk-dir /u want ok",
		"create /u/w W want ok",
		"rename /d/g /u want ok",
		"  stat /u want 4",
		"  stat /u/w want errNotExist",
		"rename /u /d/n want ok",
		"  stat /d/n want 4",
		"  stat /d/n/p want errNotExist",
		"  find / /d /d/.lockdav-upload-123 /d/e /d/n",
		"rm-all /d/e want ok",
		"rm-all /z want ok",
		"rm-all / want err",
		"rm-all /d want ok",
		"  find /",
		"  stat /a\\b want errInvalid",
		"  stat /a\x01b want errInvalid",
		"mk-dir /a\x00b want errInvalid",
		"rm-all /" + strings.Repeat("x", 256) + " want errInvalid",
		"create /%2e%2e P want ok",
		"  find / /%2e%2e",
	}
	forEachImpl(t, func(t *testing.T, f *FS) { runScript(t, f, script) })
}

func runScript(t *testing.T, f *FS, script []string) {
	ctx := context.Background()
	for i, line := range script {
		fields := strings.Fields(line)
		op, args := fields[0], fields[1:]
		var got, want string
		switch op {
		case "create":
			got, want = errStr(create(ctx, f, args[0], args[1])), args[3]
		case "read":
			got, want = read(ctx, f, args[0]), args[2]
		case "stat":
			got, want = stat(ctx, f, args[0]), args[2]
		case "mk-dir":
			got, want = errStr(f.Mkdir(ctx, args[0], 0o777)), args[2]
		case "rm-all":
			got, want = errStr(f.RemoveAll(ctx, args[0])), args[2]
		case "rename":
			got, want = errStr(f.Rename(ctx, args[0], args[1])), args[3]
		case "hidden":
			got, want = errStr(afero.WriteFile(f.base, args[0], []byte("tmp"), 0o600)), "ok"
		case "find":
			got, want = strings.Join(find(t, f, "/"), " "), strings.Join(args, " ")
			if strings.Contains(want, tempPrefix) {
				// the hidden file is on disk but must not be listed
				want = strings.Replace(want, " /d/"+tempPrefix+"123", "", 1)
			}
		default:
			t.Fatalf("line %d %q: unknown op", i, line)
		}
		if got != want {
			t.Fatalf("line %d %q: got %q, want %q", i, line, got, want)
		}
	}
}

func create(ctx context.Context, f *FS, name, content string) error {
	file, err := f.OpenFile(ctx, name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	_, err = file.Write([]byte(content))
	return errors.Join(err, file.Close())
}

func read(ctx context.Context, f *FS, name string) string {
	file, err := f.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return errStr(err)
	}
	defer file.Close()
	b, err := io.ReadAll(file)
	if err != nil {
		return errStr(err)
	}
	return string(b)
}

func stat(ctx context.Context, f *FS, name string) string {
	fi, err := f.Stat(ctx, name)
	switch {
	case err != nil:
		return errStr(err)
	case fi.IsDir():
		return "dir"
	}
	return strconv.FormatInt(fi.Size(), 10)
}

// find lists every name reachable from name through Readdir, sorted.
func find(t *testing.T, f *FS, name string) []string {
	t.Helper()
	out := []string{name}
	file, err := f.OpenFile(context.Background(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil || !fi.IsDir() {
		return out
	}
	children, err := file.Readdir(0)
	if err != nil {
		t.Fatalf("readdir %s: %v", name, err)
	}
	for _, c := range children {
		out = append(out, find(t, f, path.Join(name, c.Name()))...)
	}
	slices.Sort(out)
	return out
}

func TestReaddirCountHidesTemp(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		for _, n := range []string{"/a", "/b", "/c"} {
			if err := create(ctx, f, n, "x"); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []string{"/" + tempPrefix + "1", "/" + tempPrefix + "2"} {
			if err := afero.WriteFile(f.base, n, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dir, err := f.OpenFile(ctx, "/", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		var names []string
		for {
			infos, err := dir.Readdir(1)
			for _, fi := range infos {
				names = append(names, fi.Name())
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(infos) != 1 {
				t.Fatalf("Readdir(1) returned %d entries", len(infos))
			}
		}
		slices.Sort(names)
		if want := []string{"a", "b", "c"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("got %q, want %q", names, want)
		}
	})
}

func TestETagOnStat(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		if err := create(ctx, f, "/a", "abc"); err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat(ctx, "/a")
		if err != nil {
			t.Fatal(err)
		}
		et, ok := fi.(webdav.ETager)
		if !ok {
			t.Fatalf("Stat result %T is not a webdav.ETager", fi)
		}
		got, err := et.ETag(ctx)
		if want := ETag(fi); err != nil || got != want {
			t.Fatalf("got %q, %v, want %q", got, err, want)
		}
		if !strings.HasPrefix(got, `"`) || !strings.HasSuffix(got, `"`) || len(got) < 3 {
			t.Fatalf("ETag %q is not a quoted strong ETag", got)
		}
	})
}

var (
	nsX  = xml.Name{Space: "http://example.com/ns", Local: "x"}
	nsY  = xml.Name{Space: "urn:odd:ns:\u00e9", Local: "y"}
	prop = func(n xml.Name, inner string) webdav.Property {
		return webdav.Property{XMLName: n, InnerXML: []byte(inner)}
	}
)

func patch(t *testing.T, f *FS, name string, patches ...webdav.Proppatch) {
	t.Helper()
	file, err := f.OpenFile(context.Background(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer file.Close()
	if _, err := file.(webdav.DeadPropsHolder).Patch(patches); err != nil {
		t.Fatalf("patch %s: %v", name, err)
	}
}

func deadProps(t *testing.T, f *FS, name string) map[xml.Name]webdav.Property {
	t.Helper()
	file, err := f.OpenFile(context.Background(), name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer file.Close()
	p, err := file.(webdav.DeadPropsHolder).DeadProps()
	if err != nil {
		t.Fatalf("dead props %s: %v", name, err)
	}
	return p
}

func TestPropsFollowTree(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, f.Mkdir(ctx, "/d", 0o755))
		mustOK(t, create(ctx, f, "/d/a", "A"))
		mustOK(t, create(ctx, f, "/da", "other"))
		set := webdav.Proppatch{Props: []webdav.Property{prop(nsX, "1")}}
		patch(t, f, "/d", set)
		patch(t, f, "/d/a", set)
		patch(t, f, "/da", set)

		mustOK(t, create(ctx, f, "/d/a", "truncated"))
		if got := deadProps(t, f, "/d/a"); len(got) != 1 {
			t.Fatalf("after O_TRUNC: got %v, want the property kept", got)
		}
		mustOK(t, f.Rename(ctx, "/d", "/e"))
		for name, want := range map[string]int{"/e": 1, "/e/a": 1, "/da": 1} {
			if got := deadProps(t, f, name); len(got) != want {
				t.Fatalf("after rename, props of %s: got %v, want %d", name, got, want)
			}
		}
		mustOK(t, f.Mkdir(ctx, "/d", 0o755))
		if got := deadProps(t, f, "/d"); got != nil {
			t.Fatalf("new /d: got %v, want no props", got)
		}
		mustOK(t, f.RemoveAll(ctx, "/e"))
		mustOK(t, f.Mkdir(ctx, "/e", 0o755))
		mustOK(t, create(ctx, f, "/e/a", ""))
		for _, name := range []string{"/e", "/e/a"} {
			if got := deadProps(t, f, name); got != nil {
				t.Fatalf("recreated %s: got %v, want no props", name, got)
			}
		}
		if got := deadProps(t, f, "/da"); len(got) != 1 {
			t.Fatalf("/da lost its props with /d: got %v", got)
		}
	})
}

func TestRenameOverDestinationWithProps(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, create(ctx, f, "/a", "A"))
		mustOK(t, f.Mkdir(ctx, "/b", 0o755))
		mustOK(t, create(ctx, f, "/b/c", "C"))
		patch(t, f, "/b", webdav.Proppatch{Props: []webdav.Property{prop(nsY, "old")}})
		patch(t, f, "/b/c", webdav.Proppatch{Props: []webdav.Property{prop(nsY, "old")}})
		patch(t, f, "/a", webdav.Proppatch{Props: []webdav.Property{prop(nsX, "new")}})
		mustOK(t, f.Rename(ctx, "/a", "/b"))
		got := deadProps(t, f, "/b")
		want := map[xml.Name]webdav.Property{nsX: prop(nsX, "new")}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		if got := read(ctx, f, "/b"); got != "A" {
			t.Fatalf("content: got %q, want %q", got, "A")
		}
		mustOK(t, f.Mkdir(ctx, "/b2", 0o755))
		mustOK(t, f.Rename(ctx, "/b2", "/b"))
		mustOK(t, create(ctx, f, "/b/c", ""))
		if got := deadProps(t, f, "/b/c"); got != nil {
			t.Fatalf("/b/c kept the props of the replaced tree: %v", got)
		}
	})
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPropsDurable(t *testing.T) {
	root, db := t.TempDir(), filepath.Join(t.TempDir(), "props.db")
	log := zerolog.New(zerolog.NewTestWriter(t))
	open := func() (*FS, *BoltProps) {
		props, err := OpenProps(db, log)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewOS(root, props, log)
		if err != nil {
			t.Fatal(err)
		}
		return f, props
	}
	f, props := open()
	mustOK(t, create(context.Background(), f, "/a", "A"))
	want := map[xml.Name]webdav.Property{nsX: {XMLName: nsX, Lang: "fr", InnerXML: []byte("<b>\u00e9\U0001F600</b>")}}
	patch(t, f, "/a", webdav.Proppatch{Props: []webdav.Property{want[nsX]}})
	mustOK(t, props.Close())

	f, props = open()
	defer props.Close()
	if got := deadProps(t, f, "/a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: got %v, want %v", got, want)
	}
}

// Content hands GET the *os.File of an OS-backed file, for sendfile(2), and
// the file itself elsewhere; both read the file's content.
func TestFileContent(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustOK(t, create(ctx, f, "/f", "content"))
		wf, err := f.OpenFile(ctx, "/f", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer wf.Close()
		c := wf.(*file).Content()
		if _, isOS := c.(*os.File); isOS != (f.base.Name() == "rootfs") {
			t.Errorf("Content is %T over %s", c, f.base.Name())
		}
		if b, err := io.ReadAll(c); err != nil || string(b) != "content" {
			t.Errorf("Content reads %q (%v), want %q", b, err, "content")
		}
	})
}
