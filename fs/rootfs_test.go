package fs

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenFIFODoesNotWait: a FIFO in the tree opens at once and reads as
// empty, instead of holding the request until something writes to it.
func TestOpenFIFODoesNotWait(t *testing.T) {
	root := t.TempDir()
	f, _ := openOS(t, root)
	fifo := filepath.Join(root, "p")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		file, err := f.OpenFile(context.Background(), "/p", os.O_RDONLY, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer file.Close()
		b, err := io.ReadAll(file)
		done <- result{len(b), err}
	}()
	select {
	case got := <-done:
		if got.err != nil || got.n != 0 {
			t.Fatalf("got %d bytes, error %v, want 0, nil", got.n, got.err)
		}
	case <-time.After(10 * time.Second):
		// Free the goroutine: a writer lets the blocked open return.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("got an open of a FIFO still waiting after 10s, want it to return at once")
	}
}
