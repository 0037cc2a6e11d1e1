package asana_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// syncRun is what one sync through the expander emitted, walked as the
// pipeline walks it: level by level, stories and events last, unclaimed
// tasks fetched, repeats of streams that may repeat dropped.
type syncRun struct {
	mu      sync.Mutex
	records map[string]map[string][]byte // stream → key → record (the last)
	times   map[string]map[string]int    // stream → key → emitted
	parents []asana.Parent
	cursors map[string]string            // project → sync token
	hashes  map[string]map[string]string // stream → gid → workspace:hash
	skipped []string
	lost    []string
}

func (r *syncRun) Record(stream, key string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.records[stream] == nil {
		r.records[stream], r.times[stream] = map[string][]byte{}, map[string]int{}
	}
	r.records[stream][key] = data
	r.times[stream][key]++
}
func (r *syncRun) Parent(p asana.Parent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch p.Kind {
	case asana.ParentCursor, asana.ParentEvents:
		r.cursors[p.GID] = p.Sync
		if p.Kind == asana.ParentCursor {
			return
		}
	case asana.ParentHash:
		stream, _ := asana.SplitHashScope(p.Workspace)
		if r.hashes[stream] == nil {
			r.hashes[stream] = map[string]string{}
		}
		r.hashes[stream][p.GID] = p.Sync
		return
	}
	r.parents = append(r.parents, p)
}
func (r *syncRun) Skipped(s asana.Skip) {
	r.mu.Lock()
	r.skipped = append(r.skipped, s.String())
	r.mu.Unlock()
}
func (r *syncRun) Lost(s asana.Skip) { r.mu.Lock(); r.lost = append(r.lost, s.String()); r.mu.Unlock() }
func (r *syncRun) Pages(string, int) {}

type expander interface {
	Expand(ctx context.Context, p asana.Parent, out asana.Emitter) error
}

// runSync walks x from roots.
func runSync(t *testing.T, x expander, roots []asana.Parent) *syncRun {
	t.Helper()
	r := &syncRun{records: map[string]map[string][]byte{}, times: map[string]map[string]int{},
		cursors: map[string]string{}, hashes: map[string]map[string]string{}}
	seen := map[string]bool{}
	claims := map[string]bool{} // task → owned
	queue := roots
	var last []asana.Parent
	expand := func(p asana.Parent) {
		key := fmt.Sprint(p.Kind, "/", p.GID, "/", p.Workspace)
		if seen[key] {
			return
		}
		seen[key] = true
		r.parents = nil
		if err := x.Expand(context.Background(), p, r); err != nil {
			t.Fatalf("expanding %s: %v", p, err)
		}
		for _, np := range r.parents {
			switch np.Kind {
			case asana.ParentTaskClaim:
				claims[np.GID] = claims[np.GID] || np.Owned
			case asana.ParentTask, asana.ParentTaskSince, asana.ParentEvents:
				last = append(last, np)
			default:
				queue = append(queue, np)
			}
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		expand(p)
	}
	for _, g := range slices.Sorted(func(yield func(string) bool) {
		for g := range claims {
			if !yield(g) {
				return
			}
		}
	}) {
		if !claims[g] {
			expand(asana.Parent{Kind: asana.ParentTaskFetch, GID: g})
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		expand(p)
	}
	for _, p := range last {
		expand(p)
	}
	return r
}

// TestIncrementalSync: a first sync keeps tokens and hashes; after a batch
// of every kind of change, a second sync from them emits every created and
// changed record with its new values (those of a full sync made then), a
// tombstone for every deleted record and no live record of it, and few
// unchanged records.
func TestIncrementalSync(t *testing.T) { synctest.Test(t, testIncrementalSync) }

func testIncrementalSync(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 3, Size: "small"})
	cfg := patConfig(sim)
	streams := []string{"tasks", "stories", "attachments", "sections", "projects", "tags", "events", "users", "workspaces"}
	base := newExpander(t, sim, cfg, streams...)
	since := sim.Now().Add(-time.Minute)
	sim.ResetRequests()
	first := runSync(t, base.WithState(&asana.SyncState{}), base.Roots())
	firstRequests := len(sim.Requests())
	if len(first.cursors) == 0 || len(first.hashes["projects"]) == 0 {
		t.Fatalf("the first sync kept %d tokens and %d project hashes", len(first.cursors), len(first.hashes["projects"]))
	}
	log, err := sim.ApplyChanges(asanatest.ChangeBatch{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	st := &asana.SyncState{Since: since, Projects: first.cursors, Hashes: first.hashes}
	sim.ResetRequests()
	second := runSync(t, base.WithState(st), base.Roots())
	secondRequests := len(sim.Requests())
	t.Logf("requests: first sync %d, second sync %d (%.1f%%), %d projects", firstRequests, secondRequests,
		100*float64(secondRequests)/float64(firstRequests), len(first.cursors))
	full := runSync(t, newExpander(t, sim, cfg, streams...), base.Roots())

	isTombstone := func(b []byte) bool { return bytes.Contains(b, []byte(asana.DeletedAtField)) }
	for _, stream := range []string{"tasks", "sections", "projects", "tags", "stories", "attachments"} {
		sc := log.Stream(stream)
		for _, g := range slices.Concat(sc.Created, sc.Changed, sc.Undeleted) {
			got, ok := second.records[stream][g]
			if !ok || isTombstone(got) {
				t.Errorf("%s %s was created or changed (%s): the second sync emits %s", stream, g, kindOf(log, g), got)
				continue
			}
			if want := full.records[stream][g]; !jsonEqual(got, want) {
				t.Errorf("%s %s: the second sync emits\n%s\nwant, as a full sync reads it now,\n%s", stream, g, got, want)
			}
		}
		for _, g := range sc.Deleted {
			if got := second.records[stream][g]; !isTombstone(got) {
				t.Errorf("%s %s was deleted: the second sync emits %s, want a tombstone", stream, g, got)
			}
		}
		for _, g := range sc.Cascaded {
			if got, ok := second.records[stream][g]; ok && !isTombstone(got) {
				t.Errorf("%s %s went with its task: the second sync emits it live", stream, g)
			}
		}
		// Unchanged records emitted again: at most 5% of the stream.
		again := 0
		for g, b := range second.records[stream] {
			if old, ok := first.records[stream][g]; ok && bytes.Equal(old, b) {
				again++
			}
		}
		if n := len(full.records[stream]); again*20 > n {
			t.Errorf("%s: %d of %d unchanged records emitted again, more than 5%%", stream, again, n)
		}
		t.Logf("%-12s second sync: %4d records (%d unchanged) of %5d; batch: %d created, %d changed, %d deleted",
			stream, len(second.records[stream]), again, len(full.records[stream]), len(sc.Created), len(sc.Changed), len(sc.Deleted))
	}
	for s, keys := range second.times {
		for k, n := range keys {
			if n > 1 && s != "users" && s != "events" {
				t.Errorf("%s %s emitted %d times", s, k, n)
			}
		}
	}
}

// kindOf names the changes of the batch about gid.
func kindOf(log *asanatest.ChangeLog, gid string) string {
	var out []string
	for _, c := range log.Changes {
		if c.GID == gid || slices.Contains(c.Related, gid) {
			out = append(out, string(c.Kind))
		}
	}
	return fmt.Sprint(out)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// TestStartDate: with a start date, no record whose cursor is before it
// is emitted (tasks by modified_at, stories by created_at, the compact
// streams by their stream's cursor), and the others are.
func TestStartDate(t *testing.T) { synctest.Test(t, testStartDate) }

func testStartDate(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 3, Size: "tiny"})
	x := newExpander(t, sim, patConfig(sim), "tasks", "stories", "stories_compact", "users")
	all := runSync(t, x, x.Roots())
	// The median created_at of the stories: half are left out.
	var created []string
	for _, b := range all.records["stories"] {
		var r struct {
			CreatedAt string `json:"created_at"`
		}
		json.Unmarshal(b, &r)
		created = append(created, r.CreatedAt)
	}
	slices.Sort(created)
	start, err := time.Parse(time.RFC3339Nano, created[len(created)/2])
	if err != nil {
		t.Fatal(err)
	}
	some := runSync(t, x.Walker(nil, start), x.Roots())
	for _, tc := range []struct{ stream, field string }{{"tasks", "modified_at"}, {"stories", "created_at"}, {"stories_compact", "created_at"}} {
		kept := 0
		for g, b := range all.records[tc.stream] {
			var r map[string]any
			json.Unmarshal(b, &r)
			ts, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(r[tc.field]))
			if _, ok := some.records[tc.stream][g]; ok != !ts.Before(start) {
				t.Errorf("%s %s (%s %s): emitted %v with start %s", tc.stream, g, tc.field, r[tc.field], ok, start)
			} else if ok {
				kept++
			}
		}
		if kept == 0 || kept == len(all.records[tc.stream]) {
			t.Errorf("%s: %d of %d kept: the test needs some of each", tc.stream, kept, len(all.records[tc.stream]))
		}
	}
	if len(some.records["users"]) != len(all.records["users"]) {
		t.Errorf("users (no cursor): %d of %d emitted", len(some.records["users"]), len(all.records["users"]))
	}
}

// TestStateOf: the streams' states merge into what the sync starts from.
func TestStateOf(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	proj := func(tok string, at time.Time) asana.ProjectState { return asana.ProjectState{Sync: tok, TakenAt: at} }
	for _, tc := range []struct {
		name   string
		states map[string]*asana.StreamState
		want   *asana.SyncState
	}{
		{"a stream without state reads everything", map[string]*asana.StreamState{"tasks": {SyncedAt: t0}}, nil},
		{"the oldest start, projects every stream follows",
			map[string]*asana.StreamState{
				"tasks":   {SyncedAt: t1, Projects: map[string]asana.ProjectState{"1": proj("a", t1), "2": proj("b", t1)}},
				"stories": {SyncedAt: t0, Projects: map[string]asana.ProjectState{"1": proj("a", t1)}},
			},
			&asana.SyncState{Since: t0.Add(-2 * time.Second), Projects: map[string]string{"1": "a"}, Hashes: map[string]map[string]string{}}},
		{"different tokens: the oldest; pending merged",
			map[string]*asana.StreamState{
				"tasks": {SyncedAt: t1, Projects: map[string]asana.ProjectState{"1": proj("new", t1), "2": proj("old2", t0)},
					Pending: map[asana.ParentKind][]string{asana.ParentTaskFetch: {"9"}}},
				"stories": {SyncedAt: t1, Projects: map[string]asana.ProjectState{"1": proj("old", t0), "2": proj("new2", t1)},
					Pending: map[asana.ParentKind][]string{asana.ParentTask: {"7", "8"}, asana.ParentTaskFetch: {"9"}},
					Hashes:  map[string]string{"5": "1:x"}},
			},
			&asana.SyncState{Since: t1.Add(-2 * time.Second), Projects: map[string]string{"1": "old", "2": "old2"},
				Hashes: map[string]map[string]string{"stories": {"5": "1:x"}},
				Pending: []asana.Parent{{Kind: asana.ParentTask, GID: "7"}, {Kind: asana.ParentTask, GID: "8"},
					{Kind: asana.ParentTaskFetch, GID: "9"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := asana.StateOf(tc.states, []string{"stories", "tasks"})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
