// Package pipeline builds asana-beam's one Beam pipeline: it expands the
// Asana account level by level (workspaces, then their users, projects,
// teams and portfolios, then tasks, then subtasks at every depth, then
// stories and attachments) with splittable DoFns under the token's rate
// limiter, deduplicates what can be found twice, and hands the records to
// whichever sink the command chose.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/klauspost/compress/zstd"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/transforms"
)

// CredentialsEnv is the environment variable the workers read the Asana
// credentials from. Credentials never travel in the pipeline: DoFn fields
// and pipeline options are stored in the job graph and shown by runners.
const CredentialsEnv = "ASANA_BEAM_CREDENTIALS"

// Options configure the pipeline.
type Options struct {
	// Config is the connector configuration. Its credentials are not used
	// (they marshal as "[redacted]"): workers read them from CredentialsEnv.
	Config *asana.Config
	// Streams are the streams to read.
	Streams []string
	// Window is the length of Asana's rate-limit window: a minute, unless
	// time is scaled against the simulator.
	Window time.Duration
	// Shards is the number of batches each level's parents are grouped
	// into; the runner may split batches further. Default 16.
	Shards int
	// CredentialsSecret, when set, is the Secret Manager secret version the
	// workers read the credentials from, instead of CredentialsEnv; and
	// SecretManagerEndpoint overrides Secret Manager's address.
	CredentialsSecret, SecretManagerEndpoint string
	// Workers is the most worker processes the runner may run at once
	// (Dataflow's --max_num_workers); the token's budget is shared among
	// them (see WorkerConfig). 0 or 1: one process, as on Prism.
	Workers int
}

// Output is what the pipeline produces.
type Output struct {
	// Records are PCollections of sinks.Record: together, each stream's
	// records exactly once. They are kept apart, not flattened, so that a
	// sink writes each level's records in the stage that reads them and a
	// runner need not hold them between stages.
	Records []beam.PCollection
	Reports beam.PCollection // sinks.Report: what was skipped or lost
}

func init() {
	register.DoFn2x0[asana.Parent, func(int, asana.Parent)](&shardFn{})
	register.Emitter2[int, asana.Parent]()
	register.DoFn4x0[int, func(*asana.Parent) bool, func(*string) bool, func(Batch)](&batchFn{})
	register.Emitter1[Batch]()
	register.DoFn2x0[asana.Parent, func(asana.Parent)](&kindFn{})
	register.DoFn2x0[asana.Parent, func(string)](&subtaskRootFn{})
	register.Emitter1[string]()
	register.DoFn2x0[asana.Parent, func(string, bool)](&claimKeyFn{})
	register.Emitter2[string, bool]()
	register.DoFn3x0[string, func(*bool) bool, func(asana.Parent)](&unclaimedFn{})
	register.DoFn2x0[sinks.Report, func(sinks.Report)](&chargeLossFn{})
	register.Emitter2[string, asana.Parent]()
	register.Emitter1[asana.Parent]()
	register.DoFn4x0[context.Context, sinks.Record, func(sinks.Record), func(string, sinks.Record)](&repeatsFn{})
	register.Emitter1[sinks.Record]()
	register.Emitter2[string, sinks.Record]()
	register.DoFn1x2[sinks.Record, sinks.Record, error](&inflateFn{})
}

// Build adds the pipeline to s.
func Build(s beam.Scope, o Options) (Output, error) {
	if o.Config == nil {
		return Output{}, fmt.Errorf("pipeline: no config")
	}
	if o.Shards <= 0 {
		o.Shards = 16
	}
	cfg, err := json.Marshal(o.Config)
	if err != nil {
		return Output{}, fmt.Errorf("pipeline: encoding the config: %w", err)
	}
	x, err := asana.NewExpander(nil, o.Config, o.Streams, nil)
	if err != nil {
		return Output{}, fmt.Errorf("pipeline: %w", err)
	}
	creds := CredentialSource{Env: CredentialsEnv, Secret: o.CredentialsSecret, SecretManagerEndpoint: o.SecretManagerEndpoint}
	fn := &ExpandFn{Credentials: creds, Config: string(cfg), Streams: o.Streams, Window: o.Window, Workers: o.Workers}
	run := newRunID()
	var once, repeats, reports []beam.PCollection
	noSkip := beam.CreateList(s, []string{})
	// level expands every parent it is given, once each; its subtask walks
	// do not descend into the tasks of skip.
	level := func(name string, parents, skip beam.PCollection) beam.PCollection {
		s := s.Scope(name)
		keyed := beam.ParDo(s, &shardFn{Shards: o.Shards}, parents)
		batches := beam.ParDo(s, &batchFn{}, beam.GroupByKey(s, keyed), beam.SideInput{Input: skip})
		r, next, rep := beam.ParDo3(s, fn, batches)
		o, rp := beam.ParDo2(s, &repeatsFn{Run: run, OneProcess: o.Workers <= 1}, r)
		once = append(once, o)
		repeats = append(repeats, rp)
		reports = append(reports, rep)
		return next
	}
	only := func(kinds []asana.ParentKind, parents ...beam.PCollection) beam.PCollection {
		return beam.ParDo(s, &kindFn{Kinds: kinds}, beam.Flatten(s, parents...))
	}

	p0 := level("Account", beam.CreateList(s, x.Roots()), noSkip) // workspaces, organization exports
	p1 := level("Workspaces", p0, noSkip)                         // users, tags, custom fields, teams, projects, portfolios
	p2 := level("Projects", p1, noSkip)                           // tasks, sections, attachments, memberships, items; events subscribed
	trees := only([]asana.ParentKind{asana.ParentTaskTree}, p2)
	// Subtasks found on their own (assigned, or in a project) are trees of
	// their own: no other walk descends into them.
	p3 := level("Subtasks", trees, beam.ParDo(s, &subtaskRootFn{}, trees))
	// Tasks that no owning listing delivered, fetched one by one.
	claims := beam.ParDo(s, &claimKeyFn{}, only([]asana.ParentKind{asana.ParentTaskClaim}, p2, p3))
	level("Fetch", beam.ParDo(s, &unclaimedFn{}, beam.GroupByKey(s, claims)), noSkip)
	// Last: stories and attachments of every task, and the events since
	// the subscriptions.
	level("Tasks", only([]asana.ParentKind{asana.ParentTask, asana.ParentEvents}, p2, p3), noSkip)

	deduped := beam.ParDo(s, &inflateFn{}, transforms.Dedup(s, beam.Flatten(s, repeats...)))
	return Output{
		Records: append(once, deduped),
		Reports: beam.ParDo(s, &chargeLossFn{Streams: o.Streams}, beam.Flatten(s, reports...)),
	}, nil
}

// Batch is a group of parents, the element of ExpandFn; its restriction is
// a range of indexes into Parents.
type Batch struct {
	Parents []asana.Parent
	// Skip are the tasks the subtask walks of this batch do not descend
	// into (see asana.Expander.WithSkip).
	Skip []string
}

// shardFn keys parents by a hash of their identity, so that one parent
// found twice lands in one batch (where batchFn drops the second).
type shardFn struct {
	Shards int `json:"shards"`
}

func (fn *shardFn) ProcessElement(p asana.Parent, emit func(int, asana.Parent)) {
	h := fnv.New32a()
	h.Write([]byte(parentKey(p)))
	emit(int(h.Sum32()%uint32(fn.Shards)), p)
}

func parentKey(p asana.Parent) string { return string(p.Kind) + "/" + p.GID + "/" + p.Workspace }

// batchFn gathers a shard's parents into one Batch, each parent once.
type batchFn struct{}

func (*batchFn) ProcessElement(_ int, parents func(*asana.Parent) bool, skip func(*string) bool, emit func(Batch)) {
	var b Batch
	var gid string
	for skip(&gid) {
		b.Skip = append(b.Skip, gid)
	}
	seen := map[string]bool{}
	var p asana.Parent
	for parents(&p) {
		if k := parentKey(p); !seen[k] {
			seen[k] = true
			b.Parents = append(b.Parents, p)
		}
	}
	emit(b)
}

// kindFn keeps the parents of some kinds.
type kindFn struct {
	Kinds []asana.ParentKind `json:"kinds"`
}

func (fn *kindFn) ProcessElement(p asana.Parent, emit func(asana.Parent)) {
	for _, k := range fn.Kinds {
		if p.Kind == k {
			emit(p)
			return
		}
	}
}

// subtaskRootFn emits the gid of a task tree that is a subtask: found on
// its own, its tree is walked from there.
type subtaskRootFn struct{}

func (*subtaskRootFn) ProcessElement(p asana.Parent, emit func(string)) {
	if p.ParentTask != "" {
		emit(p.GID)
	}
}

// claimKeyFn keys a task claim by the task's gid.
type claimKeyFn struct{}

func (*claimKeyFn) ProcessElement(p asana.Parent, emit func(string, bool)) {
	emit(p.GID, p.Owned)
}

// unclaimedFn emits a task to fetch when no listing that found it owned it
// (see asana's owns): its owner was denied, filtered out or lost.
type unclaimedFn struct{}

func (*unclaimedFn) ProcessElement(gid string, owned func(*bool) bool, emit func(asana.Parent)) {
	var o bool
	for owned(&o) {
		if o {
			return
		}
	}
	emit(asana.Parent{Kind: asana.ParentTaskFetch, GID: gid})
}

// chargeLossFn charges a lost listing to every selected stream it cost
// records: a listing is reported under its own stream, but the records cut
// from the same responses (its compact twin) and every record below the
// parents it would have found (the tasks below a lost users listing, the
// stories below a lost tasks listing) are lost with it. Sinks then mark
// each of these streams incomplete.
type chargeLossFn struct {
	Streams []string `json:"streams"`
}

func (fn *chargeLossFn) ProcessElement(r sinks.Report, emit func(sinks.Report)) {
	if !r.Lost {
		emit(r)
		return
	}
	for _, s := range asana.AffectedBy(r.Stream) {
		if s == r.Stream {
			emit(r)
		} else if slices.Contains(fn.Streams, s) {
			emit(sinks.Report{Stream: s, Lost: true, Message: "records below a lost listing: " + r.Message})
		}
	}
}

// repeatsFn sends the records of streams that can hold one record twice to
// deduplication, keyed by stream and primary key, and the others straight
// on. Records on their way to deduplication are zstd-compressed: a runner
// holds them until every copy has arrived (Prism in memory), and Asana's
// JSON shrinks several times.
//
// Tasks are delivered by the one listing that owns each (see asana's
// owns), decided from the record. Should Asana's copies of one task
// disagree (each copy in two projects claiming only its own), two
// listings would own it: repeatsFn keeps the gids of the tasks it let
// through in this process and drops a second copy. On Prism, where the
// whole pipeline runs in one process and a failed bundle fails the job
// (never retried, which would find its own gids kept), that makes tasks
// exactly once whatever the records say. On runners of several processes,
// which retry bundles, it is off.
type repeatsFn struct {
	Run        string `json:"run"`
	OneProcess bool   `json:"one_process"`
}

var (
	deliveredTasks sync.Map // run → *sync.Map of task gids
	tasksTwice     = beam.NewCounter("asana-beam", "tasks-owned-twice")
)

func (fn *repeatsFn) ProcessElement(ctx context.Context, r sinks.Record, once func(sinks.Record), repeats func(string, sinks.Record)) {
	if st, ok := asana.StreamByName(r.Stream); ok && st.MayRepeat {
		r.Data = zstdEncoder.EncodeAll(r.Data, nil)
		repeats(r.Stream+"/"+r.Key, r)
		return
	}
	if r.Stream == "tasks" && fn.OneProcess {
		m, _ := deliveredTasks.LoadOrStore(fn.Run, &sync.Map{})
		if _, again := m.(*sync.Map).LoadOrStore(r.Key, true); again {
			tasksTwice.Inc(ctx, 1)
			return
		}
	}
	once(r)
}

// newRunID names one pipeline built in this process.
func newRunID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// inflateFn undoes repeatsFn's compression after deduplication.
type inflateFn struct{}

func (*inflateFn) ProcessElement(r sinks.Record) (sinks.Record, error) {
	data, err := zstdDecoder.DecodeAll(r.Data, nil)
	if err != nil {
		return sinks.Record{}, fmt.Errorf("decompressing %s record %s: %w", r.Stream, r.Key, err)
	}
	r.Data = data
	return r, nil
}

// The encoder and decoder are safe for concurrent EncodeAll and DecodeAll.
var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
)
