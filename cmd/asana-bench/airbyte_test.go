package main

import (
	"fmt"
	"maps"
	"testing"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// handAccount is a small account made by hand; lists missing from its maps
// are empty.
type handAccount struct {
	workspaces []string
	free       string
	lists      map[string][]string    // "kind parent" → children
	portfolios map[string][][2]string // workspace → (portfolio, owner)
}

func (h *handAccount) list(kind, parent string) []string { return h.lists[kind+" "+parent] }

func (h *handAccount) GIDs(resourceType string) []string {
	if resourceType != "workspace" {
		panic("GIDs(" + resourceType + ")")
	}
	return h.workspaces
}
func (h *handAccount) PersonalWorkspace() string            { return h.free }
func (h *handAccount) WorkspaceUsers(ws string) []string    { return h.list("users", ws) }
func (h *handAccount) Tags(ws string) []string              { return h.list("tags", ws) }
func (h *handAccount) Teams(ws string) []string             { return h.list("teams", ws) }
func (h *handAccount) TeamMemberships(team string) []string { return h.list("team_memberships", team) }
func (h *handAccount) CustomFields(ws string) []string      { return h.list("custom_fields", ws) }
func (h *handAccount) Projects(ws string) []string          { return h.list("projects", ws) }
func (h *handAccount) Sections(p string) []string           { return h.list("sections", p) }
func (h *handAccount) ProjectTasks(p string) []string       { return h.list("tasks", p) }
func (h *handAccount) Stories(t string) []string            { return h.list("stories", t) }
func (h *handAccount) Attachments(parent string) []string   { return h.list("attachments", parent) }
func (h *handAccount) PortfolioItems(pf string) []string    { return h.list("items", pf) }
func (h *handAccount) PortfolioMemberships(pf string) []string {
	return h.list("portfolio_memberships", pf)
}
func (h *handAccount) Portfolios(ws, owner string) []string {
	var out []string
	for _, p := range h.portfolios[ws] {
		if owner == "" || p[1] == owner {
			out = append(out, p[0])
		}
	}
	return out
}

func many(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestAirbyteRequests counts by hand the requests of Airbyte's connector
// on an organization "1" and a free workspace "2".
func TestAirbyteRequests(t *testing.T) {
	h := &handAccount{
		workspaces: []string{"1", "2"},
		free:       "2",
		lists: map[string][]string{
			"users 1": {"u1", "u2", "u3"}, "users 2": {"u1", "u4"}, // user records u1 u2 u3 u1 u4
			"tags 1":  many("tag", 150), // two pages
			"teams 1": {"tm1", "tm2"}, "team_memberships tm1": {"m1", "m2", "m3"},
			"custom_fields 1": many("cf", 5), "custom_fields 2": many("cf", 5), // 402 on 2
			"projects 1": {"p1", "p2"}, "projects 2": {"p3"},
			"sections p1": {"s1", "s2"}, "sections p2": {"s3"},
			"tasks p1": {"t1", "t2"}, "tasks p2": {"t2", "t3"}, "tasks p3": {"t4"}, // task records t1 t2 t2 t3 t4
			"stories t1": many("st", 150), "stories t2": {"x1", "x2", "x3"}, "stories t4": {"y1"},
			"attachments p1": {"a1", "a2"}, "attachments t1": {"a3", "a4"}, "attachments t2": {"a5"},
			"portfolio_memberships pf1": {"pm1", "pm2"}, "portfolio_memberships pf2": {"pm3"},
			"items pf1": {"p1", "p2"},
		},
		portfolios: map[string][][2]string{"1": {{"pf1", "u1"}, {"pf2", "u2"}}},
	}
	// Portfolios: 2 workspaces × 5 user records = 10 requests (5 of them
	// 402s), with users' 2: 12 a read of portfolios_compact, whose records
	// are pf1 (u1, twice) and pf2.
	manifest := map[string]int{
		"workspaces":             1,
		"users":                  2,
		"tags":                   3,     // 2 pages + 1
		"teams":                  2,     // one per workspace (the free one's is empty)
		"team_memberships":       2 + 2, // per team, and teams again
		"custom_fields":          2,     // 1 + a 402
		"projects":               2,
		"sections_compact":       3,
		"sections":               3,
		"tasks":                  3,
		"stories_compact":        2 + 1 + 1 + 1, // t1 two pages; t2 once (cached)
		"stories":                150 + 3 + 3 + 1,
		"attachments_compact":    3,     // p1, p2, p3, each once (cached)
		"attachments":            2 * 5, // p1's two, once per task record
		"events":                 5 * 3, // task records × projects
		"portfolios_compact":     12,
		"portfolios":             12 + 3, // and a GET per record
		"portfolios_memberships": 12 + 3,
		"portfolio_items":        12 + 3 + 3, // portfolios again, then a listing per record
		"organization_exports":   2,
	}
	union := maps.Clone(manifest)
	union["attachments_compact"] = 3 + 4 // projects, and t1..t4 once each (cached)
	union["attachments"] = 2 + 2 + 1 + 1 // p1's, t1's, t2's twice
	union["events"] = 3 + 5              // projects + task records

	for _, c := range []struct {
		union bool
		want  map[string]int
		total int
	}{{false, manifest, 277}, {true, union, 270}} {
		got := airbyteRequests(h, 2, c.union)
		for s, w := range c.want {
			if got[s] != w {
				t.Errorf("union=%v: %s: %d requests, want %d", c.union, s, got[s], w)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("union=%v: %d streams, want %d: %v", c.union, len(got), len(c.want), got)
		}
		if sumCounts(got) != c.total || sumCounts(c.want) != c.total {
			t.Errorf("union=%v: total %d (want %d, the table sums to %d)", c.union, sumCounts(got), c.total, sumCounts(c.want))
		}
	}
}

// TestAirbyteRequestsSimulator checks the count on the simulator's tiny
// account against what it must at least be: more than our floor, the union
// no more than the manifest.
func TestAirbyteRequestsSimulator(t *testing.T) {
	a := asanatest.New(asanatest.Options{Seed: 1, Size: "tiny", ServiceAccount: true}).Account()
	var _ airbyteAccount = a
	exports := a.OrganizationExports()
	m := sumCounts(airbyteRequests(a, len(exports), false))
	u := sumCounts(airbyteRequests(a, len(exports), true))
	floor := a.RequestFloor(exports)
	if !(floor < u && u < m) {
		t.Errorf("floor %d, Airbyte union %d, manifest %d: want floor < union < manifest", floor, u, m)
	}
}
