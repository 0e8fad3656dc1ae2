package davserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A LOCK body that breaks off while it is read answers 400 before any parsing.
func TestLockBodyReadError(t *testing.T) {
	h := &Handler{maxXML: 4096}
	r := httptest.NewRequest("LOCK", "/f", failingReader{})
	if _, err := h.readXML(r); statusOf(err).status != http.StatusBadRequest {
		t.Errorf("readXML(failing reader) = %v, want a 400", err)
	}
}

// A request cut off at shutdown fails reading its body on a connection the server closed: the
// client-gone answer (499, logged as debug detail), not a server error.
func TestStatusOfClosedConnection(t *testing.T) {
	cut := fmt.Errorf("upload /long.bin: %w", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})
	if se := statusOf(cut); se.status != 499 {
		t.Errorf("statusOf(%v) = %d, want 499", cut, se.status)
	}
}

// A shared lock store that does not answer is a 503 with Retry-After, never a guess.
func TestUnavailableIs503WithRetryAfter(t *testing.T) {
	err := fmt.Errorf("lock on /f not stored: %w", locksystem.ErrUnavailable)
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("LOCK", "/f", nil), err)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != RetryAfter {
		t.Fatalf("WriteError(%v) = %d, Retry-After %q; want 503, %q", err, w.Code, w.Header().Get("Retry-After"), RetryAfter)
	}
}
