package asanatest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestFault5xx(t *testing.T) {
	c := newClient(t, Options{Seed: 3, Faults: Faults{Rate5xx: 0.3}})
	counts := map[int]int{}
	for range 1000 {
		r := c.get("/users/me")
		counts[r.status]++
		if r.status >= 500 {
			es := r.v["errors"].([]any)[0].(map[string]any)
			_, hasPhrase := es["phrase"]
			if (r.status == 500) != hasPhrase {
				t.Errorf("status %d, phrase present %v", r.status, hasPhrase)
			}
		}
	}
	n5 := counts[500] + counts[502] + counts[503] + counts[504]
	if n5 < 240 || n5 > 360 || counts[200]+n5 != 1000 {
		t.Errorf("statuses %v, want about 30%% 5xx", counts)
	}
	for _, st := range []int{500, 502, 503, 504} {
		if counts[st] == 0 {
			t.Errorf("no %d", st)
		}
	}
	// Faults are reproducible from the seed.
	c2 := newClient(t, Options{Seed: 3, Faults: Faults{Rate5xx: 0.3}})
	c3 := newClient(t, Options{Seed: 3, Faults: Faults{Rate5xx: 0.3}})
	for i := range 50 {
		if a, b := c2.get("/users/me").status, c3.get("/users/me").status; a != b {
			t.Fatalf("request %d: %d vs %d with the same seed", i, a, b)
		}
	}
	// The token endpoint is not faulted.
	id, secret, refresh := c.s.OAuthClient()
	for range 20 {
		if r := c.refresh(map[string][]string{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {refresh}}); r.status != 200 {
			t.Fatalf("oauth_token faulted: %d", r.status)
		}
	}
}

func TestFaultDropInMemory(t *testing.T) {
	s := New(Options{Seed: 3, Faults: Faults{RateDrop: 1}})
	hc := &http.Client{Transport: s.Transport()}
	req, _ := http.NewRequest("GET", testBase+apiPrefix+"/workspaces/"+s.d.org.gid+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+s.PAT())
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a dropped body: err %v, want io.ErrUnexpectedEOF", err)
	}
	if resp.StatusCode != 200 || int64(len(b)) >= resp.ContentLength || len(b) == 0 {
		t.Errorf("status %d, read %d of Content-Length %d", resp.StatusCode, len(b), resp.ContentLength)
	}
}

func TestFaultDropOverSocket(t *testing.T) {
	srv := NewServer(Options{Seed: 3, Faults: Faults{RateDrop: 1}})
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+apiPrefix+"/workspaces/"+srv.d.org.gid+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+srv.PAT())
	resp, err := srv.Client().Do(req)
	if err != nil {
		return // dropped before the headers arrived: also a valid outcome
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("reading a dropped body over a socket succeeded")
	}
}

func TestFaultTruncate(t *testing.T) {
	c := newClient(t, Options{Seed: 3})
	s := New(Options{Seed: 3, Faults: Faults{RateTruncate: 1}})
	hc := &http.Client{Transport: s.Transport()}
	req, _ := http.NewRequest("GET", testBase+apiPrefix+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+s.PAT())
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || int64(len(b)) != resp.ContentLength {
		t.Fatalf("truncated response: %d, %d bytes, Content-Length %d, err %v", resp.StatusCode, len(b), resp.ContentLength, err)
	}
	if json.Valid(b) {
		t.Errorf("truncated body is valid JSON: %s", b)
	}
	if full := c.get("/users/me").body; !strings.HasPrefix(string(full), string(b)) || len(full) <= len(b) {
		t.Errorf("truncated body is not a prefix of the real one")
	}
}

func TestFaultExtra429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 3, RPM: 100, Faults: Faults{Rate429: 1}})
		for range 3 {
			if st, ra := c.rawGet("/users/me"); st != 429 || ra != "1" {
				t.Fatalf("extra 429: %d Retry-After %q", st, ra)
			}
		}
		// They count in the window.
		c.s.opts.Faults.Rate429 = 0
		for i := 0; i < 97; i++ {
			if st, _ := c.rawGet("/users/me"); st != 200 {
				t.Fatalf("request %d: %d", i, st)
			}
		}
		if st, _ := c.rawGet("/users/me"); st != 429 {
			t.Errorf("101st request in the window: %d, want 429", st)
		}
	})
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 3, LatencyMin: 100 * time.Millisecond, LatencyMax: 300 * time.Millisecond,
			Faults: Faults{SlowRate: 0.2, Slow: 5 * time.Second}})
		slow, fast := 0, 0
		for range 100 {
			start := time.Now()
			c.get("/users/me").must(t, 200)
			d := time.Since(start)
			switch {
			case d >= 100*time.Millisecond && d <= 300*time.Millisecond:
				fast++
			case d >= 5100*time.Millisecond && d <= 5300*time.Millisecond:
				slow++
			default:
				t.Fatalf("latency %v outside both ranges", d)
			}
		}
		if slow < 10 || slow > 30 {
			t.Errorf("%d slow responses of 100, want about 20", slow)
		}
		// A cancelled request ends the wait.
		ctx, cancel := contextWithTimeout(50 * time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", testBase+apiPrefix+"/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		if _, err := c.hc.Do(req); err == nil {
			t.Errorf("request outlived its context")
		}
	})
}
