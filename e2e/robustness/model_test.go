package robustness

// The model of one path's lock table and counter file that the history is checked against
// (porcupine: every operation must take effect at one instant between its call and its return,
// in an order the model accepts).
//
// State: the holder of the path's exclusive lock ("" free, unknownHolder for a lock an
// indeterminate LOCK may have granted under a token nobody learnt), the time before which the
// holder's lock cannot have expired (bound), and the counter's content.
//
// Expiry (RFC 4918 §6.6, docs/ARCHITECTURE.md "Several replicas": expiry by etcd's clock). A
// lock of timeout T granted or refreshed by a request called at c is attached to an etcd lease
// granted after c, of T plus one second, so it cannot expire before c+T: bound = c+T, where c
// is the call of the last grant or refresh the model took. (c+T rather than c+T+1s leaves the
// server a second of slack, so the check does not depend on how quickly etcd grants a lease.)
// After bound the lock may be gone at any moment, or still live. The model does not move time
// itself: an operation that can only be explained by the holder's lock having expired (another
// client's grant, or the holder's own request refused) is accepted only if it can have taken
// effect at or after bound, i.e. if its return is at or after bound; the holder then leaves.
// That alone is not enough: the operation may be placed before its return, and the operations
// the checker places after it then take effect after an instant that is at least bound, so they
// too must return at or after bound. floor carries that: the latest expiry an accepted history
// has relied on so far, and no operation returning before floor may follow. So a second grant
// while the first is live (double grant) and a refusal of a token while its lock is live (a
// lost lock) are illegal whatever the order, even when an indeterminate operation (return at the
// end of the history) is the one that would explain them.
//
// Indeterminate outcomes (timeout, reset connection, 5xx) may or may not have taken effect;
// like etcd's robustness tests, they get the end of the history as their return, and the model
// offers both states. A refused connection never reached the server and is not recorded. An
// indeterminate refresh is not recorded either: had it taken effect, the holder and counter
// would be the same with a later bound, a state that accepts less than the unchanged one. A
// lock of unknown token may vanish at any moment (the replica revokes what a failed grant may
// have written) and no request can name its token.

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

type opKind int

const (
	opLock    opKind = iota // LOCK, exclusive, depth 0
	opRefresh               // LOCK with If: (<token>) and no body (§9.10.2)
	opUnlock                // UNLOCK with Lock-Token
	opPut                   // PUT of the counter with If: (<token>)
	opGet                   // GET of the counter
)

func (k opKind) String() string {
	return [...]string{"LOCK", "REFRESH", "UNLOCK", "PUT", "GET"}[k]
}

type result int

const (
	resOK      result = iota // 200/201/204: done
	resRefused               // 423, 412, 409: definitely not done
	resUnknown               // timeout, reset, 5xx: maybe done
)

func (r result) String() string { return [...]string{"ok", "refused", "unknown"}[r] }

// unknownHolder holds a lock an indeterminate LOCK may have granted.
const unknownHolder = "?"

// opInput is what a client sent.
type opInput struct {
	kind    opKind
	path    string
	token   string        // REFRESH, UNLOCK, PUT: the lock's token
	value   int           // PUT: the counter written
	timeout time.Duration // LOCK, REFRESH: the timeout the server grants
	call    int64         // ns since the start of the history
}

// opOutput is what it learnt.
type opOutput struct {
	res    result
	token  string // LOCK ok: the token granted
	value  int    // GET ok: the counter read
	status int    // the HTTP status, 0 for a transport error (for the report)
	ret    int64  // ns since the start; the end of the history for resUnknown
}

// lockState is one possible state of a path.
type lockState struct {
	holder  string
	bound   int64 // ns: the holder's lock cannot have expired before
	floor   int64 // ns: every later operation returns at or after
	counter int
}

// leave is s without its holder, if the holder's lock can be gone by the instant an operation
// returning at ret takes effect.
func leave(s lockState, ret int64) (lockState, bool) {
	switch {
	case s.holder == "", s.holder == unknownHolder:
		s.holder, s.bound = "", 0
		return s, true
	case ret >= s.bound:
		s.floor = max(s.floor, s.bound)
		s.holder, s.bound = "", 0
		return s, true
	}
	return s, false
}

// step returns the states s can move to by the operation; none if it is illegal in s.
func step(s lockState, in opInput, out opOutput) []lockState {
	if out.ret < s.floor {
		return nil
	}
	switch in.kind {
	case opLock:
		switch out.res {
		case resOK:
			if f, ok := leave(s, out.ret); ok {
				f.holder, f.bound = out.token, in.call+int64(in.timeout)
				return []lockState{f}
			}
			return nil
		case resRefused:
			if s.holder != "" {
				return []lockState{s}
			}
			return nil
		default:
			states := []lockState{s}
			if f, ok := leave(s, out.ret); ok {
				f.holder, f.bound = unknownHolder, in.call+int64(in.timeout)
				states = append(states, f)
			}
			return states
		}
	case opGet:
		if out.res == resOK && out.value != s.counter {
			return nil
		}
		return []lockState{s}
	default: // REFRESH, UNLOCK, PUT: a request naming the holder's token, below
	}
	held := s.holder == in.token
	switch out.res {
	case resOK:
		if !held {
			return nil
		}
		switch in.kind {
		case opRefresh:
			s.bound = in.call + int64(in.timeout)
		case opUnlock:
			s.holder, s.bound = "", 0
		case opPut:
			s.counter = in.value
		default:
		}
		return []lockState{s}
	case resRefused:
		if !held {
			return []lockState{s}
		}
		if f, ok := leave(s, out.ret); ok {
			return []lockState{f}
		}
		return nil
	default:
		states := []lockState{s}
		if held {
			switch in.kind {
			case opUnlock:
				s.holder, s.bound = "", 0
				states = append(states, s)
			case opPut:
				s.counter = in.value
				states = append(states, s)
			default: // not recorded (REFRESH), or no token (LOCK, GET)
			}
		}
		return states
	}
}

// lockModel is the porcupine model of one path (the checker is run per path).
var lockModel = (&porcupine.NondeterministicModel{
	Init: func() []any { return []any{lockState{}} },
	Step: func(state, input, output any) []any {
		next := step(state.(lockState), input.(opInput), output.(opOutput))
		states := make([]any, len(next))
		for i := range next {
			states[i] = next[i]
		}
		return states
	},
	Equal: func(a, b any) bool { return a.(lockState) == b.(lockState) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		return describe(in, out)
	},
	DescribeState: func(state any) string {
		s := state.(lockState)
		if s.holder == "" {
			return fmt.Sprintf("free, counter %d", s.counter)
		}
		return fmt.Sprintf("held by %s until ≥%v, counter %d", short(s.holder), time.Duration(s.bound), s.counter)
	},
}).ToModel()

// describe is one operation, for reports.
func describe(in opInput, out opOutput) string {
	d := in.kind.String()
	if in.token != "" {
		d += " " + short(in.token)
	}
	if in.kind == opPut {
		d += fmt.Sprintf(" %d", in.value)
	}
	d += " → " + out.res.String()
	switch {
	case in.kind == opLock && out.res == resOK:
		d += " " + short(out.token)
	case in.kind == opGet && out.res == resOK:
		d += fmt.Sprintf(" %d", out.value)
	}
	if out.status != 0 {
		d += fmt.Sprintf(" (%d)", out.status)
	}
	return d
}

// short is the end of a token, enough to tell tokens apart in a report.
func short(token string) string {
	if len(token) > 8 {
		return token[len(token)-8:]
	}
	return token
}
