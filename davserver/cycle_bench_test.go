package davserver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/locksystem/boltstore"
)

// BenchmarkLockCycle is the handler's share of lockdav-bench's lockcycle (LOCK an unmapped URL,
// PUT 4 KiB with its token, UNLOCK) without the network: an OS tree and a bbolt store under
// TMPDIR, an info-level log to nowhere. Profile it with -cpuprofile; put TMPDIR on tmpfs to
// leave the disk out.
func BenchmarkLockCycle(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 4096)
	lockBody := `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>bench</D:href></D:owner></D:lockinfo>`
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		path := "/d/f" + strconv.Itoa(i)
		w := serve(h, "LOCK", path, strings.NewReader(lockBody), "Timeout", "Second-3600")
		if w.Code != http.StatusCreated {
			b.Fatalf("LOCK: %d %s", w.Code, w.Body)
		}
		tok := w.Header().Get("Lock-Token")
		if w := serve(h, "PUT", path, bytes.NewReader(body), "If", "("+tok+")"); w.Code != http.StatusNoContent {
			b.Fatalf("PUT: %d %s", w.Code, w.Body)
		}
		if w := serve(h, "UNLOCK", path, nil, "Lock-Token", tok); w.Code != http.StatusNoContent {
			b.Fatalf("UNLOCK: %d %s", w.Code, w.Body)
		}
	}
}

func serve(h http.Handler, method, path string, body io.Reader, header, value string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	r.Header.Set(header, value)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func benchHandler(b *testing.B) *Handler {
	b.Helper()
	dir := b.TempDir()
	log := zerolog.New(io.Discard).Level(zerolog.InfoLevel)
	store, err := boltstore.Open(filepath.Join(dir, "locks.db"), boltstore.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	props, err := fs.OpenProps(filepath.Join(dir, "props.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = props.Close() })
	root := filepath.Join(dir, "root")
	fsys, err := fs.NewOS(root, props, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fsys.Close() })
	if err := fsys.Mkdir(b.Context(), "/d", 0o755); err != nil {
		b.Fatal(err)
	}
	ls, err := locksystem.New(time.Now(), locksystem.Options{Store: store, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ls.Close() })
	return New(Options{FS: fsys, Locks: ls, Logger: log})
}

// BenchmarkGet is the handler's share of lockdav-bench's get (4 KiB) without the network.
func BenchmarkGet(b *testing.B) {
	h := benchHandler(b)
	if w := serve(h, "PUT", "/d/g", bytes.NewReader(bytes.Repeat([]byte("x"), 4096)), "X-None", ""); w.Code != http.StatusCreated {
		b.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(h, "GET", "/d/g", nil, "X-None", ""); w.Code != http.StatusOK {
			b.Fatalf("GET: %d", w.Code)
		}
	}
}
