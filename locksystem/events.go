package locksystem

// Lock events: every change of the lock table, in order, for programs that watch locks instead
// of polling them (the lock API's event stream). A bounded history lets a subscriber that
// reconnects resume where it stopped, or learn that it missed events; a subscriber that does
// not keep up is dropped rather than buffered without bound.

import (
	"errors"
	"sync"
	"time"
)

// EventKind says what happened to a lock.
type EventKind int

// The kinds of events.
const (
	Acquired  EventKind = iota // a lock was granted
	Refreshed                  // its timeout restarted
	Released                   // it is gone; Event.Reason says why
	Conflict                   // a lock was refused because of the locks in Event.Conflicts
)

func (k EventKind) String() string {
	switch k {
	case Acquired:
		return "acquired"
	case Refreshed:
		return "refreshed"
	case Released:
		return "released"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// Reason says why a lock was released.
type Reason int

// The reasons for a release.
const (
	NoReason Reason = iota // not a release
	Unlocked               // its holder released it (UNLOCK, DELETE of the document)
	Expired                // its timeout passed
	Updated                // its holder's first write released it (ReleaseOnUpdate)
	Forced                 // an admin released another principal's lock
	Removed                // its resource was deleted or moved away
)

func (r Reason) String() string {
	switch r {
	case NoReason:
		return ""
	case Unlocked:
		return "unlock"
	case Expired:
		return "expiry"
	case Updated:
		return "release_on_update"
	case Forced:
		return "forced"
	case Removed:
		return "removed"
	}
	return ""
}

// Event is one change of the lock table. IDs increase by one from 1 in the order events happen.
type Event struct {
	ID     uint64
	Kind   EventKind
	Reason Reason // for Released
	Time   time.Time
	// Lock is the lock the event is about. For a Conflict it is the refused request, as the lock
	// it would have been, without a token or times.
	Lock      Lock
	Conflicts []Lock // for a Conflict: the locks in the way
	By        string // for Forced: the admin who released it
}

// Errors of Subscribe and Subscription.
var (
	// ErrEventsMissed: the events after the one asked for are no longer in the history.
	ErrEventsMissed = errors.New("locksystem: events missed")
	// ErrSlowSubscriber: the subscriber fell a whole buffer behind and was dropped.
	ErrSlowSubscriber = errors.New("locksystem: subscriber too slow, dropped")
)

// Event history and subscriber buffer sizes.
const (
	DefaultEventHistory = 4096
	subscriberBuffer    = 256
)

// eventHub numbers events, keeps the latest in a ring and hands them to subscribers.
type eventHub struct {
	// mu guards every field.
	mu      sync.Mutex
	next    uint64  // the ID of the next event
	ring    []Event // the latest len(ring) events, event ID i at ring[i%len(ring)]
	subs    map[*Subscription]struct{}
	changed chan struct{} // closed and replaced when a lock goes away, for waiters
}

func newEventHub(history int) *eventHub {
	if history <= 0 {
		history = DefaultEventHistory
	}
	return &eventHub{next: 1, ring: make([]Event, history), subs: make(map[*Subscription]struct{}),
		changed: make(chan struct{})}
}

// Subscription receives events on C until it is closed or dropped; Err then says why.
type Subscription struct {
	C   <-chan Event
	c   chan Event
	hub *eventHub
	err error // set under hub.mu when C is closed
}

// Subscribe returns a subscription to the events after ID after; 0 means only new ones. When
// the history no longer holds every event after after, it returns ErrEventsMissed.
func (s *System) Subscribe(after uint64) (*Subscription, error) {
	return s.ev.subscribe(after, after != 0)
}

// Resume is Subscribe for a subscriber that has seen every event up to after, 0 included: 0
// means before the first event, so every event since is replayed (or ErrEventsMissed if the
// history no longer holds the first). A stream told "you are at 0" before any event happened
// must get event 1 when it comes back, not only the events after its return.
func (s *System) Resume(after uint64) (*Subscription, error) {
	return s.ev.subscribe(after, true)
}

// subscribe subscribes after ID after, replaying the events since it from the history when
// replay is set.
func (h *eventHub) subscribe(after uint64, replay bool) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if after >= h.next {
		return nil, ErrEventsMissed // an ID from before a restart, or never given
	}
	if !replay {
		after = h.next - 1
	}
	oldest := uint64(1)
	if h.next > uint64(len(h.ring)) {
		oldest = h.next - uint64(len(h.ring))
	}
	if after+1 < oldest {
		return nil, ErrEventsMissed
	}
	return h.add(after), nil
}

// add subscribes with the events after after replayed. The caller holds h.mu and has checked
// that the ring holds them.
func (h *eventHub) add(after uint64) *Subscription {
	replay := h.next - 1 - after
	c := make(chan Event, subscriberBuffer+int(replay)) //nolint:gosec // replay ≤ len(h.ring)
	sub := &Subscription{C: c, c: c, hub: h}
	for id := after + 1; id < h.next; id++ {
		c <- h.ring[id%uint64(len(h.ring))]
	}
	h.subs[sub] = struct{}{}
	return sub
}

// LastEventID is the ID of the latest event, 0 before the first.
func (s *System) LastEventID() uint64 {
	s.ev.mu.Lock()
	defer s.ev.mu.Unlock()
	return s.ev.next - 1
}

// Close ends the subscription; C is closed.
func (sub *Subscription) Close() {
	h := sub.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop(sub, nil)
}

// Err is nil while the subscription runs or after Close, ErrSlowSubscriber once it was dropped.
func (sub *Subscription) Err() error {
	sub.hub.mu.Lock()
	defer sub.hub.mu.Unlock()
	return sub.err
}

// drop removes sub and closes its channel. The caller holds h.mu.
func (h *eventHub) drop(sub *Subscription, err error) {
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	sub.err = err
	close(sub.c)
}

// publish numbers events, records them and hands them to every subscriber. A release of any
// kind also wakes the waiters.
func (h *eventHub) publish(evs ...Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wake := false
	for _, ev := range evs {
		ev.ID = h.next
		h.next++
		h.ring[ev.ID%uint64(len(h.ring))] = ev
		for sub := range h.subs {
			select {
			case sub.c <- ev:
			default:
				h.drop(sub, ErrSlowSubscriber)
			}
		}
		wake = wake || ev.Kind == Released
	}
	if wake {
		close(h.changed)
		h.changed = make(chan struct{})
	}
}

// releases returns a channel closed at the next release of any lock.
func (h *eventHub) releases() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// released builds the Released events of ls, for reason, at now.
func released(now time.Time, reason Reason, ls []Lock) []Event {
	evs := make([]Event, len(ls))
	for i, l := range ls {
		evs[i] = Event{Kind: Released, Reason: reason, Time: now, Lock: l}
	}
	return evs
}
