package asana_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// subscribeAll takes a sync token for every project of the account.
func subscribeAll(t *testing.T, sim *asanatest.Sim, c *asana.Client) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for _, ws := range sim.Account().GIDs("workspace") {
		for _, p := range sim.Account().Projects(ws) {
			_, err := c.Events(context.Background(), p, "", nil)
			var ae *asana.Error
			if !errors.As(err, &ae) || ae.Kind != asana.KindSyncToken || ae.Sync == "" {
				t.Fatalf("subscribing to project %s: %v, want a 412 and a token", p, err)
			}
			tokens[p] = ae.Sync
		}
	}
	return tokens
}

// TestProjectChanges applies a batch of every kind of change to the
// simulator and reads each project's change feed: the feeds name every
// task the batch created, changed or undeleted under a project, and every
// task it deleted, as deleted; the tasks with new stories and
// attachments; new and deleted sections; the renamed and archived
// projects. A second read from the new tokens finds nothing.
func TestProjectChanges(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 3, Size: "small"})
	c := simClient(t, sim, patConfig(sim), nil)
	tokens := subscribeAll(t, sim, c)
	log, err := sim.ApplyChanges(asanatest.ChangeBatch{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	live, deleted := map[string]map[string]bool{}, map[string]map[string]bool{}
	with := map[string]bool{}
	calls, wantCalls := 0, 0
	for p, tok := range tokens {
		ch, err := c.ProjectChanges(context.Background(), p, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Expired || ch.Sync == "" || ch.Sync == tok && ch.Events > 0 {
			t.Errorf("project %s: expired %v, sync %q after %d events", p, ch.Expired, ch.Sync, ch.Events)
		}
		calls += ch.Calls
		wantCalls += max(1, (ch.Events+99)/100)
		for s, gids := range ch.Live {
			if live[s] == nil {
				live[s] = map[string]bool{}
			}
			for _, g := range gids {
				live[s][g] = true
			}
		}
		for s, gids := range ch.Deleted {
			if deleted[s] == nil {
				deleted[s] = map[string]bool{}
			}
			for _, g := range gids {
				deleted[s][g] = true
			}
		}
		for _, g := range append(ch.StoriesOf, ch.AttachmentsOf...) {
			with[g] = true
		}
		tokens[p] = ch.Sync
	}
	if calls != wantCalls {
		t.Errorf("%d calls of events for %d projects, want %d: one each, and one more per 100 events", calls, len(tokens), wantCalls)
	}
	// What no project's feed can name: a task in no project, and what a
	// new project holds (it is read in full).
	loose := map[string]bool{}
	for _, ac := range log.Of(asanatest.LooseTaskModified) {
		loose[ac.GID] = true
	}
	for _, ac := range log.Of(asanatest.ProjectCreated) {
		for _, g := range ac.Related {
			loose[g] = true
		}
	}
	for _, tc := range []struct {
		stream string
		want   []string // live
		gone   []string // deleted
	}{
		{"tasks", slices.Concat(log.Stream("tasks").Created, log.Stream("tasks").Changed, log.Stream("tasks").Undeleted), log.Stream("tasks").Deleted},
		{"sections", slices.Concat(log.Stream("sections").Created, log.Stream("sections").Changed), log.Stream("sections").Deleted},
		{"projects", log.Stream("projects").Changed, nil},
	} {
		for _, g := range tc.want {
			if !live[tc.stream][g] && !with[g] && !loose[g] {
				t.Errorf("%s %s was created or changed, but no project's feed names it", tc.stream, g)
			}
		}
		for _, g := range tc.gone {
			if !deleted[tc.stream][g] {
				t.Errorf("%s %s was deleted, but no project's feed says so", tc.stream, g)
			}
			if live[tc.stream][g] {
				t.Errorf("%s %s was deleted, but a feed names it live", tc.stream, g)
			}
		}
	}
	for _, g := range log.Stream("tasks").Undeleted {
		if deleted["tasks"][g] || !live["tasks"][g] {
			t.Errorf("task %s was deleted then undeleted: want it live, not deleted", g)
		}
	}
	for _, ac := range slices.Concat(log.Of(asanatest.CommentAdded), log.Of(asanatest.AttachmentAdded)) {
		if task := ac.Related[0]; !with[task] && !loose[task] {
			t.Errorf("task %s gained a story or attachment (%s), but no feed names it", task, ac.Kind)
		}
	}

	// Nothing happened since: every feed is empty.
	for p, tok := range tokens {
		ch, err := c.ProjectChanges(context.Background(), p, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Events != 0 || len(ch.Live)+len(ch.Deleted) != 0 {
			t.Errorf("project %s: %d events after nothing happened", p, ch.Events)
		}
	}

	// An expired token: a fresh one, and Expired.
	var p string
	for p = range tokens {
		break
	}
	sim.ExpireSyncTokens(p)
	ch, err := c.ProjectChanges(context.Background(), p, tokens[p], "")
	if err != nil || !ch.Expired || ch.Sync == "" || ch.Sync == tokens[p] {
		t.Errorf("an expired token: %+v, %v; want Expired and a fresh token", ch, err)
	}
}
