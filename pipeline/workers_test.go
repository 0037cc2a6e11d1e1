package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

func TestWorkerConfig(t *testing.T) {
	for _, tc := range []struct {
		rpm, inFlight, workers int
		wantRPM, wantInFlight  int
	}{
		{1500, 10, 0, 1500, 10},
		{1500, 10, 1, 1500, 10},
		{1500, 10, 4, 375, 2},
		{150, 50, 4, 37, 12},
		{150, 10, 10, 15, 1},
		{150, 50, 50, 3, 1},
		{1500, 50, 7, 214, 7}, // 7 x 214 = 1498: the remainder is left unused
	} {
		got := WorkerConfig(asana.Config{RequestsPerMinute: tc.rpm, NumWorkers: tc.inFlight}, tc.workers)
		if got.RequestsPerMinute != tc.wantRPM || got.NumWorkers != tc.wantInFlight {
			t.Errorf("WorkerConfig(%d/min, %d in flight, %d workers) = %d/min, %d in flight; want %d, %d",
				tc.rpm, tc.inFlight, tc.workers, got.RequestsPerMinute, got.NumWorkers, tc.wantRPM, tc.wantInFlight)
		}
	}
}

func TestCheckWorkers(t *testing.T) {
	for _, tc := range []struct {
		rpm, inFlight, workers int
		want                   string // the error, "" for none
	}{
		{1500, 10, 0, ""},
		{150, 10, 1, ""},
		{150, 10, 10, ""},
		{150, 50, 200, "200 worker processes cannot share the token's requests_per_minute of 150, as each needs at least 1: allow at most 150 processes"},
		{1500, 10, 11, "11 worker processes cannot share the token's num_workers of 10 requests in flight, as each needs at least 1: allow at most 10 processes, or raise num_workers in the config (at most 50)"},
	} {
		err := CheckWorkers(asana.Config{RequestsPerMinute: tc.rpm, NumWorkers: tc.inFlight}, tc.workers)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckWorkers(%d/min, %d in flight, %d workers)\n got %q\nwant %q", tc.rpm, tc.inFlight, tc.workers, got, tc.want)
		}
	}
}

// TestWorkerSharesStayUnderTheCaps: for every split CheckWorkers accepts,
// the processes' shares together stay within the token's requests per
// minute and requests in flight, each share at least 1; and a split is
// refused only when a share would be less than 1.
func TestWorkerSharesStayUnderTheCaps(t *testing.T) {
	rpms := []int{1, 2, 3, 7, 10, 49, 50, 51, 99, 100, 149, 150, 151, 299, 1000, 1499, 1500, 1501, 9999}
	accepted, refused := 0, 0
	for _, rpm := range rpms {
		for inFlight := 1; inFlight <= asana.MaxNumWorkers; inFlight++ {
			for workers := 0; workers <= 210; workers++ {
				cfg := asana.Config{RequestsPerMinute: rpm, NumWorkers: inFlight}
				processes := max(1, workers)
				if err := CheckWorkers(cfg, workers); err != nil {
					refused++
					if processes <= rpm && processes <= inFlight {
						t.Errorf("CheckWorkers(%d/min, %d in flight, %d workers) refused a split that leaves each at least 1: %v", rpm, inFlight, workers, err)
					}
					continue
				}
				accepted++
				got := WorkerConfig(cfg, workers)
				if got.RequestsPerMinute < 1 || got.NumWorkers < 1 {
					t.Errorf("WorkerConfig(%d/min, %d in flight, %d workers) = %d/min, %d in flight: a process needs at least 1 of each",
						rpm, inFlight, workers, got.RequestsPerMinute, got.NumWorkers)
				}
				if sum := processes * got.RequestsPerMinute; sum > rpm {
					t.Errorf("%d processes of %d/min each = %d/min: over the token's %d", processes, got.RequestsPerMinute, sum, rpm)
				}
				if sum := processes * got.NumWorkers; sum > inFlight {
					t.Errorf("%d processes of %d in flight each = %d: over the token's %d", processes, got.NumWorkers, sum, inFlight)
				}
			}
		}
	}
	t.Logf("%d splits accepted, each within the caps; %d refused", accepted, refused)
}

// workerEnv tells a re-executed test binary to act as one worker process
// of TestWorkersShareTheTokensCap.
const workerEnv = "ASANA_BEAM_TEST_WORKER"

// TestWorkersShareTheTokensCap runs several worker processes, each an
// ExpandFn set up as a remote runner sets it up (Workers = the number of
// processes), against one simulator with a paid plan's cap, and counts at
// the simulator that the token's cap held: no sliding window over the cap,
// and no 429. Time is scaled: a 3 s window stands for a minute. The rate
// they reached is logged, not asserted: it is a speed.
func TestWorkersShareTheTokensCap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 12 s")
	}
	const (
		workers = 4
		rpm     = 1500
		window  = 3 * time.Second
		runFor  = 4 * window
	)
	srv := asanatest.NewServer(asanatest.Options{Seed: 7, Size: "medium", RPM: rpm, Window: window,
		LatencyMin: 5 * time.Millisecond, LatencyMax: 15 * time.Millisecond})
	defer srv.Close()
	acct := srv.Account()
	var tasks []string
	for _, ws := range acct.GIDs("workspace") {
		for _, p := range acct.Projects(ws) {
			tasks = append(tasks, acct.ProjectTasks(p)...)
		}
	}
	cfg := asana.Config{BaseURL: srv.URL, RequestsPerMinute: rpm, NumWorkers: 40,
		Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())}}
	cfg.SetDefaults()
	cfgJSON, err := json.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	var wg sync.WaitGroup
	outputs := make([]string, workers)
	for i := range workers {
		var share []string
		for j := i; j < len(tasks); j += workers {
			share = append(share, tasks[j])
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), workerEnv+"=1",
			CredentialsEnv+"="+cfg.Credentials.EnvValue(),
			"WORKER_CONFIG="+string(cfgJSON),
			"WORKER_COUNT="+strconv.Itoa(workers),
			"WORKER_WINDOW="+window.String(),
			"WORKER_RUN_FOR="+runFor.String(),
			"WORKER_TASKS="+strings.Join(share, ","))
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			outputs[i] = string(out)
			if err != nil {
				t.Errorf("worker %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	arrivals := asanatest.Arrivals(reqs)
	most := asanatest.MostInWindow(arrivals, window)
	throttled := asanatest.Throttled(reqs)
	// After the first window's burst, the processes together run at the cap.
	var steady int
	for _, at := range arrivals {
		if at.Sub(arrivals[0]) >= window && at.Sub(arrivals[0]) < 3*window {
			steady++
		}
	}
	t.Logf("%d processes, each 1/%d of %d per window: %d requests, at most %d in any window, %d in the 2nd and 3rd windows (%.0f per window), %d 429s",
		workers, workers, rpm, len(arrivals), most, steady, float64(steady)/2, throttled)
	for i, out := range outputs {
		t.Logf("worker %d: %s", i, strings.TrimSpace(lastLine(out)))
	}
	if most > rpm {
		t.Errorf("the simulator counted %d requests in one window; the cap is %d", most, rpm)
	}
	if throttled > 0 {
		t.Errorf("%d requests were answered 429", throttled)
	}
	// How close to the cap the processes run is a speed, which depends on
	// the machine: asana-bench measures it (BENCHMARKS.md), this test only
	// logs it. That the shares add up to the cap is TestWorkerSharesStayUnderTheCaps.
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "worker:") {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}

// TestWorkerProcess is one worker process of TestWorkersShareTheTokensCap:
// it sets up an ExpandFn as a runner would and lists the stories of its
// share of tasks, over and over, until its time is up.
func TestWorkerProcess(t *testing.T) {
	if os.Getenv(workerEnv) == "" {
		t.Skip("run by TestWorkersShareTheTokensCap as a separate process")
	}
	workers, _ := strconv.Atoi(os.Getenv("WORKER_COUNT"))
	window, _ := time.ParseDuration(os.Getenv("WORKER_WINDOW"))
	runFor, _ := time.ParseDuration(os.Getenv("WORKER_RUN_FOR"))
	fn := &ExpandFn{Config: os.Getenv("WORKER_CONFIG"), Streams: []string{"stories"}, Credentials: CredentialSource{Env: CredentialsEnv},
		Window: window, Workers: workers}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	tasks := strings.Split(os.Getenv("WORKER_TASKS"), ",")
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range fn.workers {
		wg.Go(func() {
			for gid := range jobs {
				fn.x.Expand(ctx, asana.Parent{Kind: asana.ParentTask, GID: gid}, discard{})
			}
		})
	}
feed:
	for i := 0; ; i++ {
		select {
		case jobs <- tasks[i%len(tasks)]:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	st := asana.SharedLimiterStats()
	fmt.Printf("worker: budget %d per window, %d in flight, %d requests, waited %s, 429s %d\n",
		st.Limit, fn.workers, st.Requests, st.Waited.Round(time.Millisecond), st.Throttled)
}

type discard struct{}

func (discard) Record(string, string, []byte) {}
func (discard) Parent(asana.Parent)           {}
func (discard) Skipped(asana.Skip)            {}
func (discard) Lost(asana.Skip)               {}
func (discard) Pages(string, int)             {}
