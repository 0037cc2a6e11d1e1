package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// Targets of issue 7, written next to the figures.
const (
	targetRequests = 1.05   // requests ≤ 1.05 × floor
	targetWall     = 1.10   // wall ≤ 1.10 × floor time
	targetSink     = 50_000 // records/s/core into each sink
	// targetRSS is how much the large read's peak RSS may exceed the
	// medium read's at the same cap (issue 12, item 5).
	targetRSS = 1.5
)

// runResult is one read of a simulated account at one cap.
type runResult struct {
	Size  string
	RPM   int
	Scale float64
	// Window and the durations below are in real (scaled) time; multiply
	// by Scale for Asana's.
	Window time.Duration

	Floor           int // asanatest's RequestFloor
	AirbyteManifest int // Airbyte's requests as its manifest reads
	AirbyteUnion    int // with the two cross products read as unions
	Requests        int
	Throttled       int           // 429s
	ThrottledWins   int           // distinct windows (from the start) with a 429
	Consecutive429  bool          // 429s in two consecutive windows
	After429        time.Duration // the longest time from a 429 to the next request
	Retries         int           // the connector's retries, as its log tells
	Timeouts        int           // of which attempts that ran out of the client's timeout
	LoadBefore      float64       // the machine's load average (1 min) at the start
	LoadAfter       float64       // and at the end
	MostInWindow    int           // the most requests in any sliding window

	Wall      time.Duration
	FloorTime floorTimes

	Records, Expected, Missing int // Missing: expected records not emitted
	Deduplicated               int // records of the streams that may repeat, and tasks (claimed)
	CPU                        float64
	MaxRSS                     int64 // bytes, the connector's own (see peakRSS)
	RSSSampled                 bool  // MaxRSS is the sampled VmHWM

	// Where the time went, in real time: until the first window's budget
	// was spent (the cap-th request, or the last), from then to the last
	// response, and from the last response to the exit; each with its
	// floor, and the cores the connector kept busy (NaN: not sampled).
	Ramp, RampFloor, Middle, MiddleFloor, Finish time.Duration
	RampCores, MiddleCores, FinishCores          float64
	RampInFlight, MiddleInFlight                 float64 // requests in flight on average
	// Pause is the longest time without a request while the window had
	// budget left (fewer than the cap less num_workers requests in it).
	Pause time.Duration

	arrivals []time.Duration // of each request, since the start
	throttle []time.Duration // of each 429
}

func (r *runResult) requestRatio() float64 { return float64(r.Requests) / float64(r.Floor) }
func (r *runResult) wallRatio() float64    { return r.Wall.Seconds() / r.FloorTime.floor().Seconds() }
func (r *runResult) sustained429() bool {
	return r.Consecutive429 || float64(r.Throttled) > 0.01*float64(r.Requests)
}
func (r *runResult) unscaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * r.Scale)
}

// reportCmd runs the benchmark and writes BENCHMARKS.md and benchmarks.svg.
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	out := fs.String("out", ".", "directory to write BENCHMARKS.md and benchmarks.svg into")
	sizesFlag := fs.String("sizes", "small,medium,large", "simulated accounts, comma-separated")
	capsFlag := fs.String("caps", "1500,150", "requests per minute, comma-separated")
	scalesFlag := fs.String("scales", "", "time scale of runs, SIZE/CAP=F comma-separated (e.g. large/150=800); the others get the default")
	target := fs.Duration("target", 30*time.Second, "default scale: make each run's floor time about this long in real time")
	maxRate := fs.Float64("max-rate", 2000, "default scale: no run faster than this many requests per real second")
	maxScale := fs.Float64("max-scale", 400, "default scale: at most this (the client's per-attempt timeout, a minute, shrinks with it)")
	speed := fs.Float64("speed", 1, "multiply every default scale by this (higher is quicker and less faithful)")
	workers := fs.Int("workers", 10, "num_workers")
	source := fs.String("source", "", "the source-asana binary; empty builds ./cmd/source-asana into a temporary directory")
	sinkSize := fs.String("sink-size", "medium", "simulated account whose records the sink benchmark writes")
	chartSize := fs.String("chart-size", "medium", "the runs drawn in benchmarks.svg")
	fs.Parse(args)

	sizes := strings.Split(*sizesFlag, ",")
	for _, s := range sizes {
		if !slices.Contains(asanatest.Sizes(), s) {
			return fmt.Errorf("--sizes: unknown size %q", s)
		}
	}
	var caps []int
	for _, c := range strings.Split(*capsFlag, ",") {
		n, err := strconv.Atoi(c)
		if err != nil || n <= 0 {
			return fmt.Errorf("--caps: %q", c)
		}
		caps = append(caps, n)
	}
	scales := map[string]float64{}
	if *scalesFlag != "" {
		for _, kv := range strings.Split(*scalesFlag, ",") {
			k, v, _ := strings.Cut(kv, "=")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return fmt.Errorf("--scales: %q", kv)
			}
			scales[k] = f
		}
	}
	tmp, err := os.MkdirTemp("", "asana-bench-report")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *source == "" {
		*source = filepath.Join(tmp, "source-asana")
		fmt.Fprintln(os.Stderr, "building source-asana")
		build := exec.Command("go", "build", "-o", *source, "./cmd/source-asana")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/source-asana (run report from the repository's root, or give --source): %w", err)
		}
	}

	// The commit measured, before the report writes benchmarks.svg (which
	// would make the tree look changed).
	commit := gitCommit()
	began := time.Now()
	var runs []*runResult
	var failed []failedRun
	for _, size := range sizes {
		for _, rpm := range caps {
			scale, ok := scales[fmt.Sprintf("%s/%d", size, rpm)]
			if !ok {
				scale = defaultScale(size, rpm, *workers, *target, *maxRate, *maxScale) * *speed
			}
			res, err := benchRun(&simFlags{size: size, rpm: rpm, scale: scale, workers: *workers}, *source, tmp)
			if err != nil {
				// The other runs go on; the report says this one failed.
				fmt.Fprintf(os.Stderr, "failed: %v\n", err)
				failed = append(failed, failedRun{size, rpm, scale, err.Error()})
				continue
			}
			runs = append(runs, res)
		}
	}

	fmt.Fprintf(os.Stderr, "sinks: records of a %s account\n", *sinkSize)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sinkCmd := exec.Command(self, "sinks", "--json", "--size", *sinkSize)
	sinkCmd.Stderr = os.Stderr
	b, err := sinkCmd.Output()
	if err != nil {
		return fmt.Errorf("asana-bench sinks: %w", err)
	}
	var sinkResults []sinkResult
	if err := json.Unmarshal(b, &sinkResults); err != nil {
		return fmt.Errorf("asana-bench sinks: %w", err)
	}

	var chart []*runResult
	for _, r := range runs {
		if r.Size == *chartSize {
			chart = append(chart, r)
		}
	}
	if len(chart) == 0 && len(runs) > 0 {
		chart = runs[:1]
	}
	rep := &report{scaleRule: fmt.Sprintf("the floor time in Asana time divided by %s, at most %s requests per real second "+
		"(a factor of at most %s × 60 / the cap) and at most %g (the client's per-attempt timeout, a minute, shrinks with the window), "+
		"rounded down to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten", target.String(), thousands(int(*maxRate)),
		thousands(int(*maxRate)), *maxScale), runs: runs, failed: failed, sinks: sinkResults, sinkSize: *sinkSize, chart: chart, took: time.Since(began),
		command: "go run ./cmd/asana-bench report " + strings.Join(args, " "), workers: *workers, commit: commit}
	if err := os.WriteFile(filepath.Join(*out, "benchmarks.svg"), drawChart(chart), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "BENCHMARKS.md"), rep.markdown(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s in %s\n", filepath.Join(*out, "BENCHMARKS.md"), filepath.Join(*out, "benchmarks.svg"),
		time.Since(began).Round(time.Second))
	if len(failed) > 0 {
		return fmt.Errorf("%d run(s) failed (BENCHMARKS.md says which)", len(failed))
	}
	return nil
}

// failedRun is a run that ended in an error.
type failedRun struct {
	Size  string
	RPM   int
	Scale float64
	Err   string
}

// defaultScale is the time scale of a run: its floor time about target in
// real time, but no faster than maxRate requests per real second (past
// which the run measures the machine's CPU rather than the limiter), no
// more than maxScale (the client scales its per-attempt timeout, a minute,
// with the window: at ÷800 it is 75 ms of real time, which a busy machine's
// slow responses exceed), and never slower than Asana. It is rounded down
// to a round number.
func defaultScale(size string, rpm, workers int, target time.Duration, maxRate, maxScale float64) float64 {
	acct := asanatest.New(asanatest.Options{Seed: 1, Size: size, ServiceAccount: true}).Account()
	ft := floorTimesOf(acct.RequestFloor(acct.OrganizationExports()), rpm, time.Minute, workers, 200*time.Millisecond)
	s := ft.floor().Seconds() / target.Seconds()
	s = min(s, maxRate*60/float64(rpm), maxScale)
	return roundScale(max(1, s))
}

// roundScale rounds down to 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of
// ten.
func roundScale(s float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(s)))
	best := p
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
		if m*p <= s*(1+1e-9) {
			best = m * p
		}
	}
	return best
}

// benchRun reads a simulated account with source-asana in a process of its
// own and measures the run.
func benchRun(o *simFlags, source, tmp string) (*runResult, error) {
	r, err := o.start()
	if err != nil {
		return nil, err
	}
	defer r.close()
	logPath := filepath.Join(tmp, fmt.Sprintf("%s-%d.log", o.size, o.rpm))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	ft := r.floorTimes()
	loadBefore := loadAverage()
	fmt.Fprintf(os.Stderr, "%s account, %d/min, time ÷%g (window %s): floor time %s ... ",
		o.size, o.rpm, o.scale, r.window, ft.floor().Round(100*time.Millisecond))
	res, err := r.read(source, logFile)
	if err != nil {
		logFile.Close()
		tail, _ := os.ReadFile(logPath)
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return nil, fmt.Errorf("%w; its stderr ends:\n%s", err, tail)
	}
	floor := r.acct.RequestFloor(r.exports)
	run := &runResult{
		Size: o.size, RPM: o.rpm, Scale: o.scale, Window: r.window,
		Floor:           floor,
		AirbyteManifest: sumCounts(airbyteRequests(r.acct, len(r.exports), false)),
		AirbyteUnion:    sumCounts(airbyteRequests(r.acct, len(r.exports), true)),
		Requests:        len(res.reqs),
		Throttled:       asanatest.Throttled(res.reqs),
		MostInWindow:    asanatest.MostInWindow(asanatest.Arrivals(res.reqs), r.window),
		Wall:            res.wall,
		FloorTime:       ft,
		Records:         res.records,
		CPU:             cpuSeconds(res.usage),
		MaxRSS:          res.peak.Bytes,
		RSSSampled:      res.peak.Sampled,
		LoadBefore:      loadBefore,
		LoadAfter:       loadAverage(),
	}
	logFile.Close()
	if log, err := os.ReadFile(logPath); err == nil {
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, `msg="retrying Asana request"`) {
				run.Retries++
				if strings.Contains(line, "Timeout exceeded") || strings.Contains(line, "deadline exceeded") {
					run.Timeouts++
				}
			}
		}
	}
	wins := map[int64]bool{}
	for _, q := range res.reqs {
		at := q.Time.Sub(res.start)
		run.arrivals = append(run.arrivals, at)
		if q.Status == 429 {
			run.throttle = append(run.throttle, at)
			wins[int64(at/r.window)] = true
		}
	}
	run.ThrottledWins = len(wins)
	for w := range wins {
		run.Consecutive429 = run.Consecutive429 || wins[w+1]
	}
	var lastEnd time.Duration
	for _, q := range res.reqs {
		lastEnd = max(lastEnd, q.Time.Sub(res.start)+q.Duration)
	}
	sorted := slices.Clone(run.arrivals)
	slices.Sort(sorted)
	if k := min(o.rpm, len(sorted)); k > 0 {
		run.Ramp = sorted[k-1]
		run.RampFloor = floorTimesOf(min(o.rpm, floor), o.rpm, r.window, o.workers, r.lat(200*time.Millisecond)).floor()
	}
	for _, t := range run.throttle {
		if i, _ := slices.BinarySearch(sorted, t+1); i < len(sorted) {
			run.After429 = max(run.After429, sorted[i]-t)
		}
	}
	run.Middle = max(0, lastEnd-run.Ramp)
	run.MiddleFloor = max(0, ft.floor()-run.RampFloor)
	run.Finish = max(0, res.wall-lastEnd)
	run.RampCores = cpuBetween(res.cpu, 0, run.Ramp)
	run.MiddleCores = cpuBetween(res.cpu, run.Ramp, lastEnd)
	run.FinishCores = cpuBetween(res.cpu, lastEnd, res.wall)
	inFlight := func(from, to time.Duration) float64 {
		if to <= from {
			return math.NaN()
		}
		var busy time.Duration
		for _, q := range res.reqs {
			a := q.Time.Sub(res.start)
			busy += max(0, min(to, a+q.Duration)-max(from, a))
		}
		return busy.Seconds() / (to - from).Seconds()
	}
	for i := 1; i < len(sorted); i++ {
		a := sorted[i-1]
		j, _ := slices.BinarySearch(sorted, a-r.window+1)
		if i-j < o.rpm-o.workers {
			run.Pause = max(run.Pause, sorted[i]-a)
		}
	}
	run.RampInFlight = inFlight(0, run.Ramp)
	run.MiddleInFlight = inFlight(run.Ramp, lastEnd)
	for stream, keys := range r.acct.Expected(r.exports) {
		run.Expected += len(keys)
		for _, k := range keys {
			if res.got[stream][k] == 0 {
				run.Missing++
			}
		}
	}
	for _, s := range asana.Streams() {
		// Tasks are not deduplicated by record but by claim: every listing
		// that finds one claims it, and a shuffle of claims fetches the
		// ones no owner delivered.
		if s.MayRepeat || s.Name == "tasks" {
			for _, c := range res.got[s.Name] {
				run.Deduplicated += c
			}
		}
	}
	fmt.Fprintf(os.Stderr, "%d requests (floor %d) in %s (%.2f× floor time), %d 429s, %.1f CPU s, %.0f MiB\n",
		run.Requests, floor, run.Wall.Round(100*time.Millisecond), run.wallRatio(), run.Throttled, run.CPU, mib(run.MaxRSS))
	return run, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// report is what BENCHMARKS.md says.
type report struct {
	scaleRule string
	runs      []*runResult
	failed    []failedRun
	sinks     []sinkResult
	sinkSize  string
	chart     []*runResult
	took      time.Duration
	command   string
	workers   int
	commit    string // " at commit X", from gitCommit
}

func metMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// human writes a duration of Asana's time the way people say it.
func human(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (rep *report) markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `%s` (from the repository's root) on %s%s, %s/%s with %d cores, %s; %s in all. ",
		strings.TrimSpace(rep.command), time.Now().UTC().Format("2006-01-02"), rep.commit, runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.Version(), rep.took.Round(time.Second))
	p("Do not edit: run it again. `--help` lists its flags (sizes, caps, scales).\n\n")
	p("Every run is a full Airbyte read of all 20 streams (`source-asana read`, Beam's Prism runner, in a process of its own) "+
		"against the project's Asana simulator (`sources/asana/asanatest`, seed 1, a service account) serving a generated account "+
		"over a loopback socket, with Asana's rate limit (a sliding window, 429s included in the count) and latency of 100-300 ms, "+
		"and %d requests in flight. Time is scaled: the window (a minute) and the latency are divided by the run's factor, so the "+
		"ratios between the cap, the latency and the requests in flight hold; times marked *Asana time* are multiplied back. "+
		"The factor of each run is in the Time table; unless `--scales` names it, it is %s.\n\n", rep.workers, rep.scaleRule)

	p("## Targets\n\n| target | result |\n|---|---|\n")
	var reqOK, wallOK, r429OK = true, true, true
	for _, r := range rep.runs {
		reqOK = reqOK && r.requestRatio() <= targetRequests
		wallOK = wallOK && r.wallRatio() <= targetWall
		r429OK = r429OK && !r.sustained429()
	}
	failedNote := ""
	if len(rep.failed) > 0 {
		reqOK, wallOK, r429OK = false, false, false
		failedNote = fmt.Sprintf(" (%d run(s) failed)", len(rep.failed))
	}
	p("| requests ≤ %.2f × floor, every run | %s%s |\n", targetRequests, metMissed(reqOK), failedNote)
	p("| wall ≤ %.2f × floor time at both caps, every run | %s%s |\n", targetWall, metMissed(wallOK), failedNote)
	p("| no sustained 429s | %s%s |\n", metMissed(r429OK), failedNote)
	rssOK, rssText := rep.rssVerdict()
	p("| peak RSS of the large read ≤ %.1f × the medium read's, at each cap | %s |\n", targetRSS, metMissed(rssOK))
	for _, s := range rep.sinks {
		p("| ≥ %s records/s/core into %s | %s |\n", thousands(targetSink), sinkName(s.Sink), metMissed(s.perCore() >= targetSink))
	}
	for _, f := range rep.failed {
		msg := f.Err
		if len(msg) > 600 {
			msg = msg[:300] + " … " + msg[len(msg)-300:]
		}
		p("\n**The %s account at %s/min (time ÷%g) failed**, so it has no figures below: `%s`\n", f.Size, thousands(f.RPM), f.Scale,
			strings.ReplaceAll(strings.ReplaceAll(msg, "`", "'"), "\n", " "))
	}
	for _, r := range rep.runs {
		if r.Missing > 0 {
			p("\n**The %s account at %d/min lost records: %d of %d expected were not emitted; its figures measure an incomplete read.**\n",
				r.Size, r.RPM, r.Missing, r.Expected)
		}
	}

	p("\n## Requests\n\n")
	p("| account | cap /min | floor | made | made / floor | Airbyte, as its manifest reads | made / that | Airbyte, products as unions | made / that | ≤ %.2f × floor |\n", targetRequests)
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.runs {
		p("| %s | %s | %s | %s | %.3f | %s | %.4f | %s | %.3f | %s |\n", r.Size, thousands(r.RPM), thousands(r.Floor), thousands(r.Requests),
			r.requestRatio(), thousands(r.AirbyteManifest), float64(r.Requests)/float64(r.AirbyteManifest),
			thousands(r.AirbyteUnion), float64(r.Requests)/float64(r.AirbyteUnion), metMissed(r.requestRatio() <= targetRequests))
	}
	p("\n- **floor**: `asanatest`'s `RequestFloor`, the fewest requests a full sync can make: per parent listing one page per 100 " +
		"children (at least one request), one events request per project, one per configured organization export.\n")
	p("- **Airbyte**: the requests Airbyte's `source-asana` (manifest 6.48.15) would make for the same account, counted from the " +
		"account (`cmd/asana-bench/airbyte.go`): pages of 100; one list per parent record; one GET per section, story, attachment " +
		"and portfolio; streams without `use_cache` (users, teams, portfolios_compact, portfolios) requested again each time they " +
		"are read as a parent; a repeated request of a cached stream counted once; portfolios_compact crossing workspaces × users. " +
		"*As its manifest reads*, attachments and events cross projects × tasks (a CDK cartesian product whose shared `parent_gid` " +
		"takes one side): every project's attachments are fetched again for each task, and every task's events are asked once per " +
		"project. *As unions*, they read projects ∪ tasks, what the manifest means: that column is the fair comparison, the other a " +
		"bug of Airbyte's. Airbyte reads less for either count: no subtasks, no tasks outside projects.\n")

	p("\n## Time\n\n")
	p("| account | cap /min | time ÷ | window | wall | floor time | wall / floor time | wall, Asana time | floor time, Asana time | 429s | busiest window / cap | retries (timeouts) | load before → after | ≤ %.2f × floor time, no sustained 429s |\n", targetWall)
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.runs {
		p("| %s | %s | %g | %s | %.1f s | %.1f s | %.2f | %s | %s | %d | %s / %s | %d (%d) | %.1f → %.1f | %s |\n", r.Size, thousands(r.RPM), r.Scale, r.Window.Round(time.Millisecond),
			r.Wall.Seconds(), r.FloorTime.floor().Seconds(), r.wallRatio(), human(r.unscaled(r.Wall)), human(r.unscaled(r.FloorTime.floor())),
			r.Throttled, thousands(r.MostInWindow), thousands(r.RPM), r.Retries, r.Timeouts, r.LoadBefore, r.LoadAfter,
			metMissed(r.wallRatio() <= targetWall && !r.sustained429()))
	}
	p("\n- **floor time**: the least time the cap and the requests in flight allow for the floor's *F* requests. Asana "+
		"counts a sliding window, so a window's budget may be spent at once, and a request may only come once the one *cap* "+
		"requests before it has left the window: request *i* (from 0) arrives no earlier than ⌊*i* / cap⌋ windows. So "+
		"*k* = ⌈*F* / cap⌉ − 1 whole windows pass before the last window's *F* − *k* × cap requests may start, and those take "+
		"at least their number × 200 ms (the mean latency) / %d (num_workers). Floor time = *k* windows + that. (The cap alone "+
		"gives the *k* windows; with *F* ≤ cap the floor is the requests in flight only.)", rep.workers)
	p("\n- **wall**: from starting `source-asana read` to its exit, process start-up included.\n")
	p("- **429s**: the requests the simulator answered 429. They are *sustained* when they come in two consecutive windows " +
		"(counted from the start) or exceed 1%% of the requests; the target wants none sustained.\n")
	p("- **retries (timeouts)**: the retries the connector logged, and of them the attempts that ran out of the client's " +
		"per-attempt timeout (a minute, divided by the factor like the window).\n")
	p("- **load**: the machine's load average over the last minute (/proc/loadavg) when the run started and ended; other " +
		"work on the machine slows the connector's computing, not the simulated waits.\n")
	p("- **busiest window**: the most requests the simulator received in any sliding window, what Asana's limit counts.\n")

	p("\n### Where the time went\n\n")
	p("In real seconds: until the first window's budget was spent (the cap's worth of requests, or all of them), from then "+
		"to the last response, and from the last response to the connector's exit; each against its floor, with the requests "+
		"in flight on average (of %d) and the cores the connector kept busy (its CPU time sampled from /proc every 100 ms); "+
		"and the longest time without a request while the window had budget left (fewer than the cap less num_workers "+
		"requests in it), when nothing but the connector held requests back.\n\n", rep.workers)
	p("| account | cap /min | first window: took | floor | in flight | cores | then to the last response: took | floor | in flight | cores | after the last response | cores | longest pause with budget left |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.runs {
		p("| %s | %s | %.1f s | %.1f s | %s | %s | %.1f s | %.1f s | %s | %s | %.1f s | %s | %.2f s |\n", r.Size, thousands(r.RPM),
			r.Ramp.Seconds(), r.RampFloor.Seconds(), coresCell(r.RampInFlight), coresCell(r.RampCores),
			r.Middle.Seconds(), r.MiddleFloor.Seconds(), coresCell(r.MiddleInFlight), coresCell(r.MiddleCores),
			r.Finish.Seconds(), coresCell(r.FinishCores), r.Pause.Seconds())
	}

	p("\n## CPU and memory of the connector\n\n")
	p("| account | cap /min | records | CPU s | CPU s per 10,000 records | peak RSS | peak RSS per 10,000 records | share of %d cores busy |\n", runtime.NumCPU())
	p("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.runs {
		mark := ""
		if r.RSSSampled {
			mark = " †"
		}
		p("| %s | %s | %s | %.1f | %.2f | %.0f MiB%s | %.1f MiB | %.0f%% |\n", r.Size, thousands(r.RPM), thousands(r.Records), r.CPU,
			r.CPU/float64(r.Records)*1e4, mib(r.MaxRSS), mark, mib(r.MaxRSS)/float64(r.Records)*1e4,
			100*r.CPU/r.Wall.Seconds()/float64(runtime.NumCPU()))
	}
	p("\nCPU is the user and system time of the `source-asana` process, from `wait4`'s rusage; the simulator runs in " +
		"`asana-bench`, outside these figures. Peak RSS is the connector's own peak resident set: the rusage's `ru_maxrss` " +
		"when it exceeds asana-bench's own peak at the time the connector started, and otherwise (marked †) the highest " +
		"`VmHWM` of the connector read from /proc every 100 ms, which misses at most what it grew in its last 100 ms. On " +
		"Linux a child's `ru_maxrss` is never lower than the peak of the process that started it (Go starts a child with " +
		"vfork semantics, and exec folds the peak of the address space it leaves into the child's), and asana-bench holds " +
		"the simulator, which grows with the account and with each run of a report: taken alone, rusage reported asana-bench's " +
		"peak, not the connector's (1,599 MiB for a large read at 150/min whose own peak was under 200 MiB). Records are the " +
		"RECORD messages emitted (compact twins included). The last column is the connector's CPU over the wall time and " +
		"the cores.\n\n")
	p("%s\n", rssText)

	p("\n## Sinks alone\n\n")
	p("Records of the %s account (each object's full record from the simulator, cut to its stream's top-level fields, as "+
		"the connector's `opt_fields` ask) written in `asana-bench sinks`, a process of its own, with no source: into the "+
		"Airbyte writer (`sinks/airbyte`, RECORD lines to /dev/null) and into the Parquet writer (`sinks/parquet`, one file "+
		"per stream, one record a `Write` as the Beam transform does, zstd, counted but not stored). Per core is per CPU "+
		"second of the process, garbage collection included.\n\n", rep.sinkSize)
	p("| sink | records | records/s/core | records/s (wall) | JSON in, B/record | out, B/record | ≥ %s records/s/core |\n", thousands(targetSink))
	p("|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range rep.sinks {
		p("| %s | %s | %s | %s | %.0f | %.0f | %s |\n", sinkName(s.Sink), thousands(s.Records), thousands(int(s.perCore())),
			thousands(int(float64(s.Records)/s.Wall)), float64(s.InBytes)/float64(s.Records), float64(s.OutBytes)/float64(s.Records),
			metMissed(s.perCore() >= targetSink))
	}

	if len(rep.chart) > 0 {
		p("\n## The limiter against the cap\n\n![requests per second against the cap](benchmarks.svg)\n\n")
		p("Requests per second of the %s account's runs, in Asana time, as the simulator saw them arrive: bars per bin, the "+
			"line the requests of the trailing window (a minute) per second, which is what Asana limits, the dashed line the cap, "+
			"red marks the 429s. A window's budget may be spent at once, so bars rise above the cap while the trailing minute "+
			"stays under it.\n", rep.chart[0].Size)
	}

	p("\n## Why\n\n")
	for _, w := range rep.why() {
		p("- %s\n", w)
	}
	return b.Bytes()
}

func sinkName(s string) string {
	switch s {
	case "airbyte":
		return "Airbyte stdout"
	case "parquet":
		return "Parquet"
	}
	return s
}

// rssVerdict compares, at each cap, the peak RSS of the read with the most
// records (the large account) with the medium account's (or, without one,
// the next smaller account's).
func (rep *report) rssVerdict() (bool, string) {
	byCap := map[int][]*runResult{}
	var caps []int
	for _, r := range rep.runs {
		if byCap[r.RPM] == nil {
			caps = append(caps, r.RPM)
		}
		byCap[r.RPM] = append(byCap[r.RPM], r)
	}
	ok, text := true, ""
	for _, c := range caps {
		rs := byCap[c]
		hi := rs[0]
		for _, r := range rs {
			if r.Records > hi.Records {
				hi = r
			}
		}
		var mid *runResult
		for _, r := range rs {
			switch {
			case r == hi || r.Records >= hi.Records:
			case r.Size == "medium":
				mid = r
			case mid == nil || mid.Size != "medium" && r.Records > mid.Records:
				mid = r
			}
		}
		if mid == nil {
			continue
		}
		ratio := float64(hi.MaxRSS) / float64(max(1, mid.MaxRSS))
		met := ratio <= targetRSS
		ok = ok && met
		text += fmt.Sprintf("At %s/min the %s read's peak RSS was %.0f MiB (%s records), the %s read's %.0f MiB (%s records): %.2f×, %s. ",
			thousands(c), hi.Size, mib(hi.MaxRSS), thousands(hi.Records), mid.Size, mib(mid.MaxRSS), thousands(mid.Records),
			ratio, metMissed(met))
	}
	if text == "" {
		text = "One account size only: RSS growth not measured."
	}
	return ok, strings.TrimSpace(text)
}

// why explains the targets missed, from the measurements.
func (rep *report) why() []string {
	var out []string
	for _, r := range rep.runs {
		if r.requestRatio() > targetRequests {
			out = append(out, fmt.Sprintf("Requests, %s account at %s/min: %s made, %.3f × the floor.",
				r.Size, thousands(r.RPM), thousands(r.Requests), r.requestRatio()))
		}
	}
	for _, r := range rep.runs {
		if r.wallRatio() <= targetWall && !r.sustained429() {
			continue
		}
		over := r.Wall - r.FloorTime.floor()
		s := fmt.Sprintf("Wall, %s account at %s/min (time ÷%g): %.1f s over its floor time of %.1f s (%s in Asana time). ",
			r.Size, thousands(r.RPM), r.Scale, over.Seconds(), r.FloorTime.floor().Seconds(), human(r.unscaled(over)))
		s += fmt.Sprintf("%+.1f s of it came before the first window's budget (%s requests) was spent, which took %.1f s against a floor of %.1f s%s%s; ",
			(r.Ramp - r.RampFloor).Seconds(), thousands(min(r.RPM, r.Requests)), r.Ramp.Seconds(), r.RampFloor.Seconds(),
			inFlightText(r.RampInFlight, rep.workers), cores(r.RampCores))
		s += fmt.Sprintf("%+.1f s between then and the last response (%.1f s against %.1f s%s%s); ",
			(r.Middle - r.MiddleFloor).Seconds(), r.Middle.Seconds(), r.MiddleFloor.Seconds(),
			inFlightText(r.MiddleInFlight, rep.workers), cores(r.MiddleCores))
		s += fmt.Sprintf("%+.1f s after the last response, until the connector exited%s.", r.Finish.Seconds(), cores(r.FinishCores))
		if r.Pause > over/10 {
			s += fmt.Sprintf(" Once it sent no request for %.2f s with budget left.", r.Pause.Seconds())
		}
		if r.Throttled > 0 {
			s += fmt.Sprintf(" It received %d 429s in %d windows; after one, %.2f s passed before the next request (the "+
				"simulator's Retry-After is in whole real seconds, at least 1, whatever the factor).",
				r.Throttled, r.ThrottledWins, r.After429.Seconds())
		}
		if r.Timeouts > 0 {
			s += fmt.Sprintf(" %d attempts ran out of the client's per-attempt timeout of %s (a minute ÷%g) and were retried.",
				r.Timeouts, (r.Window).Round(time.Millisecond), r.Scale)
		}
		if r.MostInWindow > r.RPM {
			s += fmt.Sprintf(" Its busiest window held %s requests, over the cap.", thousands(r.MostInWindow))
		}
		out = append(out, s)
	}
	if rep.wallMissed() {
		out = append(out, "Only the time spent waiting on the rate limit and the latency shrinks with a run's time scale; "+
			"the connector's computing (start-up, decoding and shuffling records, deduplication, writing) takes the same real "+
			"seconds at any scale, so each of those seconds counts the scale's factor in Asana time and weighs more in runs "+
			"with a large factor. Where the requests lagged their floor with fewer than num_workers in flight and the "+
			"connector near a core or more busy, it was short of CPU; with few in flight and the cores idle, it had too "+
			"few requests ready to send.")
	}
	if ok, _ := rep.rssVerdict(); !ok {
		out = append(out, "Peak RSS grows with the account. Of a large read's at 1,500/min (measured alone, with /proc and "+
			"the runtime's metrics): about 58 MiB are the binary's own pages (RssFile), the same for every account; the live "+
			"heap is about 25 MiB through the Tasks level and peaks at about 31 MiB from the Projects level to the Subtasks "+
			"level, whose single bundles keep every task's sightings in the lifted combiners until they end (a number and a "+
			"byte a task); the garbage collector's headroom over the live heap (GOGC=50 in source-asana) comes on top.")
	}
	for _, s := range rep.sinks {
		if s.perCore() < targetSink {
			out = append(out, fmt.Sprintf("%s: %s records/s/core, %.0f B of JSON per record.", sinkName(s.Sink),
				thousands(int(s.perCore())), float64(s.InBytes)/float64(s.Records)))
		}
	}
	if len(out) == 0 {
		out = append(out, "Every target is met.")
	}
	return out
}

func (rep *report) wallMissed() bool {
	for _, r := range rep.runs {
		if r.wallRatio() > targetWall {
			return true
		}
	}
	return false
}

// cores says how busy the connector kept the machine.
func cores(c float64) string {
	if math.IsNaN(c) {
		return ""
	}
	return fmt.Sprintf(", the connector using %.2f cores", c)
}

func coresCell(c float64) string {
	if math.IsNaN(c) {
		return "–"
	}
	return fmt.Sprintf("%.2f", c)
}

func inFlightText(n float64, workers int) string {
	if math.IsNaN(n) {
		return ""
	}
	return fmt.Sprintf(" with %.1f of %d requests in flight on average", n, workers)
}

// gitCommit names the commit measured, if git knows it.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := " at commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// loadAverage is the machine's load average over the last minute, or NaN.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return math.NaN()
	}
	return f
}
