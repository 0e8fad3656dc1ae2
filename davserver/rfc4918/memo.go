package rfc4918

import "sync"

// memo remembers the results of a pure function of a short string: up to max results of inputs
// of at most maxKey bytes, forgetting all of them when full. The lockinfo parse and the owner
// check use it because their inputs repeat: a client sends the same LOCK body, owner included,
// for every lock it takes, and each parse through the namespace-checking decoder costs more
// than the rest of the lock's bookkeeping. It earns its keep on davserver's BenchmarkLockCycle
// (the handler's share of make bench's lockcycle): without it a cycle allocates 92 more times and
// costs about a sixth more CPU.
type memo[V any] struct {
	mu     sync.RWMutex // guards m
	m      map[string]V
	max    int
	maxKey int
}

func newMemo[V any](max, maxKey int) *memo[V] {
	return &memo[V]{m: make(map[string]V), max: max, maxKey: maxKey}
}

// get returns the result remembered for key.
func (c *memo[V]) get(key string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	return v, ok
}

// getBytes is get for a key in bytes.
func (c *memo[V]) getBytes(key []byte) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[string(key)] // no allocation: the compiler reads key in place
	c.mu.RUnlock()
	return v, ok
}

// put remembers v for key, unless key is too long to be worth its memory.
func (c *memo[V]) put(key string, v V) {
	if len(key) > c.maxKey {
		return
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = v
	c.mu.Unlock()
}
