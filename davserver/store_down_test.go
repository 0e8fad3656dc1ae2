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

// unreachableProps is a property store whose tree operations fail as etcdprops does when etcd
// goes away between the request's Sync and the write (a leader election, a partition).
type unreachableProps struct {
	fs.PropStore
	err error
}

func (p unreachableProps) Get(string) (map[xml.Name]webdav.Property, error) { return nil, p.err }
func (p unreachableProps) RemoveTree(string) error                          { return p.err }
func (p unreachableProps) Move(string, string) error                        { return p.err }

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
			bad := fs.New(mem, unreachableProps{PropStore: fs.NewMemProps(),
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
