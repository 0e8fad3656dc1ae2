package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/locksystem"
)

// getHandlers are lockdav's whole handler, middleware included, and x/net's webdav.Handler,
// over one OS tree holding a 4 KiB f.bin.
func getHandlers(b *testing.B) []struct {
	name string
	h    http.Handler
} {
	root := b.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.bin"), make([]byte, 4096), 0o600); err != nil {
		b.Fatal(err)
	}
	log := zerolog.New(io.Discard).Level(zerolog.InfoLevel)
	fsys, err := fs.NewOS(root, fs.NewMemProps(), log)
	if err != nil {
		b.Fatal(err)
	}
	ls, err := locksystem.New(time.Now(), locksystem.Options{Policy: locksystem.DefaultPolicy, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ls.Close() })
	return []struct {
		name string
		h    http.Handler
	}{
		{"lockdav", newHandler(handlerOptions{FS: fsys, Locks: ls, Logger: log, LoopbackOnly: true, BodyTimeout: time.Minute})},
		{"x-net", &webdav.Handler{FileSystem: webdav.Dir(root), LockSystem: webdav.NewMemLS()}},
	}
}

// BenchmarkGet is a 4 KiB GET through the whole handler, middleware included, over the OS
// tree, beside x/net's webdav.Handler on the same file: lockdav-bench's get without the network.
func BenchmarkGet(b *testing.B) {
	for _, s := range getHandlers(b) {
		b.Run(s.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "http://127.0.0.1:8080/f.bin", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				s.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkGetHTTP is BenchmarkGet over loopback TCP with 16 clients at once, as lockdav-bench
// runs it: net/http's own work for each answer's headers counts too.
func BenchmarkGetHTTP(b *testing.B) {
	for _, s := range getHandlers(b) {
		b.Run(s.name, func(b *testing.B) {
			srv := httptest.NewServer(s.h)
			defer srv.Close()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get(srv.URL + "/f.bin")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			})
		})
	}
}
