package davfs

import "sync"

// dirSyncer shares directory fsyncs between concurrent uploads, as a group
// commit does: a rename is durable once an fsync of its directory has
// started after it, so every caller that arrives while a sync of the same
// directory runs waits for one more sync, and all of them share it. Syncs of
// different directories, and every upload's own work, run in parallel.
type dirSyncer struct {
	// mu guards dirs and the fields of every dirState in it.
	mu   sync.Mutex
	dirs map[string]*dirState
}

// dirState is one directory's sync in progress and the one queued after it.
type dirState struct {
	running *syncRound // started; nil once finished with nothing queued
	next    *syncRound // waiting for running to finish; nil when none
}

// syncRound is one fsync; done is closed once err is set.
type syncRound struct {
	done chan struct{}
	err  error
}

func newRound() *syncRound { return &syncRound{done: make(chan struct{})} }

// sync returns once a call of fn(dir) that started after sync was called has
// finished, with that call's error.
func (s *dirSyncer) sync(dir string, fn func(string) error) error {
	s.mu.Lock()
	if s.dirs == nil {
		s.dirs = map[string]*dirState{}
	}
	st := s.dirs[dir]
	if st == nil {
		st = &dirState{running: newRound()}
		s.dirs[dir] = st
		round := st.running
		s.mu.Unlock()
		return s.lead(dir, st, round, fn)
	}
	// The running sync may have started before our rename: queue behind it.
	if st.next == nil {
		st.next = newRound()
	}
	round, prev := st.next, st.running
	s.mu.Unlock()
	<-prev.done
	s.mu.Lock()
	if st.running == prev { // the first one woken leads the queued round
		st.running, st.next = round, nil
		s.mu.Unlock()
		return s.lead(dir, st, round, fn)
	}
	s.mu.Unlock()
	<-round.done
	return round.err
}

// lead runs round and hands the directory on: to a queued round, whose
// first waiter leads it, or back to no one.
func (s *dirSyncer) lead(dir string, st *dirState, round *syncRound, fn func(string) error) error {
	round.err = fn(dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	close(round.done)
	if st.next == nil {
		delete(s.dirs, dir)
	}
	return round.err
}
