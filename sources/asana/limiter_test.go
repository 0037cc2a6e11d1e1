package asana

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestLimiterHoldsSlidingWindow runs many goroutines through the limiter in
// virtual time with random latencies and checks, at the simulated arrival
// times, that no window ever holds more than the budget, and that the
// budget is used: a full window's worth at once, then the cap.
func TestLimiterHoldsSlidingWindow(t *testing.T) {
	for _, tc := range []struct {
		budget, inFlight int
		latMin, latMax   time.Duration
	}{
		{150, 10, 100 * time.Millisecond, 300 * time.Millisecond},
		{1500, 10, 100 * time.Millisecond, 100 * time.Millisecond},
		{1500, 50, 10 * time.Millisecond, 900 * time.Millisecond},
		{60, 3, 2 * time.Second, 5 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			l, err := NewLimiter(tc.budget, tc.inFlight, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			const run = 5 * time.Minute
			var mu sync.Mutex
			var arrivals []time.Time
			var wg sync.WaitGroup
			rng := rand.New(rand.NewPCG(1, 2))
			var rngMu sync.Mutex
			lat := func() time.Duration {
				rngMu.Lock()
				defer rngMu.Unlock()
				return tc.latMin + time.Duration(rng.Int64N(int64(tc.latMax-tc.latMin)+1))
			}
			active, peak := 0, 0
			for range tc.inFlight * 2 {
				wg.Go(func() {
					for time.Since(start) < run {
						release, err := l.Acquire(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						active++
						peak = max(peak, active)
						mu.Unlock()
						total := lat()
						// The server sees the request somewhere inside its latency.
						there := time.Duration(float64(total) * lat().Seconds() / tc.latMax.Seconds())
						time.Sleep(there)
						mu.Lock()
						arrivals = append(arrivals, time.Now())
						mu.Unlock()
						time.Sleep(total - there)
						mu.Lock()
						active--
						mu.Unlock()
						release()
					}
				})
			}
			wg.Wait()
			if got := asanatest.MostInWindow(arrivals, time.Minute); got > tc.budget {
				t.Errorf("budget %d: %d requests arrived within one minute", tc.budget, got)
			}
			if peak > tc.inFlight {
				t.Errorf("in flight: peak %d, want ≤ %d", peak, tc.inFlight)
			}
			// Five minutes allow 5×budget; the limiter loses at most one
			// latency per window to its conservative accounting, and the
			// concurrency cap may bind first.
			perLatency := float64(tc.inFlight) * run.Seconds() / tc.latMax.Seconds()
			want := min(float64(5*tc.budget), perLatency) * 0.95
			if got := float64(len(arrivals)); got < want {
				t.Errorf("budget %d: %v requests in %v, want at least %.0f", tc.budget, got, run, want)
			}
		})
	}
}

func TestLimiterThrottledPausesEveryoneAndAdapts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := NewLimiter(100, 5, time.Minute)
		r, _ := l.Acquire(context.Background())
		r()
		l.Throttled(7 * time.Second)
		if got := l.Stats().Limit; got != 80 {
			t.Errorf("limit after a 429 = %d, want 80", got)
		}
		l.Throttled(7 * time.Second) // same episode: no second cut
		if got := l.Stats().Limit; got != 80 {
			t.Errorf("limit after a second 429 of the episode = %d, want 80", got)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				release, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if waited := time.Since(start); waited != 7*time.Second {
					t.Errorf("request started after %v, want exactly the Retry-After 7s", waited)
				}
				release()
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Minute)
		r, _ = l.Acquire(context.Background())
		r()
		if got := l.Stats().Limit; got <= 80 {
			t.Errorf("limit after quiet windows = %d, want it growing back above 80", got)
		}
		if got := l.Stats().Throttled; got != 2 {
			t.Errorf("throttled = %d, want 2", got)
		}
	})
}

func TestLimiterAcquireStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := NewLimiter(1, 1, time.Minute)
		r, _ := l.Acquire(context.Background())
		defer r()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Acquire on a full limiter = %v, want deadline exceeded", err)
		}
	})
}

func TestNewLimiterRejectsBadBounds(t *testing.T) {
	for _, tc := range []struct{ budget, inFlight int }{{0, 1}, {1, 0}, {-5, 10}} {
		if _, err := NewLimiter(tc.budget, tc.inFlight, 0); err == nil {
			t.Errorf("NewLimiter(%d, %d) succeeded", tc.budget, tc.inFlight)
		}
	}
}

// TestLimiterConcurrency429KeepsTheBudget: a 429 with every slot in flight
// is Asana's concurrency limit, not another client: pause, but no cut.
func TestLimiterConcurrency429KeepsTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := NewLimiter(100, 2, time.Minute)
		r1, _ := l.Acquire(context.Background())
		r2, _ := l.Acquire(context.Background())
		l.Throttled(time.Second)
		r1()
		r2()
		if got := l.Stats().Limit; got != 100 {
			t.Errorf("limit after a 429 at the concurrency cap = %d, want 100", got)
		}
		start := time.Now()
		r, _ := l.Acquire(context.Background())
		r()
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("next request after %v, want the Retry-After of 1s", waited)
		}
	})
}
