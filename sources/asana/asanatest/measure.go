package asanatest

import (
	"net/http"
	"sort"
	"time"
)

// Measures of a run, for the tests and benchmarks that check a client
// against the Sim's limits.

// Arrivals returns when each request arrived.
func Arrivals(reqs []Request) []time.Time {
	ts := make([]time.Time, len(reqs))
	for i, r := range reqs {
		ts[i] = r.Time
	}
	return ts
}

// Throttled counts the requests answered 429.
func Throttled(reqs []Request) int {
	n := 0
	for _, r := range reqs {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// MostInWindow is the largest number of times within any half-open window
// of length w: what a sliding-window rate limit counts at its busiest.
func MostInWindow(times []time.Time, w time.Duration) int {
	ts := append([]time.Time(nil), times...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
