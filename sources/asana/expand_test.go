package asana_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// collector is an Emitter that keeps everything.
type collector struct {
	mu      sync.Mutex
	records map[string]map[string]int // stream → key → times
	parents []asana.Parent
	skipped []string
	lost    []string
}

func (c *collector) Record(stream, key string, _ []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.records[stream] == nil {
		c.records[stream] = map[string]int{}
	}
	c.records[stream][key]++
}
func (c *collector) Parent(p asana.Parent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parents = append(c.parents, p)
}
func (c *collector) Skipped(s asana.Skip) {
	c.mu.Lock()
	c.skipped = append(c.skipped, s.String())
	c.mu.Unlock()
}
func (c *collector) Lost(s asana.Skip) {
	c.mu.Lock()
	c.lost = append(c.lost, s.String())
	c.mu.Unlock()
}
func (c *collector) Pages(string, int) {}

// walk expands everything below the roots, each parent once, in plain Go:
// the order of the pipeline's levels without Beam.
func walk(t *testing.T, x *asana.Expander) *collector {
	t.Helper()
	c := &collector{records: map[string]map[string]int{}}
	seen := map[string]bool{}
	queue := x.Roots()
	var deferred []asana.Parent // task and event parents go last, as in the pipeline
	for len(queue) > 0 || len(deferred) > 0 {
		if len(queue) == 0 {
			queue, deferred = deferred, nil
		}
		p := queue[0]
		queue = queue[1:]
		key := fmt.Sprint(p.Kind, p.GID, p.Workspace)
		if seen[key] {
			continue
		}
		seen[key] = true
		c.parents = nil
		if err := x.Expand(context.Background(), p, c); err != nil {
			t.Fatalf("expanding %s: %v", p, err)
		}
		for _, np := range c.parents {
			if np.Kind == asana.ParentTask || np.Kind == asana.ParentEvents {
				deferred = append(deferred, np)
			} else {
				queue = append(queue, np)
			}
		}
	}
	return c
}

func newExpander(t *testing.T, sim *asanatest.Sim, cfg *asana.Config, streams ...string) *asana.Expander {
	t.Helper()
	c := simClient(t, sim, cfg, nil)
	x, err := asana.NewExpander(c, cfg, streams, nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func keysOf(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestExpanderAllowListsAndArchived(t *testing.T) {
	// The first seed whose account has an archived project.
	var sim *asanatest.Sim
	var archived []string
	for seed := int64(1); seed < 100 && len(archived) == 0; seed++ {
		sim = asanatest.New(asanatest.Options{Seed: seed, Size: "small"})
		for _, p := range sim.Account().GIDs("project") {
			if sim.Account().Object(p)["archived"] == true {
				archived = append(archived, p)
			}
		}
	}
	if len(archived) == 0 {
		t.Fatal("no seed gives an archived project; the test needs one")
	}
	acct := sim.Account()
	org := acct.Organization()
	projects := acct.Projects(org)

	t.Run("workspaces and projects", func(t *testing.T) {
		cfg := patConfig(sim)
		cfg.Workspaces = []string{org}
		cfg.Projects = projects[:2]
		c := walk(t, newExpander(t, sim, cfg, "workspaces", "projects", "sections"))
		if diff := cmp.Diff([]string{org}, keysOf(c.records["workspaces"])); diff != "" {
			t.Errorf("workspaces (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sorted(projects[:2]), keysOf(c.records["projects"])); diff != "" {
			t.Errorf("projects (-want +got):\n%s", diff)
		}
		var sections []string
		for _, p := range projects[:2] {
			sections = append(sections, acct.Sections(p)...)
		}
		if diff := cmp.Diff(sorted(sections), keysOf(c.records["sections"])); diff != "" {
			t.Errorf("sections (-want +got):\n%s", diff)
		}
	})
	t.Run("archived projects left out", func(t *testing.T) {
		cfg := patConfig(sim)
		no := false
		cfg.IncludeArchivedProjects = &no
		c := walk(t, newExpander(t, sim, cfg, "projects"))
		for _, p := range archived {
			if c.records["projects"][p] > 0 {
				t.Errorf("archived project %s was read", p)
			}
		}
		if len(c.records["projects"]) != len(acct.GIDs("project"))-len(archived) {
			t.Errorf("%d projects read, want %d", len(c.records["projects"]), len(acct.GIDs("project"))-len(archived))
		}
	})
}

// TestExpanderSkipsWhatItMayNotRead: parts of the tree answer 403, 404 and
// 451; they are reported by name and everything else is read.
func TestExpanderSkipsWhatItMayNotRead(t *testing.T) {
	base := asanatest.New(asanatest.Options{Seed: 22, Size: "tiny"})
	acct := base.Account()
	org := acct.Organization()
	project := acct.Projects(org)[0]
	task := acct.ProjectTasks(acct.Projects(org)[1])[0]
	team := acct.Teams(org)[0]
	sim := asanatest.New(asanatest.Options{Seed: 22, Size: "tiny", Deny: map[string]int{project: 403, task: 451, team: 404}})
	c := walk(t, newExpander(t, sim, patConfig(sim), "tasks", "stories", "team_memberships", "sections"))
	if len(c.lost) > 0 {
		t.Errorf("lost: %v", c.lost)
	}
	joined := strings.Join(c.skipped, "\n")
	for _, want := range []string{"tasks of project " + project + ": 403", "sections of project " + project + ": 403",
		"stories of task " + task + ": 451", "team_memberships of team " + team + ": 404"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no report %q among:\n%s", want, joined)
		}
	}
	if c.records["stories"] == nil || c.records["team_memberships"] == nil {
		t.Errorf("the readable rest was not read: %d stories, %d team memberships", len(c.records["stories"]), len(c.records["team_memberships"]))
	}
	for _, s := range acct.Stories(task) {
		if c.records["stories"][s] > 0 {
			t.Errorf("story %s of the denied task was read", s)
		}
	}
}

// TestExpanderReportsLostData: a listing that keeps failing after its
// retries is reported lost (the stream will be INCOMPLETE), the rest read.
func TestExpanderReportsLostData(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 23, Size: "tiny"})
	acct := sim.Account()
	bad := acct.Projects(acct.Organization())[0]
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("project") == bad {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sim.ServeHTTP(w, r)
	})
	cfg := patConfig(sim)
	cfg.BaseURL = "https://app.asana.com"
	cfg.SetDefaults()
	lim, _ := asana.NewLimiter(100000, 10, 0)
	client, err := asana.New(cfg, asana.Options{Transport: asanatest.HandlerTransport(failing), Limiter: lim, MaxRetries: 2, RetryWaitMin: 1, RetryWaitMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := asana.NewExpander(client, cfg, []string{"tasks"}, nil)
	c := walk(t, x)
	if len(c.lost) != 1 || !strings.Contains(c.lost[0], "tasks of project "+bad) {
		t.Errorf("lost = %v, want the tasks of project %s", c.lost, bad)
	}
	for _, p := range acct.Projects(acct.Organization())[1:] {
		for _, task := range acct.ProjectTasks(p) {
			if c.records["tasks"][task] == 0 {
				t.Errorf("task %s of a readable project is missing", task)
			}
		}
	}
}
