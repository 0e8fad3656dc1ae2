package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter counts failed logins per remote address with a token bucket: burst failures at once,
// then one per interval. Only failures take tokens; a remote address whose bucket is empty may
// not try at all until a token is back.
type limiter struct {
	burst int
	every rate.Limit
	// mu guards byAddr.
	mu     sync.Mutex
	byAddr map[string]*rate.Limiter
}

// maxTracked bounds how many addresses are remembered (the overflow bucket comes on top). Past it, addresses whose bucket has
// refilled are forgotten; if all are still limited, the newcomer shares one overflow bucket, so
// an attacker with many addresses can neither exhaust memory nor escape the limit.
const maxTracked = 10000

// overflow is the key of the shared bucket.
const overflow = "\x00overflow"

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: rate.Every(every), byAddr: map[string]*rate.Limiter{}}
}

// wait is how long remote must wait before trying again; 0 means it may try now.
func (l *limiter) wait(now time.Time, remote string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.byAddr[remote]
	if !ok {
		if lim, ok = l.byAddr[overflow]; !ok || len(l.byAddr) < maxTracked {
			return 0
		}
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	// Whole milliseconds, rounded up; the epsilon keeps float error from adding one.
	ms := (1 - tokens) / float64(l.every) * 1000
	return time.Duration(math.Ceil(ms-1e-6)) * time.Millisecond
}

// fail takes a token from remote's bucket.
func (l *limiter) fail(now time.Time, remote string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(now, remote).AllowN(now, 1)
}

// bucket returns remote's bucket, creating it. l.mu must be held.
func (l *limiter) bucket(now time.Time, remote string) *rate.Limiter {
	if lim, ok := l.byAddr[remote]; ok {
		return lim
	}
	if len(l.byAddr) >= maxTracked {
		l.forgetRefilled(now)
	}
	key := remote
	if len(l.byAddr) >= maxTracked {
		key = overflow
		if lim, ok := l.byAddr[key]; ok {
			return lim
		}
	}
	lim := rate.NewLimiter(l.every, l.burst)
	lim.SetBurstAt(now, l.burst) // a full bucket as of now, not as of the zero time
	l.byAddr[key] = lim
	return lim
}

// forgetRefilled drops the buckets that are full again: they hold nothing a new one would not.
// l.mu must be held.
func (l *limiter) forgetRefilled(now time.Time) {
	for k, lim := range l.byAddr {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.byAddr, k)
		}
	}
}
