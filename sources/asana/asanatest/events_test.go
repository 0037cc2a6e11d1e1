package asanatest

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// firstSync does the 412 handshake for resource and returns the token.
func (c *tclient) firstSync(t *testing.T, resource string) string {
	t.Helper()
	r := c.get("/events?resource="+resource).must(t, 412)
	if r.errMsg() != syncTooOld {
		t.Errorf("412 message %q", r.errMsg())
	}
	tok, _ := r.v["sync"].(string)
	if tok == "" {
		t.Fatalf("412 without sync token: %s", r.body)
	}
	return tok
}

// events reads all pending events of resource from tok.
func (c *tclient) events(t *testing.T, resource, tok string) (evs []map[string]any, next string, calls int) {
	t.Helper()
	for {
		r := c.get("/events?resource="+resource+"&sync="+tok).must(t, 200)
		calls++
		page := r.list()
		if len(page) > eventsPerSync {
			t.Fatalf("%d events in one response", len(page))
		}
		evs = append(evs, page...)
		tok = r.v["sync"].(string)
		if r.v["has_more"] != true {
			return evs, tok, calls
		}
	}
}

func TestEventsHandshakeAndPaging(t *testing.T) {
	c := newClient(t, Options{Seed: 12})
	d := c.s.d
	var multi *task
	for _, x := range d.tasks {
		if len(x.memberships) > 1 {
			multi = x
			break
		}
	}
	if multi == nil {
		t.Fatal("no multi-homed task")
	}
	p1, p2 := multi.memberships[0].project, multi.memberships[1].project
	tok1, tok2 := c.firstSync(t, p1.gid), c.firstSync(t, p2.gid)
	tokTask := c.firstSync(t, multi.gid)

	// Nothing happened since the tokens were issued.
	if evs, _, _ := c.events(t, p1.gid, tok1); len(evs) != 0 {
		t.Fatalf("first sync returned %d events", len(evs))
	}

	// 250 changes of the multi-homed task.
	for i := range 250 {
		user := d.me.gid
		if i%50 == 0 {
			user = "" // system event
		}
		if err := c.s.AddEvent(EventSpec{Resource: multi.gid, User: user, Field: "name"}); err != nil {
			t.Fatal(err)
		}
	}
	e1, next1, calls := c.events(t, p1.gid, tok1)
	if len(e1) != 250 || calls != 3 {
		t.Errorf("project subscription: %d events in %d calls, want 250 in 3", len(e1), calls)
	}
	e2, _, _ := c.events(t, p2.gid, tok2)
	eT, _, _ := c.events(t, multi.gid, tokTask)
	if diff := cmp.Diff(e1, e2); diff != "" {
		t.Errorf("the same events differ between two project subscriptions:\n%s", diff)
	}
	if diff := cmp.Diff(e1, eT); diff != "" {
		t.Errorf("project and task subscriptions differ:\n%s", diff)
	}
	if diff := cmp.Diff(c.s.Account().Events(p1.gid), e1); diff != "" {
		t.Errorf("Account.Events differs from the API:\n%s", diff)
	}
	created := map[any]bool{}
	for _, e := range e1 {
		if created[e["created_at"]] {
			t.Fatalf("two events created at %v", e["created_at"])
		}
		created[e["created_at"]] = true
	}
	if e1[0]["user"] != nil || e1[1]["user"] == nil {
		t.Errorf("system event user = %v, user event user = %v", e1[0]["user"], e1[1]["user"])
	}
	want := map[string]any{"gid": multi.gid, "resource_type": "task", "name": multi.name}
	if diff := cmp.Diff(want, e1[1]["resource"]); diff != "" {
		t.Errorf("event resource (-want +got):\n%s", diff)
	}
	if e1[1]["action"] != "changed" || e1[1]["type"] != "task" || e1[1]["change"].(map[string]any)["field"] != "name" {
		t.Errorf("event = %v", e1[1])
	}

	// Re-requesting a token gives the same result; the final token is quiet.
	r1 := c.get("/events?resource="+p1.gid+"&sync="+tok1).must(t, 200)
	r2 := c.get("/events?resource="+p1.gid+"&sync="+tok1).must(t, 200)
	if diff := cmp.Diff(r1.v["data"], r2.v["data"]); diff != "" || r1.v["has_more"] != true {
		t.Errorf("re-requesting a sync token differs (has_more %v):\n%s", r1.v["has_more"], diff)
	}
	if evs, _, _ := c.events(t, p1.gid, next1); len(evs) != 0 {
		t.Errorf("%d events after catching up", len(evs))
	}

	// Invalid tokens and tokens of another resource: 412 with a new token.
	for _, bad := range []string{"nonsense", tok2, tok1 + "0"} {
		r := c.get("/events?resource=" + p1.gid + "&sync=" + bad)
		if r.status != 412 || r.v["sync"] == nil {
			t.Errorf("sync=%s: %d %s", bad, r.status, r.body)
		}
	}
	// Events only for tasks and projects.
	if r := c.get("/events?resource=" + d.users[0].gid); r.status != 400 {
		t.Errorf("events on a user: %d", r.status)
	}
}

func TestEventsBubbleUp(t *testing.T) {
	c := newClient(t, Options{Seed: 12})
	d := c.s.d
	var sub *task
	for _, x := range d.tasks {
		if x.parent != nil && x.parent.parent == nil && len(x.parent.memberships) > 0 && len(x.stories) > 0 {
			sub = x
			break
		}
	}
	if sub == nil {
		t.Fatal("no subtask of a project task with stories")
	}
	proj := sub.parent.memberships[0].project
	other := d.org.projects[len(d.org.projects)-1]
	if other == proj {
		other = d.org.projects[0]
	}
	toks := map[string]string{}
	for _, g := range []string{proj.gid, sub.parent.gid, sub.gid, other.gid} {
		toks[g] = c.firstSync(t, g)
	}
	if err := c.s.AddEvent(EventSpec{Resource: sub.stories[0].gid, Action: "added", Parent: sub.gid, User: d.me.gid}); err != nil {
		t.Fatal(err)
	}
	for g, want := range map[string]int{proj.gid: 1, sub.parent.gid: 1, sub.gid: 1, other.gid: 0} {
		evs, _, _ := c.events(t, g, toks[g])
		if len(evs) != want {
			t.Errorf("subscription %s: %d events, want %d", g, len(evs), want)
			continue
		}
		if want == 1 && (evs[0]["action"] != "added" || evs[0]["type"] != "story" || evs[0]["parent"].(map[string]any)["gid"] != sub.gid) {
			t.Errorf("bubbled event = %v", evs[0])
		}
	}
}

func TestActivityAndDelete(t *testing.T) {
	c := newClient(t, Options{Seed: 12})
	d := c.s.d
	p := d.org.projects[0]
	tok := c.firstSync(t, p.gid)
	before := len(c.s.Account().ProjectTasks(p.gid))
	changed := c.s.Activity(40)
	if len(changed) != 40 {
		t.Fatalf("Activity returned %d gids", len(changed))
	}
	evs, tok, _ := c.events(t, p.gid, tok)
	if len(evs) == 0 {
		t.Errorf("no events in the first project after 40 changes")
	}
	for _, g := range changed {
		if c.s.Account().TypeOf(g) == "" {
			t.Errorf("changed object %s unknown", g)
		}
	}
	// New tasks and comments show up in listings.
	after := len(c.s.Account().ProjectTasks(p.gid))
	got, _ := c.walk("/projects/" + p.gid + "/tasks?limit=100")
	if len(got) != after || after < before {
		t.Errorf("project tasks: api %d, account %d (before %d)", len(got), after, before)
	}
	// Deleting a task emits "deleted" and removes it.
	victim := p.tasks[0]
	if !c.s.Delete(victim.gid) || c.s.Delete(victim.gid) {
		t.Fatal("Delete: want true then false")
	}
	evs, _, _ = c.events(t, p.gid, tok)
	if len(evs) != 1 || evs[0]["action"] != "deleted" || evs[0]["resource"].(map[string]any)["gid"] != victim.gid {
		t.Errorf("after delete: %v", evs)
	}
	if slices.Contains(c.s.Account().ProjectTasks(p.gid), victim.gid) {
		t.Errorf("deleted task still listed")
	}
	c.get("/tasks/"+victim.gid).must(t, 404)
}

func TestSyncExpiryAndLiveActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 12, SyncTTL: time.Hour, ActivityInterval: time.Minute})
		p := c.s.d.org.projects[0]
		tok := c.firstSync(t, p.gid)
		time.Sleep(30 * time.Minute)
		evs, _, _ := c.events(t, p.gid, tok)
		if len(evs) == 0 {
			t.Errorf("no live activity after 30 simulated minutes")
		}
		for _, e := range evs {
			ts, err := time.Parse(time.RFC3339, e["created_at"].(string))
			if err != nil || ts.Before(c.s.opts.Epoch) || ts.After(c.s.Now()) {
				t.Errorf("event created_at %v outside the simulated run", e["created_at"])
			}
		}
		time.Sleep(time.Hour)
		if r := c.get("/events?resource=" + p.gid + "&sync=" + tok); r.status != 412 {
			t.Errorf("expired sync token: %d", r.status)
		}
	})
}
