package asanatest

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// evKey is what a test checks of an event. Stories are created by the
// batch: their gid is left out (the story itself is checked through the
// log).
type evKey struct{ Type, GID, Action, Parent, Field string }

func evKeys(evs []map[string]any) []evKey {
	var out []evKey
	for _, e := range evs {
		r := e["resource"].(map[string]any)
		k := evKey{Type: r["resource_type"].(string), GID: r["gid"].(string), Action: e["action"].(string)}
		if k.Type == "story" {
			k.GID = ""
		}
		if p, ok := e["parent"].(map[string]any); ok {
			k.Parent = p["gid"].(string)
		}
		if ch, ok := e["change"].(map[string]any); ok {
			k.Field = ch["field"].(string)
		}
		out = append(out, k)
	}
	return out
}

func storyEv(parent string) evKey { return evKey{Type: "story", Action: "added", Parent: parent} }
func taskEv(gid, action, parent, field string) evKey {
	return evKey{Type: "task", GID: gid, Action: action, Parent: parent, Field: field}
}

// projectOf returns the first project of a task or of its top-level
// ancestor.
func projectOf(a *Account, gid string) string {
	for gid != "" {
		o := a.Object(gid)
		if ps, _ := o["projects"].([]any); len(ps) > 0 {
			return ps[0].(map[string]any)["gid"].(string)
		}
		p, _ := o["parent"].(map[string]any)
		gid, _ = p["gid"].(string)
	}
	return ""
}

func (c *tclient) listed(t *testing.T, path, gid string) bool {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	recs, _ := c.walk(path + sep + "limit=100")
	return slices.Contains(gidsOf(recs), gid)
}

func TestApplyChangesKinds(t *testing.T) {
	type subs = map[string][]evKey
	tests := []struct {
		kind ChangeKind
		// events returns the events each subscription (a project, or a
		// task) must have received.
		events func(a *Account, l *ChangeLog, ch AppliedChange) subs
		check  func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange)
	}{
		{UserCreated, nil, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			org := c.s.Account().Organization()
			if !c.listed(t, "/users?workspace="+org, ch.GID) || !c.listed(t, "/workspaces/"+org+"/users", ch.GID) {
				t.Errorf("new user %s not listed", ch.GID)
			}
			c.get("/users/"+ch.GID).must(t, 200)
			if diff := cmp.Diff([]string{ch.GID}, l.Stream("users").Created); diff != "" {
				t.Errorf("users created (-want +got):\n%s", diff)
			}
		}},
		{ProjectCreated, nil, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			p, sec, tk := ch.GID, ch.Related[0], ch.Related[1]
			if !c.listed(t, "/projects?workspace="+c.s.Account().Organization(), p) {
				t.Errorf("new project not listed")
			}
			if !c.listed(t, "/projects/"+p+"/sections", sec) || !c.listed(t, "/projects/"+p+"/tasks", tk) {
				t.Errorf("new project's section or task not listed")
			}
			if len(l.Projects) != 0 {
				t.Errorf("events reached %v", l.Projects)
			}
		}},
		{SectionCreated, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{ch.Related[0]: {{"section", ch.GID, "added", ch.Related[0], ""}}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if !c.listed(t, "/projects/"+ch.Related[0]+"/sections", ch.GID) {
				t.Errorf("new section not listed")
			}
		}},
		{TaskCreated, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			p, sec := ch.Related[0], ch.Related[1]
			return subs{p: {taskEv(ch.GID, "added", p, ""), taskEv(ch.GID, "added", sec, "")}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if !c.listed(t, "/projects/"+ch.Related[0]+"/tasks", ch.GID) || !c.listed(t, "/sections/"+ch.Related[1]+"/tasks", ch.GID) {
				t.Errorf("new task not listed in its project and section")
			}
		}},
		{SubtaskCreated, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			parent := ch.Related[0]
			evs := []evKey{taskEv(ch.GID, "added", parent, ""), storyEv(parent)}
			return subs{projectOf(a, parent): evs, parent: evs}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if !c.listed(t, "/tasks/"+ch.Related[0]+"/subtasks", ch.GID) {
				t.Errorf("new subtask not listed under its parent")
			}
		}},
		{TaskModified, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{projectOf(a, ch.GID): {storyEv(ch.GID), taskEv(ch.GID, "changed", "", "name"),
				storyEv(ch.GID), taskEv(ch.GID, "changed", "", "due_on")}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			got := c.get("/tasks/"+ch.GID+"?opt_fields=name,due_on").must(t, 200).obj()
			if !strings.Contains(got["name"].(string), "(v") || got["due_on"] == nil {
				t.Errorf("task after the change: %v", got)
			}
		}},
		{SubtaskModified, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{projectOf(a, ch.GID): {storyEv(ch.GID), taskEv(ch.GID, "changed", "", "name")}}
		}, nil},
		{LooseTaskModified, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{ch.GID: {storyEv(ch.GID), taskEv(ch.GID, "changed", "", "name")}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if len(l.Projects) != 0 {
				t.Errorf("a task in no project sent events to %v", l.Projects)
			}
		}},
		{TaskMovedSection, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			old, sec := ch.Related[0], ch.Related[1]
			return subs{projectOf(a, ch.GID): {taskEv(ch.GID, "removed", old, ""), taskEv(ch.GID, "added", sec, ""), storyEv(ch.GID)}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if c.listed(t, "/sections/"+ch.Related[0]+"/tasks", ch.GID) || !c.listed(t, "/sections/"+ch.Related[1]+"/tasks", ch.GID) {
				t.Errorf("moved task listed in the wrong section")
			}
		}},
		{TaskMovedProject, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			from, dest, sec := ch.Related[0], ch.Related[1], ch.Related[2]
			return subs{from: {taskEv(ch.GID, "removed", from, "")},
				dest: {taskEv(ch.GID, "added", dest, ""), taskEv(ch.GID, "added", sec, ""), storyEv(ch.GID)}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			from, dest := ch.Related[0], ch.Related[1]
			if c.listed(t, "/projects/"+from+"/tasks", ch.GID) || c.listed(t, "/tasks?project="+from, ch.GID) {
				t.Errorf("moved task still listed in its old project")
			}
			if !c.listed(t, "/projects/"+dest+"/tasks", ch.GID) {
				t.Errorf("moved task not listed in its new project")
			}
		}},
		{TaskCompleted, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{projectOf(a, ch.GID): {storyEv(ch.GID), taskEv(ch.GID, "changed", "", "completed")}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if got := c.get("/tasks/"+ch.GID).must(t, 200).obj(); got["completed"] != true || got["completed_at"] == nil {
				t.Errorf("completed task: %v %v", got["completed"], got["completed_at"])
			}
		}},
		{TaskReassigned, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{projectOf(a, ch.GID): {storyEv(ch.GID), taskEv(ch.GID, "changed", "", "assignee")}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			u := ch.Related[0]
			evs := c.s.Account().Events(ch.GID)
			if nv := evs[len(evs)-1]["change"].(map[string]any)["new_value"].(map[string]any); nv["gid"] != u {
				t.Errorf("assignee event new_value %v, want %s", nv, u)
			}
			ws := c.get("/tasks/"+ch.GID).must(t, 200).obj()["workspace"].(map[string]any)["gid"].(string)
			if !c.listed(t, "/tasks?assignee="+u+"&workspace="+ws, ch.GID) {
				t.Errorf("reassigned task not listed under its new assignee")
			}
		}},
		{CommentAdded, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{projectOf(a, ch.Related[0]): {storyEv(ch.Related[0])}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if !slices.Contains(gidsOf(c.get("/tasks/"+ch.Related[0]+"/stories").must(t, 200).list()), ch.GID) {
				t.Errorf("new comment not listed")
			}
		}},
		{AttachmentAdded, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			tk := ch.Related[0]
			return subs{projectOf(a, tk): {{"attachment", ch.GID, "added", tk, ""}}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if !c.listed(t, "/attachments?parent="+ch.Related[0], ch.GID) {
				t.Errorf("new attachment not listed")
			}
		}},
		{TaskDeleted, nil, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if got := evKeys(c.s.Account().Events(ch.GID)); !slices.Equal(got, []evKey{taskEv(ch.GID, "deleted", "", "")}) {
				t.Errorf("events of the deleted task: %v", got)
			}
			if len(l.Projects) == 0 {
				t.Fatalf("deletion reached no project")
			}
			for _, p := range l.Projects {
				if c.listed(t, "/projects/"+p+"/tasks", ch.GID) {
					t.Errorf("deleted task listed in %s", p)
				}
			}
			if sc := l.Stream("tasks"); !slices.Equal(sc.Deleted, []string{ch.GID}) {
				t.Errorf("tasks deleted: %v", sc.Deleted)
			}
		}},
		{TaskDeletedUndeleted, nil, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			want := []evKey{taskEv(ch.GID, "deleted", "", ""), taskEv(ch.GID, "undeleted", "", "")}
			for _, sub := range append([]string{ch.GID}, l.Projects...) {
				if got := evKeys(c.s.Account().Events(sub)); !slices.Equal(got, want) {
					t.Errorf("events of %s: %v", sub, got)
				}
			}
			c.get("/tasks/"+ch.GID).must(t, 200)
			for _, p := range l.Projects {
				if !c.listed(t, "/projects/"+p+"/tasks", ch.GID) {
					t.Errorf("undeleted task not listed in %s", p)
				}
			}
			if sc := l.Stream("tasks"); !slices.Equal(sc.Undeleted, []string{ch.GID}) || len(sc.Deleted) > 0 {
				t.Errorf("tasks undeleted %v, deleted %v", sc.Undeleted, sc.Deleted)
			}
		}},
		{SectionDeleted, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			p, dest := ch.Related[0], ch.Related[1]
			var evs []evKey
			for _, tk := range ch.Related[2:] {
				evs = append(evs, taskEv(tk, "removed", ch.GID, ""), taskEv(tk, "added", dest, ""), storyEv(tk))
			}
			return subs{p: append(evs, evKey{"section", ch.GID, "deleted", "", ""})}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			c.get("/sections/"+ch.GID).must(t, 404)
			if c.listed(t, "/projects/"+ch.Related[0]+"/sections", ch.GID) {
				t.Errorf("deleted section listed")
			}
			for _, tk := range ch.Related[2:] {
				if !c.listed(t, "/sections/"+ch.Related[1]+"/tasks", tk) {
					t.Errorf("task %s of the deleted section not in %s", tk, ch.Related[1])
				}
			}
		}},
		{TagDeleted, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			out := subs{}
			for _, tk := range ch.Related {
				out[tk] = []evKey{taskEv(tk, "changed", "", "tags")}
			}
			return out
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			c.get("/tags/"+ch.GID).must(t, 404)
			for _, ws := range c.s.Account().GIDs("workspace") {
				if c.listed(t, "/workspaces/"+ws+"/tags", ch.GID) {
					t.Errorf("deleted tag listed")
				}
			}
			for _, tk := range ch.Related {
				tags := c.get("/tasks/"+tk+"?opt_fields=tags").must(t, 200).obj()["tags"].([]any)
				if slices.ContainsFunc(tags, func(x any) bool { return x.(map[string]any)["gid"] == ch.GID }) {
					t.Errorf("task %s still has the deleted tag", tk)
				}
			}
			if !slices.Equal(l.Stream("tags").Deleted, []string{ch.GID}) {
				t.Errorf("tags deleted: %v", l.Stream("tags").Deleted)
			}
		}},
		{ProjectRenamed, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{ch.GID: {{"project", ch.GID, "changed", "", "name"}}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			name := c.get("/projects/"+ch.GID).must(t, 200).obj()["name"].(string)
			if !strings.HasSuffix(name, "(renamed)") {
				t.Errorf("renamed project: %q", name)
			}
			// The tasks render the new name (the compact cache is updated)
			// and are reported stale.
			for _, tk := range c.s.Account().ProjectTasks(ch.GID)[:1] {
				ps := c.get("/tasks/"+tk+"?opt_fields=projects.name").must(t, 200).obj()["projects"].([]any)
				if !slices.ContainsFunc(ps, func(x any) bool { return x.(map[string]any)["name"] == name }) {
					t.Errorf("task %s renders its project as %v", tk, ps)
				}
				if !slices.Contains(l.Stream("tasks").Stale, tk) {
					t.Errorf("task %s of the renamed project not stale", tk)
				}
			}
		}},
		{ProjectArchived, func(a *Account, l *ChangeLog, ch AppliedChange) subs {
			return subs{ch.GID: {{"project", ch.GID, "changed", "", "archived"}}}
		}, func(t *testing.T, c *tclient, l *ChangeLog, ch AppliedChange) {
			if c.get("/projects/"+ch.GID).must(t, 200).obj()["archived"] != true {
				t.Errorf("project not archived")
			}
		}},
	}
	if len(tests) != len(ChangeKinds()) {
		t.Fatalf("%d kinds tested, %d kinds", len(tests), len(ChangeKinds()))
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			c := newClient(t, Options{Seed: 21, Size: "small"})
			a := c.s.Account()
			toks := map[string]string{}
			for _, p := range a.GIDs("project") {
				toks[p] = c.firstSync(t, p)
			}
			l, err := c.s.ApplyChanges(ChangeBatch{Seed: 5, Kinds: []ChangeKind{tt.kind}})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Changes) != 1 || l.Changes[0].Kind != tt.kind {
				t.Fatalf("changes: %+v", l.Changes)
			}
			ch := l.Changes[0]
			var want subs
			if tt.events != nil {
				want = tt.events(a, l, ch)
			}
			for sub, w := range want {
				var got []map[string]any
				if tok, ok := toks[sub]; ok {
					got, _, _ = c.events(t, sub, tok)
				} else {
					got = a.Events(sub)
				}
				if diff := cmp.Diff(w, evKeys(got)); diff != "" {
					t.Errorf("events of %s (-want +got):\n%s", sub, diff)
				}
			}
			if tt.check != nil {
				tt.check(t, c, l, ch)
			}
			checkChangeLog(t, c, l)
		})
	}
}

// checkChangeLog checks what every batch must satisfy: the modified_since
// listings give exactly the tasks the log says changed, deleted records
// answer 404 and changed ones are live, the projects with events are the
// log's, and Account.Expected reflects the changes.
func checkChangeLog(t *testing.T, c *tclient, l *ChangeLog) {
	t.Helper()
	a := c.s.Account()
	tasks := l.Stream("tasks")
	modified := map[string]bool{}
	for _, g := range slices.Concat(tasks.Created, tasks.Changed, tasks.Undeleted) {
		modified[g] = true
	}
	since := url.QueryEscape(l.Before.Format(time.RFC3339Nano))
	filter := func(gids []string) []string {
		out := []string{}
		for _, g := range gids {
			if modified[g] {
				out = append(out, g)
			}
		}
		slices.SortFunc(out, cmpGID)
		return out
	}
	sorted := func(recs []map[string]any) []string {
		out := append([]string{}, gidsOf(recs)...)
		slices.SortFunc(out, cmpGID)
		return out
	}
	for _, ws := range a.GIDs("workspace") {
		for _, p := range a.Projects(ws) {
			recs, _ := c.walk("/tasks?project=" + p + "&modified_since=" + since + "&limit=100")
			if diff := cmp.Diff(filter(a.ProjectTasks(p)), sorted(recs)); diff != "" {
				t.Errorf("project %s modified_since (-want +got):\n%s", p, diff)
			}
			if evs := a.Events(p); (len(evs) > 0) != slices.Contains(l.Projects, p) {
				t.Errorf("project %s: %d events, in ChangeLog.Projects: %v", p, len(evs), slices.Contains(l.Projects, p))
			}
		}
		for _, u := range a.WorkspaceUsers(ws) {
			recs, _ := c.walk("/tasks?assignee=" + u + "&workspace=" + ws + "&modified_since=" + since + "&limit=100")
			if diff := cmp.Diff(filter(a.AssignedTasks(u, ws)), sorted(recs)); diff != "" {
				t.Errorf("assignee %s modified_since (-want +got):\n%s", u, diff)
			}
		}
	}
	paths := map[string]string{"tasks": "/tasks/", "stories": "/stories/", "attachments": "/attachments/",
		"sections": "/sections/", "tags": "/tags/", "projects": "/projects/", "users": "/users/"}
	exp := a.Expected(nil)
	for stream, sc := range l.Streams {
		for _, g := range slices.Concat(sc.Deleted, sc.Cascaded) {
			c.get(paths[stream]+g).must(t, 404)
			if a.Object(g) != nil || slices.Contains(exp[stream], g) {
				t.Errorf("%s %s deleted but still in the account", stream, g)
			}
		}
		for _, g := range slices.Concat(sc.Created, sc.Changed, sc.Undeleted, sc.Stale) {
			if a.Object(g) == nil {
				t.Errorf("%s %s should be live", stream, g)
			}
		}
		all := slices.Concat(sc.Created, sc.Changed, sc.Deleted, sc.Undeleted, sc.Cascaded, sc.Stale)
		slices.SortFunc(all, cmpGID)
		if len(slices.Compact(all)) != len(slices.Concat(sc.Created, sc.Changed, sc.Deleted, sc.Undeleted, sc.Cascaded, sc.Stale)) {
			t.Errorf("%s: the log's lists overlap: %+v", stream, sc)
		}
	}
	for _, g := range tasks.Created {
		if !slices.Contains(exp["tasks"], g) {
			t.Errorf("new task %s not expected from a full sync", g)
		}
	}
	var last int64
	for _, ev := range c.s.events.byTarget {
		for _, e := range ev {
			last = max(last, e.createdAt)
		}
	}
	if l.Events > 0 && (last < l.Before.UnixMilli() || last > l.After.UnixMilli()) {
		t.Errorf("last event at %d, outside [%v, %v]", last, l.Before, l.After)
	}
}

// TestApplyChangesBatch applies every kind at once to the medium account:
// fast, deterministic, and the log is consistent with the API.
func TestApplyChangesBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("medium account")
	}
	run := func() (*tclient, *ChangeLog, time.Duration) {
		c := newClient(t, Options{Seed: 4, Size: "medium"})
		start := time.Now()
		l, err := c.s.ApplyChanges(ChangeBatch{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		return c, l, time.Since(start)
	}
	c, l, took := run()
	t.Logf("medium, one of each kind: %d changes, %d events to %d projects in %v", len(l.Changes), l.Events, len(l.Projects), took)
	if took > 2*time.Second {
		t.Errorf("ApplyChanges took %v on medium", took)
	}
	if len(l.Changes) != len(ChangeKinds()) {
		t.Errorf("%d changes, want %d", len(l.Changes), len(ChangeKinds()))
	}
	for _, s := range []string{"tasks", "stories", "attachments", "sections", "tags", "projects", "users"} {
		if _, ok := l.Streams[s]; !ok {
			t.Errorf("stream %s untouched", s)
		}
	}
	_, l2, _ := run()
	l1 := *l
	l1.Before, l1.After, l2.Before, l2.After = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if diff := cmp.Diff(&l1, l2); diff != "" {
		t.Errorf("the same batch differs between two runs:\n%s", diff)
	}
	checkChangeLog(t, c, l)

	// A second batch on the same account works too.
	if _, err := c.s.ApplyChanges(ChangeBatch{Seed: 10, PerKind: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyChangesErrors(t *testing.T) {
	s := New(Options{Seed: 1})
	if _, err := s.ApplyChanges(ChangeBatch{Kinds: []ChangeKind{"nope"}}); err == nil {
		t.Error("unknown kind accepted")
	}
	if n := len(s.events.byTarget); n != 0 {
		t.Errorf("a refused batch emitted events")
	}
}

func TestExpireSyncTokens(t *testing.T) {
	c := newClient(t, Options{Seed: 12, Size: "small"})
	a := c.s.Account()
	ps := a.Projects(a.Organization())
	p1, p2 := ps[0], ps[1]
	tok1, tok2 := c.firstSync(t, p1), c.firstSync(t, p2)

	// One project's tokens expire: 412 with a fresh token for it alone.
	c.s.ExpireSyncTokens(p1)
	r := c.get("/events?resource="+p1+"&sync="+tok1).must(t, 412)
	if r.errMsg() != syncTooOld {
		t.Errorf("412 message %q", r.errMsg())
	}
	fresh := r.v["sync"].(string)
	c.get("/events?resource="+p2+"&sync="+tok2).must(t, 200)
	if evs, _, _ := c.events(t, p1, fresh); len(evs) != 0 {
		t.Errorf("fresh token: %d events", len(evs))
	}
	// Changes after the fresh token reach it.
	if _, err := c.s.ApplyChanges(ChangeBatch{Seed: 1, Kinds: []ChangeKind{ProjectRenamed, ProjectArchived}}); err != nil {
		t.Fatal(err)
	}
	c.get("/events?resource="+p1+"&sync="+fresh).must(t, 200)

	// Every token.
	c.s.ExpireSyncTokens("")
	c.get("/events?resource="+p2+"&sync="+tok2).must(t, 412)
	c.get("/events?resource="+p1+"&sync="+fresh).must(t, 412)

	// By age, on the simulated clock.
	tok3, tok4 := c.firstSync(t, p2), c.firstSync(t, p1)
	time.Sleep(5 * time.Millisecond)
	c.s.ExpireSyncTokensOlderThan(2 * time.Millisecond)
	c.get("/events?resource="+p2+"&sync="+tok3).must(t, 412)
	c.get("/events?resource="+p1+"&sync="+tok4).must(t, 412)
	c.s.ExpireSyncTokensOlderThan(time.Hour) // never moves the bound back
	c.get("/events?resource="+p2+"&sync="+tok3).must(t, 412)
	c.get("/events?resource="+p2+"&sync="+c.firstSync(t, p2)).must(t, 200)
}
