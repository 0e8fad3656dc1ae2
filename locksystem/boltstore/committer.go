package boltstore

import (
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkpointDelay is how long changes stay only in the log when no more come: then the
// committer writes them into bbolt, so the bbolt file is current soon after a burst. A failed
// checkpoint is retried after the same delay.
const checkpointDelay = time.Second

// syncDelay bounds how long answered releases stay in the log unsynced when no other batch
// comes to sync them: how long a power loss may undo one.
const syncDelay = 2 * time.Millisecond

// run is the committer goroutine. It ends after committing what is queued, and checkpointing
// it, when stopC closes.
func (s *Store) run() {
	defer close(s.doneC)
	for {
		select {
		case <-s.kick:
			_ = s.commitPending() // its waiters get the error, and it is logged
		case <-s.idle.C:
			s.checkpointLogged()
		case <-s.syncT.C:
			s.syncReleases()
		case reply := <-s.flushC:
			reply <- s.checkpoint(nil)
		case <-s.stopC:
			err := s.commitPending()
			s.finalErr = errors.Join(err, s.checkpoint(nil))
			return
		}
	}
}

// commitPending makes the queued batch, if any, durable and wakes its waiters. It returns the
// commit's error.
func (s *Store) commitPending() error {
	s.mu.Lock()
	b := s.pending
	s.pending = nil
	s.mu.Unlock()
	if b == nil {
		return nil
	}
	t0 := time.Now()
	err := s.write(b)
	took := time.Since(t0)
	if err != nil {
		err = fmt.Errorf("boltstore: commit of %d changes: %w", len(b.ops), err)
		s.log.Error().Err(err).Int("changes", len(b.ops)).Msg("lock document commit failed")
	}
	b.err = err
	if len(b.ops) > 0 { // not a Ping's empty record
		s.commits.Add(1)
		s.changes.Add(uint64(len(b.ops)))
		s.lastBatch.Store(int64(len(b.ops)))
		if s.observe != nil {
			s.observe(len(b.ops), took)
		}
	}
	close(b.done)
	switch {
	case s.stuck.Load() && len(s.dirty) > 0 && !s.retrying:
		s.checkpointLogged() // answered releases the failed record held go to bbolt now
	case !s.retrying && !s.stuck.Load() && s.wal.used() >= (s.wal.size-walDataStart)/2:
		s.checkpointLogged()
	}
	return b.err
}

// write makes b's changes durable: one record in the log or, when they do not fit there or
// the log is out of use (stuck), a checkpoint that writes them into bbolt with everything the
// log holds and then tries to start a new epoch. Its releases are answered once the record is
// written; a batch of releases alone is not synced here (syncSoon). A failed append puts the
// log out of use: its record may reach the disk although it was not acknowledged, and only a
// new epoch is sure to leave it out of a replay.
func (s *Store) write(b *batch) error {
	if s.stuck.Load() {
		return b.wrote(s.checkpoint(b.ops))
	}
	at, err := s.wal.write(b.ops)
	if errors.Is(err, errWALFull) {
		return b.wrote(s.checkpoint(b.ops))
	}
	if err != nil {
		s.stuck.Store(true)
		return b.wrote(err)
	}
	s.track(b.ops, true) // answered now: whatever the sync does, they must reach bbolt
	// The record is in the kernel's page cache: a kill -9 of lockdav can no longer lose it. A
	// power loss can, until a sync. Every later batch's record goes into the same file after
	// this one, and fdatasync flushes all of the file's written pages, so the sync that
	// answers any later grant or refresh covers these releases too: a power loss never keeps
	// a grant and loses a release written before it, which could leave two conflicting locks.
	_ = b.wrote(nil)
	if !b.sync {
		s.syncSoon()
		return nil
	}
	if err := s.wal.sync(); err != nil {
		s.wal.unwrite(at)
		s.stuck.Store(true)
		return err
	}
	s.synced()
	s.track(b.ops, false)
	return nil
}

// track records ops in dirty, the changes the next checkpoint writes into bbolt: only the
// releases when releasesOnly, else all of them in order, so that a key changed twice in one
// batch ends as the record has it.
func (s *Store) track(ops []op, releasesOnly bool) {
	if len(s.dirty) == 0 && len(ops) > 0 && !s.retrying {
		s.idle.Reset(checkpointDelay)
	}
	for _, o := range ops {
		if o.release || !releasesOnly {
			s.dirty[string(o.key)] = o.val // nil: deleted
		}
	}
}

// syncSoon arms the sync of answered releases, unless one is armed already.
func (s *Store) syncSoon() {
	if !s.unsynced {
		s.unsynced = true
		s.syncT.Reset(syncDelay)
	}
}

// synced notes that the log is synced to its end.
func (s *Store) synced() {
	if s.unsynced {
		s.unsynced = false
		s.syncT.Stop()
	}
}

// syncReleases syncs answered releases that no batch synced within syncDelay. If that fails,
// the log goes out of use and a checkpoint writes them into bbolt.
func (s *Store) syncReleases() {
	if !s.unsynced || s.stuck.Load() {
		return
	}
	s.unsynced = false
	if err := s.wal.sync(); err != nil {
		s.log.Error().Err(err).Msg("write-ahead log sync of answered releases failed; checkpointing them")
		s.stuck.Store(true)
		s.checkpointLogged()
	}
}

// checkpoint writes the log's changes, then extra, into bbolt in one transaction and empties
// the log. On error nothing changed: the log still holds its changes, and extra is not stored.
func (s *Store) checkpoint(extra []op) error {
	if len(s.dirty) == 0 && len(extra) == 0 && s.wal.used() == 0 && !s.stuck.Load() {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(locksBucket)
		for k, v := range s.dirty {
			if err := apply(bk, []byte(k), v); err != nil {
				return err
			}
		}
		if err := writeOps(tx, extra); err != nil {
			return err
		}
		done := logPos{s.wal.epoch, s.wal.off} // a restart replays none of it
		if s.stuck.Load() {
			done.off = math.MaxInt64 // nor any record a failed append or reset left in this epoch
		}
		return setCheckpointed(tx, done)
	})
	if err != nil {
		s.ckptFailed.Add(1)
		err = fmt.Errorf("boltstore: checkpoint of %d changes: %w", len(s.dirty)+len(extra), err)
		s.ckptErr.Store(&err)
		return err
	}
	s.ckptErr.Store(nil)
	clear(s.dirty)
	s.idle.Stop()
	s.synced() // bbolt holds the releases, and the reset below syncs the log
	s.retrying = false
	s.checkpoints.Add(1)
	err = s.wal.reset()
	if err != nil {
		// bbolt holds every change of the log, and says so. The new header may be in the file,
		// so no record of the old epoch may follow: until a reset succeeds, write sends
		// batches to bbolt.
		s.log.Error().Err(err).Msg("write-ahead log reset failed; committing to bbolt until it works")
	}
	s.stuck.Store(err != nil)
	return nil
}

// checkpointLogged checkpoints, logging a failure and retrying it after checkpointDelay; until
// then commits go on into the log while it has room.
func (s *Store) checkpointLogged() {
	if err := s.checkpoint(nil); err != nil {
		s.log.Error().Err(err).Msg("lock document checkpoint failed")
		s.retrying = true
		s.idle.Reset(checkpointDelay)
	}
}

// flush asks the committer to checkpoint, so that bbolt holds every change acknowledged so far.
func (s *Store) flush() error {
	reply := make(chan error, 1)
	select {
	case s.flushC <- reply:
	case <-s.doneC:
		return ErrClosed
	}
	return <-reply
}

func writeOps(tx *bolt.Tx, ops []op) error {
	bk := tx.Bucket(locksBucket)
	for _, o := range ops {
		if err := apply(bk, o.key, o.val); err != nil {
			return err
		}
	}
	return nil
}

// apply puts val under key, or deletes key when val is nil.
func apply(bk *bolt.Bucket, key, val []byte) error {
	var err error
	if val != nil {
		err = bk.Put(key, val)
	} else {
		err = bk.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("token %s: %w", key, err)
	}
	return nil
}
