package asanatest

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdata/spec_ops.json is derived from Asana's OpenAPI spec (see its
// _source): for each GET operation the simulator serves, the 200 item
// schema's properties, which of them are [Opt In], and the opt_fields enum.

type specOp struct {
	OperationID string   `json:"operationId"`
	List        bool     `json:"list"`
	Schema      string   `json:"schema"`
	Properties  []string `json:"properties"`
	OptIn       []string `json:"opt_in"`
	OptFields   []string `json:"opt_fields"`
}

var specOps = sync.OnceValue(func() map[string]specOp {
	b, err := os.ReadFile("testdata/spec_ops.json")
	if err != nil {
		panic(err)
	}
	var f struct {
		Operations map[string]specOp `json:"operations"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		panic(err)
	}
	return f.Operations
})

func optInFields(op string) []string { return specOps()[op].OptIn }

// specFixture fills the path parameters and required filters of every
// operation with objects of the generated account.
func specFixture(t *testing.T, c *tclient) map[string]string {
	d := c.s.d
	org := d.org
	var proj *project
	for _, p := range org.projects {
		if len(p.attachments) > 0 && len(p.settings) > 0 && len(p.tasks) > 0 {
			proj = p
			break
		}
	}
	if proj == nil {
		t.Fatal("no project with attachments, settings and tasks")
	}
	var tk, sub, attachT, depd *task
	for _, x := range d.tasks {
		if len(x.dependents) > 0 && depd == nil {
			depd = x
		}
		if x.ws == org && len(x.dependencies) > 0 && tk == nil {
			tk = x
		}
		if len(x.subtasks) > 0 && len(x.stories) > 0 && sub == nil {
			sub = x
		}
		if len(x.attachments) > 0 && attachT == nil {
			attachT = x
		}
	}
	if tk == nil {
		tk = proj.tasks[0]
	}
	var pf *portfolio
	for _, p := range org.portfolios {
		if p.owner == d.me {
			pf = p
			break
		}
	}
	var st *story
	for _, s := range sub.stories {
		if s.subtype == stComment {
			st = s
			break
		}
	}
	if st == nil {
		st = sub.stories[0]
	}
	return map[string]string{
		"{workspace_gid}":              org.gid,
		"{user_gid}":                   d.me.gid,
		"{team_gid}":                   org.teams[0].gid,
		"{team_membership_gid}":        org.teams[0].members[0].gid,
		"{custom_field_gid}":           org.fields[0].gid,
		"{project_gid}":                proj.gid,
		"{section_gid}":                proj.tasks[0].memberships[0].section.gid,
		"{task_gid}":                   tk.gid,
		"{story_gid}":                  st.gid,
		"{attachment_gid}":             attachT.attachments[0].gid,
		"{tag_gid}":                    org.tags[0].gid,
		"{portfolio_gid}":              pf.gid,
		"{portfolio_membership_gid}":   pf.memberships[0].gid,
		"{organization_export_gid}":    org.exports[0].gid,
		"/tasks":                       "?project=" + proj.gid,
		"/attachments":                 "?parent=" + attachT.gid,
		"/portfolios":                  "?workspace=" + org.gid,
		"/portfolio_memberships":       "?portfolio=" + pf.gid,
		"/team_memberships":            "?team=" + org.teams[0].gid,
		"/users":                       "?workspace=" + org.gid,
		"/tags":                        "?workspace=" + org.gid,
		"/projects":                    "?workspace=" + org.gid,
		"/tasks/{task_gid}/subtasks":   "", // uses sub below
		"/tasks/{task_gid}/stories":    "",
		"subtask-parent":               sub.gid,
		"dependents-of":                depd.gid,
		"/events":                      "?resource=" + proj.gid,
		"/workspaces/{workspace_gid}/": "",
	}
}

func specURL(op string, fx map[string]string) string {
	u := op
	for k, v := range fx {
		if strings.HasPrefix(k, "{") {
			u = strings.ReplaceAll(u, k, v)
		}
	}
	if op == "/tasks/{task_gid}/subtasks" || op == "/tasks/{task_gid}/stories" {
		u = strings.ReplaceAll(op, "{task_gid}", fx["subtask-parent"])
	}
	if op == "/tasks/{task_gid}/dependents" {
		u = strings.ReplaceAll(op, "{task_gid}", fx["dependents-of"])
	}
	return u + fx[op]
}

// eventsReady makes /events?resource=<project> return one event: it takes
// a sync token, then adds an event.
func eventsReady(t *testing.T, c *tclient, fx map[string]string) string {
	proj := strings.TrimPrefix(fx["/events"], "?resource=")
	r := c.get("/events?resource="+proj).must(t, 412)
	tk := c.s.d.byGID[proj].(*project).tasks[0]
	if err := c.s.AddEvent(EventSpec{Resource: tk.gid, User: c.s.d.me.gid, Field: "assignee", NewValue: c.s.d.me.gid}); err != nil {
		t.Fatal(err)
	}
	return "&sync=" + r.v["sync"].(string)
}

func sub(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestSpecDefaultRepresentation: without opt_fields, lists return the
// spec's item schema and single GETs the full schema, minus [Opt In]
// fields, key for key.
func TestSpecDefaultRepresentation(t *testing.T) {
	c := newClient(t, Options{Seed: 21, Size: "small", ServiceAccount: true})
	fx := specFixture(t, c)
	for op, spec := range specOps() {
		t.Run(op, func(t *testing.T) {
			u := specURL(op, fx)
			if op == "/events" {
				u += eventsReady(t, c, fx)
			}
			r := c.get(u).must(t, 200)
			recs := []map[string]any{r.obj()}
			if spec.List {
				recs = r.list()
				if len(recs) == 0 {
					t.Fatalf("%s: empty list, cannot check the representation", u)
				}
			}
			want := sub(spec.Properties, spec.OptIn)
			slices.Sort(want)
			for _, rec := range recs {
				if diff := cmp.Diff(want, keysOf(rec)); diff != "" {
					t.Fatalf("%s (%s): keys differ from the spec (-spec +sim):\n%s", u, spec.Schema, diff)
				}
			}
		})
	}
}

// TestSpecOptFields requests every opt_fields value the spec lists for an
// operation: the records must have exactly gid plus the top-level names,
// and every named nested field must be present in non-null objects.
func TestSpecOptFields(t *testing.T) {
	c := newClient(t, Options{Seed: 21, Size: "small", ServiceAccount: true})
	fx := specFixture(t, c)
	for op, spec := range specOps() {
		t.Run(op, func(t *testing.T) {
			var fields []string
			top := []string{}
			for _, f := range spec.OptFields {
				if f == "offset" || f == "path" || f == "uri" {
					continue
				}
				fields = append(fields, f)
				first, _, _ := strings.Cut(f, ".")
				if !slices.Contains(top, first) {
					top = append(top, first)
				}
			}
			if op != "/events" {
				top = append(top, "gid")
			}
			slices.Sort(top)
			u := specURL(op, fx)
			if strings.Contains(u, "?") {
				u += "&"
			} else {
				u += "?"
			}
			u += "opt_fields=" + strings.Join(fields, ",")
			if op == "/events" {
				u += eventsReady(t, c, fx)
			}
			r := c.get(u).must(t, 200)
			recs := []map[string]any{r.obj()}
			if spec.List {
				recs = r.list()
			}
			for _, rec := range recs {
				if diff := cmp.Diff(top, keysOf(rec)); diff != "" {
					t.Fatalf("keys differ (-want +got):\n%s", diff)
				}
				for _, f := range fields {
					checkPath(t, rec, strings.Split(f, "."), f)
				}
			}
		})
	}
}

// checkPath verifies that path exists below v, through non-null objects
// and arrays.
func checkPath(t *testing.T, v any, path []string, full string) {
	t.Helper()
	if len(path) == 0 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if !ok {
			t.Errorf("%s: missing %q in %v", full, path[0], keysOf(x))
			return
		}
		checkPath(t, child, path[1:], full)
	case []any:
		for _, e := range x {
			checkPath(t, e, path, full)
		}
	}
}
