// Command asana-bench measures asana-beam against the Asana simulator.
//
//	asana-bench limiter --rpm 1500 --latency 100ms --duration 3m
//	asana-bench read --size medium --rpm 1500 --scale 10
//	asana-bench export --size medium --rpm 1500 --scale 10
//	asana-bench sinks --size medium
//	asana-bench report
//
// limiter drives the client as hard as it goes (every worker listing a
// project's tasks, page after page) against a simulator that enforces the
// same cap over real sockets and in real time, and prints the requests per
// second it sustained, the 429s it received, and the most requests the
// simulator counted within any sliding minute.
//
// read runs a full sync with the source-asana binary (--source) against a
// simulated account and compares it with the account: per stream records
// expected, emitted and duplicated; requests made against the floor; wall
// time against the floor time; 429s; the connector's peak RSS. Time is
// scaled: the cap is multiplied and the latency (100-300 ms) divided by
// --scale, so the ratios hold while the run fits a few minutes.
//
// sinks writes the records of a simulated account, made up front, into the
// Airbyte writer and the Parquet writer alone and prints their records per
// second per core.
//
// report, run from the repository's root, does it all for the small,
// medium and large accounts at 1,500 and 150 requests per minute, each read
// in a process of its own with a time scale that fits it in a minute or
// two, adds the requests Airbyte's connector would make and the sinks'
// throughput, and writes BENCHMARKS.md and benchmarks.svg (--out).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

func main() {
	commands := map[string]func([]string) error{"read": readCmd, "export": exportCmd, "sinks": sinksCmd, "report": reportCmd}
	if len(os.Args) >= 2 && commands[os.Args[1]] != nil {
		if err := commands[os.Args[1]](os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "asana-bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "limiter" {
		help := len(os.Args) == 2 && (os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "-help" || os.Args[1] == "help")
		fmt.Fprintln(os.Stderr, "usage: asana-bench limiter [--rpm N] [--latency D[-D]] [--duration D] [--workers N] [--size S]")
		fmt.Fprintln(os.Stderr, "       asana-bench read [--size S] [--rpm N] [--scale F] [--source PATH]")
		fmt.Fprintln(os.Stderr, "       asana-bench export [--size S] [--rpm N] [--scale F] [--export PATH]")
		fmt.Fprintln(os.Stderr, "       asana-bench sinks [--size S] [--json]")
		fmt.Fprintln(os.Stderr, "       asana-bench report [--out DIR] [--sizes S,S] [--caps N,N] [--scales SIZE/CAP=F,...] [--speed X] [--source PATH]")
		if help {
			os.Exit(0)
		}
		os.Exit(2)
	}
	fs := flag.NewFlagSet("limiter", flag.ExitOnError)
	rpm := fs.Int("rpm", 1500, "the token's cap, requests per minute, at the simulator and in the client")
	latency := fs.String("latency", "100ms", "simulated latency, D or MIN-MAX")
	duration := fs.Duration("duration", 3*time.Minute, "how long to run")
	workers := fs.Int("workers", 10, "num_workers: requests in flight")
	size := fs.String("size", "medium", "simulated account: tiny, small, medium, large")
	fs.Parse(os.Args[2:])
	if err := limiter(*rpm, *latency, *duration, *workers, *size); err != nil {
		fmt.Fprintln(os.Stderr, "asana-bench:", err)
		os.Exit(1)
	}
}

func parseLatency(s string) (time.Duration, time.Duration, error) {
	lo, hi, found := strings.Cut(s, "-")
	a, err := time.ParseDuration(lo)
	if err != nil {
		return 0, 0, fmt.Errorf("--latency: %w", err)
	}
	if !found {
		return a, a, nil
	}
	b, err := time.ParseDuration(hi)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("--latency: want MIN-MAX with MIN ≤ MAX, got %q", s)
	}
	return a, b, nil
}

func limiter(rpm int, latency string, duration time.Duration, workers int, size string) error {
	lo, hi, err := parseLatency(latency)
	if err != nil {
		return err
	}
	srv := asanatest.NewServer(asanatest.Options{Seed: 1, Size: size, RPM: rpm, LatencyMin: lo, LatencyMax: hi})
	defer srv.Close()
	cfg := asana.NewConfig(asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())})
	cfg.BaseURL = srv.URL
	if rpm > 0 {
		cfg.RequestsPerMinute = rpm
	}
	if workers > 0 {
		cfg.NumWorkers = workers
	}
	c, err := asana.New(cfg, asana.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	acct := srv.Account()
	var projects []string
	for _, ws := range acct.GIDs("workspace") {
		projects = append(projects, acct.Projects(ws)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	start := time.Now()
	fmt.Printf("simulator: %s account, cap %d/min, latency %s; client: %d workers, %d/min; running %s\n",
		size, rpm, latency, workers, rpm, duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				p := projects[i%len(projects)]
				c.List(ctx, "/tasks", url.Values{"project": {p}, "opt_fields": {"name"}}, func([]json.RawMessage) error { return nil })
			}
		})
	}
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			reqs := srv.Requests()
			fmt.Printf("  %5.0fs: %6d requests, %5.2f/s overall\n", time.Since(start).Seconds(), len(reqs), float64(len(reqs))/time.Since(start).Seconds())
		}
	}
	wg.Wait()
	reqs := srv.Requests()
	steady := 0
	for _, r := range reqs {
		if r.Time.Sub(start) >= time.Minute {
			steady++
		}
	}
	throttled := asanatest.Throttled(reqs)
	most := asanatest.MostInWindow(asanatest.Arrivals(reqs), time.Minute)
	st := c.Limiter().Stats()
	elapsed := time.Since(start)
	fmt.Printf("requests %d in %s; after the first minute %.2f/s (cap %.2f/s); 429s %d; most in any sliding minute %d (cap %d); limiter wait %s\n",
		len(reqs), elapsed.Round(time.Second), float64(steady)/(elapsed-time.Minute).Seconds(), float64(rpm)/60,
		throttled, most, rpm, st.Waited.Round(time.Second))
	return nil
}
