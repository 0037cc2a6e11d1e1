package asanatest

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// rawGet returns status and Retry-After without failing on errors.
func (c *tclient) rawGet(path string) (int, string) {
	req, _ := http.NewRequest("GET", testBase+apiPrefix+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Errorf("GET %s: %v", path, err)
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// checkWindow verifies that no request was admitted while the window
// already held rpm arrivals (rejected ones included), which also bounds
// admitted requests per window by rpm.
func checkWindow(t *testing.T, reqs []Request, rpm int, window time.Duration) (admitted, rejected int) {
	t.Helper()
	for i, r := range reqs {
		if r.Token == "" {
			continue
		}
		if r.Status == 429 {
			rejected++
			continue
		}
		admitted++
		arrivals, ok := 0, 0
		for _, o := range reqs {
			if o.Token != r.Token {
				continue
			}
			if d := r.Time.Sub(o.Time); d >= 0 && d < window {
				arrivals++
				if o.Status != 429 {
					ok++
				}
			}
		}
		if arrivals > rpm {
			t.Fatalf("request %d admitted with %d arrivals in the window (max %d)", i, arrivals, rpm)
		}
		if ok > rpm {
			t.Fatalf("%d admitted requests in one window (max %d)", ok, rpm)
		}
	}
	return admitted, rejected
}

func TestRateLimitRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 1, RPM: 10})
		for i := range 10 {
			if st, _ := c.rawGet("/users/me"); st != 200 {
				t.Fatalf("request %d: %d", i, st)
			}
		}
		time.Sleep(30 * time.Second)
		st, ra := c.rawGet("/users/me")
		if st != 429 || ra != "30" {
			t.Fatalf("over the limit: %d Retry-After %q, want 429 30", st, ra)
		}
		r := c.get("/users/me")
		if r.errMsg() != "You've made too many requests and hit a rate limit. Please retry after the given amount of time." {
			t.Errorf("429 message %q", r.errMsg())
		}
		time.Sleep(30 * time.Second)
		if st, _ := c.rawGet("/users/me"); st != 200 {
			t.Errorf("after Retry-After: %d, want 200", st)
		}
		// Another token has its own budget.
		id, secret, refresh := c.s.OAuthClient()
		tr := c.refresh(map[string][]string{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {refresh}})
		other := &tclient{t: t, s: c.s, hc: c.hc, token: tr.v["access_token"].(string)}
		for range 10 {
			if st, _ := other.rawGet("/users/me"); st != 200 {
				t.Fatalf("second token limited by the first: %d", st)
			}
		}
		checkWindow(t, c.s.Requests(), 10, time.Minute)
	})
}

// TestRateLimitRejectedCount: a client that ignores Retry-After keeps
// itself locked out, because rejected requests count.
func TestRateLimitRejectedCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 1, RPM: 5, Window: 10 * time.Second})
		for range 5 {
			c.rawGet("/users/me")
		}
		for i := range 40 { // one request per second for 40 s, all rejected
			time.Sleep(time.Second)
			if st, ra := c.rawGet("/users/me"); st != 429 {
				t.Fatalf("hammering request %d: %d (Retry-After %s)", i, st, ra)
			}
		}
		time.Sleep(10 * time.Second)
		if st, _ := c.rawGet("/users/me"); st != 200 {
			t.Errorf("after a quiet window: %d, want 200", st)
		}
		checkWindow(t, c.s.Requests(), 5, 10*time.Second)
	})
}

// TestRateLimitConcurrentClients: many goroutines, some honouring
// Retry-After, never exceed the window.
func TestRateLimitConcurrentClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rpm = 20
		window := 2 * time.Second
		c := newClient(t, Options{Seed: 1, RPM: rpm, Window: window, LatencyMin: 10 * time.Millisecond, LatencyMax: 90 * time.Millisecond})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 30 {
					st, ra := c.rawGet("/workspaces")
					if st == 429 {
						secs, err := strconv.Atoi(ra)
						if err != nil || secs < 1 {
							t.Errorf("Retry-After %q", ra)
							return
						}
						if g%2 == 0 {
							time.Sleep(time.Duration(secs) * time.Second)
						} else {
							time.Sleep(time.Duration(37*(i+g)%200) * time.Millisecond)
						}
					}
				}
			})
		}
		wg.Wait()
		admitted, rejected := checkWindow(t, c.s.Requests(), rpm, window)
		if admitted == 0 || rejected == 0 {
			t.Errorf("admitted %d, rejected %d: the test should exercise both", admitted, rejected)
		}
	})
}

func TestMaxInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 1, MaxInFlight: 2, LatencyMin: time.Second})
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				st, ra := c.rawGet("/users/me")
				mu.Lock()
				counts[st]++
				mu.Unlock()
				if st == 429 && ra != "1" {
					t.Errorf("in-flight 429 Retry-After %q", ra)
				}
			})
		}
		wg.Wait()
		if counts[200] != 2 || counts[429] != 3 {
			t.Errorf("statuses %v, want 2×200 and 3×429", counts)
		}
		if st, _ := c.rawGet("/users/me"); st != 200 {
			t.Errorf("after the burst: %d", st)
		}
	})
}

func TestRetryAfterRounding(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1001 * time.Millisecond, "2"}, {59500 * time.Millisecond, "60"}} {
		if got := retryAfter(tt.d).Get("Retry-After"); got != tt.want {
			t.Errorf("retryAfter(%v) = %s, want %s", tt.d, got, tt.want)
		}
	}
}
