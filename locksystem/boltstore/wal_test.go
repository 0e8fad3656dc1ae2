package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/lockdav/lockdav/locksystem"
)

// putOp and delOp are log changes as the committer writes them.
func putOp(t *testing.T, token string) op {
	t.Helper()
	l := testLock(token)
	v, err := encode(&l)
	if err != nil {
		t.Fatal(err)
	}
	return op{key: []byte(token), val: v}
}

func delOp(token string) op { return op{key: []byte(token)} }

// newLog makes an empty store at dir/locks.db and returns the path and its log, open, as a
// crashed process would have left it after writing the records the test appends.
func newLog(t *testing.T) (string, *wal) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w, ops, err := openWAL(path+walSuffix, DefaultWALSize)
	if err != nil || len(ops) != 0 {
		t.Fatalf("openWAL after Close = %v, %v; want an empty log", ops, err)
	}
	return path, w
}

func appendAll(t *testing.T, w *wal, records ...[]op) {
	t.Helper()
	for _, r := range records {
		if _, err := w.write(r); err != nil {
			t.Fatal(err)
		}
		if err := w.sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// tokens opens the store at path, as a restart does, and returns the tokens it loads.
func tokens(t *testing.T, path string) []string {
	t.Helper()
	s := mustOpen(t, path, Options{})
	got := tokensOf(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func wantTokens(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("loaded %q, want %q", got, want)
	}
}

// TestReplay: Open writes what the log holds into bbolt, in order, and empties the log.
func TestReplay(t *testing.T) {
	path, w := newLog(t)
	appendAll(t, w,
		[]op{putOp(t, "urn:uuid:a"), putOp(t, "urn:uuid:b")},
		[]op{delOp("urn:uuid:a"), putOp(t, "urn:uuid:c")},
		nil, // a Ping's empty record
		[]op{delOp("urn:uuid:never-stored")},
	)
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, tokens(t, path), "urn:uuid:b", "urn:uuid:c")
	_, ops, err := openWAL(path+walSuffix, DefaultWALSize)
	if err != nil || len(ops) != 0 {
		t.Errorf("log after the replay holds %d changes (%v), want none", len(ops), err)
	}
	wantTokens(t, tokens(t, path), "urn:uuid:b", "urn:uuid:c")
}

// TestReplayStopsAtTornRecord: a record whose bytes do not match its checksum, as a write cut
// off by a crash leaves it, ends the log; the records before it count.
func TestReplayStopsAtTornRecord(t *testing.T) {
	path, w := newLog(t)
	appendAll(t, w, []op{putOp(t, "urn:uuid:a")}, []op{putOp(t, "urn:uuid:b")})
	torn := w.off
	appendAll(t, w, []op{putOp(t, "urn:uuid:c")}, []op{putOp(t, "urn:uuid:d")})
	if _, err := w.f.WriteAt([]byte("X"), torn+walRecordHead+20); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, tokens(t, path), "urn:uuid:a", "urn:uuid:b")
}

// TestReplayIgnoresOlderEpoch: after a reset the file still holds the older epoch's records
// past the new ones; they are not replayed.
func TestReplayIgnoresOlderEpoch(t *testing.T) {
	path, w := newLog(t)
	appendAll(t, w, []op{putOp(t, "urn:uuid:a")}, []op{putOp(t, "urn:uuid:stale")})
	if err := w.reset(); err != nil {
		t.Fatal(err)
	}
	appendAll(t, w, []op{putOp(t, "urn:uuid:b")}) // same length as the first record
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, tokens(t, path), "urn:uuid:b")
}

// TestHeaderSlots: a header cut off while it was written leaves the other slot, with the
// epoch before; a log with neither is damaged and Open says so rather than losing locks.
func TestHeaderSlots(t *testing.T) {
	path, w := newLog(t)
	appendAll(t, w, []op{putOp(t, "urn:uuid:a")})
	if err := w.reset(); err != nil { // as a checkpoint does, after bbolt took the change
		t.Fatal(err)
	}
	if _, err := w.f.WriteAt([]byte("XX"), int64(w.epoch%2)*walSlotSize+20); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, tokens(t, path), "urn:uuid:a") // replayed from the older epoch
	if _, err := w.f.WriteAt(make([]byte, walSlotSize*2), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrWAL) {
		t.Errorf("Open with both headers bad = %v, want ErrWAL", err)
	}
}

// TestCheckpointWhenHalfFull: once half the log is used the committer writes it into bbolt and
// starts over, without waiting for Load or Close.
func TestCheckpointWhenHalfFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{WALSize: walMinSize})
	for i := range 20 { // about 250 bytes each; half the log is 2 KiB
		l := testLock("urn:uuid:" + strings.Repeat("h", i+1))
		if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Checkpoints; got == 0 {
		t.Fatalf("Stats().Checkpoints = 0 after 20 commits to a 4 KiB log, want some")
	}
	locks, err := s.Load()
	if err != nil || len(locks) != 20 {
		t.Errorf("Load = %d locks, %v; want 20", len(locks), err)
	}
}

// TestCheckpointAfterBurst: a second after the last change the committer writes the log into
// bbolt by itself.
func TestCheckpointAfterBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "locks.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l := testLock("urn:uuid:burst")
		if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(checkpointDelay / 2)
		synctest.Wait()
		if got := s.Stats().Checkpoints; got != 0 {
			t.Fatalf("Stats().Checkpoints = %d half a delay after the change, want 0", got)
		}
		time.Sleep(checkpointDelay)
		synctest.Wait()
		if got := s.Stats().Checkpoints; got != 1 {
			t.Fatalf("Stats().Checkpoints = %d a delay after the change, want 1", got)
		}
		if err := s.db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(locksBucket).Get([]byte(l.Token)) == nil {
				t.Error("bbolt does not hold the lock after the checkpoint")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNewLogIsWhole: a log file is created under another name and renamed, so none is left
// half made; one that is too small to be a log is refused.
func TestNewLogIsWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "locks.db")
	s := mustOpen(t, path, Options{WALSize: walMinSize})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path + walSuffix)
	if err != nil || st.Size() != walMinSize {
		t.Fatalf("log file = %v, %v; want %d bytes", st, err, walMinSize)
	}
	if _, err := os.Stat(path + walSuffix + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary log left behind: %v", err)
	}
	if err := os.Truncate(path+walSuffix, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrWAL) {
		t.Errorf("Open with a 100-byte log = %v, want ErrWAL", err)
	}
	if _, err := Open(filepath.Join(dir, "other.db"), Options{WALSize: 100}); err == nil {
		t.Error("Open with WALSize 100 succeeded, want an error")
	}
}

// FuzzRecords: the log parser never panics on a record whose checksum matches whatever its
// payload, and the changes it accepts parse the same when written back as one record.
func FuzzRecords(f *testing.F) {
	w := &wal{epoch: 7}
	f.Add(w.encode([]op{{key: []byte("k"), val: []byte("v")}, {key: []byte("d")}})[walRecordHead:])
	f.Add(w.encode(nil)[walRecordHead:])
	f.Add([]byte{2, 1, 1, 'k', 9})
	f.Fuzz(func(t *testing.T, payload []byte) {
		data := append(make([]byte, walDataStart), sealed(7, payload)...)
		ops, end, err := records(data, 7)
		if err != nil {
			return
		}
		if end != walDataStart && end != int64(len(data)) {
			t.Fatalf("log ends at %d, want %d or %d", end, walDataStart, len(data))
		}
		again, _, err := records(append(make([]byte, walDataStart), (&wal{epoch: 7}).encode(ops)...), 7)
		if err != nil || !slices.EqualFunc(again, ops, func(a, b op) bool {
			return bytes.Equal(a.key, b.key) && bytes.Equal(a.val, b.val) && (a.val == nil) == (b.val == nil)
		}) {
			t.Fatalf("re-encoded changes %v parse as %v, %v", ops, again, err)
		}
	})
}

// sealed is payload as a record of epoch, with its length and checksum.
func sealed(epoch uint64, payload []byte) []byte {
	rec := make([]byte, walRecordHead, walRecordHead+len(payload))
	rec = append(rec, payload...)
	binary.LittleEndian.PutUint32(rec, uint32(len(payload)))
	binary.LittleEndian.PutUint64(rec[8:], epoch)
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))
	return rec
}

// TestFailedSync: a batch whose sync fails gets the error, is neither stored nor left in the
// log for a restart to replay, and later commits go on.
func TestFailedSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	l := testLock("urn:uuid:kept")
	if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	fail.Store(true)
	s.wal.fdatasync = func(fd int) error { // read by the committer after Submit's lock: no race
		if fail.Load() {
			return errors.New("injected sync failure")
		}
		return unix.Fdatasync(fd)
	}
	lost := testLock("urn:uuid:lost")
	if err := s.Submit(locksystem.Change{Put: &lost})(); err == nil {
		t.Fatal("commit acknowledged although its sync failed")
	}
	fail.Store(false)
	next := testLock("urn:uuid:next")
	if err := s.Submit(locksystem.Change{Put: &next})(); err != nil {
		t.Fatalf("commit after the failure: %v", err)
	}
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:kept", "urn:uuid:next") // kill -9
	wantTokens(t, tokensOf(t, s), "urn:uuid:kept", "urn:uuid:next")
}

// TestFailedAppendNotReplayedOverNewer: a record whose sync failed may reach the disk, and the
// clearing of its header may not. If the reset after the next checkpoint fails too and its
// header is lost, a restart must still not replay that record over a later acknowledged change.
func TestFailedAppendNotReplayedOverNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	putOwner := func(owner string) error {
		l := testLock("urn:uuid:k")
		l.Owner = owner
		return s.Submit(locksystem.Change{Put: &l})()
	}
	if err := putOwner("v0"); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var landed []byte // the log as the failed append left it, before its header was cleared
	s.wal.fdatasync = func(fd int) error {
		switch calls.Add(1) {
		case 1: // the append's
			b, err := os.ReadFile(path + walSuffix)
			if err != nil {
				t.Error(err)
			}
			landed = b
			return errors.New("injected sync failure")
		case 2: // the reset's, after the next batch went to bbolt
			return errors.New("injected sync failure")
		}
		return unix.Fdatasync(fd)
	}
	if err := putOwner("v1"); err == nil {
		t.Fatal("commit acknowledged although its sync failed")
	}
	if err := putOwner("v2"); err != nil {
		t.Fatal(err)
	}
	crashed := snapshot(t, path)
	if err := os.WriteFile(crashed+walSuffix, landed, 0o600); err != nil { // power loss
		t.Fatal(err)
	}
	r := mustOpen(t, crashed, Options{})
	locks, err := r.Load()
	if err != nil || len(locks) != 1 || locks[0].Owner != "v2" {
		t.Errorf("after the power loss: %+v, %v; want urn:uuid:k with owner v2", locks, err)
	}
}

// tokensOf returns the tokens s loads.
func tokensOf(t *testing.T, s *Store) []string {
	t.Helper()
	locks, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range locks {
		got = append(got, l.Token)
	}
	return got
}

// snapshot copies the store's two files as kill -9 leaves them (what the page cache holds) into
// a new directory, and returns the copy's path.
func snapshot(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "locks.db")
	for _, suffix := range []string{"", walSuffix} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// loseHeader clears the header slot of epoch in the log at path: what a power loss leaves when
// that header was never synced.
func loseHeader(t *testing.T, path string, epoch uint64) {
	t.Helper()
	f, err := os.OpenFile(path+walSuffix, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, walHeaderLen), int64(epoch%2)*walSlotSize); err != nil {
		t.Fatal(err)
	}
}

func mustPut(t *testing.T, s *Store, token string) {
	t.Helper()
	l := testLock(token)
	if err := s.Submit(locksystem.Change{Put: &l})(); err != nil {
		t.Fatal(err)
	}
}

// failFirstSync makes the next sync of s's log fail, as a transient EIO would.
func failFirstSync(s *Store) {
	var n atomic.Int32
	s.wal.fdatasync = func(fd int) error { // read by the committer after Submit's lock: no race
		if n.Add(1) == 1 {
			return errors.New("injected sync failure")
		}
		return unix.Fdatasync(fd)
	}
}

// TestFailedResetKeepsLaterCommits: when a checkpoint's log reset fails, the new header may be
// in the file; commits acknowledged after it must survive kill -9 all the same.
func TestFailedResetKeepsLaterCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	mustPut(t, s, "urn:uuid:a")
	failFirstSync(s)
	if _, err := s.Load(); err != nil { // its checkpoint's reset fails: only logged
		t.Fatal(err)
	}
	mustPut(t, s, "urn:uuid:c")
	mustPut(t, s, "urn:uuid:d") // by now a reset has worked and the log takes records again
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:a", "urn:uuid:c", "urn:uuid:d")
}

// TestFailedResetOlderRecordsNotReplayed: a batch too big for the log goes to bbolt with the
// log's changes; if the reset after it fails and its header never reaches the disk, a restart
// must not replay the log's older records over the batch.
func TestFailedResetOlderRecordsNotReplayed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{WALSize: walMinSize})
	mustPut(t, s, "urn:uuid:a")
	failFirstSync(s)
	big := testLock("urn:uuid:x")
	big.Owner = strings.Repeat("x", 8192) // larger than the log
	if err := s.Submit(locksystem.Change{Delete: "urn:uuid:a"}, locksystem.Change{Put: &big})(); err != nil {
		t.Fatal(err)
	}
	crashed := snapshot(t, path)
	loseHeader(t, crashed, s.wal.epoch+1)
	wantTokens(t, tokens(t, crashed), "urn:uuid:x")
}

// TestCrashInDirectCheckpoint: killed after a batch too big for the log reached bbolt and before
// the log's reset, a restart must find the batch whole, not its put without its delete.
func TestCrashInDirectCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{WALSize: walMinSize})
	mustPut(t, s, "urn:uuid:a")
	var crashed string
	epoch := s.wal.epoch
	s.wal.fdatasync = func(fd int) error { // the next sync is the reset's, after bbolt's commit
		if crashed == "" {
			crashed = snapshot(t, path)
			loseHeader(t, crashed, epoch+1) // killed just before the header's write
		}
		return unix.Fdatasync(fd)
	}
	big := testLock("urn:uuid:x")
	big.Owner = strings.Repeat("x", 8192)
	if err := s.Submit(locksystem.Change{Delete: "urn:uuid:a"}, locksystem.Change{Put: &big})(); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, tokens(t, crashed), "urn:uuid:x")
}

// TestFailedCheckpointThatLanded: a checkpoint whose commit reports a failure at bbolt's last
// fsync may be in the file all the same (its pages were written before it). The store goes on
// logging and acknowledging records of the same epoch; a restart must replay them. The test
// writes that state with a commit that succeeds, at the log position the checkpoint reached.
func TestFailedCheckpointThatLanded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks.db")
	s := mustOpen(t, path, Options{})
	mustPut(t, s, "urn:uuid:a")
	at := logPos{s.wal.epoch, s.wal.off} // the committer is idle: mustPut waited for it
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := writeOps(tx, []op{putOp(t, "urn:uuid:a")}); err != nil {
			return err
		}
		return setCheckpointed(tx, at)
	}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "urn:uuid:c") // acknowledged: a record of the same epoch, after the position
	wantTokens(t, tokens(t, snapshot(t, path)), "urn:uuid:a", "urn:uuid:c")
}

// TestStuckLog: when every sync of the log fails, batches go to bbolt and are kept across kill -9
// (with the new header in the file or lost), Ping reports the log, and Close keeps everything.
func TestStuckLog(t *testing.T) {
	for _, lose := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "locks.db")
		s := mustOpen(t, path, Options{})
		mustPut(t, s, "urn:uuid:a")
		epoch := s.wal.epoch
		s.wal.fdatasync = func(int) error { return errors.New("injected sync failure") }
		if _, err := s.Load(); err != nil { // its checkpoint's reset fails
			t.Fatal(err)
		}
		mustPut(t, s, "urn:uuid:c")
		if err := s.Submit(locksystem.Change{Delete: "urn:uuid:a"})(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(); err == nil || !strings.Contains(err.Error(), "write-ahead log") {
			t.Errorf("Ping with a log that cannot be reset = %v, want an error naming it", err)
		}
		crashed := snapshot(t, path)
		if lose {
			loseHeader(t, crashed, epoch+1)
		}
		wantTokens(t, tokens(t, crashed), "urn:uuid:c")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantTokens(t, tokens(t, path), "urn:uuid:c")
	}
}
