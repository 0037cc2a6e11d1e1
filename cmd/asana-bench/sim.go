package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// simFlags are the flags of a run against a simulated account.
type simFlags struct {
	size    string
	rpm     int
	scale   float64
	workers int
}

func addSimFlags(fs *flag.FlagSet) *simFlags {
	o := &simFlags{}
	fs.StringVar(&o.size, "size", "small", "simulated account: tiny, small, medium, large")
	fs.IntVar(&o.rpm, "rpm", 1500, "the token's cap per minute: 1500 (paid) or 150 (free)")
	fs.Float64Var(&o.scale, "scale", 10, "time scale: the rate-limit window (a minute) and the latency (100-300 ms) are divided by it")
	fs.IntVar(&o.workers, "workers", 10, "num_workers")
	return o
}

// simRun is a simulated account served for one run, with a config file
// for it.
type simRun struct {
	*simFlags
	srv     *asanatest.Server
	acct    *asanatest.Account
	exports []string
	window  time.Duration
	lat     func(time.Duration) time.Duration
	dir     string // temporary directory of the run
	config  string // path of the connector config
}

func (o *simFlags) start() (*simRun, error) {
	r := &simRun{simFlags: o}
	r.lat = func(d time.Duration) time.Duration { return time.Duration(float64(d) / o.scale) }
	r.window = r.lat(time.Minute)
	r.srv = asanatest.NewServer(asanatest.Options{Seed: 1, Size: o.size, ServiceAccount: true, RPM: o.rpm, Window: r.window,
		LatencyMin: r.lat(100 * time.Millisecond), LatencyMax: r.lat(300 * time.Millisecond)})
	r.acct = r.srv.Account()
	r.exports = r.acct.OrganizationExports()
	dir, err := os.MkdirTemp("", "asana-bench")
	if err != nil {
		r.srv.Close()
		return nil, err
	}
	r.dir = dir
	r.config = filepath.Join(dir, "config.json")
	writeJSON(r.config, map[string]any{"credentials": map[string]any{"personal_access_token": r.srv.PAT()},
		"base_url": r.srv.URL, "requests_per_minute": o.rpm, "num_workers": o.workers, "organization_export_ids": r.exports})
	return r, nil
}

func (r *simRun) describe(what string) {
	fmt.Printf("%s: %s account, cap %d per minute, %d workers; time scaled ÷%g: window %s, latency %s-%s\n",
		what, r.size, r.rpm, r.workers, r.scale, r.window, r.lat(100*time.Millisecond), r.lat(300*time.Millisecond))
}

func (r *simRun) close() {
	r.srv.Close()
	os.RemoveAll(r.dir)
}

// floorTimes are the least time a number of requests can take, in two
// parts: the whole windows the cap makes them wait, and the requests of the
// last window at num_workers in flight.
type floorTimes struct {
	windows time.Duration
	last    time.Duration
}

// floor is the least time.
func (f floorTimes) floor() time.Duration { return f.windows + f.last }

// floorTimesOf returns the floor times of n requests against a cap of rpm
// requests in any sliding window, with workers in flight at a time taking
// meanLatency each. Asana counts a sliding window: a window's budget may be
// spent at once, and a request may only come once the request rpm before
// it has left the window, so request i (from 0) arrives no earlier than
// ⌊i/rpm⌋ windows: k = ⌈n/rpm⌉ − 1 windows pass before the last window's
// n − k·rpm requests may start, and they take at least their number ×
// meanLatency / workers.
func floorTimesOf(n, rpm int, window time.Duration, workers int, meanLatency time.Duration) floorTimes {
	k := max(0, (n+rpm-1)/rpm-1)
	return floorTimes{
		windows: time.Duration(k) * window,
		last:    time.Duration(float64(n-k*rpm) * float64(meanLatency) / float64(workers)),
	}
}

// floorTimes of the run's request floor.
func (r *simRun) floorTimes() floorTimes {
	return floorTimesOf(r.acct.RequestFloor(r.exports), r.rpm, r.window, r.workers, r.lat(200*time.Millisecond))
}

// printFloor prints the requests of a run and its wall time against their
// floors.
func printFloor(r *simRun, reqs []asanatest.Request, wall time.Duration) {
	requests, throttled := len(reqs), asanatest.Throttled(reqs)
	floor := r.acct.RequestFloor(r.exports)
	ft := r.floorTimes()
	floorTime := ft.floor()
	fmt.Printf("\nrequests %d, floor %d (%.3f×); 429s %d\n", requests, floor, float64(requests)/float64(floor), throttled)
	fmt.Printf("floor time: %s of windows, then %s for the last window's requests in flight\n", ft.windows.Round(time.Millisecond), ft.last.Round(time.Millisecond))
	fmt.Printf("wall %s, floor time %s (%.2f×); unscaled: wall %s, floor time %s\n",
		wall.Round(time.Millisecond), floorTime.Round(time.Millisecond), wall.Seconds()/floorTime.Seconds(),
		time.Duration(float64(wall)*r.scale).Round(time.Second), time.Duration(float64(floorTime)*r.scale).Round(time.Second))
}
