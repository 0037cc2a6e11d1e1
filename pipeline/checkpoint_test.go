package pipeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// TestCheckpointStates: a checkpoint names the parents of the last level
// not yet expanded (a task whose stories created since were to be read as
// a task to read in full), in the streams they yield; gives every stream
// the tokens of this sync but the stream whose records wait for the end
// (events), which keeps the tokens it started from; the first is written
// as the last level begins, the next not before Every has passed, none
// after data was lost.
func TestCheckpointStates(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	synced := t0.Add(time.Hour)
	c := checkpointerOf("TestCheckpointStates")
	c.seed(&asana.SyncState{Since: t0, Projects: map[string]string{"1": "old1", "9": "old9"},
		Pending: []asana.Parent{{Kind: asana.ParentTaskFetch, GID: "50"}}})
	for _, p := range []asana.Parent{
		{Kind: asana.ParentCursor, GID: "1", Sync: "new1"},
		{Kind: asana.ParentEvents, GID: "2", Sync: "new2"},
		{Kind: asana.ParentHash, GID: "7", Workspace: asana.HashScope("tags", "3"), Sync: "3:abc"},
		{Kind: asana.ParentTask, GID: "10"},
		{Kind: asana.ParentTaskSince, GID: "11"},
		{Kind: asana.ParentTaskClaim, GID: "12"},                // claimed, not owned: fetched
		{Kind: asana.ParentTaskClaim, GID: "13", Owned: true},   // delivered
		{Kind: asana.ParentTaskTree, GID: "14", NumSubtasks: 2}, // walked before
	} {
		c.found(p)
	}
	cp := Checkpoints{Every: time.Minute, Streams: []string{"events", "stories", "tags", "tasks"}, SyncedAt: synced}
	now := time.Now()
	if got, err := c.expanded(asana.Parent{Kind: asana.ParentTask, GID: "10"}, cp, now); err != nil || len(got) != len(cp.Streams) {
		t.Fatalf("first expansion: %v, %v; want a checkpoint of each stream", got, err)
	}
	if got, _ := c.expanded(asana.Parent{Kind: asana.ParentEvents, GID: "2"}, cp, now.Add(30*time.Second)); got != nil {
		t.Errorf("a checkpoint 30 s after the last, Every a minute")
	}
	got, err := c.expanded(asana.Parent{Kind: asana.ParentTaskClaim, GID: "13"}, cp, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]any{}
	for _, r := range got {
		var v any
		if err := json.Unmarshal(r.State, &v); err != nil || r.Data != nil {
			t.Fatalf("checkpoint %+v: %v", r, err)
		}
		states[r.Stream] = v
	}
	fresh := map[string]any{
		"1": map[string]any{"sync": "new1", "taken_at": "2026-05-04T10:00:00Z"},
		"2": map[string]any{"sync": "new2", "taken_at": "2026-05-04T10:00:00Z"},
	}
	at := "2026-05-04T10:00:00Z"
	want := map[string]any{
		"events": map[string]any{"version": 1.0, "synced_at": "2026-05-04T09:00:00Z", "modified_since": "2026-05-04T09:00:00Z",
			"projects": map[string]any{
				"1": map[string]any{"sync": "old1", "taken_at": "2026-05-04T09:00:00Z"},
				"2": map[string]any{"sync": "new2", "taken_at": at},
			}},
		"stories": map[string]any{"version": 1.0, "synced_at": at, "modified_since": at, "projects": fresh,
			"pending": map[string]any{"task": []any{"11"}}},
		"tags": map[string]any{"version": 1.0, "synced_at": at, "modified_since": at, "projects": fresh,
			"hashes": map[string]any{"7": "3:abc"}},
		"tasks": map[string]any{"version": 1.0, "synced_at": at, "modified_since": at, "projects": fresh,
			"pending": map[string]any{"task_fetch": []any{"12", "50"}}},
	}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("checkpoints (-want +got):\n%s", diff)
	}
	c.lose()
	if got, _ := c.expanded(asana.Parent{Kind: asana.ParentTaskFetch, GID: "12"}, cp, now.Add(time.Hour)); got != nil {
		t.Errorf("a checkpoint after data was lost")
	}
}
