package rfc4918

import (
	"io"
	"testing"
)

// BenchmarkWriteLockResponse is a LOCK answer's body, what every grant and refresh writes.
func BenchmarkWriteLockResponse(b *testing.B) {
	l := holderLock()
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteLockResponse(io.Discard, l, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
