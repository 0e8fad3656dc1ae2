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

// failingProps is a property store whose changes fail with err, and its reads too when
// readsFail: as etcdprops fails when etcd goes away between a request's Sync and its write.
type failingProps struct {
	fs.PropStore
	err       error
	readsFail bool
}

func (p failingProps) Patch(string, []webdav.Proppatch) ([]webdav.Propstat, error) { return nil, p.err }
func (p failingProps) RemoveTree(string) error                                     { return p.err }
func (p failingProps) Move(string, string) error                                   { return p.err }

func (p failingProps) Get(string) (map[xml.Name]webdav.Property, error) {
	if p.readsFail {
		return nil, p.err
	}
	return nil, nil
}

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

// x/net answers 405 (DELETE, MKCOL) and 403 (MOVE) for a failing file system call, not 500: a
// shared property store out of reach is still a 503 with Retry-After, and when the tree has
// changed before the property store failed, the locks of the deleted or moved resource end.
func TestTreeWritesWithPropStoreUnavailable(t *testing.T) {
	for _, m := range []struct {
		method, target string
		hdr            []any
	}{
		{"DELETE", "/f", nil},
		{"MOVE", "/f", []any{"Destination", "http://example.com/g"}},
		{"MKCOL", "/d/", nil},
	} {
		t.Run(m.method, func(t *testing.T) {
			ts := &testServer{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			log := zerolog.Nop()
			mem := afero.NewMemMapFs()
			good := fs.New(mem, fs.NewMemProps(), log)
			ls, err := locksystem.New(ts.now, locksystem.Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ls.Close() })
			ts.locks = ls
			ts.fs = good
			ts.h = New(Options{FS: good, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
			ts.put("/f", "x")
			tok := ts.lock("/f", exclusiveBody, http.StatusOK)
			bad := fs.New(mem, failingProps{PropStore: fs.NewMemProps(), readsFail: true,
				err: fmt.Errorf("etcd: %w", locksystem.ErrUnavailable)}, log)
			ts.fs = bad
			ts.h = New(Options{FS: bad, Locks: ls, Logger: log, MaxXMLBody: 4096, Now: func() time.Time { return ts.now }})
			hdr := m.hdr
			if m.method != "MKCOL" {
				hdr = append([]any{"If", ifToken(tok)}, hdr...)
			}
			w := ts.do(m.method, m.target, "", hdr...)
			if w.Code != http.StatusServiceUnavailable {
				_, exists := ts.read("/f")
				t.Errorf("%s with the property store unreachable = %d, want 503 (source still there: %v)",
					m.method, w.Code, exists)
			}
			if _, exists := ts.read("/f"); !exists {
				if ls := ts.locks.Covering(ts.now, "/f"); len(ls) > 0 {
					t.Errorf("%s removed /f but its lock %s stays in the lock table", m.method, ls[0].Token)
				}
			}
		})
	}
}
