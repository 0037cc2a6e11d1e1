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

// printFloor prints the requests of a run and its wall time against their
// floors.
func printFloor(r *simRun, reqs []asanatest.Request, wall time.Duration) {
	requests, throttled := len(reqs), asanatest.Throttled(reqs)
	floor := r.acct.RequestFloor(r.exports)
	// The least time the cap allows: a window's budget at once, the rest at
	// the cap; and no less than the floor's requests take at num_workers in
	// flight with the mean latency.
	capTime := time.Duration(max(0, float64(floor-r.rpm)/float64(r.rpm)) * float64(r.window))
	flightTime := time.Duration(float64(floor) * float64(r.lat(200*time.Millisecond)) / float64(r.workers))
	floorTime := max(capTime, flightTime)
	fmt.Printf("\nrequests %d, floor %d (%.3f×); 429s %d\n", requests, floor, float64(requests)/float64(floor), throttled)
	fmt.Printf("floor time: cap %s, requests in flight %s\n", capTime.Round(time.Millisecond), flightTime.Round(time.Millisecond))
	fmt.Printf("wall %s, floor time %s (%.2f×); unscaled: wall %s, floor time %s\n",
		wall.Round(time.Millisecond), floorTime.Round(time.Millisecond), wall.Seconds()/floorTime.Seconds(),
		time.Duration(float64(wall)*r.scale).Round(time.Second), time.Duration(float64(floorTime)*r.scale).Round(time.Second))
}
