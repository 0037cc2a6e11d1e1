package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
)

func init() {
	register.DoFn6x1[context.Context, *sdf.LockRTracker, Batch, func(sinks.Record), func(asana.Parent), func(sinks.Report), error](&ExpandFn{})
	register.DoFn7x1[context.Context, *sdf.LockRTracker, Batch, func(*string) bool, func(sinks.Record), func(asana.Parent), func(sinks.Report), error](&WalkFn{})
	register.Emitter1[sinks.Report]()
}

// ExpandFn lists the children of a batch of parents. It is splittable:
// its restriction is the range of parents of the batch not yet expanded.
// SplitRestriction cuts a batch into pieces of Piece parents, which a
// runner may hand to different workers, and a runner may split a running
// piece again (the parents not yet claimed). Within its range it expands
// num_workers parents at once; every request waits on the token's one rate
// limiter of the process, blocking instead of returning a
// ProcessContinuation (which would make the pipeline unbounded, and a
// Dataflow job a streaming job).
type ExpandFn struct {
	// Config is the asana.Config as JSON, credentials redacted.
	Config string `json:"config"`
	// Streams are the selected streams.
	Streams []string `json:"streams"`
	// Credentials says where the worker finds the credentials: their
	// place, never the credentials themselves.
	Credentials CredentialSource `json:"credentials"`
	// Window is the rate-limit window (scaled time against a simulator).
	Window time.Duration `json:"window"`
	// Workers is the number of worker processes that may run at once;
	// each takes its share of the token's budget (see WorkerConfig).
	Workers int `json:"workers"`
	// Incremental says that the sync keeps state for the next; State,
	// when set, is the asana.SyncState (JSON) it starts from.
	Incremental bool   `json:"incremental,omitempty"`
	State       string `json:"state,omitempty"`
	// Piece is the most parents of a restriction SplitRestriction makes.
	Piece int `json:"piece"`
	// Run names the run, under which an error that stops this DoFn is
	// recorded for the command that launched it (see Stopped).
	Run string `json:"run,omitempty"`
	// Checkpoints, when Every is set, has the levels record what they
	// find in the run's checkpointer and the last level (Last) write
	// checkpoints.
	Checkpoints Checkpoints `json:"checkpoints"`
	Last        bool        `json:"last,omitempty"`

	x       asana.Walker
	workers int
	cp      *checkpointer // nil without checkpoints
}

// Setup builds the Asana client of this worker. An error is recorded as
// what stopped the run (see Stopped).
func (fn *ExpandFn) Setup() error {
	return stop(fn.Run, fn.setup())
}

func (fn *ExpandFn) setup() error {
	var cfg asana.Config
	if err := json.Unmarshal([]byte(fn.Config), &cfg); err != nil {
		return fmt.Errorf("decoding the config: %w", err)
	}
	creds, err := fn.Credentials.Load(context.Background())
	if err != nil {
		return err
	}
	cfg.Credentials = creds
	cfg.SetDefaults()
	cfg = WorkerConfig(cfg, fn.Workers)
	log := slog.New(slog.NewTextHandler(asana.RedactingWriter(os.Stderr), &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := asana.New(&cfg, asana.Options{Window: fn.Window, Logger: log})
	if err != nil {
		return err
	}
	x, err := asana.NewExpander(client, &cfg, fn.Streams, log)
	if err != nil {
		return err
	}
	var st *asana.SyncState
	if fn.Incremental {
		st = &asana.SyncState{}
		if fn.State != "" {
			if err := json.Unmarshal([]byte(fn.State), st); err != nil {
				return fmt.Errorf("decoding the sync state: %w", err)
			}
		}
	}
	if fn.Checkpoints.Every > 0 {
		fn.cp = checkpointerOf(fn.Run)
		if fn.State != "" {
			fn.cp.seed(st)
		} else {
			fn.cp.seed(nil)
		}
	}
	start, _ := cfg.StartTime()
	fn.x = x.Walker(st, start)
	fn.workers = cfg.NumWorkers
	return err
}

// CreateInitialRestriction is every parent of the batch.
func (fn *ExpandFn) CreateInitialRestriction(b Batch) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: int64(len(b.Parents))}
}

// SplitRestriction cuts the batch into pieces of at most Piece parents.
func (fn *ExpandFn) SplitRestriction(_ Batch, r offsetrange.Restriction) []offsetrange.Restriction {
	return r.SizedSplits(int64(max(1, fn.Piece)))
}

// RestrictionSize is the number of parents left.
func (fn *ExpandFn) RestrictionSize(_ Batch, r offsetrange.Restriction) float64 {
	return r.Size()
}

// CreateTracker tracks the range.
func (fn *ExpandFn) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(r))
}

var (
	piecesRun   = beam.NewCounter("asana-beam", "restrictions-expanded")
	recordsRead = beam.NewCounter("asana-beam", "records-read")
	skippedRes  = beam.NewCounter("asana-beam", "resources-skipped")
	lostRes     = beam.NewCounter("asana-beam", "listings-lost")
)

// found is what one expansion hands back to ProcessElement, which alone
// may call the emitters.
type found struct {
	rec    *sinks.Record
	parent *asana.Parent
	report *sinks.Report
	done   *asana.Parent // expanded, with checkpoints: after what it found
}

// chanEmitter passes what an expansion finds to ProcessElement.
type chanEmitter chan<- found

func (c chanEmitter) Record(stream, key string, data []byte) {
	c <- found{rec: &sinks.Record{Stream: stream, Key: key, Data: data}}
}
func (c chanEmitter) Parent(p asana.Parent) { c <- found{parent: &p} }
func (c chanEmitter) Skipped(s asana.Skip) {
	msg := "skipped " + s.String()
	if s.Note {
		msg = s.String()
	}
	c <- found{report: &sinks.Report{Stream: s.Stream, Message: msg}}
}
func (c chanEmitter) Pages(stream string, n int) { countPages(stream, n) }
func (c chanEmitter) Lost(s asana.Skip) {
	c <- found{report: &sinks.Report{Stream: s.Stream, Lost: true, Message: "lost " + s.String()}}
}

// ProcessElement expands the parents of its range, num_workers at a time.
func (fn *ExpandFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, b Batch,
	emitRecord func(sinks.Record), emitParent func(asana.Parent), emitReport func(sinks.Report)) error {
	return fn.expand(ctx, fn.x, rt, b, emitRecord, emitParent, emitReport)
}

// WalkFn is the ExpandFn of the subtask walks, whose side input is the set
// of tasks they do not descend into (see asana.Expander.WithSkip): the
// subtasks found on their own, whose trees are walked from there. It is
// read once per bundle. (The other levels use ExpandFn, without a side
// input: Prism schedules a stage that reads one by its watermarks, which
// costs it a busy loop over every stage while the stage runs.)
type WalkFn struct {
	ExpandFn

	skip asana.Walker // fn.x with the skip set, read by StartBundle
}

// StartBundle reads the skip set. (Beam's Go SDK wants the side inputs and
// emitters of ProcessElement here too.)
func (fn *WalkFn) StartBundle(skip func(*string) bool, _ func(sinks.Record), _ func(asana.Parent), _ func(sinks.Report)) {
	set := map[string]bool{}
	var gid string
	for skip(&gid) {
		set[gid] = true
	}
	fn.skip = fn.x.Skipping(set)
}

// ProcessElement walks the subtask trees of its range, num_workers at a
// time.
func (fn *WalkFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, b Batch, _ func(*string) bool,
	emitRecord func(sinks.Record), emitParent func(asana.Parent), emitReport func(sinks.Report)) error {
	return fn.expand(ctx, fn.skip, rt, b, emitRecord, emitParent, emitReport)
}

// expand expands the parents of rt's range with x, num_workers at a time.
// The first error of the expander stops it, and is recorded under fn.Run
// (see Stopped) before it is returned to the runner.
func (fn *ExpandFn) expand(ctx context.Context, x asana.Walker, rt *sdf.LockRTracker, b Batch,
	emitRecord func(sinks.Record), emitParent func(asana.Parent), emitReport func(sinks.Report)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	piecesRun.Inc(ctx, 1)
	results := make(chan found, 256)
	jobs := make(chan asana.Parent)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range fn.workers {
		wg.Go(func() {
			for p := range jobs {
				if err := x.Expand(ctx, p, chanEmitter(results)); err != nil {
					// The error the run stops on (a configuration
					// error: Asana rejected the credentials or a
					// request), recorded typed for the command; the
					// runner passes on only its text.
					errOnce.Do(func() { firstErr = stop(fn.Run, err); cancel() })
				} else if fn.Last && fn.cp != nil {
					results <- found{done: &p}
				}
			}
		})
	}
	go func() {
		defer close(results)
		defer wg.Wait()
		defer close(jobs)
		r := rt.GetRestriction().(offsetrange.Restriction)
		for i := r.Start; rt.TryClaim(i); i++ {
			select {
			case jobs <- b.Parents[i]:
			case <-ctx.Done():
				return
			}
		}
	}()
	lastReport := time.Now()
	for f := range results {
		if time.Since(lastReport) > time.Second {
			reportThrottling(ctx)
			lastReport = time.Now()
		}
		switch {
		case f.rec != nil:
			recordsRead.Inc(ctx, 1)
			countRecord(f.rec.Stream)
			emitRecord(*f.rec)
		case f.parent != nil:
			if fn.cp != nil && !fn.Last {
				fn.cp.found(*f.parent)
			}
			emitParent(*f.parent)
		case f.done != nil:
			// Every record the parent gave is written: a checkpoint may
			// cover them.
			states, err := fn.cp.expanded(*f.done, fn.Checkpoints, time.Now())
			if err != nil {
				errOnce.Do(func() { firstErr = stop(fn.Run, fmt.Errorf("a checkpoint: %w", err)); cancel() })
			}
			for _, st := range states {
				emitRecord(st)
			}
		case f.report != nil:
			if f.report.Lost {
				lostRes.Inc(ctx, 1)
				if fn.cp != nil {
					fn.cp.lose()
				}
			} else {
				skippedRes.Inc(ctx, 1)
			}
			emitReport(*f.report)
		}
	}
	reportThrottling(ctx)
	if firstErr == nil {
		firstErr = ctx.Err() // claimed parents were left unexpanded
	}
	return firstErr
}
