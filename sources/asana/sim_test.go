package asana_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// simClient returns a client of sim reached in memory (so that it works in
// a synctest bubble), with its own limiter.
func simClient(t *testing.T, sim *asanatest.Sim, cfg *asana.Config, log *bytes.Buffer) *asana.Client {
	t.Helper()
	cfg.BaseURL = "https://app.asana.com"
	cfg.SetDefaults()
	lim, err := asana.NewLimiter(cfg.RequestsPerMinute, cfg.NumWorkers, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := asana.New(cfg, asana.Options{Transport: sim.Transport(), Limiter: lim, Logger: logger,
		RetryWaitMin: 50 * time.Millisecond, RetryWaitMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func patConfig(sim *asanatest.Sim) *asana.Config {
	return &asana.Config{Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(sim.PAT())}}
}

// listGIDs lists a collection and returns its gids and records.
func listGIDs(t *testing.T, c *asana.Client, path string, q url.Values) ([]string, []map[string]any) {
	t.Helper()
	var gids []string
	var recs []map[string]any
	_, err := c.List(context.Background(), path, q, func(page []json.RawMessage) error {
		for _, r := range page {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				return err
			}
			gids = append(gids, m["gid"].(string))
			recs = append(recs, m)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s %v: %v", path, q, err)
	}
	return gids, recs
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestListEveryProjectsTasks pages through every project's tasks with the
// tasks stream's opt_fields and compares with the simulator's truth.
func TestListEveryProjectsTasks(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 7, Size: "small"})
	c := simClient(t, sim, patConfig(sim), nil)
	acct := sim.Account()
	st, _ := asana.StreamByName("tasks")
	pages := 0
	for _, ws := range acct.GIDs("workspace") {
		for _, p := range acct.Projects(ws) {
			want := acct.ProjectTasks(p)
			gids, recs := listGIDs(t, c, "/tasks", url.Values{"project": {p}, "opt_fields": {st.OptFields}})
			if diff := cmp.Diff(sorted(want), sorted(gids)); diff != "" {
				t.Errorf("tasks of project %s (-want +got):\n%s", p, diff)
			}
			pages += max(1, (len(want)+99)/100)
			for _, r := range recs {
				for k := range r {
					if k != "gid" && !strings.Contains(","+st.OptFields+",", ","+k) {
						t.Fatalf("record has %q, which was not asked for", k)
					}
				}
				truth := acct.Object(r["gid"].(string))
				for _, k := range []string{"name", "notes", "completed", "modified_at", "num_subtasks", "assignee", "memberships"} {
					if !cmp.Equal(truth[k], r[k]) {
						t.Fatalf("task %s field %s = %v, simulator holds %v", r["gid"], k, r[k], truth[k])
					}
				}
			}
		}
	}
	if got := len(sim.Requests()); got != pages {
		t.Errorf("%d requests for %d pages: the paginator asks for more than it needs", got, pages)
	}
}

// TestLimiterHoldsTheSimulatorsCap drives the client as hard as it goes for
// several virtual minutes against a simulator that enforces Asana's
// limits, and counts at the simulator.
func TestLimiterHoldsTheSimulatorsCap(t *testing.T) {
	for _, tc := range []struct {
		rpm, workers int
		latMin       time.Duration
		latMax       time.Duration
	}{
		{1500, 10, 100 * time.Millisecond, 100 * time.Millisecond},
		// 45, not 50: at Asana's own limit of 50 GETs in flight a request
		// the client has finished may still count at the server for an
		// instant, and a rare 429 follows (it costs only its Retry-After).
		{1500, 45, 100 * time.Millisecond, 300 * time.Millisecond},
		{150, 10, 100 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%d per minute, %d workers", tc.rpm, tc.workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := asanatest.New(asanatest.Options{Seed: 3, Size: "tiny", RPM: tc.rpm, LatencyMin: tc.latMin, LatencyMax: tc.latMax})
				cfg := patConfig(sim)
				cfg.RequestsPerMinute, cfg.NumWorkers = tc.rpm, tc.workers
				c := simClient(t, sim, cfg, nil)
				const run = 4 * time.Minute
				start := time.Now()
				var wg sync.WaitGroup
				for range tc.workers * 2 {
					wg.Go(func() {
						for time.Since(start) < run {
							if err := c.Get(context.Background(), "/users/me", nil, &struct{}{}); err != nil {
								t.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				reqs := sim.Requests()
				var steady int
				for _, r := range reqs {
					if r.Time.Sub(start) >= time.Minute && r.Time.Sub(start) < 3*time.Minute {
						steady++
					}
				}
				if throttled := asanatest.Throttled(reqs); throttled != 0 {
					t.Errorf("%d requests were answered 429", throttled)
				}
				if got := asanatest.MostInWindow(asanatest.Arrivals(reqs), time.Minute); got > tc.rpm {
					t.Errorf("%d requests arrived within one minute, cap %d", got, tc.rpm)
				}
				perSecond := float64(steady) / 120
				want := float64(tc.rpm) / 60
				t.Logf("%d requests in %v; steady %.2f/s against a cap of %.2f/s", len(reqs), run, perSecond, want)
				if perSecond < 0.97*want {
					t.Errorf("steady rate %.2f/s, want within 3%% of the cap %.2f/s", perSecond, want)
				}
			})
		})
	}
}

// TestAnotherClientSharesTheToken: 429s arrive although the client keeps
// its own count; it honours each Retry-After and lowers its budget.
func TestAnotherClientSharesTheToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := asanatest.New(asanatest.Options{Seed: 5, Size: "tiny", RPM: 150, LatencyMin: 100 * time.Millisecond, LatencyMax: 100 * time.Millisecond})
		cfg := patConfig(sim)
		cfg.RequestsPerMinute = 150
		c := simClient(t, sim, cfg, nil)
		other := simClient(t, sim, patConfig(sim), nil) // unaware of the first
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { // the other client spends 60 of the budget at once
			for range 60 {
				other.Get(ctx, "/users/me", nil, &struct{}{})
			}
		})
		done := 0
		for range 200 {
			if err := c.Get(ctx, "/users/me", nil, &struct{}{}); err != nil {
				t.Fatalf("after %d requests: %v", done, err)
			}
			done++
		}
		wg.Wait()
		st := c.Limiter().Stats()
		if st.Throttled == 0 || st.Limit >= 150 {
			t.Errorf("limiter stats %+v: want 429s seen and the budget lowered", st)
		}
		// The rejected requests count in Asana's window: the two clients
		// together must not be rejected over and over.
		if rejected := asanatest.Throttled(sim.Requests()); rejected > 20 {
			t.Errorf("%d requests rejected: the client keeps tripping the limit", rejected)
		}
	})
}

// TestOAuthRefreshMidListing lists a large collection with access tokens
// that expire every few seconds.
func TestOAuthRefreshMidListing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := asanatest.New(asanatest.Options{Seed: 11, Size: "small", AccessTokenTTL: 20 * time.Second,
			LatencyMin: 2 * time.Second, LatencyMax: 4 * time.Second})
		id, secret, refresh := sim.OAuthClient()
		cfg := &asana.Config{Credentials: asana.Credentials{OptionTitle: asana.OAuthCredentials,
			ClientID: asana.Secret(id), ClientSecret: asana.Secret(secret), RefreshToken: asana.Secret(refresh)}}
		var logs bytes.Buffer
		c := simClient(t, sim, cfg, &logs)
		acct := sim.Account()
		ws := acct.Organization()
		want := acct.WorkspaceUsers(ws)
		for _, p := range acct.Projects(ws) {
			gids, _ := listGIDs(t, c, "/tasks", url.Values{"project": {p}, "opt_fields": {"name"}})
			if diff := cmp.Diff(sorted(acct.ProjectTasks(p)), sorted(gids)); diff != "" {
				t.Fatalf("tasks of %s (-want +got):\n%s", p, diff)
			}
		}
		gids, _ := listGIDs(t, c, "/users", url.Values{"workspace": {ws}})
		if diff := cmp.Diff(sorted(want), sorted(gids)); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		grants := 0
		for _, r := range sim.Requests() {
			if r.Path == "/-/oauth_token" {
				grants++
			}
		}
		if grants < 3 {
			t.Errorf("%d token grants over a listing of several minutes with 20s tokens; want refreshes", grants)
		}
		for _, s := range []string{id, secret, refresh} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("a credential appears in the logs")
			}
		}
	})
}

// TestFaultsAreRetriedAndSecretsStayOut lists under 5xx, dropped and
// truncated responses; every record arrives once and the logs, which name
// each retry, hold no token.
func TestFaultsAreRetriedAndSecretsStayOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := asanatest.New(asanatest.Options{Seed: 13, Size: "small",
			Faults: asanatest.Faults{Rate5xx: 0.1, RateDrop: 0.1, RateTruncate: 0.1, Rate429: 0.05}})
		var logs bytes.Buffer
		c := simClient(t, sim, patConfig(sim), &logs)
		acct := sim.Account()
		for _, p := range acct.Projects(acct.Organization()) {
			gids, _ := listGIDs(t, c, "/tasks", url.Values{"project": {p}, "opt_fields": {"name,notes"}})
			if diff := cmp.Diff(sorted(acct.ProjectTasks(p)), sorted(gids)); diff != "" {
				t.Fatalf("tasks of %s (-want +got):\n%s", p, diff)
			}
		}
		if !strings.Contains(logs.String(), "retrying Asana request") {
			t.Errorf("no retry was logged")
		}
		if strings.Contains(logs.String(), sim.PAT()) {
			t.Errorf("the token appears in the logs")
		}
	})
}
