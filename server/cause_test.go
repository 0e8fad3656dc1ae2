package server

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// failingFs is a MemMapFs whose files named boom cannot be opened for writing.
type failingFs struct{ afero.Fs }

var errDiskOnFire = errors.New("disk on fire")

func (f failingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if strings.HasSuffix(name, "boom") && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: errDiskOnFire}
	}
	return f.Fs.OpenFile(name, flag, perm)
}

// TestServerErrorLogsCause: a 500 answered by the x/net delegate logs its cause at error level,
// not only "status":500 in the access line.
func TestServerErrorLogsCause(t *testing.T) {
	var logs syncBuffer
	log := zerolog.New(&logs)
	mem := afero.NewMemMapFs()
	if err := afero.WriteFile(mem, "/boom", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ls, err := locksystem.New(time.Now(), locksystem.Options{Policy: locksystem.DefaultPolicy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	ts := &testServer{t: t, h: newHandler(handlerOptions{FS: fs.New(failingFs{mem}, fs.NewMemProps(), log), Locks: ls, Logger: log})}
	body := `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>`
	want(t, ts.do("PROPPATCH", "/boom", body), http.StatusInternalServerError, "PROPPATCH of a file that cannot be opened")
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) && strings.Contains(line, errDiskOnFire.Error()) {
			return
		}
	}
	t.Errorf("no error-level log line names the cause %q; the log:\n%s", errDiskOnFire, logs.String())
}
