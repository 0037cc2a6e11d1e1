package asanatest

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPaginationWalk(t *testing.T) {
	c := newClient(t, Options{Seed: 9, Size: "small"})
	a := c.s.Account()
	org := a.Organization()
	big := a.Projects(org)[0]
	var storied string
	for _, tk := range a.ProjectTasks(big) {
		if len(a.Stories(tk)) > 100 {
			storied = tk
		}
	}
	if storied == "" {
		t.Fatal("no task with more than 100 stories")
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/projects/" + big + "/tasks", a.ProjectTasks(big)},
		{"/tasks?project=" + big, a.ProjectTasks(big)},
		{"/tasks/" + storied + "/stories", a.Stories(storied)},
		{"/users?workspace=" + org, a.WorkspaceUsers(org)},
		{"/workspaces/" + org + "/projects", a.Projects(org)},
		{"/tasks?assignee=me&workspace=" + org, a.AssignedTasks(a.Me(), org)},
		{"/teams/" + a.Teams(org)[0] + "/team_memberships", a.TeamMemberships(a.Teams(org)[0])},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 7, 100} {
			if limit == 1 && len(tt.want) > 300 {
				continue
			}
			sep := "?"
			if strings.Contains(tt.path, "?") {
				sep = "&"
			}
			recs, pages := c.walk(tt.path + sep + "limit=" + strconv.Itoa(limit))
			got := gidsOf(recs)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s limit=%d: walk differs from the account (-want +got):\n%s", tt.path, limit, diff)
			}
			if wantPages := max(1, (len(tt.want)+limit-1)/limit); pages != wantPages {
				t.Errorf("%s limit=%d: %d pages, want %d", tt.path, limit, pages, wantPages)
			}
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Errorf("%s limit=%d: %s returned twice", tt.path, limit, g)
				}
				seen[g] = true
			}
		}
	}
}

func TestNextPage(t *testing.T) {
	c := newClient(t, Options{Seed: 9})
	p := c.s.Account().Projects(c.s.Account().Organization())[0]
	r := c.get("/projects/"+p+"/tasks?opt_fields=name,assignee.(name|email)&completed_since=2020-01-01T00:00:00Z&limit=2").must(t, 200)
	np := r.v["next_page"].(map[string]any)
	path := np["path"].(string)
	wantPrefix := "/projects/" + p + "/tasks?opt_fields=name,assignee.(name|email)&completed_since=2020-01-01T00:00:00Z&limit=2&offset="
	if !strings.HasPrefix(path, wantPrefix) {
		t.Errorf("next_page.path = %q, want prefix %q", path, wantPrefix)
	}
	if np["uri"] != testBase+apiPrefix+path {
		t.Errorf("next_page.uri = %q", np["uri"])
	}
	// The next page keeps the projection.
	r2 := c.get(path).must(t, 200)
	for _, rec := range r2.list() {
		if diff := cmp.Diff([]string{"assignee", "gid", "name"}, keysOf(rec)); diff != "" {
			t.Errorf("second page keys: %s", diff)
		}
	}
	// No limit: no next_page at all.
	r3 := c.get("/projects/"+p+"/tasks").must(t, 200)
	if _, ok := r3.v["next_page"]; ok {
		t.Errorf("next_page present without limit")
	}
	// Last page: null.
	r4 := c.get("/workspaces?limit=100").must(t, 200)
	if np, ok := r4.v["next_page"]; !ok || np != nil {
		t.Errorf("last page next_page = %v (present %v), want null", np, ok)
	}
}

func TestTooLarge(t *testing.T) {
	c := newClient(t, Options{Seed: 2, Size: "medium"})
	d := c.s.d
	var big *project
	for _, p := range d.projects {
		if len(p.tasks) > 1000 {
			big = p
		}
	}
	if big == nil {
		t.Fatal("medium account has no project with more than 1000 tasks")
	}
	r := c.get("/projects/"+big.gid+"/tasks").must(t, 400)
	if want := "The result is too large. You should use pagination (may require specifying a workspace)!"; r.errMsg() != want {
		t.Errorf("message %q, want %q", r.errMsg(), want)
	}
	c.get("/projects/"+big.gid+"/tasks?limit=100").must(t, 200)
	// The users of a workspace are "limited to 2000", not rejected.
	users := c.get("/workspaces/"+d.org.gid+"/users").must(t, 200).list()
	if len(users) != len(d.org.users) {
		t.Errorf("workspace users: %d, want %d", len(users), len(d.org.users))
	}
	if !sortedBy(users, "name") {
		t.Errorf("workspace users are not sorted alphabetically")
	}
}

func sortedBy(recs []map[string]any, key string) bool {
	for i := 1; i < len(recs); i++ {
		if recs[i-1][key].(string) > recs[i][key].(string) {
			return false
		}
	}
	return true
}

func TestLimitBounds(t *testing.T) {
	c := newClient(t, Options{Seed: 9})
	tests := []struct {
		limit  string
		status int
		msg    string
	}{
		{"1", 200, ""},
		{"100", 200, ""},
		{"0", 400, "limit: Must be between 1 and 100, got 0"},
		{"101", 400, "limit: Must be between 1 and 100, got 101"},
		{"-5", 400, "limit: Must be between 1 and 100, got -5"},
		{"ten", 400, "limit: Not an Integer: ten"},
		{"", 400, "limit: Not an Integer: "},
	}
	for _, tt := range tests {
		r := c.get("/workspaces?limit="+tt.limit).must(t, tt.status)
		if r.errMsg() != tt.msg {
			t.Errorf("limit=%q: message %q, want %q", tt.limit, r.errMsg(), tt.msg)
		}
	}
}

func TestOffsetTokens(t *testing.T) {
	c := newClient(t, Options{Seed: 9})
	a := c.s.Account()
	org := a.Organization()
	p := a.Projects(org)[0]
	first := c.get("/projects/"+p+"/tasks?limit=2").must(t, 200)
	tok := first.v["next_page"].(map[string]any)["offset"].(string)

	other := New(Options{Seed: 10})
	otherTok := other.keys.encodeOffset(2, listingID("projects/{project_gid}/tasks", []string{p}, url.Values{}), other.Now(), time.Hour)

	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "[2]", "[0]", 1))) + "." + parts[2]

	invalid := "offset: Your pagination token is invalid."
	tests := []struct {
		name, path string
		status     int
		msg        string
	}{
		{"valid", "/projects/" + p + "/tasks?limit=2&offset=" + url.QueryEscape(tok), 200, ""},
		{"valid with other limit", "/projects/" + p + "/tasks?limit=5&offset=" + url.QueryEscape(tok), 200, ""},
		{"garbage", "/projects/" + p + "/tasks?limit=2&offset=abc", 400, invalid},
		{"tampered", "/projects/" + p + "/tasks?limit=2&offset=" + url.QueryEscape(tampered), 400, invalid},
		{"other sim", "/projects/" + p + "/tasks?limit=2&offset=" + url.QueryEscape(otherTok), 400, invalid},
		{"other listing", "/projects/" + a.Projects(org)[1] + "/tasks?limit=2&offset=" + url.QueryEscape(tok), 400, invalid},
		{"other filter", "/projects/" + p + "/tasks?limit=2&completed_since=now&offset=" + url.QueryEscape(tok), 400, invalid},
		{"other endpoint", "/tasks?project=" + p + "&limit=2&offset=" + url.QueryEscape(tok), 400, invalid},
	}
	for _, tt := range tests {
		r := c.get(tt.path)
		if r.status != tt.status || r.errMsg() != tt.msg {
			t.Errorf("%s: %d %q, want %d %q", tt.name, r.status, r.errMsg(), tt.status, tt.msg)
		}
	}
}

func TestOffsetExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 9, OffsetTTL: time.Minute})
		p := c.s.Account().Projects(c.s.Account().Organization())[0]
		tok := c.get("/projects/"+p+"/tasks?limit=2").must(t, 200).v["next_page"].(map[string]any)["path"].(string)
		time.Sleep(59 * time.Second)
		c.get(tok).must(t, 200)
		time.Sleep(time.Second)
		r := c.get(tok).must(t, 400)
		if want := "offset: Your pagination token has expired."; r.errMsg() != want {
			t.Errorf("message %q, want %q", r.errMsg(), want)
		}
	})
}

// TestOffsetSurvivesDelete: deleting objects between pages neither skips
// nor repeats the others.
func TestOffsetSurvivesDelete(t *testing.T) {
	c := newClient(t, Options{Seed: 9, Size: "small"})
	a := c.s.Account()
	p := a.Projects(a.Organization())[0]
	all := a.ProjectTasks(p)
	r := c.get("/projects/"+p+"/tasks?limit=10").must(t, 200)
	got := gidsOf(r.list())
	c.s.Delete(all[3])  // already seen
	c.s.Delete(all[12]) // not yet seen
	rest, _ := c.walk(r.v["next_page"].(map[string]any)["path"].(string))
	got = append(got, gidsOf(rest)...)
	var want []string
	for i, g := range all {
		if i != 12 {
			want = append(want, g)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walk across deletes (-want +got):\n%s", diff)
	}
	c.get("/tasks/"+all[12]).must(t, 404)
}
