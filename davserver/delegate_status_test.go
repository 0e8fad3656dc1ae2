package davserver

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// failingProps is a property store whose writes fail with err.
type failingProps struct {
	fs.PropStore
	err error
}

func (p failingProps) Patch(string, []webdav.Proppatch) ([]webdav.Propstat, error) { return nil, p.err }

func (p failingProps) Get(string) (map[xml.Name]webdav.Property, error) { return nil, nil }

// x/net answers 500 for every error of the property store; a delegated write whose store
// failed answers as that error maps instead: 503 with Retry-After for a shared store out of
// reach, 507 for too many properties (RFC 4918 §9.2.1), 500 for anything else.
func TestDelegatedStoreErrors(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("etcd: %w", locksystem.ErrUnavailable), http.StatusServiceUnavailable},
		{fmt.Errorf("patch: %w", fs.ErrTooManyProps), http.StatusInsufficientStorage},
		{fmt.Errorf("disk on fire"), http.StatusInternalServerError},
	} {
		ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		log := zerolog.Nop()
		ts.fs = fs.New(afero.NewMemMapFs(), failingProps{PropStore: fs.NewMemProps(), err: tt.err}, log)
		ls, err := locksystem.New(ts.now, locksystem.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		ts.locks = ls
		ts.h = New(Options{FS: ts.fs, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
		ts.put("/f", "x")
		w := ts.do("PROPPATCH", "/f", fmt.Sprintf(colourSet, "red"))
		if w.Code != tt.status {
			t.Errorf("PROPPATCH with the store failing %v = %d, want %d", tt.err, w.Code, tt.status)
		}
		if tt.status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		_ = ls.Close()
	}
}
