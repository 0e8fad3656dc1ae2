package fs

// LOCK on an unmapped URL: RFC 4918 Section 7.3 and 9.10.4 (an empty resource is created).

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestCreate(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		wantCreated bool
		wantErr     error
		want        string // content of target afterwards ("" when wantErr)
	}{
		{"new file", "/d/new", true, nil, ""},
		{"existing file kept", "/d/f", false, nil, "old content"},
		{"existing dir", "/d", false, ErrIsDir, ""},
		{"root", "/", false, ErrIsDir, ""},
		{"parent missing", "/nope/f", false, os.ErrNotExist, ""},
		{"parent is a file", "/d/f/g", false, os.ErrNotExist, ""},
		{"hidden name", "/d/" + tempPrefix + "x", false, ErrHiddenName, ""},
		{"invalid name", "/d/a\\b", false, ErrInvalidName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, f *FS) {
				ctx := context.Background()
				mustOK(t, f.Mkdir(ctx, "/d", 0o755))
				mustOK(t, create(ctx, f, "/d/f", "old content"))
				patch(t, f, "/d/f", set(prop(nsX, "kept")))

				created, err := f.Create(ctx, tt.target)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				if created != tt.wantCreated {
					t.Errorf("got created %v, want %v", created, tt.wantCreated)
				}
				if created {
					if fi, err := f.Stat(ctx, tt.target); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
						t.Errorf("created %s: %v, %v; want an empty regular file", tt.target, fi, err)
					}
				}
				if tt.wantErr == nil {
					if got := read(ctx, f, tt.target); got != tt.want {
						t.Errorf("got %s holding %q, want %q", tt.target, got, tt.want)
					}
				}
				if got := deadProps(t, f, "/d/f"); len(got) != 1 {
					t.Errorf("got /d/f props %v, want the one kept", got)
				}
				noTemp(t, f, "/d")
			})
		})
	}
}

// TestCreateDropsStaleProps: properties left at a name that did not exist are
// not inherited by the new empty resource.
func TestCreateDropsStaleProps(t *testing.T) {
	forEachImpl(t, func(t *testing.T, f *FS) {
		ctx := context.Background()
		mustPatch(t, f.props, "/g", set(prop(nsX, "stale")))
		created, err := f.Create(ctx, "/g")
		if err != nil || !created {
			t.Fatalf("got created %v, error %v, want true, nil", created, err)
		}
		if got := deadProps(t, f, "/g"); len(got) != 0 {
			t.Fatalf("got props %v on the new resource, want none", got)
		}
	})
}
