package davserver

import (
	"bytes"
	"net/http"
	"testing"
)

// BenchmarkPut is the handler's share of lockdav-bench's put: 4 KiB PUTs that replace the same
// file (RFC 4918 §9.7), without the network, on the OS tree of benchHandler.
func BenchmarkPut(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 4096)
	if w := serve(h, "PUT", "/d/p", bytes.NewReader(body), "X-None", ""); w.Code != http.StatusCreated {
		b.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(h, "PUT", "/d/p", bytes.NewReader(body), "X-None", ""); w.Code != http.StatusNoContent {
			b.Fatalf("PUT: %d %s", w.Code, w.Body)
		}
	}
}
