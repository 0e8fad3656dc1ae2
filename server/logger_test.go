package server

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockdav/lockdav/config"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		cfg      config.Log
		wantErr  bool
		wantJSON bool
	}{
		{config.Log{Level: "debug", Format: "json"}, false, true},
		{config.Log{Level: "error", Format: "console"}, false, false},
		{config.Log{Level: "info", Format: "auto"}, false, true}, // not a terminal
		{config.Log{Level: "loud", Format: "json"}, true, false},
		{config.Log{Level: "", Format: "json"}, true, false},
		{config.Log{Level: "info", Format: "xml"}, true, false},
	}
	for _, tt := range tests {
		var buf strings.Builder
		log, closer, err := NewLogger(tt.cfg, &buf)
		if (err != nil) != tt.wantErr {
			t.Errorf("NewLogger(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		log.Error().Msg("shown")
		log.Debug().Msg("detail")
		if err := closer.Close(); err != nil {
			t.Fatal(err)
		}
		got := buf.String()
		if !strings.Contains(got, "shown") || (tt.cfg.Level != "debug") == strings.Contains(got, "detail") {
			t.Errorf("NewLogger(%+v) wrote %q, want the error line, and the debug line only at debug level", tt.cfg, got)
		}
		if isJSON := strings.HasPrefix(got, "{"); isJSON != tt.wantJSON {
			t.Errorf("NewLogger(%+v) wrote %q, want JSON %v", tt.cfg, got, tt.wantJSON)
		}
	}
}

func TestConsoleLogHasNoColourInFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, closer, err := NewLogger(config.Log{Level: "info", Format: "console"}, f)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Str("k", "v").Msg("plain")
	mustClose(t, closer)
	got, _ := os.ReadFile(f.Name())
	if strings.Contains(string(got), "\x1b[") || !strings.Contains(string(got), "plain") {
		t.Errorf("console log in a file = %q, want the message without escape sequences", got)
	}
}

func mustClose(t *testing.T, c io.Closer) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// countingWriter counts the writes it gets. The timer's flush writes from its own goroutine, so
// the test reads through got.
type countingWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.b.Write(p)
}

// got returns how many writes there were and what they wrote.
func (w *countingWriter) got() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.b.String()
}

// With log.flush_interval, info lines wait at most one interval and go out in one write;
// warnings and errors go out at once, after what waited; Close writes the rest.
func TestLogFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w countingWriter
		log, closer, err := NewLogger(config.Log{Level: "info", Format: "json", FlushInterval: config.Duration(100 * time.Millisecond)}, &w)
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Msg("one")
		log.Info().Msg("two")
		if n, _ := w.got(); n != 0 {
			t.Fatalf("%d writes before the interval, want 0", n)
		}
		time.Sleep(100 * time.Millisecond) // synctest's clock: no real wait
		synctest.Wait()
		if n, got := w.got(); n != 1 || !strings.Contains(got, "one") || !strings.Contains(got, "two") {
			t.Fatalf("after the interval: %d writes of %q, want one write of both lines", n, got)
		}
		log.Info().Msg("three")
		log.Warn().Msg("four")
		if n, got := w.got(); n != 2 || strings.Index(got, "three") > strings.Index(got, "four") {
			t.Fatalf("a warning: %d writes of %q, want it written at once after the waiting line", n, got)
		}
		log.Info().Msg("five")
		mustClose(t, closer)
		log.Info().Msg("six")
		if _, got := w.got(); !strings.Contains(got, "five") || !strings.Contains(got, "six") {
			t.Fatalf("Close and after: %q, want five written by Close and six at once", got)
		}
	})
}

// A burst over maxLogBuffer is written without waiting for the interval.
func TestLogBufferFull(t *testing.T) {
	var w countingWriter
	b := newLogBuffer(&w, time.Hour)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range maxLogBuffer / len(line) {
		if _, err := b.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if n, got := w.got(); n != 1 || len(got) != maxLogBuffer {
		t.Fatalf("%d writes, %d bytes; want one write of %d", n, len(got), maxLogBuffer)
	}
	mustClose(t, b)
}

// flush_interval 0 writes every line at once.
func TestLogUnbuffered(t *testing.T) {
	var w countingWriter
	log, closer, err := NewLogger(config.Log{Level: "info", Format: "json"}, &w)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("now")
	if n, _ := w.got(); n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}
	mustClose(t, closer)
}
