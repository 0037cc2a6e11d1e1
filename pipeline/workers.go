package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// The rule that keeps one Asana token under its cap when a runner spreads
// the pipeline over several worker processes (Dataflow's --max_num_workers):
//
//   - Each process has one limiter per token (asana.Client shares it between
//     the DoFn instances and bundles of the process).
//   - A process's limiter admits the token's requests_per_minute divided by
//     the number of processes that may run at once, rounded down, and its
//     num_workers (requests in flight) divided likewise. Rounded down, the
//     shares of all the processes sum to at most the token's budget and its
//     requests in flight, whatever the autoscaler does up to that maximum.
//   - A share cannot be less than 1, so the processes may not outnumber
//     requests_per_minute nor num_workers: CheckWorkers refuses such a
//     split, and the commands refuse to start it. (The processes do not
//     know their rank, so the remainder of the division is left unused
//     rather than given to some of them.)
//   - Should the token still be throttled (another client spends it, or the
//     runner started more processes than declared), every process that
//     receives a 429 pauses for its Retry-After and lowers its own budget by
//     a fifth, as a single process does.
//
// The price: a job that runs fewer processes than its maximum spends less
// than the token allows. Dataflow's autoscaler starts batch jobs at their
// maximum when the work can be split, which the expansion levels can.

// CheckWorkers reports whether cfg's token can be shared among workers
// processes, each with at least one request a minute and one request in
// flight. 0 or 1 workers is one process, which takes the whole budget.
func CheckWorkers(cfg asana.Config, workers int) error {
	switch {
	case workers <= 1:
		return nil
	case workers > cfg.RequestsPerMinute:
		return fmt.Errorf("%d worker processes cannot share the token's requests_per_minute of %d, as each needs at least 1: allow at most %d processes",
			workers, cfg.RequestsPerMinute, cfg.RequestsPerMinute)
	case workers > cfg.NumWorkers:
		return fmt.Errorf("%d worker processes cannot share the token's num_workers of %d requests in flight, as each needs at least 1: allow at most %d processes, or raise num_workers in the config (at most %d)",
			workers, cfg.NumWorkers, cfg.NumWorkers, asana.MaxNumWorkers)
	}
	return nil
}

// WorkerConfig returns the configuration of one of workers processes that
// share cfg's token: cfg with its requests per minute and requests in
// flight divided among them, rounded down, so that the processes together
// stay within cfg. The split must have passed CheckWorkers; should it not
// have, a share is still 1 (a process cannot run with none), and the
// processes together exceed cfg.
func WorkerConfig(cfg asana.Config, workers int) asana.Config {
	if workers > 1 {
		cfg.RequestsPerMinute = max(1, cfg.RequestsPerMinute/workers)
		cfg.NumWorkers = max(1, cfg.NumWorkers/workers)
	}
	return cfg
}

// Throttling is reported in the counter that Dataflow's autoscaler reads
// (namespace beam-throttling-metrics, name throttling-msecs): the time
// requests spent waiting on the limiter, so that a job held back by Asana's
// cap is not scaled up for being slow.
var throttlingMsecs = beam.NewCounter("beam-throttling-metrics", "throttling-msecs")

// throttleReport hands the limiters' waiting time of this process to the
// counter, each millisecond once, from whichever bundle reports first.
var throttleReport struct {
	sync.Mutex
	reported time.Duration
}

func reportThrottling(ctx context.Context) {
	waited := asana.SharedLimiterStats().Waited
	throttleReport.Lock()
	d := waited - throttleReport.reported
	if d >= time.Millisecond {
		throttleReport.reported += d.Truncate(time.Millisecond)
	}
	throttleReport.Unlock()
	if d >= time.Millisecond {
		throttlingMsecs.Inc(ctx, d.Milliseconds())
	}
}
