package locksystem

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fill makes a System holding n exclusive depth-0 locks on /dN/fM, 1000 files a directory.
func fill(b *testing.B, n int) (*System, []Lock) {
	b.Helper()
	s, err := New(t0, Options{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	locks := make([]Lock, 0, n)
	for i := 0; i < n; i++ {
		l, err := s.Lock(t0, Request{Path: fmt.Sprintf("/d%d/f%d", i/1000, i), Principal: "p", Timeout: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		locks = append(locks, l)
	}
	return s, locks
}

// BenchmarkLock measures granting locks on distinct files, and the heap each one costs.
func BenchmarkLock(b *testing.B) {
	s, err := New(t0, Options{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, b.N)
	for i := range paths {
		paths[i] = fmt.Sprintf("/d%d/f%d", i/1000, i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Lock(t0, Request{Path: paths[i], Principal: "p", Timeout: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-bytes/lock")
	runtime.KeepAlive(s)
}

// BenchmarkMissing and BenchmarkCovering should stay flat from 1k to 1M locks.
func BenchmarkMissing(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, locks := fill(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l := &locks[i%len(locks)]
				if got := s.Missing(t0, "p", []string{l.Token}, Need{Path: l.Path}); len(got) != 0 {
					b.Fatalf("got %v", got)
				}
			}
		})
	}
}

func BenchmarkCovering(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, locks := fill(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if got := s.Covering(t0, locks[i%len(locks)].Path); len(got) != 1 {
					b.Fatalf("got %d locks", len(got))
				}
			}
		})
	}
}
