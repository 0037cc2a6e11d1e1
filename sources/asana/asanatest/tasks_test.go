package asanatest

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGetTasksValidation(t *testing.T) {
	c := newClient(t, Options{Seed: 8})
	a := c.s.Account()
	org, p := a.Organization(), a.Projects(a.Organization())[0]
	exactlyOne := "Must specify exactly one of project, tag, section, user task list, or assignee + workspace"
	tests := []struct {
		query  string
		status int
		msg    string
	}{
		{"", 400, "You should specify one of workspace, project, tag, section, user_task_list"},
		{"?limit=10", 400, "You should specify one of workspace, project, tag, section, user_task_list"},
		{"?workspace=" + org, 400, exactlyOne},
		{"?assignee=me", 400, exactlyOne},
		{"?project=" + p + "&section=" + a.Sections(p)[0], 400, exactlyOne},
		{"?project=" + p + "&assignee=me&workspace=" + org, 400, exactlyOne},
		{"?project=", 400, "project: Not a Long"},
		{"?project=abc", 400, "project: Not a recognized ID: abc"},
		{"?project=1111111111111111", 404, "project: Unknown object: 1111111111111111"},
		{"?project=" + org, 404, "project: Unknown object: " + org},
		{"?project=" + p + "&modified_since=yesterday", 400, "modified_since: Not a valid date-time: yesterday"},
		{"?project=" + p + "&completed_since=soon", 400, "completed_since: Not a valid date-time: soon"},
		{"?project=" + p, 200, ""},
		{"?assignee=me&workspace=" + org, 200, ""},
		{"?assignee=" + url.QueryEscape(c.s.d.me.email) + "&workspace=" + org, 200, ""},
		{"?tag=" + a.Tags(org)[0], 200, ""},
		{"?section=" + a.Sections(p)[0] + "&completed_since=now", 200, ""},
	}
	for _, tt := range tests {
		r := c.get("/tasks" + tt.query)
		if r.status != tt.status || r.errMsg() != tt.msg {
			t.Errorf("GET /tasks%s: %d %q, want %d %q", tt.query, r.status, r.errMsg(), tt.status, tt.msg)
		}
	}
}

func TestTaskTimeFilters(t *testing.T) {
	c := newClient(t, Options{Seed: 8, Size: "small"})
	d := c.s.d
	p := d.projects[0]
	cut := time.UnixMilli(d.epoch).Add(-60 * 24 * time.Hour)
	cutMS := cut.UnixMilli()
	tests := []struct {
		query string
		keep  func(*task) bool
	}{
		{"completed_since=now", func(t *task) bool { return !t.completed }},
		{"completed_since=" + cut.Format(time.RFC3339), func(t *task) bool { return !t.completed || t.completedAt >= cutMS }},
		{"modified_since=" + cut.Format(time.RFC3339Nano), func(t *task) bool { return t.modifiedAt >= cutMS }},
		{"modified_since=" + cut.Format("2006-01-02"), func(t *task) bool {
			return t.modifiedAt >= time.Date(cut.Year(), cut.Month(), cut.Day(), 0, 0, 0, 0, time.UTC).UnixMilli()
		}},
	}
	for _, tt := range tests {
		var want []string
		for _, x := range p.tasks {
			if tt.keep(x) {
				want = append(want, x.gid)
			}
		}
		if len(want) == 0 || len(want) == len(p.tasks) {
			t.Fatalf("%s: filter keeps %d of %d tasks; test data should split them", tt.query, len(want), len(p.tasks))
		}
		recs, _ := c.walk("/tasks?project=" + p.gid + "&limit=100&" + tt.query)
		if diff := cmp.Diff(want, gidsOf(recs)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.query, diff)
		}
	}
}

// TestTaskReachability: tasks in no project are only listed under their
// assignee; subtasks only under their parent unless added to a project.
func TestTaskReachability(t *testing.T) {
	c := newClient(t, Options{Seed: 8, Size: "small"})
	d := c.s.d
	var loose, sub *task
	for _, x := range d.tasks {
		if x.parent == nil && len(x.memberships) == 0 && loose == nil {
			loose = x
		}
		if x.parent != nil && len(x.memberships) == 0 && x.assignee != nil && sub == nil {
			sub = x
		}
	}
	inProjects := map[string]bool{}
	for _, p := range d.projects {
		for _, x := range p.tasks {
			inProjects[x.gid] = true
		}
	}
	if inProjects[loose.gid] || inProjects[sub.gid] {
		t.Fatalf("task outside projects listed in a project")
	}
	for _, x := range []*task{loose, sub} {
		recs, _ := c.walk("/tasks?assignee=" + x.assignee.gid + "&workspace=" + x.ws.gid + "&limit=100")
		if !slices.Contains(gidsOf(recs), x.gid) {
			t.Errorf("task %s not listed under its assignee", x.gid)
		}
	}
	subs := gidsOf(c.get("/tasks/"+sub.parent.gid+"/subtasks").must(t, 200).list())
	if !slices.Contains(subs, sub.gid) {
		t.Errorf("subtask %s not listed under its parent", sub.gid)
	}
	full := c.get("/tasks/"+sub.gid).must(t, 200).obj()
	if full["parent"].(map[string]any)["gid"] != sub.parent.gid {
		t.Errorf("subtask parent = %v", full["parent"])
	}
	// A task in two projects is listed in both, with both memberships.
	for _, x := range d.tasks {
		if len(x.memberships) < 2 {
			continue
		}
		for _, m := range x.memberships {
			recs, _ := c.walk("/projects/" + m.project.gid + "/tasks?limit=100")
			if !slices.Contains(gidsOf(recs), x.gid) {
				t.Errorf("multi-homed task %s missing from project %s", x.gid, m.project.gid)
			}
		}
		ms := c.get("/tasks/"+x.gid+"?opt_fields=memberships.project").must(t, 200).obj()["memberships"].([]any)
		if len(ms) != len(x.memberships) {
			t.Errorf("memberships: %d, want %d", len(ms), len(x.memberships))
		}
		break
	}
}

func TestNotFound(t *testing.T) {
	c := newClient(t, Options{Seed: 8})
	tests := []struct {
		path   string
		status int
		msg    string
	}{
		{"/nope", 404, "No matching route for request"},
		{"/tasks/1/2/3", 404, "No matching route for request"},
		{"/tasks/9999999999999999", 404, "task: Unknown object: 9999999999999999"},
		{"/projects/" + c.s.d.tasks[0].gid, 404, "project: Unknown object: " + c.s.d.tasks[0].gid},
		{"/users/nobody@example.com", 404, "user: Unknown object: nobody@example.com"},
		{"/attachments", 400, "parent: Missing input"},
		{"/events", 400, "resource: Missing input"},
	}
	for _, tt := range tests {
		r := c.get(tt.path)
		if r.status != tt.status || r.errMsg() != tt.msg {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, r.status, r.errMsg(), tt.status, tt.msg)
		}
	}
	// Outside /api/1.0 too, and no token needed to get a 404 there.
	r := c.do("GET", testBase+"/api/2.0/tasks", "", nil)
	if r.status != 404 || r.errMsg() != "No matching route for request" {
		t.Errorf("GET /api/2.0/tasks: %d %q", r.status, r.errMsg())
	}
}
