package asanatest

import (
	"strconv"
	"sync"
	"time"
)

// limiter enforces Asana's per-token limits: at most rpm requests in any
// sliding window (arrivals are counted, rejected ones included, so a client
// that ignores Retry-After stays locked out), and at most maxInFlight
// concurrent GETs.
type limiter struct {
	rpm         int
	window      time.Duration
	maxInFlight int

	mu     sync.Mutex
	tokens map[string]*tokenLimits
}

type tokenLimits struct {
	arrivals []time.Time // within the window, oldest first (arrivals[head:])
	head     int
	inFlight int
}

func newLimiter(rpm int, window time.Duration, maxInFlight int) *limiter {
	return &limiter{rpm: rpm, window: window, maxInFlight: maxInFlight, tokens: map[string]*tokenLimits{}}
}

func (l *limiter) get(tok string) *tokenLimits {
	t := l.tokens[tok]
	if t == nil {
		t = &tokenLimits{}
		l.tokens[tok] = t
	}
	return t
}

// arrive counts a request arriving at now. When the window already holds
// rpm arrivals it returns false and the time until a request would be
// admitted: the window must lose enough arrivals that, counting the retry
// itself, at most rpm remain. The request is counted either way.
//
// The window is (now-window, now]: an arrival leaves it exactly one window
// length after it happened.
func (l *limiter) arrive(tok string, now time.Time) (time.Duration, bool) {
	if l.rpm <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.get(tok)
	for t.head < len(t.arrivals) && now.Sub(t.arrivals[t.head]) >= l.window {
		t.head++
	}
	if t.head > 1024 && t.head*2 > len(t.arrivals) {
		t.arrivals = append(t.arrivals[:0], t.arrivals[t.head:]...)
		t.head = 0
	}
	t.arrivals = append(t.arrivals, now)
	n := len(t.arrivals) - t.head
	if n <= l.rpm {
		return 0, true
	}
	// The retry is admitted once arrivals[head+n-rpm] has left the window.
	oldest := t.arrivals[t.head+n-l.rpm]
	return oldest.Add(l.window).Sub(now), false
}

// enter admits a GET under the concurrency cap; leave must follow.
func (l *limiter) enter(tok string) bool {
	if l.maxInFlight < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.get(tok)
	if t.inFlight >= l.maxInFlight {
		return false
	}
	t.inFlight++
	return true
}

func (l *limiter) leave(tok string) {
	if l.maxInFlight < 0 {
		return
	}
	l.mu.Lock()
	l.get(tok).inFlight--
	l.mu.Unlock()
}

// faultDraw is the outcome of the per-request random draws.
type faultDraw struct {
	latency   time.Duration
	status5xx int
	phrase    string
	extra429  bool
	drop      bool
	truncate  bool
	cut       float64 // fraction of the body kept by drop/truncate
}

var (
	phraseAdjectives = []string{"sad", "happy", "sleepy", "brave", "fuzzy", "tiny", "grumpy", "shiny", "quiet", "wild"}
	phraseNouns      = []string{"squid", "otters", "pandas", "llamas", "yetis", "robots", "ferrets", "koalas", "narwhals", "moles"}
	phraseVerbs      = []string{"snuggle", "dance", "wander", "juggle", "giggle", "ponder", "sprint", "whistle", "tumble", "sing"}
	phraseAdverbs    = []string{"softly", "wildly", "quietly", "bravely", "slowly", "happily", "boldly", "gently", "loudly", "oddly"}
)

// draw makes every random decision for one request, from the seeded stream.
func (s *Sim) draw() faultDraw {
	o, f := s.opts, s.faultsNow()
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	r := s.rng
	var d faultDraw
	d.latency = o.LatencyMin
	if o.LatencyMax > o.LatencyMin {
		d.latency += time.Duration(r.Int64N(int64(o.LatencyMax - o.LatencyMin + 1)))
	}
	if f.SlowRate > 0 && r.Float64() < f.SlowRate {
		d.latency += f.Slow
	}
	if f.Rate5xx > 0 && r.Float64() < f.Rate5xx {
		d.status5xx = []int{500, 502, 503, 504}[r.IntN(4)]
		d.phrase = strconv.Itoa(2+r.IntN(8)) + " " + pick(r, phraseAdjectives) + " " + pick(r, phraseNouns) +
			" " + pick(r, phraseVerbs) + " " + pick(r, phraseAdverbs)
		return d
	}
	if f.Rate429 > 0 && r.Float64() < f.Rate429 {
		d.extra429 = true
		return d
	}
	if f.RateDrop > 0 && r.Float64() < f.RateDrop {
		d.drop = true
	} else if f.RateTruncate > 0 && r.Float64() < f.RateTruncate {
		d.truncate = true
	}
	d.cut = 0.1 + 0.8*r.Float64()
	return d
}
