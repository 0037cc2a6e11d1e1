package pipeline

import (
	"slices"
	"sync"
	"time"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
)

// Checkpoints of an incremental sync. The last level (stories and
// attachments of every task, tasks to fetch) is most of a first sync's
// requests, and it starts only when every project has been read: every
// record of the levels before it is written, every project's sync token
// taken. While it runs, the state of each incremental stream is that of
// the end, but for the parents of the last level not yet expanded, which
// it names (asana.StreamState.Pending): a sync that resumes from it reads
// the projects' changes since their tokens and expands those parents. The
// sink writes it among the records (sinks.Checkpointer: Airbyte's STATE
// messages), so that a sync interrupted late resumes where it stood
// instead of reading everything again.
//
// What was expanded is known only in the process that expanded it: the
// levels record what they find in a checkpointer of the run, which the
// last level reads. So checkpoints are written where the whole pipeline
// runs in one process (Prism, source-asana), never on Dataflow.

// Checkpoints configures the checkpoints of a run; Every 0 writes none.
type Checkpoints struct {
	// Every is the least time between two checkpoints.
	Every time.Duration `json:"every,omitempty"`
	// Streams are the incremental streams; SyncedAt the start of the
	// sync on Asana's clock (see Options).
	Streams  []string  `json:"streams,omitempty"`
	SyncedAt time.Time `json:"synced_at"`
}

// checkpointer gathers, in one process, what the levels of a run found,
// and what the last level expanded.
type checkpointer struct {
	mu   sync.Mutex
	last time.Time // of the last checkpoint
	// input is the state the sync started from (nil for a first sync).
	input *asana.SyncState
	// sightings are the parents of the last level, merged as the
	// pipeline's deduplication merges them; done those expanded.
	sightings Sightings
	done      map[asana.Parent]bool
	seen      syncFound // tokens and hashes, as stateFn has them at the end
	lost      bool
	seeded    bool
}

// checkpointers holds each run's checkpointer, by run.
var checkpointers sync.Map

// checkpointerOf returns the checkpointer of run.
func checkpointerOf(run string) *checkpointer {
	c, _ := checkpointers.LoadOrStore(run, &checkpointer{
		done: map[asana.Parent]bool{}, seen: newSyncFound(),
	})
	return c.(*checkpointer)
}

// seed records the state the sync starts from, whose pending parents the
// last level expands too (see Build), once per run.
func (c *checkpointer) seed(st *asana.SyncState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seeded {
		return
	}
	c.seeded = true
	c.input = st
	if st != nil {
		for _, p := range st.Pending {
			c.sight(p)
		}
	}
}

// sight merges p into the sightings of the last level, if it is one of
// its parents. The caller holds c.mu.
func (c *checkpointer) sight(p asana.Parent) {
	switch p.Kind {
	case asana.ParentTask, asana.ParentTaskClaim, asana.ParentTaskFetch, asana.ParentTaskSince:
	default:
		return
	}
	if s, _, keep := sightingOf(p); keep {
		c.sightings.add(s)
	}
}

// found records a parent a level before the last found.
func (c *checkpointer) found(p asana.Parent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.add(p)
	c.sight(p)
}

// lose records that data was lost: no checkpoint is written after.
func (c *checkpointer) lose() {
	c.mu.Lock()
	c.lost = true
	c.mu.Unlock()
}

// expanded records that the last level expanded p, every record it found
// written, and returns the checkpoints due: one record per stream of cp,
// at the first parent expanded and when cp.Every has passed since the
// last, unless data was lost.
func (c *checkpointer) expanded(p asana.Parent, cp Checkpoints, now time.Time) ([]sinks.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done[asana.Parent{Kind: p.Kind, GID: p.GID}] = true
	// The first as the last level begins: the streams of the levels before
	// are complete then, and the others stand at their pending parents.
	if c.lost || cp.Every <= 0 || !c.last.IsZero() && now.Sub(c.last) < cp.Every {
		return nil, nil
	}
	c.last = now
	return c.states(cp)
}

// pending returns the parents of the last level not yet expanded, by the
// kind a resumed sync expands them as (see asana.StreamState.Pending).
// The caller holds c.mu.
func (c *checkpointer) pending() map[asana.ParentKind][]string {
	out := map[asana.ParentKind][]string{}
	for _, s := range c.sightings.sorted() {
		for _, p := range s.parents() {
			if c.done[asana.Parent{Kind: p.Kind, GID: p.GID}] {
				continue
			}
			switch p.Kind {
			case asana.ParentTask, asana.ParentTaskSince:
				out[asana.ParentTask] = append(out[asana.ParentTask], p.GID)
			case asana.ParentTaskFetch:
				out[asana.ParentTaskFetch] = append(out[asana.ParentTaskFetch], p.GID)
			}
			// Events since a subscription: the resumed sync reads the
			// project's change feed from the same token.
		}
	}
	for k, gids := range out {
		out[k] = slices.Compact(slices.Sorted(slices.Values(gids)))
	}
	return out
}

// states returns the checkpoint of each stream of cp. The caller holds
// c.mu.
func (c *checkpointer) states(cp Checkpoints) ([]sinks.Record, error) {
	pending := c.pending()
	var out []sinks.Record
	for _, stream := range slices.Sorted(slices.Values(cp.Streams)) {
		st := c.seen.state(stream, cp.SyncedAt)
		if info, _ := asana.StreamByName(stream); info.MayRepeat && c.input != nil {
			// Its records wait for the end of the sync, to be deduplicated:
			// none is written yet, so it keeps where the sync started from
			// for the projects that had a token.
			st.SyncedAt, st.ModifiedSince = c.input.Since, c.input.Since
			for gid, tok := range c.input.Projects {
				if _, ok := st.Projects[gid]; ok {
					st.Projects[gid] = asana.ProjectState{Sync: tok, TakenAt: c.input.Since}
				}
			}
		}
		for kind, gids := range pending {
			if producedBy(stream, kind) {
				if st.Pending == nil {
					st.Pending = map[asana.ParentKind][]string{}
				}
				st.Pending[kind] = gids
			}
		}
		raw, err := asana.EncodeStreamState(stream, st)
		if err != nil {
			return nil, err
		}
		out = append(out, sinks.Record{Stream: stream, State: raw})
	}
	return out, nil
}

// producedBy says whether expanding a parent of kind yields records of
// stream, or of the stream it is cut from.
func producedBy(stream string, kind asana.ParentKind) bool {
	if info, ok := asana.StreamByName(stream); ok && info.CutFrom != "" {
		stream = info.CutFrom
	}
	kinds := []asana.ParentKind{kind}
	if kind == asana.ParentTask {
		kinds = append(kinds, asana.ParentTaskSince)
	}
	for _, l := range asana.Listings {
		if l.Stream == stream && slices.Contains(kinds, l.Parent) {
			return true
		}
	}
	return false
}
