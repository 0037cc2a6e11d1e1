package pipeline

import (
	"fmt"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
)

func init() {
	register.DoFn2x0[asana.Parent, func(string, asana.Parent)](&stateKeyFn{})
	register.DoFn3x1[string, func(*asana.Parent) bool, func(sinks.Report), error](&stateFn{})
}

// stateReports gathers what the next incremental sync needs from the
// parents the levels found: each project's sync token, taken before the
// project was read (its subscription, or its change feed's last token),
// and the hash of each record of a diffed stream. It returns a report per
// stream of o.Incremental carrying that stream's state.
func stateReports(s beam.Scope, o Options, parents ...beam.PCollection) beam.PCollection {
	s = s.Scope("State")
	// The marker makes stateFn run when there is no project at all.
	marker := beam.CreateList(s, []asana.Parent{{Kind: asana.ParentAccount}})
	keyed := beam.ParDo(s, &stateKeyFn{}, beam.Flatten(s, append(parents, marker)...))
	return beam.ParDo(s, &stateFn{Streams: o.Incremental, SyncedAt: o.SyncedAt}, beam.GroupByKey(s, keyed))
}

// stateKeyFn keeps the parents that are state.
type stateKeyFn struct{}

func (*stateKeyFn) ProcessElement(p asana.Parent, emit func(string, asana.Parent)) {
	switch p.Kind {
	case asana.ParentEvents, asana.ParentCursor, asana.ParentHash, asana.ParentAccount:
		emit("", p)
	}
}

// stateFn writes the state of each incremental stream.
type stateFn struct {
	Streams  []string  `json:"streams"`
	SyncedAt time.Time `json:"synced_at"`
}

func (fn *stateFn) ProcessElement(_ string, parents func(*asana.Parent) bool, emit func(sinks.Report)) error {
	found := newSyncFound()
	var p asana.Parent
	for parents(&p) {
		found.add(p)
	}
	for _, stream := range slices.Sorted(slices.Values(fn.Streams)) {
		raw, err := asana.EncodeStreamState(stream, found.state(stream, fn.SyncedAt))
		if err != nil {
			return fmt.Errorf("the state of %s: %w", stream, err)
		}
		emit(sinks.Report{Stream: stream, State: raw})
	}
	return nil
}

// syncFound is what a sync's states are made of, as the levels find it:
// each project's sync token, and each diffed record's hash by stream.
// stateFn gathers it at the end of a sync, a checkpointer as it goes.
type syncFound struct {
	tokens map[string]string            // project → its token of this sync
	hashes map[string]map[string]string // stream → gid → hash
}

func newSyncFound() syncFound {
	return syncFound{tokens: map[string]string{}, hashes: map[string]map[string]string{}}
}

// add records p if it is a token or a hash.
func (f syncFound) add(p asana.Parent) {
	switch p.Kind {
	case asana.ParentEvents, asana.ParentCursor:
		f.tokens[p.GID] = p.Sync
	case asana.ParentHash:
		stream, _ := asana.SplitHashScope(p.Workspace)
		if f.hashes[stream] == nil {
			f.hashes[stream] = map[string]string{}
		}
		f.hashes[stream][p.GID] = p.Sync
	}
}

// state is the state of stream after a sync that began at syncedAt.
func (f syncFound) state(stream string, syncedAt time.Time) *asana.StreamState {
	projects := make(map[string]asana.ProjectState, len(f.tokens))
	for gid, tok := range f.tokens {
		projects[gid] = asana.ProjectState{Sync: tok, TakenAt: syncedAt}
	}
	return &asana.StreamState{SyncedAt: syncedAt, ModifiedSince: syncedAt, Projects: projects, Hashes: f.hashes[stream]}
}
