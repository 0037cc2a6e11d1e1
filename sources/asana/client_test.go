package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testPAT = "2/1111111111111111/2222222222222222:0123456789abcdef0123456789abcdef"

// memTransport serves requests from a handler in memory, so that tests can
// run inside a synctest bubble where time is virtual.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func testConfig(base string) *Config {
	c := &Config{BaseURL: base, Credentials: Credentials{PersonalAccessToken: testPAT}}
	c.SetDefaults()
	return c
}

// newTestClient returns a client of a fresh limiter whose requests h serves.
func newTestClient(t *testing.T, cfg *Config, h http.Handler, log io.Writer) *Client {
	t.Helper()
	lim, err := NewLimiter(cfg.RequestsPerMinute, cfg.NumWorkers, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := New(cfg, Options{Transport: memTransport{h}, Limiter: lim, Logger: logger,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond, MaxRetries: 4})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func asanaError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"message": msg, "help": "see the docs"}}})
}

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		want   Kind
	}{
		{400, "offset: Your pagination token has expired.", KindStaleOffset},
		{400, "project: Not a Long", KindConfig},
		{401, "Not Authorized", KindConfig},
		{402, "Custom Fields are not available for free users or guests.", KindUnreadable},
		{403, "You do not have access to this project.", KindUnreadable},
		{404, "project: Unknown object: 1", KindUnreadable},
		{451, "Unavailable For Legal Reasons", KindUnreadable},
		{412, "Sync token invalid or too old.", KindSyncToken},
		{429, "You've made too many requests", KindTransient},
		{500, "Server Error", KindTransient},
		{503, "Service Unavailable", KindTransient},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if tc.status == 429 {
						w.Header().Set("Retry-After", "1")
					}
					asanaError(w, tc.status, tc.msg)
				})
				c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
				err := c.Get(context.Background(), "/projects/1", nil, &struct{}{})
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("Get = %v, want an *Error", err)
				}
				if ae.Kind != tc.want || ae.Status != tc.status || ae.Message != tc.msg {
					t.Errorf("Error = {%v %d %q}, want {%v %d %q}", ae.Kind, ae.Status, ae.Message, tc.want, tc.status, tc.msg)
				}
				wantCalls := int32(1)
				if tc.want == KindTransient {
					wantCalls = 5 // MaxRetries 4
				}
				if got := calls.Load(); got != wantCalls {
					t.Errorf("%d requests, want %d", got, wantCalls)
				}
			})
		})
	}
}

func TestRetryAfterHonouredByEveryRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var mu sync.Mutex
		var seen []time.Duration
		start := time.Now()
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, time.Since(start))
			mu.Unlock()
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "7")
				asanaError(w, 429, "You've made too many requests and hit a rate limit.")
				return
			}
			writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "1"}})
		})
		cfg := testConfig("https://app.asana.com")
		cfg.NumWorkers = 1
		c := newTestClient(t, cfg, h, nil)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if err := c.Get(context.Background(), "/users/me", nil, &struct{}{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// The first request is rejected at 0s; the other two, queued behind
		// it, and its retry may not start before 7s.
		if diff := cmp.Diff([]time.Duration{0, 7 * time.Second, 7 * time.Second, 7 * time.Second}, seen); diff != "" {
			t.Errorf("request times (-want +got):\n%s", diff)
		}
	})
}

func TestRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"500", func(w http.ResponseWriter) { asanaError(w, 500, "Server Error") }},
		{"502", func(w http.ResponseWriter) { asanaError(w, 502, "Bad Gateway") }},
		{"truncated JSON", func(w http.ResponseWriter) {
			w.WriteHeader(200)
			io.WriteString(w, `{"data":{"gid":"1","na`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if calls.Add(1) <= 2 {
						tc.fail(w)
						return
					}
					writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "1", "name": "ok"}})
				})
				var logs bytes.Buffer
				c := newTestClient(t, testConfig("https://app.asana.com"), h, &logs)
				var got struct{ Name string }
				if err := c.Get(context.Background(), "/projects/1", nil, &got); err != nil {
					t.Fatal(err)
				}
				if got.Name != "ok" || calls.Load() != 3 {
					t.Errorf("got %q after %d calls, want ok after 3", got.Name, calls.Load())
				}
				if n := strings.Count(logs.String(), "retrying Asana request"); n != 2 {
					t.Errorf("%d retry log lines, want 2:\n%s", n, logs.String())
				}
				if !strings.Contains(logs.String(), "request=\"GET /projects/1\"") {
					t.Errorf("retry log does not name the request:\n%s", logs.String())
				}
			})
		})
	}
}

// dropBody fails reading after some bytes, as a connection dropped mid-body.
type dropBody struct{ r io.Reader }

func (d dropBody) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
func (dropBody) Close() error { return nil }

type dropOnce struct {
	base    http.RoundTripper
	dropped atomic.Bool
}

func (d *dropOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(r)
	if err == nil && d.dropped.CompareAndSwap(false, true) {
		b, _ := io.ReadAll(resp.Body)
		resp.Body = dropBody{bytes.NewReader(b[:len(b)/2])}
	}
	return resp, err
}

func TestRetriesConnectionDroppedMidBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "1", "name": "ok"}})
		})
		cfg := testConfig("https://app.asana.com")
		lim, _ := NewLimiter(100, 10, 0)
		c, err := New(cfg, Options{Transport: &dropOnce{base: memTransport{h}}, Limiter: lim, RetryWaitMin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Name string }
		if err := c.Get(context.Background(), "/projects/1", nil, &got); err != nil || got.Name != "ok" {
			t.Fatalf("Get = %q, %v; want ok", got.Name, err)
		}
		if n := lim.Stats().Requests; n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

func TestContextCancelStopsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60") // within the longest wait
			asanaError(w, 429, "slow down")
		})
		c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := c.Get(ctx, "/users/me", nil, &struct{}{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("returned after %v, want 5s", d)
		}
	})
}

func TestTokenOnlyToAsanaHost(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.URL.Host] = r.Header.Get("Authorization")
		mu.Unlock()
		switch r.URL.Path {
		case "/api/1.0/users/me":
			http.Redirect(w, r, "https://elsewhere.example.com/api/1.0/users/me", http.StatusFound)
		case "/api/1.0/projects/1":
			http.Redirect(w, r, "/api/1.0/projects/2", http.StatusTemporaryRedirect)
		default:
			writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "2"}})
		}
	})
	c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
	// Within Asana's origin a redirect is followed, with the token.
	if err := c.Get(context.Background(), "/projects/1", nil, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	// To another origin it is refused, at once: the request is lost.
	err := c.Get(context.Background(), "/users/me", nil, &struct{}{})
	var ae *Error
	if !errors.As(err, &ae) || ae.Kind != KindTransient || ae.Attempts != 0 || !strings.Contains(err.Error(), "redirects to another origin (https://elsewhere.example.com") {
		t.Fatalf("Get = %v, want the request lost at once, naming the redirect", err)
	}
	want := map[string]string{"app.asana.com": "Bearer " + testPAT}
	if diff := cmp.Diff(want, auth); diff != "" {
		t.Errorf("Authorization per host (-want +got):\n%s", diff)
	}
}

func TestRetryAfterBeyondTheLongestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "999999999")
			asanaError(w, 429, "slow down")
		})
		c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
		start := time.Now()
		err := c.Get(context.Background(), "/users/me", nil, &struct{}{})
		var ae *Error
		if !errors.As(err, &ae) || ae.Kind != KindTransient || !strings.Contains(err.Error(), "longer than the longest wait of 5m0s") {
			t.Errorf("Get = %v, want a transient error naming the longest wait", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("returned after %v, want at once", d)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// oauthServer answers the token endpoint and API calls; access tokens
// expire after ttl seconds, or are revoked by rotating gen.
type oauthServer struct {
	mu        sync.Mutex
	issued    map[string]time.Time
	refreshes int
	revoked   bool
	grants    []url.Values
	ttl       int
}

func (s *oauthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/-/oauth_token" {
		_ = r.ParseForm()
		s.grants = append(s.grants, r.PostForm)
		if s.revoked || r.PostForm.Get("refresh_token") != "refresh-secret" || r.PostForm.Get("client_secret") != "client-secret" {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "refresh token is invalid"})
			return
		}
		s.refreshes++
		tok := fmt.Sprintf("access-%d", s.refreshes)
		s.issued[tok] = time.Now().Add(time.Duration(s.ttl) * time.Second)
		writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": s.ttl, "token_type": "bearer",
			"data": map[string]string{"id": "1", "name": "n", "email": "e@example.com"}})
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, ok := s.issued[tok]; !ok || time.Now().After(exp) {
		asanaError(w, 401, "Not Authorized")
		return
	}
	writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "1"}})
}

func oauthConfig() *Config {
	c := &Config{BaseURL: "https://app.asana.com", Credentials: Credentials{OptionTitle: OAuthCredentials,
		ClientID: "client-id", ClientSecret: "client-secret", RefreshToken: "refresh-secret"}}
	c.SetDefaults()
	return c
}

func TestOAuthRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &oauthServer{issued: map[string]time.Time{}, ttl: 3600}
		c := newTestClient(t, oauthConfig(), s, nil)
		get := func() error { return c.Get(context.Background(), "/users/me", nil, &struct{}{}) }
		if err := get(); err != nil {
			t.Fatal(err)
		}
		// Before expiry: the token is refreshed ahead of time, no 401 seen.
		time.Sleep(3590 * time.Second)
		if err := get(); err != nil {
			t.Fatal(err)
		}
		if s.refreshes != 2 {
			t.Errorf("%d refreshes, want 2 (one ahead of expiry)", s.refreshes)
		}
		// Asana revokes the access token early: refreshed once after the 401.
		s.mu.Lock()
		clear(s.issued)
		s.mu.Unlock()
		if err := get(); err != nil {
			t.Fatalf("after a 401: %v", err)
		}
		if s.refreshes != 3 {
			t.Errorf("%d refreshes, want 3", s.refreshes)
		}
		for i, g := range s.grants {
			if g.Get("grant_type") != "refresh_token" || g.Get("refresh_token") != "refresh-secret" || g.Get("client_id") != "client-id" {
				t.Errorf("grant %d = %v, want the refresh-token grant with the original refresh token", i, g)
			}
		}
		// A revoked refresh token fails with a config error, no retries.
		s.mu.Lock()
		clear(s.issued)
		s.revoked = true
		n := len(s.grants)
		s.mu.Unlock()
		err := get()
		var ae *Error
		if !errors.As(err, &ae) || ae.Kind != KindConfig || !strings.Contains(ae.Message, "invalid_grant") {
			t.Fatalf("with a revoked refresh token: %v, want a config error naming invalid_grant", err)
		}
		if len(s.grants) != n+1 {
			t.Errorf("%d token requests after revocation, want 1", len(s.grants)-n)
		}
		for _, secret := range []string{"refresh-secret", "client-secret", "access-"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals %q", err, secret)
			}
		}
	})
}

func TestPersonalTokenUnauthorizedIsFinal(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		asanaError(w, 401, "Not Authorized")
	})
	var logs bytes.Buffer
	c := newTestClient(t, testConfig("https://app.asana.com"), h, &logs)
	err := c.Get(context.Background(), "/users/me", nil, &struct{}{})
	var ae *Error
	if !errors.As(err, &ae) || ae.Kind != KindConfig || calls.Load() != 1 {
		t.Fatalf("Get = %v after %d calls, want one call and a config error", err, calls.Load())
	}
	if strings.Contains(err.Error()+logs.String(), testPAT) {
		t.Errorf("the token appears in the error or the logs")
	}
}

// pager serves n records in pages; the first offset it hands out expires
// after expireAfter uses when expireAfter > 0.
type pager struct {
	n       int
	mu      sync.Mutex
	queries []url.Values
	expire  map[string]bool
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := r.URL.Query()
	p.queries = append(p.queries, q)
	start := 0
	if off := q.Get("offset"); off != "" {
		if p.expire[off] {
			delete(p.expire, off)
			asanaError(w, 400, "offset: Your pagination token has expired.")
			return
		}
		fmt.Sscanf(off, "tok%d", &start)
	}
	limit := 100
	fmt.Sscanf(q.Get("limit"), "%d", &limit)
	end := min(p.n, start+limit)
	data := []map[string]string{}
	for i := start; i < end; i++ {
		data = append(data, map[string]string{"gid": fmt.Sprint(1000 + i), "name": fmt.Sprintf("task %d", i)})
	}
	var next any
	if end < p.n {
		next = map[string]string{"offset": fmt.Sprintf("tok%d", end), "path": "/tasks?offset=x", "uri": "https://x"}
	}
	writeJSON(w, 200, map[string]any{"data": data, "next_page": next})
}

func TestListPaginates(t *testing.T) {
	for _, tc := range []struct {
		n         int
		expire    []string
		wantPages int
		restarts  int
	}{
		{0, nil, 1, 0},
		{1, nil, 1, 0},
		{100, nil, 1, 0},
		{101, nil, 2, 0},
		{250, nil, 3, 0},
		{250, []string{"tok200"}, 2 + 1 + 3, 1}, // two pages, the stale one, three again
	} {
		t.Run(fmt.Sprintf("%d records, expire %v", tc.n, tc.expire), func(t *testing.T) {
			p := &pager{n: tc.n, expire: map[string]bool{}}
			for _, e := range tc.expire {
				p.expire[e] = true
			}
			c := newTestClient(t, testConfig("https://app.asana.com"), p, nil)
			var gids []string
			st, err := c.List(context.Background(), "/tasks", url.Values{"project": {"7"}, "opt_fields": {"name,notes"}},
				func(recs []json.RawMessage) error {
					for _, r := range recs {
						var v struct{ GID string }
						json.Unmarshal(r, &v)
						gids = append(gids, v.GID)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range tc.n {
				want = append(want, fmt.Sprint(1000+i))
			}
			if diff := cmp.Diff(want, gids); diff != "" {
				t.Errorf("gids (-want +got):\n%s", diff)
			}
			want2 := ListStats{Pages: tc.wantPages, Records: tc.n, Restarts: tc.restarts}
			if diff := cmp.Diff(want2, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			for _, q := range p.queries {
				if q.Get("limit") != "100" || q.Get("opt_fields") != "name,notes" || q.Get("project") != "7" {
					t.Errorf("query %v lacks limit=100, opt_fields or the filter", q)
				}
			}
		})
	}
}

func TestListStopsOnCallbackError(t *testing.T) {
	p := &pager{n: 300}
	c := newTestClient(t, testConfig("https://app.asana.com"), p, nil)
	stop := errors.New("stop")
	_, err := c.List(context.Background(), "/tasks", nil, func([]json.RawMessage) error { return stop })
	if err != stop || len(p.queries) != 1 {
		t.Errorf("List = %v after %d pages, want the callback's error after 1", err, len(p.queries))
	}
}

func TestEventsSyncToken(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sync") == "" {
			writeJSON(w, 412, map[string]any{"errors": []map[string]string{{"message": "Sync token invalid or too old."}}, "sync": "s1"})
			return
		}
		writeJSON(w, 200, map[string]any{"data": []map[string]string{{"action": "changed"}}, "sync": "s2", "has_more": true})
	})
	c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
	_, err := c.Events(context.Background(), "42", "", nil)
	var ae *Error
	if !errors.As(err, &ae) || ae.Kind != KindSyncToken || ae.Sync != "s1" {
		t.Fatalf("first Events = %v, want a sync-token error carrying s1", err)
	}
	p, err := c.Events(context.Background(), "42", ae.Sync, nil)
	if err != nil || len(p.Events) != 1 || p.Sync != "s2" || !p.HasMore {
		t.Errorf("Events = %+v, %v", p, err)
	}
}

// TestTimeoutStartsWhenSent: a request that waits for the limiter longer
// than the timeout (a free plan's window) is not timed out: the timeout
// bounds an attempt from its sending, not its wait for a slot.
func TestTimeoutStartsWhenSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			writeJSON(w, 200, map[string]any{"data": map[string]string{"gid": "1"}})
		})
		cfg := testConfig("https://app.asana.com")
		lim, err := NewLimiter(1, 1, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg, Options{Transport: memTransport{h}, Limiter: lim, Timeout: time.Second, MaxRetries: 2})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for i := range 3 {
			if err := c.Get(context.Background(), "/users/me", nil, &struct{}{}); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if got := calls.Load(); got != 3 {
			t.Errorf("the server saw %d requests, want 3 (no retries)", got)
		}
		if took := time.Since(start); took < 2*time.Minute {
			t.Errorf("three requests at one per minute took %s", took)
		}
	})
}

// TestSlowResponseTimesOut: an attempt that gets no response within the
// timeout fails as a transient error that says so, after its retries.
func TestSlowResponseTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Hour):
			}
		})
		c, err := New(testConfig("https://app.asana.com"), Options{Transport: ctxTransport{memTransport{h}}, Timeout: time.Second,
			Limiter: mustLimiter(t), MaxRetries: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Get(context.Background(), "/users/me", nil, &struct{}{})
		var ae *Error
		if !errors.As(err, &ae) || ae.Kind != KindTransient || !strings.Contains(err.Error(), "no response within the timeout of 1s") {
			t.Fatalf("error = %v; want a transient error naming the timeout", err)
		}
	})
}

func mustLimiter(t *testing.T) *Limiter {
	l, err := NewLimiter(1000, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ctxTransport fails a request whose context ends before the handler
// answers, as a network transport does.
type ctxTransport struct{ next http.RoundTripper }

func (c ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.next.RoundTrip(r)
		done <- result{resp, err}
	}()
	select {
	case res := <-done:
		return res.resp, res.err
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// TestListHalvesPagesOverTheBodyLimit: a page of large records over the
// body limit is asked for again with fewer records, and the listing is
// whole.
func TestListHalvesPagesOverTheBodyLimit(t *testing.T) {
	big := strings.Repeat("x", MaxBodyBytes/40) // 40 records are over the limit
	var limits []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limits = append(limits, r.URL.Query().Get("limit"))
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		start, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		data := []map[string]string{}
		for i := start; i < min(start+n, 60); i++ {
			data = append(data, map[string]string{"gid": fmt.Sprint(1000 + i), "notes": big})
		}
		var next any
		if start+n < 60 {
			next = map[string]string{"offset": fmt.Sprint(start + n)}
		}
		writeJSON(w, 200, map[string]any{"data": data, "next_page": next})
	})
	c := newTestClient(t, testConfig("https://app.asana.com"), h, nil)
	got := 0
	_, err := c.List(context.Background(), "/tasks", url.Values{"project": {"1"}}, func(recs []json.RawMessage) error {
		got += len(recs)
		return nil
	})
	if err != nil || got != 60 {
		t.Fatalf("List = %d records, %v; want 60", got, err)
	}
	if diff := cmp.Diff([]string{"100", "50", "25", "25", "25"}, limits); diff != "" {
		t.Errorf("limits asked (-want +got):\n%s", diff)
	}
}
