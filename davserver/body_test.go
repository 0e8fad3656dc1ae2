package davserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
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
