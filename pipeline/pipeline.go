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
	"maps"
	"slices"
	"strconv"
	"strings"
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
	// Shards is the number of keys parents are deduplicated under,
	// default 16 (see Sightings). Each shard's parents are cut into
	// Batches of their own, so a level has up to Shards batches smaller
	// than Batch; Prism runs the elements of a stage's bundle one after
	// the other, each with num_workers requests at most, so a level of few
	// parents spread over many shards runs with few requests in flight
	// (at 256 shards the first levels of a small account ran batches of
	// one or two parents, and took half as long again). Piece is the most
	// parents of one restriction ExpandFn's SplitRestriction makes of a Batch, default
	// four times the requests a worker process has in flight (num_workers,
	// shared as WorkerConfig says); Batch the most parents of one element
	// of the expansion (a Batch), default two pieces. A runner hands pieces
	// to different workers, and may split a piece further while it runs.
	// (Each piece is a copy of its element for the runner: a Batch of many
	// pieces would cost it that many copies.)
	Shards, Batch, Piece int
	// CredentialsSecret, when set, is the Secret Manager secret version the
	// workers read the credentials from, instead of CredentialsEnv; and
	// SecretManagerEndpoint overrides Secret Manager's address.
	CredentialsSecret, SecretManagerEndpoint string
	// Workers is the most worker processes the runner may run at once
	// (Dataflow's --max_num_workers); the token's budget is shared among
	// them (see WorkerConfig). 0 or 1: one process, as on Prism.
	Workers int
	// Incremental are the streams that keep a state for the next sync:
	// the reports carry each one's state (sinks.Report.State), as of
	// SyncedAt, Asana's clock at the start. State, when set, is what the
	// sync starts from (see asana.Incremental); nil reads everything.
	Incremental []string
	SyncedAt    time.Time
	State       *asana.SyncState
	// CheckpointEvery, with Incremental and one process (Workers 0 or 1),
	// is the least time between two checkpoints of the incremental
	// streams (see Checkpoints); 0 writes none.
	CheckpointEvery time.Duration
}

// Output is what the pipeline produces.
type Output struct {
	// Records are PCollections of sinks.Record: together, each stream's
	// records exactly once. They are kept apart, not flattened, so that a
	// sink writes each level's records in the stage that reads them and a
	// runner need not hold them between stages.
	Records []beam.PCollection
	Reports beam.PCollection // sinks.Report: what was skipped or lost
	// Run names this run: Stopped(Run) is the error that stopped it, when
	// its DoFns ran in this process.
	Run string
}

func init() {
	register.DoFn3x0[asana.Parent, func(int, Sightings), func(int, Sightings)](&sightFn{})
	register.Emitter2[int, Sightings]()
	register.Combiner1[Sightings](&mergeSightingsFn{})
	register.DoFn3x0[int, Sightings, func(Batch)](&batchFn{})
	register.Emitter1[Batch]()
	register.DoFn3x0[int, Sightings, func(string)](&subtaskRootFn{})
	register.Emitter1[string]()
	register.DoFn2x0[sinks.Report, func(sinks.Report)](&chargeLossFn{})
	register.Emitter1[asana.Parent]()
	register.DoFn4x0[context.Context, sinks.Record, func(sinks.Record), func(string, []byte)](&repeatsFn{})
	register.Emitter1[sinks.Record]()
	register.Emitter2[string, []byte]()
	register.DoFn2x2[string, []byte, sinks.Record, error](&inflateFn{})
}

// Build adds the pipeline to s.
//
// The account is expanded level by level, each level an ExpandFn over
// Batches of the parents the level before found, deduplicated:
//
//	Account     the token: workspaces, organization exports
//	Workspaces  users, tags, custom fields, teams, projects, portfolios
//	Projects    tasks (of projects and assignees), sections, attachments,
//	            memberships, portfolio items; events subscribed
//	Subtasks    the subtask trees of the tasks found, walked in place;
//	            the tasks that are subtasks found on their own are the
//	            side input of the walks, which do not descend into them
//	Tasks       stories and attachments of every task, the tasks no
//	            owning listing delivered (fetched one by one), events
//
// Parents are deduplicated by a combiner (see Sightings), so a parent found
// twice is expanded once, and a runner keeps each parent once, in a value
// per shard, not every copy as an element of its own.
func Build(s beam.Scope, o Options) (Output, error) {
	if o.Config == nil {
		return Output{}, fmt.Errorf("pipeline: no config")
	}
	cfg, err := json.Marshal(o.Config)
	if err != nil {
		return Output{}, fmt.Errorf("pipeline: encoding the config: %w", err)
	}
	x, err := asana.NewExpander(nil, o.Config, o.Streams, nil)
	if err != nil {
		return Output{}, fmt.Errorf("pipeline: %w", err)
	}
	if o.Piece <= 0 {
		c := *o.Config
		c.SetDefaults()
		o.Piece = 4 * WorkerConfig(c, o.Workers).NumWorkers
	}
	if o.Batch <= 0 {
		o.Batch = 2 * o.Piece
	}
	if o.Shards <= 0 {
		o.Shards = 16
	}
	creds := CredentialSource{Env: CredentialsEnv, Secret: o.CredentialsSecret, SecretManagerEndpoint: o.SecretManagerEndpoint}
	fn := &ExpandFn{Credentials: creds, Config: string(cfg), Streams: o.Streams, Window: o.Window, Workers: o.Workers, Piece: o.Piece,
		Incremental: len(o.Incremental) > 0}
	if o.State != nil {
		st, err := json.Marshal(o.State)
		if err != nil {
			return Output{}, fmt.Errorf("pipeline: encoding the sync state: %w", err)
		}
		fn.State = string(st)
	}
	run := newRunID()
	fn.Run = run
	if len(o.Incremental) > 0 && o.Workers <= 1 && o.CheckpointEvery > 0 {
		fn.Checkpoints = Checkpoints{Every: o.CheckpointEvery, Streams: o.Incremental, SyncedAt: o.SyncedAt}
	}
	var once, repeats, reports []beam.PCollection
	// level expands every batch it is given; the subtask walks do not
	// descend into the tasks of skip, when given.
	level := func(name string, fn *ExpandFn, batches beam.PCollection, skip ...beam.PCollection) beam.PCollection {
		s := s.Scope(name)
		var r, next, rep beam.PCollection
		if len(skip) > 0 {
			r, next, rep = beam.ParDo3(s, &WalkFn{ExpandFn: *fn}, batches, beam.SideInput{Input: skip[0]})
		} else {
			r, next, rep = beam.ParDo3(s, fn, batches)
		}
		o, rp := beam.ParDo2(s, &repeatsFn{Run: run, OneProcess: o.Workers <= 1}, r)
		once = append(once, o)
		repeats = append(repeats, rp)
		reports = append(reports, rep)
		return next
	}
	// sight keys the parents a level found by shard, task trees apart
	// (see sightFn); merge merges each shard's sightings; dedup makes
	// Batches of the parents, each once.
	sight := func(name string, parents beam.PCollection) (trees, rest beam.PCollection) {
		return beam.ParDo2(s.Scope(name), &sightFn{Shards: o.Shards}, parents)
	}
	merge := func(s beam.Scope, keyed beam.PCollection) beam.PCollection {
		return beam.CombinePerKey(s, &mergeSightingsFn{}, keyed)
	}
	dedup := func(name string, keyed beam.PCollection) (merged, batches beam.PCollection) {
		s := s.Scope(name)
		merged = merge(s, keyed)
		return merged, beam.ParDo(s, &batchFn{Size: o.Batch}, merged)
	}

	p0 := level("Account", fn, beam.Create(s, Batch{Parents: x.Roots()})) // workspaces, organization exports
	_, k0 := sight("Found0", p0)
	_, b1 := dedup("Dedup0", k0)
	p1 := level("Workspaces", fn, b1) // users, tags, custom fields, teams, projects, portfolios
	_, k1 := sight("Found1", p1)
	_, b2 := dedup("Dedup1", k1)
	p2 := level("Projects", fn, b2) // tasks, sections, attachments, memberships, items; events subscribed
	t2, k2 := sight("Found2", p2)
	trees, b3 := dedup("Trees", t2)
	// Subtasks found on their own (assigned, or in a project) are trees of
	// their own: no other walk descends into them.
	p3 := level("Subtasks", fn, b3, beam.ParDo(s, &subtaskRootFn{}, trees))
	_, k3 := sight("Found3", p3)
	// Last: stories and attachments of every task, the tasks that no owning
	// listing delivered (fetched one by one), and the events since the
	// subscriptions. The sightings of each level are merged before they
	// meet: a combiner's first half runs where its input is made, which a
	// Flatten in between would prevent.
	last := []beam.PCollection{merge(s.Scope("Merge2"), k2), merge(s.Scope("Merge3"), k3)}
	if o.State != nil && len(o.State.Pending) > 0 {
		// What the checkpoint the sync resumes from left to expand.
		_, kp := sight("Pending", beam.CreateList(s, o.State.Pending))
		last = append(last, merge(s.Scope("MergePending"), kp))
	}
	_, b4 := dedup("Dedup2", beam.Flatten(s, last...))
	lastFn := *fn
	lastFn.Last = true
	level("Tasks", &lastFn, b4)
	if len(o.Incremental) > 0 {
		// Each project's sync token, each diffed record's hash.
		reports = append(reports, stateReports(s, o, p1, p2))
	}

	deduped := beam.ParDo(s, &inflateFn{}, transforms.Dedup(s, beam.Flatten(s, repeats...)))
	return Output{
		Records: append(once, deduped),
		Reports: beam.ParDo(s, &chargeLossFn{Streams: o.Streams}, beam.Flatten(s, reports...)),
		Run:     run,
	}, nil
}

// Sighting is a parent as one listing or more found it, on its way to be
// deduplicated. A task's sightings are one: the claims of the listings
// that found it (see asana's owns) and the parent that lists its stories
// meet in one value, so that a task found by three listings costs one
// small value, not three parents and three claims.
type Sighting struct {
	// Parent is the parent to expand; only its GID is set when only
	// claims of a task were seen (its stories are not selected).
	Parent asana.Parent `json:"parent"`
	// Claimed: some listing found the task (tasks selected); Owned: the
	// listing that delivered its record did.
	Claimed bool `json:"claimed,omitempty"`
	Owned   bool `json:"owned,omitempty"`
}

// key is what two sightings of one parent share.
func (s Sighting) key() string {
	p := s.Parent
	if p.Kind == "" || p.Kind == asana.ParentTask {
		return string(asana.ParentTask) + "/" + p.GID + "/"
	}
	return string(p.Kind) + "/" + p.GID + "/" + p.Workspace
}

// merge adds t, a sighting of the same parent, to s.
func (s Sighting) merge(t Sighting) Sighting {
	if s.Parent.Kind == "" {
		s.Parent = t.Parent
	}
	s.Claimed = s.Claimed || t.Claimed
	s.Owned = s.Owned || t.Owned
	return s
}

// parents are what a deduplicated sighting expands: its parent, and the
// task to fetch when listings found it but none that found it owned it
// (its owner was denied, filtered out or lost).
func (s Sighting) parents() []asana.Parent {
	var out []asana.Parent
	if s.Claimed && !s.Owned {
		out = append(out, asana.Parent{Kind: asana.ParentTaskFetch, GID: s.Parent.GID})
	}
	if s.Parent.Kind != "" {
		out = append(out, s.Parent)
	}
	return out
}

// Sightings are the sightings of one shard of the parents, by key: the
// accumulator of their deduplication, a combiner keyed by shard (a hash of
// the key). A runner that lifts combiners (Dataflow, Prism) merges a
// bundle's sightings of a shard before the shuffle, so what crosses it is
// a value per shard and bundle, each parent once in it, and what it keeps
// is a value per shard: a few values whatever the account, where
// a key per parent costs Prism about a kilobyte of bookkeeping each.
//
// The lifting keeps a bundle's sightings in memory until the bundle ends,
// and Prism runs a level as one bundle: every task of the account is in
// them. So a task with a numeric gid, most of them, costs a number and a
// byte (Tasks), not a key and a Sighting (ByKey: about 250 bytes a task in
// a Go map); a task is in one of the two only.
type Sightings struct {
	// Tasks are the sightings of tasks whose gid is a decimal number in
	// canonical form, and whose parent is a plain task (see taskFlags):
	// by gid, what was seen of each.
	Tasks map[uint64]uint8 `json:"tasks,omitempty"`
	// ByKey are the other sightings, by key.
	ByKey map[string]Sighting `json:"by_key,omitempty"`
}

// What was seen of a task, in Sightings.Tasks.
const (
	seenParent uint8 = 1 << iota // the task as the parent of its stories and attachments
	seenClaim                    // Sighting.Claimed
	seenOwned                    // Sighting.Owned
)

// numericGID is gid as a number, when it is a decimal number in canonical
// form (no leading zero), which turns back into the same string.
func numericGID(gid string) (uint64, bool) {
	n, err := strconv.ParseUint(gid, 10, 64)
	return n, err == nil && (gid[0] != '0' || gid == "0")
}

// taskFlags are the flags of s when it is a sighting of a task with a
// numeric gid and nothing but its gid and kind (a task, or only claims)
// set, as a task's sightings are.
func (s Sighting) taskFlags() (uint64, uint8, bool) {
	p := s.Parent
	if p.Kind != "" && p.Kind != asana.ParentTask || p != (asana.Parent{Kind: p.Kind, GID: p.GID}) {
		return 0, 0, false
	}
	n, ok := numericGID(p.GID)
	if !ok {
		return 0, 0, false
	}
	var f uint8
	if p.Kind == asana.ParentTask {
		f |= seenParent
	}
	if s.Claimed {
		f |= seenClaim
	}
	if s.Owned {
		f |= seenOwned
	}
	return n, f, true
}

// taskSighting is the Sighting that a gid and its flags stand for.
func taskSighting(gid uint64, f uint8) Sighting {
	s := Sighting{Parent: asana.Parent{GID: strconv.FormatUint(gid, 10)}, Claimed: f&seenClaim != 0, Owned: f&seenOwned != 0}
	if f&seenParent != 0 {
		s.Parent.Kind = asana.ParentTask
	}
	return s
}

// add merges s into the set.
func (set *Sightings) add(s Sighting) {
	if n, f, ok := s.taskFlags(); ok {
		if len(set.ByKey) > 0 {
			if t, ok := set.ByKey[s.key()]; ok {
				// Seen before in a form of its own: merged there.
				set.ByKey[s.key()] = t.merge(s)
				return
			}
		}
		if set.Tasks == nil {
			set.Tasks = map[uint64]uint8{}
		}
		set.Tasks[n] |= f
		return
	}
	if p := s.Parent; p.Kind == "" || p.Kind == asana.ParentTask {
		if n, ok := numericGID(p.GID); ok {
			if f, ok := set.Tasks[n]; ok {
				// The task seen plainly before: all of it here, once.
				delete(set.Tasks, n)
				s = s.merge(taskSighting(n, f))
			}
		}
	}
	k := s.key()
	if set.ByKey == nil {
		set.ByKey = map[string]Sighting{}
	}
	if t, ok := set.ByKey[k]; ok {
		s = t.merge(s)
	}
	set.ByKey[k] = s
}

// sorted are the set's sightings, tasks by gid first, then the others
// by key.
func (set Sightings) sorted() []Sighting {
	out := make([]Sighting, 0, len(set.Tasks)+len(set.ByKey))
	for _, n := range slices.Sorted(maps.Keys(set.Tasks)) {
		out = append(out, taskSighting(n, set.Tasks[n]))
	}
	for _, k := range slices.Sorted(maps.Keys(set.ByKey)) {
		out = append(out, set.ByKey[k])
	}
	return out
}

// sightFn keys a parent for deduplication by its shard: task trees to
// trees, the others to rest. A tree without subtasks is dropped: its walk
// would list nothing, and no walk descends into it whether it is skipped
// or not (see asana.Expander.WithSkip), while most tasks are such trees.
type sightFn struct {
	Shards int `json:"shards"`
}

func (fn *sightFn) ProcessElement(p asana.Parent, trees, rest func(int, Sightings)) {
	s, tree, keep := sightingOf(p)
	if !keep {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(s.key()))
	var one Sightings
	one.add(s)
	if tree {
		trees(int(h.Sum32()%uint32(fn.Shards)), one)
	} else {
		rest(int(h.Sum32()%uint32(fn.Shards)), one)
	}
}

// sightingOf is the sighting of parent p, whether p is a task tree, and
// whether it is kept at all.
func sightingOf(p asana.Parent) (s Sighting, tree, keep bool) {
	switch p.Kind {
	case asana.ParentTaskTree:
		return Sighting{Parent: p}, true, p.NumSubtasks > 0
	case asana.ParentTaskClaim:
		return Sighting{Parent: asana.Parent{GID: p.GID}, Claimed: true, Owned: p.Owned}, false, true
	}
	return Sighting{Parent: p}, false, true
}

// mergeSightingsFn merges the sightings of a shard.
type mergeSightingsFn struct{}

// MergeAccumulators adds b's sightings to a's.
func (*mergeSightingsFn) MergeAccumulators(a, b Sightings) Sightings {
	if len(a.Tasks)+len(a.ByKey) < len(b.Tasks)+len(b.ByKey) {
		a, b = b, a
	}
	for n, f := range b.Tasks {
		a.add(taskSighting(n, f))
	}
	for _, t := range b.ByKey {
		a.add(t)
	}
	return a
}

// Batch is a group of parents, the element of ExpandFn; its restriction is
// a range of indexes into Parents.
type Batch struct {
	Parents []asana.Parent
}

// batchFn makes Batches of at most Size of the parents of a shard's
// deduplicated sightings, in the order of their keys.
type batchFn struct {
	Size int `json:"size"`
}

func (fn *batchFn) ProcessElement(_ int, set Sightings, emit func(Batch)) {
	var b []asana.Parent
	for _, s := range set.sorted() {
		b = append(b, s.parents()...)
		if len(b) >= fn.Size {
			emit(Batch{Parents: b})
			b = nil
		}
	}
	if len(b) > 0 {
		emit(Batch{Parents: b})
	}
}

// subtaskRootFn emits the gids of a shard's task trees that are subtasks:
// found on their own, their trees are walked from there.
type subtaskRootFn struct{}

func (*subtaskRootFn) ProcessElement(_ int, set Sightings, emit func(string)) {
	for _, s := range set.ByKey {
		if s.Parent.ParentTask != "" {
			emit(s.Parent.GID)
		}
	}
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
// holds one of each until the last level has run (Prism in memory), and
// Asana's JSON shrinks several times.
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
	deliveredTasks sync.Map // run → *gidSet of the tasks let through
	tasksTwice     = beam.NewCounter("asana-beam", "tasks-owned-twice")
)

// gidSet is a set of gids, kept small: it holds every task of the account
// until the run ends. Asana's gids are decimal numbers, kept as such (8
// bytes each, where a sync.Map of strings costs about 130); a gid that is
// not one in canonical form (no leading zero) is kept as a string.
type gidSet struct {
	mu   sync.Mutex
	nums map[uint64]struct{}
	strs map[string]struct{}
}

// add adds gid to the set and reports whether it was new.
func (s *gidSet) add(gid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := numericGID(gid); ok {
		if _, ok := s.nums[n]; ok {
			return false
		}
		if s.nums == nil {
			s.nums = map[uint64]struct{}{}
		}
		s.nums[n] = struct{}{}
		return true
	}
	if _, ok := s.strs[gid]; ok {
		return false
	}
	if s.strs == nil {
		s.strs = map[string]struct{}{}
	}
	s.strs[gid] = struct{}{}
	return true
}

func (fn *repeatsFn) ProcessElement(ctx context.Context, r sinks.Record, once func(sinks.Record), repeats func(string, []byte)) {
	if r.State != nil {
		once(r) // a checkpoint: after the records before it, as they are
		return
	}
	if st, ok := asana.StreamByName(r.Stream); ok && st.MayRepeat {
		repeats(r.Stream+"/"+r.Key, zstdEncoder.EncodeAll(r.Data, nil))
		return
	}
	if st, ok := asana.StreamByName(r.Stream); ok && st.Owned && fn.OneProcess {
		m, _ := deliveredTasks.LoadOrStore(fn.Run, &gidSet{})
		if !m.(*gidSet).add(r.Key) {
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

// inflateFn makes a record again of what repeatsFn keyed and compressed,
// once deduplicated.
type inflateFn struct{}

func (*inflateFn) ProcessElement(key string, data []byte) (sinks.Record, error) {
	stream, k, _ := strings.Cut(key, "/") // stream names hold no slash
	data, err := zstdDecoder.DecodeAll(data, nil)
	if err != nil {
		return sinks.Record{}, fmt.Errorf("decompressing %s record %s: %w", stream, k, err)
	}
	return sinks.Record{Stream: stream, Key: k, Data: data}, nil
}

// The encoder and decoder are safe for concurrent EncodeAll and DecodeAll.
var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
)
