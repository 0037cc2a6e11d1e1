package asanatest

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFreeWorkspace402(t *testing.T) {
	c := newClient(t, Options{Seed: 6})
	d := c.s.d
	free := d.free
	if free.isOrg || len(free.projects) == 0 {
		t.Fatal("personal workspace must be a non-organization with projects")
	}
	var freeTask *task
	for _, x := range d.tasks {
		if x.ws == free {
			freeTask = x
			break
		}
	}
	tests := []struct{ path, msg string }{
		{"/workspaces/" + free.gid + "/custom_fields", "Custom Fields are not available for free users or guests."},
		{"/projects/" + free.projects[0].gid + "/custom_field_settings", "Custom Field Settings are not available for free users."},
		{"/portfolios?workspace=" + free.gid, "Portfolios are only available to premium organizations and workspaces."},
		{"/workspaces/" + free.gid + "/tasks/search", "Search is only available to premium users."},
		{"/tasks/" + freeTask.gid + "/dependencies", "Dependencies are only available to premium users."},
		{"/tasks/" + freeTask.gid + "/dependents", "Dependencies are only available to premium users."},
	}
	for _, tt := range tests {
		r := c.get(tt.path)
		if r.status != 402 || r.errMsg() != tt.msg {
			t.Errorf("GET %s: %d %q, want 402 %q", tt.path, r.status, r.errMsg(), tt.msg)
		}
	}
	// The same endpoints work in the organization.
	c.get("/workspaces/"+d.org.gid+"/custom_fields").must(t, 200)
	c.get("/workspaces/"+d.org.gid+"/tasks/search?limit=5").must(t, 200)
	// Free-workspace tasks simply have no custom fields.
	if cf := c.get("/tasks/"+freeTask.gid).must(t, 200).obj()["custom_fields"]; len(cf.([]any)) != 0 {
		t.Errorf("free task custom_fields = %v", cf)
	}
	// Teams of a personal workspace: an empty list.
	if got := c.get("/organizations/"+free.gid+"/teams").must(t, 200).list(); len(got) != 0 {
		t.Errorf("personal workspace teams = %v", got)
	}
}

func TestPortfolioAccess(t *testing.T) {
	for _, sa := range []bool{false, true} {
		c := newClient(t, Options{Seed: 6, ServiceAccount: sa})
		d := c.s.d
		org := d.org.gid
		var mine, others []string
		var otherOwner string
		for _, p := range d.org.portfolios {
			if p.owner == d.me {
				mine = append(mine, p.gid)
			} else {
				others = append(others, p.gid)
				otherOwner = p.owner.gid
			}
		}
		all := append(slices.Clone(mine), others...)
		slices.SortFunc(all, cmpGID)
		if len(mine) == 0 || len(others) == 0 {
			t.Fatal("need portfolios owned by me and by others")
		}
		list := func(q string) []string {
			r := c.get("/portfolios?workspace=" + org + q)
			if r.status != 200 {
				return []string{r.errMsg()}
			}
			return gidsOf(r.list())
		}
		wantOwner := func(owner string) []string {
			var out []string
			for _, p := range d.org.portfolios {
				if p.owner.gid == owner {
					out = append(out, p.gid)
				}
			}
			return out
		}
		if !sa {
			if diff := cmp.Diff(mine, list("")); diff != "" {
				t.Errorf("user, no owner: (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(mine, list("&owner=me")); diff != "" {
				t.Errorf("user, owner=me: (-want +got)\n%s", diff)
			}
			if r := c.get("/portfolios?workspace=" + org + "&owner=" + otherOwner); r.status != 403 {
				t.Errorf("user, other owner: %d, want 403", r.status)
			}
			c.get("/organization_exports/"+d.exports[0].gid).must(t, 403)
		} else {
			if diff := cmp.Diff(all, list("")); diff != "" {
				t.Errorf("service account, no owner: (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(wantOwner(otherOwner), list("&owner="+otherOwner)); diff != "" {
				t.Errorf("service account, owner: (-want +got)\n%s", diff)
			}
		}
		if r := c.get("/portfolios"); r.status != 400 || r.errMsg() != "workspace: Missing input" {
			t.Errorf("no workspace: %d %q", r.status, r.errMsg())
		}
	}
}

func TestOrganizationExports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 6, ServiceAccount: true, ExportDuration: 9 * time.Second})
		d := c.s.d
		states := map[string]bool{}
		for _, e := range d.exports {
			r := c.get("/organization_exports/"+e.gid).must(t, 200).obj()
			states[r["state"].(string)] = true
			if (r["state"] == "finished") != (r["download_url"] != nil) {
				t.Errorf("export %s: state %v with download_url %v", e.gid, r["state"], r["download_url"])
			}
		}
		if len(states) != 4 {
			t.Errorf("generated export states %v, want all four", states)
		}
		r := c.do("POST", testBase+apiPrefix+"/organization_exports", c.token,
			strings.NewReader(`{"data":{"organization":"`+d.org.gid+`"}}`)).must(t, 201)
		gid := r.obj()["gid"].(string)
		if loc := r.header.Get("Location"); loc != testBase+apiPrefix+"/organization_exports/"+gid {
			t.Errorf("Location = %q", loc)
		}
		seq := []string{r.obj()["state"].(string)}
		for range 4 {
			time.Sleep(3 * time.Second)
			seq = append(seq, c.get("/organization_exports/"+gid).must(t, 200).obj()["state"].(string))
		}
		if diff := cmp.Diff([]string{"pending", "started", "started", "finished", "finished"}, seq); diff != "" {
			t.Errorf("state progression (-want +got):\n%s", diff)
		}
		if r := c.do("POST", testBase+apiPrefix+"/organization_exports", c.token, strings.NewReader(`{"data":{"organization":"`+d.free.gid+`"}}`)); r.status != 400 {
			t.Errorf("export of a personal workspace: %d", r.status)
		}
	})
}

func TestDeny(t *testing.T) {
	base := New(Options{Seed: 6})
	d := base.d
	p := d.org.projects[0]
	tk := p.tasks[0]
	c := newClient(t, Options{Seed: 6, Deny: map[string]int{p.gid: 403, tk.gid: 451, d.org.teams[0].gid: 404, d.free.gid: 402}})
	tests := []struct {
		path   string
		status int
	}{
		{"/projects/" + p.gid, 403},
		{"/projects/" + p.gid + "/tasks", 403},
		{"/tasks?project=" + p.gid, 403},
		{"/attachments?parent=" + p.gid, 403},
		{"/events?resource=" + p.gid, 403},
		{"/tasks/" + tk.gid + "/stories", 451},
		{"/teams/" + d.org.teams[0].gid, 404},
		{"/users?workspace=" + d.free.gid, 402},
		{"/projects/" + d.org.projects[1].gid, 200},
	}
	for _, tt := range tests {
		if r := c.get(tt.path); r.status != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.path, r.status, tt.status)
		}
	}
}
