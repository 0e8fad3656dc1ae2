package davserver

import (
	"errors"
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
