package robustness

// The model accepts what lockdav may do and rejects the violations the robustness test is
// there to catch: a double grant of a live lock, a lost acknowledged lock, a lost update of the
// counter, a refusal that rests on a stale lock table.

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const ms = int64(time.Millisecond)

// hist builds a history of one path; times in ms, ret -1 for an indeterminate outcome.
type hist struct {
	ops []porcupine.Operation
}

func (h *hist) add(client int, kind opKind, token string, value int, call, ret int64, res result, outToken string, outValue int) *hist {
	in := opInput{kind: kind, path: "/c", token: token, value: value, timeout: 2 * time.Second, call: call * ms}
	r := ret * ms
	if ret < 0 {
		r = 1 << 62
	}
	out := opOutput{res: res, token: outToken, value: outValue, ret: r}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: in.call, Output: out, Return: r})
	return h
}

func TestModel(t *testing.T) {
	cases := []struct {
		name  string
		h     *hist
		legal bool
	}{
		{"lock, increment, unlock, lock again", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opGet, "", 0, 2, 3, resOK, "", 0).
			add(0, opPut, "A", 1, 4, 5, resOK, "", 0).
			add(0, opUnlock, "A", 0, 6, 7, resOK, "", 0).
			add(1, opLock, "", 0, 8, 9, resOK, "B", 0).
			add(1, opGet, "", 0, 10, 11, resOK, "", 1), true},
		{"double grant of a live lock", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(1, opLock, "", 0, 10, 11, resOK, "B", 0), false},
		{"second grant once the first may have expired", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(1, opLock, "", 0, 1990, 2001, resOK, "B", 0), true},
		{"a refresh keeps the lock", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opRefresh, "A", 0, 1500, 1501, resOK, "", 0).
			add(1, opLock, "", 0, 2500, 2501, resOK, "B", 0), false},
		{"concurrent grants, overlapping", new(hist).
			add(0, opLock, "", 0, 0, 10, resOK, "A", 0).
			add(1, opLock, "", 0, 5, 15, resOK, "B", 0), false},
		{"lost acknowledged lock", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opPut, "A", 1, 5, 6, resRefused, "", 0), false},
		{"refused once expired", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opPut, "A", 1, 2500, 2501, resRefused, "", 0).
			add(0, opRefresh, "A", 0, 2600, 2601, resOK, "", 0), false},
		{"refusal of a free path (stale table)", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opUnlock, "A", 0, 2, 3, resOK, "", 0).
			add(1, opLock, "", 0, 4, 5, resRefused, "", 0), false},
		{"lost update", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opPut, "A", 1, 4, 5, resOK, "", 0).
			add(0, opUnlock, "A", 0, 6, 7, resOK, "", 0).
			add(1, opGet, "", 0, 10, 11, resOK, "", 0), false},
		{"indeterminate put may land", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opPut, "A", 1, 4, -1, resUnknown, "", 0).
			add(1, opGet, "", 0, 10, 11, resOK, "", 1).
			add(1, opGet, "", 0, 12, 13, resOK, "", 1), true},
		{"indeterminate put does not land after the holder lost the lock", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opPut, "A", 1, 4, -1, resUnknown, "", 0).
			add(1, opLock, "", 0, 3000, 3001, resOK, "B", 0).
			add(1, opGet, "", 0, 3002, 3003, resOK, "", 0).
			add(1, opPut, "B", 1, 3004, 3005, resOK, "", 0).
			add(1, opPut, "B", 2, 3006, 3007, resOK, "", 0).
			add(1, opGet, "", 0, 3008, 3009, resOK, "", 1), false},
		{"indeterminate lock refuses others", new(hist).
			add(0, opLock, "", 0, 0, -1, resUnknown, "", 0).
			add(1, opLock, "", 0, 10, 11, resRefused, "", 0).
			add(1, opLock, "", 0, 20, 21, resOK, "B", 0), true},
		{"indeterminate lock does not excuse a double grant", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(2, opLock, "", 0, 2, -1, resUnknown, "", 0).
			add(1, opLock, "", 0, 10, 11, resOK, "B", 0), false},
		{"indeterminate unlock may release", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opUnlock, "A", 0, 2, -1, resUnknown, "", 0).
			add(1, opLock, "", 0, 10, 11, resOK, "B", 0), true},
		{"indeterminate unlock of a lock refused since", new(hist).
			add(0, opLock, "", 0, 0, 1, resOK, "A", 0).
			add(0, opUnlock, "A", 0, 2, -1, resUnknown, "", 0).
			add(1, opLock, "", 0, 10, 11, resRefused, "", 0).
			add(1, opLock, "", 0, 20, 21, resOK, "B", 0), true},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperations(lockModel, c.h.ops); got != c.legal {
			t.Errorf("%s: linearizable = %v, want %v", c.name, got, c.legal)
		}
	}
}
