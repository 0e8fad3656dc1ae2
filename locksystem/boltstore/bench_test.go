package boltstore

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lockdav/lockdav/locksystem"
)

// BenchmarkSubmit measures lock cycles (put a document, wait, delete it, wait) per second at
// 1, 16 and 64 concurrent writers, for this package's committer and for bbolt's db.Batch with
// a 1 ms MaxBatchDelay, in the same run, so the choice of group commit stays measured:
//
//	go test -run '^$' -bench BenchmarkSubmit ./locksystem/boltstore/
func BenchmarkSubmit(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d/committer", writers), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "locks.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchCycles(b, writers, func(l *locksystem.Lock) error {
				if err := s.Submit(locksystem.Change{Put: l})(); err != nil {
					return err
				}
				return s.Submit(locksystem.Change{Delete: l.Token})()
			})
		})
		b.Run(fmt.Sprintf("writers=%d/db.Batch", writers), func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "locks.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.MaxBatchDelay = time.Millisecond
			if err := db.Update(initBuckets); err != nil {
				b.Fatal(err)
			}
			benchCycles(b, writers, func(l *locksystem.Lock) error {
				return batchCycle(db, l)
			})
		})
	}
}

// batchCycle is one lock cycle through db.Batch, encoding like Submit does.
func batchCycle(db *bolt.DB, l *locksystem.Lock) error {
	v, err := encode(l)
	if err != nil {
		return err
	}
	key := []byte(l.Token)
	if err := db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(locksBucket).Put(key, v) }); err != nil {
		return err
	}
	return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(locksBucket).Delete(key) })
}

// benchCycles runs b.N cycles spread over writers goroutines and reports cycles/s.
func benchCycles(b *testing.B, writers int, cycle func(*locksystem.Lock) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1) - 1; n < int64(b.N); n = next.Add(1) - 1 {
				l := benchLock(int(n))
				if err := cycle(&l); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
}

// benchLock is a lock whose document is about 300 bytes, like a real one.
func benchLock(n int) locksystem.Lock {
	now := time.Date(2025, 6, 1, 12, 0, 0, n, time.UTC)
	return locksystem.Lock{
		Token: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n), Path: fmt.Sprintf("/bench/doc-%d.odt", n),
		Owner: `<D:href>mailto:someone@example.com</D:href>`, Principal: "alice", Timeout: 10 * time.Minute,
		Created: now, Refreshed: now, Expires: now.Add(10 * time.Minute),
		Client: locksystem.Client{IP: "192.0.2.10", UserAgent: "Microsoft-WebDAV-MiniRedir/10.0.19045"},
	}
}

// BenchmarkDecode measures reading back one stored document, the bulk of start-up's work.
func BenchmarkDecode(b *testing.B) {
	l := benchLock(7)
	doc, err := encode(&l)
	if err != nil {
		b.Fatal(err)
	}
	key := []byte(l.Token)
	d := locksystem.NewDecoder()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := decode(d, key, doc); err != nil {
			b.Fatal(err)
		}
	}
}
