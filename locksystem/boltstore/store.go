// Package boltstore keeps lock documents in an embedded bbolt file: the durable mirror of the
// lock manager's in-memory index.
//
// Writes go through group commit: Submit only queues, and one committer goroutine owned by the
// Store writes everything queued while its previous commit ran as one record of a write-ahead
// log beside the bbolt file (one pwrite, one fdatasync: see wal.go), then wakes every waiter of
// that batch with the commit's error. There is no timer before a commit: a lone writer pays one
// fsync, many writers share one. Releases (SubmitRelease) are answered once written, before the
// sync; a batch of releases alone is synced by the next batch or after syncDelay. The committer
// checkpoints the log into bbolt (one transaction, fsync'd) when it is half full, a second after
// the last change, before Load and on Close; a lock taken and released between two checkpoints
// never reaches bbolt. Open replays the log.
package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/lockdav/lockdav/locksystem"
)

// schemaVersion is the layout of the buckets and of the lock documents in them (the JSON API's
// lock document, locksystem.Lock's MarshalJSON), kept under meta/schema.
const schemaVersion = "1"

var (
	locksBucket = []byte("locks")
	metaBucket  = []byte("meta")
	schemaKey   = []byte("schema")
	pingKey     = []byte("ping")      // when Ping last wrote, Unix nanoseconds, big-endian
	walEpochKey = []byte("wal_epoch") // the log position bbolt holds all before (logPos)
)

// Errors.
var (
	// ErrInUse: another lockdav process holds the store file (bbolt's file lock).
	ErrInUse = errors.New("boltstore: state dir is in use by another lockdav process")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("boltstore: closed")
	// ErrSchema: the file was written with a store layout this version does not know.
	ErrSchema = errors.New("boltstore: unknown schema version")
)

// DefaultOpenTimeout is how long Open waits for another process to release the file.
const DefaultOpenTimeout = time.Second

// Options configure Open.
type Options struct {
	Logger zerolog.Logger
	// OpenTimeout bounds the wait for the file lock; 0 means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// Observe, if set, is called by the committer after each commit, successful or not, with
	// the number of changes it wrote and how long it took (fsync included), for histograms of
	// batch size and commit latency. It runs on the committer goroutine: it must be quick, and
	// must not call Submit and wait.
	Observe func(batch int, commit time.Duration)
	// WALSize is the size of a new write-ahead log file (an existing one keeps its size); 0
	// means DefaultWALSize.
	WALSize int64
}

// walSuffix names the write-ahead log after the bbolt file.
const walSuffix = ".wal"

// Stats count the committer's work.
type Stats struct {
	Commits     uint64 // batches committed (successfully or not)
	Changes     uint64 // changes written by them
	LastBatch   int    // changes in the latest commit
	Checkpoints uint64 // checkpoints of the log into bbolt
	// CheckpointFailures counts checkpoints whose bbolt transaction failed; the log kept
	// their changes.
	CheckpointFailures uint64
}

// Store is a locksystem.Store on a bbolt file.
type Store struct {
	// mu guards pending and closed; it is held only to append or swap, never across I/O.
	mu      sync.Mutex
	pending *batch
	closed  bool

	db      *bolt.DB
	log     zerolog.Logger
	observe func(batch int, commit time.Duration) // may be nil
	kick    chan struct{}                         // capacity 1: "pending is non-empty"
	flushC  chan chan error                       // checkpoint requests, answered on the channel

	// Owned by the committer goroutine (by open before it starts, by Close after it ends).
	wal      *wal
	dirty    map[string][]byte // the log's changes since the last checkpoint; nil value: deleted
	idle     *time.Timer       // armed while dirty is non-empty: the checkpoint after a burst
	retrying bool              // a checkpoint failed; idle retries it
	unsynced bool              // the log ends with answered releases not yet synced
	syncT    *time.Timer       // armed while unsynced: their sync when no batch comes first
	// stuck: an append or reset failed, and batches go to bbolt until a reset works. Only the
	// committer sets it; Ping reads it from other goroutines.
	stuck atomic.Bool
	// ckptErr is the error of the latest checkpoint, nil once one succeeds. While checkpoints
	// fail the log still takes commits, until it is full; Ping reports it before then.
	ckptErr atomic.Pointer[error]

	stopC     chan struct{}
	doneC     chan struct{}
	closeOnce sync.Once
	closeErr  error
	finalErr  error // the error of the commit run does on stop; read after doneC closes

	commits     atomic.Uint64
	changes     atomic.Uint64
	lastBatch   atomic.Int64
	checkpoints atomic.Uint64
	ckptFailed  atomic.Uint64
}

var _ locksystem.ReleaseStore = (*Store)(nil)

// batch is what one commit writes and whom it wakes: releases once it is written, every other
// waiter once it is durable.
type batch struct {
	ops      []op
	sync     bool          // some change is not a release: the commit waits for the sync
	written  chan struct{} // closed once ops are written (or failed to be), when writeErr is set
	writeErr error
	wroteSet bool          // written is closed
	done     chan struct{} // closed after the commit, when err is set
	err      error
}

// wrote records the outcome of writing b and wakes its releases; it returns err.
func (b *batch) wrote(err error) error {
	if !b.wroteSet {
		b.writeErr, b.wroteSet = err, true
		close(b.written)
	}
	return err
}

// op is one encoded change: put val under key, or delete key when val is nil.
type op struct {
	key     []byte
	val     []byte
	at      int64 // replayed ones: the offset of their record in the log
	release bool  // submitted by SubmitRelease: answered before the sync
}

// Open opens (or creates) the bbolt file at path and its write-ahead log at path+".wal",
// replays the log into bbolt and starts the committer. If another process holds the file, it
// fails within OpenTimeout with an error that wraps ErrInUse.
func Open(path string, o Options) (*Store, error) {
	return open(path, o, &bolt.Options{})
}

// open is Open with bbolt options, so tests can provoke commit failures (MaxSize).
func open(path string, o Options, bo *bolt.Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("boltstore: empty path")
	}
	if o.OpenTimeout < 0 {
		return nil, fmt.Errorf("boltstore: negative open timeout %v", o.OpenTimeout)
	}
	bo.Timeout = o.OpenTimeout
	if bo.Timeout == 0 {
		bo.Timeout = DefaultOpenTimeout
	}
	bo.NoSync = false // durability is the point
	db, err := bolt.Open(path, 0o600, bo)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s is locked): %w", ErrInUse, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: %s: %w", path, err)
	}
	w, err := recoverWAL(db, path+walSuffix, o)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s := &Store{
		db:      db,
		log:     o.Logger,
		observe: o.Observe,
		kick:    make(chan struct{}, 1),
		flushC:  make(chan chan error),
		wal:     w,
		dirty:   map[string][]byte{},
		idle:    time.NewTimer(time.Hour),
		syncT:   time.NewTimer(time.Hour),
		stopC:   make(chan struct{}),
		doneC:   make(chan struct{}),
	}
	s.idle.Stop()
	s.syncT.Stop()
	go s.run()
	return s, nil
}

// recoverWAL opens the write-ahead log and writes the changes it holds into bbolt, so that
// the bbolt file is whole before anything reads it.
func recoverWAL(db *bolt.DB, path string, o Options) (*wal, error) {
	size := o.WALSize
	if size == 0 {
		size = DefaultWALSize
	}
	w, ops, err := openWAL(path, size)
	if err != nil {
		return nil, err
	}
	var done logPos
	if err := db.View(func(tx *bolt.Tx) error { done = checkpointed(tx); return nil }); err != nil {
		return nil, errors.Join(err, w.close())
	}
	ops = notCheckpointed(ops, w.epoch, done)
	if len(ops) > 0 {
		err = db.Update(func(tx *bolt.Tx) error {
			if err := writeOps(tx, ops); err != nil {
				return err
			}
			return setCheckpointed(tx, logPos{w.epoch, w.off})
		})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("boltstore: replaying %s: %w", path, err), w.close())
		}
		o.Logger.Info().Int("changes", len(ops)).Str("path", path).Msg("lock document log replayed")
	}
	if err := w.resetTo(nextEpoch(w.epoch, done.epoch)); err != nil {
		return nil, errors.Join(err, w.close())
	}
	return w, nil
}

// logPos is a place in the log: an epoch, and an offset in the file. A checkpoint stores the
// position it reached in the same transaction as the changes (meta/wal_epoch), so that Open
// replays only what came after: records before it may be older than what bbolt holds (a batch
// too big for the log goes to bbolt directly), and replaying them would undo newer changes. A
// checkpoint whose commit reported a failure may have reached the disk all the same; then the
// log's later records of the same epoch, which the store went on acknowledging, are still
// replayed.
type logPos struct {
	epoch uint64
	off   int64
}

// notCheckpointed returns the replayed ops of epoch that come after done.
func notCheckpointed(ops []op, epoch uint64, done logPos) []op {
	switch {
	case epoch < done.epoch:
		return nil
	case epoch > done.epoch:
		return ops
	}
	i := 0
	for i < len(ops) && ops[i].at < done.off {
		i++
	}
	return ops[i:]
}

// nextEpoch is the epoch after the log's current one and after the checkpointed one, in the
// other header slot than the current one: writing it can then never tear the only valid header.
func nextEpoch(current, checkpointed uint64) uint64 {
	next := max(current, checkpointed) + 1
	if next%2 == current%2 {
		next++
	}
	return next
}

// checkpointed is the log position tx's file holds every change before; zero for none.
func checkpointed(tx *bolt.Tx) logPos {
	v := tx.Bucket(metaBucket).Get(walEpochKey)
	if len(v) != 16 {
		return logPos{}
	}
	return logPos{binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:]))} //nolint:gosec // written from an int64
}

func setCheckpointed(tx *bolt.Tx, p logPos) error {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], p.epoch)
	binary.BigEndian.PutUint64(v[8:], uint64(p.off)) //nolint:gosec // an offset in the file, >= 0
	return tx.Bucket(metaBucket).Put(walEpochKey, v[:])
}

// initBuckets creates the buckets of a new file and checks the schema of an old one.
func initBuckets(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	switch v := meta.Get(schemaKey); {
	case v == nil:
		if err := meta.Put(schemaKey, []byte(schemaVersion)); err != nil {
			return err
		}
	case string(v) != schemaVersion:
		return fmt.Errorf("%w %q (this lockdav reads %q)", ErrSchema, v, schemaVersion)
	}
	_, err = tx.CreateBucketIfNotExists(locksBucket)
	return err
}

// Submit queues changes, in order, and returns a function that blocks until they are durable
// and reports the commit's error. It encodes the documents but does no I/O, so it may be called
// with the lock manager's mutex held. A Submit with a bad change queues none of its changes.
func (s *Store) Submit(changes ...locksystem.Change) (wait func() error) {
	if len(changes) == 0 {
		return func() error { return nil }
	}
	ops, err := encodeChanges(changes)
	if err != nil {
		return func() error { return err }
	}
	return s.enqueue(ops, false)
}

// SubmitRelease is Submit for changes that release locks (locksystem.ReleaseStore): its wait
// returns once they are written to the log, where a crash of the server cannot lose them,
// without waiting for the log's sync. The next batch's sync covers them, or the committer's own
// after syncDelay; a power loss before that may undo them, and then nothing after them.
func (s *Store) SubmitRelease(changes ...locksystem.Change) (wait func() error) {
	if len(changes) == 0 {
		return func() error { return nil }
	}
	ops, err := encodeChanges(changes)
	if err != nil {
		return func() error { return err }
	}
	for i := range ops {
		ops[i].release = true
	}
	return s.enqueue(ops, true)
}

// enqueue adds ops to the pending batch (an empty one too: the committer then writes and syncs
// an empty record) and kicks the committer. Releases are answered once the batch is written.
func (s *Store) enqueue(ops []op, release bool) (wait func() error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return func() error { return ErrClosed }
	}
	if s.pending == nil {
		s.pending = &batch{written: make(chan struct{}), done: make(chan struct{})}
	}
	b := s.pending
	b.ops = append(b.ops, ops...)
	b.sync = b.sync || !release
	s.mu.Unlock()

	select {
	case s.kick <- struct{}{}:
	default: // the committer has been kicked already and has not taken the batch yet
	}
	if release {
		return func() error {
			<-b.written
			return b.writeErr
		}
	}
	return func() error {
		<-b.done
		return b.err
	}
}

func encodeChanges(changes []locksystem.Change) ([]op, error) {
	ops := make([]op, len(changes))
	for i, c := range changes {
		switch {
		case c.Put != nil:
			v, err := encode(c.Put)
			if err != nil {
				return nil, err
			}
			ops[i] = op{key: []byte(c.Put.Token), val: v}
		case c.Delete != "":
			ops[i] = op{key: []byte(c.Delete)}
		default:
			return nil, fmt.Errorf("%w: change %d has neither Put nor Delete", ErrBadChange, i)
		}
	}
	return ops, nil
}

// Load returns every stored lock, expired ones included, in token order. A document that does
// not decode is skipped and logged with its token rather than failing start-up.
func (s *Store) Load() ([]locksystem.Lock, error) {
	var locks []locksystem.Lock
	err := s.LoadBatches(func(batch []locksystem.Lock) error {
		locks = append(locks, batch...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return locks, nil
}

// LoadBatches calls fn with every stored lock, as Load returns them, in batches of at most
// decodeChunk, in token order, and stops at fn's first error, which it returns. fn must not keep
// the batch: its slice is reused. Decoding is most of start-up's work, so while one goroutine
// reads the file and fn indexes, GOMAXPROCS goroutines decode.
func (s *Store) LoadBatches(fn func([]locksystem.Lock) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("boltstore: load: %w", err)
	}
	err := s.db.View(func(tx *bolt.Tx) error { return s.loadTx(tx, fn) })
	if err != nil {
		return fmt.Errorf("boltstore: load: %w", err)
	}
	return nil
}

// decodeChunk is how many documents one decoding job takes.
const decodeChunk = 1024

// chunk is one decoding job: raw documents that point into the file (valid while the read
// transaction lasts), and the locks decoded from them. done closes when locks is ready.
type chunk struct {
	docs  []op
	locks []locksystem.Lock
	errs  []error
	done  chan struct{}
}

// loadTx reads the documents in tx in chunks: chunks go to the decoders and, in order, to this
// goroutine's loop that hands them to fn. A fixed set of chunks circulates, so memory stays
// bounded however many documents there are.
func (s *Store) loadTx(tx *bolt.Tx, fn func([]locksystem.Lock) error) error {
	workers := runtime.GOMAXPROCS(0)
	inFlight := 4 * workers
	free := make(chan *chunk, inFlight)
	for range inFlight {
		free <- &chunk{docs: make([]op, 0, decodeChunk), locks: make([]locksystem.Lock, decodeChunk),
			errs: make([]error, decodeChunk)}
	}
	jobs := make(chan *chunk, inFlight)
	ordered := make(chan *chunk, inFlight)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			d := locksystem.NewDecoder() // this worker's: it shares the strings that repeat
			for c := range jobs {
				for i := range c.docs {
					c.locks[i], c.errs[i] = decode(d, c.docs[i].key, c.docs[i].val)
				}
				close(c.done)
			}
		})
	}
	stop := make(chan struct{})
	go func() {
		readChunks(tx, free, jobs, ordered, stop)
		close(jobs)
		close(ordered)
	}()
	var fnErr error
	for c := range ordered {
		<-c.done
		if fnErr == nil {
			fnErr = fn(s.kept(c))
			if fnErr != nil {
				close(stop)
			}
		}
		clear(c.locks) // drop the strings of the batch handed over
		free <- c
	}
	wg.Wait()
	return fnErr
}

// readChunks fills chunks taken from free with the bucket's documents, in key order, and sends
// each to jobs (to decode) and to ordered (to hand over). It stops early when stop closes.
func readChunks(tx *bolt.Tx, free <-chan *chunk, jobs, ordered chan<- *chunk, stop <-chan struct{}) {
	var c *chunk
	send := func() bool {
		c.done = make(chan struct{})
		select {
		case ordered <- c:
		case <-stop:
			return false
		}
		jobs <- c
		c = nil
		return true
	}
	cur := tx.Bucket(locksBucket).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if v == nil {
			continue // a nested bucket; this layout has none
		}
		if c == nil {
			select {
			case c = <-free:
			case <-stop:
				return
			}
			c.docs = c.docs[:0]
		}
		c.docs = append(c.docs, op{key: k, val: v})
		if len(c.docs) == decodeChunk && !send() {
			return
		}
	}
	if c != nil {
		send()
	}
}

// kept returns c's decoded locks, leaving out (and logging) the documents that did not decode.
func (s *Store) kept(c *chunk) []locksystem.Lock {
	out := c.locks[:0]
	for i := range c.docs {
		if err := c.errs[i]; err != nil {
			s.log.Error().Err(err).Str("token", string(c.docs[i].key)).Msg("skipping undecodable lock document")
			c.errs[i] = nil
			continue
		}
		out = append(out, c.locks[i])
	}
	return out
}

// Close commits what is queued, stops the committer and closes the file; it reports that last
// commit's error too (its waiters get it as well). Later calls return the first call's result. Submit after Close reports ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stopC)
		<-s.doneC
		s.closeErr = errors.Join(s.finalErr, s.wal.close(), s.db.Close())
	})
	return s.closeErr
}

// Ping proves the store writable, for a health check: an empty record through the committer
// proves the log writable, then a small write transaction to the meta bucket, which bbolt
// fsyncs like any commit, proves the bbolt file writable.
func (s *Store) Ping() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := s.enqueue(nil, false)(); err != nil {
		return fmt.Errorf("boltstore: ping: %w", err)
	}
	if s.stuck.Load() { // the empty batch retried the reset, and it failed
		return errors.New("boltstore: ping: the write-ahead log is out of use; commits go to bbolt")
	}
	if err := s.ckptErr.Load(); err != nil {
		return fmt.Errorf("boltstore: ping: the latest checkpoint failed, the log fills: %w", *err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(time.Now().UnixNano()))
		return tx.Bucket(metaBucket).Put(pingKey, stamp[:])
	})
	if err != nil {
		return fmt.Errorf("boltstore: ping: %w", err)
	}
	return nil
}

// Stats returns the committer's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:     s.commits.Load(),
		Changes:     s.changes.Load(),
		LastBatch:   int(s.lastBatch.Load()),
		Checkpoints: s.checkpoints.Load(),

		CheckpointFailures: s.ckptFailed.Load(),
	}
}
