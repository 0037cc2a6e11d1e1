package asana

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter keeps one Asana token under its rate limits: at most Budget
// requests within any sliding Window (Asana counts a sliding minute, and
// rejected requests count too) and at most InFlight requests at once.
//
// Asana counts a request when it arrives, which the client cannot see; it
// can only see that the arrival lies between sending and the end of the
// response. So a request occupies a slot of the window from when it is sent
// until one Window after its response ended. Admitting a request only while
// fewer than Budget requests occupy a slot guarantees that no window of
// Asana's ever counts more than Budget, whatever the latency, and it still
// spends a whole minute's budget at once when the window is empty.
//
// A 429 still arriving means somebody else spends the same token: every
// request waits for its Retry-After, and the budget shrinks by a fifth
// (once per episode, and not when the 429 came with every slot in flight,
// which points at the concurrency limit), growing back by a tenth per
// quiet window.
//
// A Limiter is safe for concurrent use; share one per token.
type Limiter struct {
	window   time.Duration
	budget   int // configured requests per window
	inFlight int // configured concurrency

	mu       sync.Mutex
	limit    int         // current budget, ≤ budget, lowered by 429s
	active   int         // requests sent and not yet ended
	ended    []time.Time // end times within the last window, oldest first
	paused   time.Time   // no request starts before this (Retry-After)
	lastCut  time.Time   // when limit was last lowered
	lastGrow time.Time   // when limit was last raised
	changed  chan struct{}
	stats    LimiterStats
}

// LimiterStats are a limiter's running totals.
type LimiterStats struct {
	Requests  int64         // requests admitted
	Throttled int64         // 429 responses received
	Waited    time.Duration // total time requests spent waiting to start
	Limit     int           // the current budget per window
}

// NewLimiter returns a limiter that admits budget requests per window and
// inFlight requests at once. A window of 0 means one minute.
func NewLimiter(budget, inFlight int, window time.Duration) (*Limiter, error) {
	if budget < 1 {
		return nil, fmt.Errorf("rate limit budget must be at least 1, got %d", budget)
	}
	if inFlight < 1 {
		return nil, fmt.Errorf("requests in flight must be at least 1, got %d", inFlight)
	}
	if window <= 0 {
		window = time.Minute
	}
	return &Limiter{
		window:   window,
		budget:   budget,
		inFlight: inFlight,
		limit:    budget,
		changed:  make(chan struct{}),
	}, nil
}

// Acquire blocks until a request may be sent or ctx ends. The caller must
// call the returned release exactly once, when the response has been read.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	start := time.Now()
	for {
		l.mu.Lock()
		now := time.Now()
		wait, ok := l.admit(now)
		if ok {
			l.active++
			l.stats.Requests++
			l.stats.Waited += now.Sub(start)
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(l.release) }, nil
		}
		changed := l.changed
		l.mu.Unlock()

		if err := sleep(ctx, wait, changed); err != nil {
			l.mu.Lock()
			l.stats.Waited += time.Since(start)
			l.mu.Unlock()
			return nil, err
		}
	}
}

// sleep waits for d (forever if d is 0), for wake to close, or for ctx.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-timer:
	}
	return nil
}

// admit reports whether a request may start now; if not, how long to wait
// before looking again (0: until the state changes). l.mu is held.
func (l *Limiter) admit(now time.Time) (time.Duration, bool) {
	cutoff := now.Add(-l.window)
	i := 0
	for i < len(l.ended) && !l.ended[i].After(cutoff) {
		i++
	}
	if i > 0 {
		l.ended = append(l.ended[:0], l.ended[i:]...)
	}
	if l.limit < l.budget && now.Sub(l.lastCut) >= l.window && now.Sub(l.lastGrow) >= l.window {
		l.limit = min(l.budget, l.limit+max(1, l.budget/10))
		l.lastGrow = now
	}
	switch {
	case now.Before(l.paused):
		return l.paused.Sub(now), false
	case l.active >= l.inFlight:
		return 0, false
	case l.active+len(l.ended) >= l.limit:
		if len(l.ended) > 0 {
			return l.ended[0].Add(l.window).Sub(now), false
		}
		return 0, false
	}
	return 0, true
}

func (l *Limiter) release() {
	l.mu.Lock()
	l.active--
	l.ended = append(l.ended, time.Now())
	l.broadcast()
	l.mu.Unlock()
}

// broadcast wakes every waiter. l.mu is held.
func (l *Limiter) broadcast() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Throttled records a 429 answered with Retry-After d: no request of this
// limiter starts for d, and the budget shrinks once per episode.
func (l *Limiter) Throttled(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.stats.Throttled++
	// With every slot in flight the 429 is likely Asana's concurrency
	// limit (50 GETs in flight), reached by a hair when num_workers is 50:
	// the server counts a request until it has finished it, the client
	// until it has read the body. That is no reason to spend less.
	atConcurrencyCap := l.active >= l.inFlight
	if !atConcurrencyCap && !now.Before(l.paused) && now.Sub(l.lastCut) >= l.window/4 {
		l.limit = max(1, l.limit-max(1, l.limit/5))
		l.lastCut = now
	}
	if until := now.Add(d); until.After(l.paused) {
		l.paused = until
	}
	l.broadcast()
}

// Stats returns the running totals.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Limit = l.limit
	return s
}
