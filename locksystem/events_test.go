package locksystem

import (
	"errors"
	"testing"
	"time"
)

// next reads one event or fails.
func next(t *testing.T, sub *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C:
		if !ok {
			t.Fatalf("subscription closed: %v", sub.Err())
		}
		return ev
	default:
		t.Fatal("no event waiting")
		return Event{}
	}
}

// TestEventsScript: every change of the lock table is one event, in order, with consecutive IDs,
// the lock's document, and for a release its reason.
func TestEventsScript(t *testing.T) {
	s := newTestSystem(t, Options{Policy: Policy{Min: time.Second, Max: time.Hour, Default: time.Minute}})
	sub, err := s.Subscribe(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	a, _ := s.Lock(t0, Request{Path: "/a", Principal: "ann", Depth: DepthInfinity})
	_, _ = s.Lock(t0, Request{Path: "/a/x", Principal: "bob"})
	_, _ = s.Refresh(t0, a.Token, "ann", "", 0)
	_, _ = s.Release(t0, a.Token, "ann", "", false)
	u, _ := s.Lock(t0, Request{Path: "/u", Principal: "ann", ReleaseOnUpdate: true})
	s.ReleaseOnUpdate(t0, "ann", []string{u.Token}, "/u")
	f, _ := s.Lock(t0, Request{Path: "/f", Principal: "ann"})
	_, _ = s.Release(t0, f.Token, "root", "", true)
	_, _ = s.Lock(t0, Request{Path: "/d/e", Principal: "ann"})
	s.RemoveTree(t0, "/d")
	x, _ := s.Lock(t0, Request{Path: "/x", Principal: "ann", Timeout: time.Second})
	if n := s.Expire(t0.Add(2 * time.Second)); n != 1 {
		t.Fatalf("Expire collected %d locks, want 1", n)
	}
	want := []struct {
		kind   EventKind
		reason Reason
		path   string
	}{
		{Acquired, NoReason, "/a"}, {Conflict, NoReason, "/a/x"}, {Refreshed, NoReason, "/a"},
		{Released, Unlocked, "/a"}, {Acquired, NoReason, "/u"}, {Released, Updated, "/u"},
		{Acquired, NoReason, "/f"}, {Released, Forced, "/f"}, {Acquired, NoReason, "/d/e"},
		{Released, Removed, "/d/e"}, {Acquired, NoReason, "/x"}, {Released, Expired, "/x"},
	}
	for i, w := range want {
		ev := next(t, sub)
		if ev.ID != uint64(i+1) || ev.Kind != w.kind || ev.Reason != w.reason || ev.Lock.Path != w.path {
			t.Fatalf("event %d: got #%d %v %v %s, want #%d %v %v %s", i, ev.ID, ev.Kind, ev.Reason, ev.Lock.Path, i+1, w.kind, w.reason, w.path)
		}
	}
	if ev := s.LastEventID(); ev != uint64(len(want)) {
		t.Errorf("LastEventID = %d, want %d", ev, len(want))
	}
	_ = x
}

// TestEventDetails: a conflict names the refused request and the locks in its way; a forced
// release names the admin.
func TestEventDetails(t *testing.T) {
	s := newTestSystem(t, Options{})
	sub, _ := s.Subscribe(0)
	defer sub.Close()
	a, _ := s.Lock(t0, Request{Path: "/a", Principal: "ann", Owner: "o"})
	_, _ = s.Lock(t0, Request{Path: "/a", Principal: "bob", Scope: Shared, Client: Client{IP: "192.0.2.1"}})
	_, _ = s.Release(t0, a.Token, "root", "", true)
	acq, conf, rel := next(t, sub), next(t, sub), next(t, sub)
	if acq.Lock.Token != a.Token || acq.Lock.Owner != "o" {
		t.Errorf("acquired: %+v", acq.Lock)
	}
	if conf.Lock.Principal != "bob" || conf.Lock.Scope != Shared || conf.Lock.Token != "" || conf.Lock.Client.IP != "192.0.2.1" ||
		len(conf.Conflicts) != 1 || conf.Conflicts[0].Token != a.Token {
		t.Errorf("conflict: %+v", conf)
	}
	if rel.Reason != Forced || rel.By != "root" || rel.Lock.Token != a.Token {
		t.Errorf("forced release: %+v", rel)
	}
}

// TestEventsResume: a subscriber resumes after the last event it saw, from the history; one
// whose events are no longer kept, or who names an event never given, is told it missed some.
func TestEventsResume(t *testing.T) {
	s := newTestSystem(t, Options{EventHistory: 4})
	for i := range 6 {
		l, _ := s.Lock(t0, Request{Path: "/r", Principal: "ann"})
		if i < 5 {
			_, _ = s.Release(t0, l.Token, "ann", "", false)
		}
	} // 11 events; the history keeps 8 to 11
	sub, err := s.Subscribe(8)
	if err != nil {
		t.Fatalf("Subscribe(8): %v", err)
	}
	for id := uint64(9); id <= 11; id++ {
		if ev := next(t, sub); ev.ID != id {
			t.Fatalf("resumed event: got #%d, want #%d", ev.ID, id)
		}
	}
	sub.Close()
	if _, ok := <-sub.C; ok {
		t.Error("C open after Close")
	}
	for _, after := range []uint64{6, 11, 12} {
		if _, err := s.Subscribe(after); after != 11 && !errors.Is(err, ErrEventsMissed) {
			t.Errorf("Subscribe(%d) = %v, want ErrEventsMissed", after, err)
		} else if after == 11 && err != nil {
			t.Errorf("Subscribe(11), the latest: %v", err)
		}
	}
}

// TestSlowSubscriber: a subscriber a whole buffer behind is dropped, and says so.
func TestSlowSubscriber(t *testing.T) {
	s := newTestSystem(t, Options{})
	sub, _ := s.Subscribe(0)
	for range subscriberBuffer + 1 {
		l, _ := s.Lock(t0, Request{Path: "/s", Principal: "ann"})
		_, _ = s.Release(t0, l.Token, "ann", "", false)
	}
	n := 0
	for range sub.C {
		n++
	}
	if n != subscriberBuffer || !errors.Is(sub.Err(), ErrSlowSubscriber) {
		t.Errorf("slow subscriber got %d events and Err %v, want %d and ErrSlowSubscriber", n, sub.Err(), subscriberBuffer)
	}
}

// TestResumeFromZero: Resume(0) replays every event since the first, which Subscribe(0), "only
// new ones", does not; once the first is out of the history, it is ErrEventsMissed.
func TestResumeFromZero(t *testing.T) {
	s, err := New(time.Now(), Options{EventHistory: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Subscribe(0)
	defer before.Close()
	mustLockAt(t, s, "/z1")
	mustLockAt(t, s, "/z2")
	sub, err := s.Resume(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/z1", "/z2"} {
		if ev := <-sub.C; ev.Lock.Path != p {
			t.Fatalf("Resume(0) replayed %s, want %s", ev.Lock.Path, p)
		}
	}
	sub.Close()
	mustLockAt(t, s, "/z3")
	if _, err := s.Resume(0); !errors.Is(err, ErrEventsMissed) {
		t.Errorf("Resume(0) with event 1 out of the history = %v, want ErrEventsMissed", err)
	}
}

func mustLockAt(t *testing.T, s *System, p string) {
	t.Helper()
	if _, err := s.Lock(time.Now(), Request{Path: p, Principal: "z"}); err != nil {
		t.Fatal(err)
	}
}
