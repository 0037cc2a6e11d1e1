package pipeline

import (
	"context"
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
//     the number of processes that may run at once, and its num_workers
//     (requests in flight) divided likewise, each at least 1. Together the
//     processes never exceed the token's budget or Asana's 50 GETs in flight,
//     whatever the autoscaler does up to that maximum.
//   - Should the token still be throttled (another client spends it, or the
//     runner started more processes than declared), every process that
//     receives a 429 pauses for its Retry-After and lowers its own budget by
//     a fifth, as a single process does.
//
// The price: a job that runs fewer processes than its maximum spends less
// than the token allows. Dataflow's autoscaler starts batch jobs at their
// maximum when the work can be split, which the expansion levels can.

// WorkerConfig returns the configuration of one of workers processes that
// share cfg's token: cfg with its requests per minute and requests in
// flight divided among them.
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
