package asana_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// benchPage asks the simulator for the first page of path (with the
// stream's opt_fields, limit 100) and returns it as the last page: its
// records as the simulator wrote them, next_page null.
func benchPage(b *testing.B, sim *asanatest.Sim, stream, path string, q url.Values) []byte {
	b.Helper()
	st, _ := asana.StreamByName(stream)
	q.Set("opt_fields", st.OptFields)
	q.Set("limit", "100")
	req := httptest.NewRequest(http.MethodGet, "https://app.asana.com/api/1.0"+path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+sim.PAT())
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, req)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Code != 200 {
		b.Fatalf("%s: %d %v", path, w.Code, err)
	}
	return append(append([]byte(`{"data":`), env.Data...), `,"next_page":null}`...)
}

// benchExpander returns an expander of streams whose client gets body as
// the answer to every request, without waits.
func benchExpander(b *testing.B, body []byte, streams ...string) (*asana.Client, *asana.Expander) {
	b.Helper()
	cfg := &asana.Config{BaseURL: "https://app.asana.com", Credentials: asana.Credentials{PersonalAccessToken: "2/1/2:bench0123456789"}}
	cfg.SetDefaults()
	lim, err := asana.NewLimiter(1<<30, 10, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	c, err := asana.New(cfg, asana.Options{Transport: asanatest.HandlerTransport(h), Limiter: lim})
	if err != nil {
		b.Fatal(err)
	}
	x, err := asana.NewExpander(c, cfg, streams, nil)
	if err != nil {
		b.Fatal(err)
	}
	return c, x
}

// benchProject is a project of the small simulated account with at least
// 100 tasks, and a task with the most stories.
func benchProject(b *testing.B, sim *asanatest.Sim) (project, task string) {
	b.Helper()
	acct := sim.Account()
	for _, ws := range acct.GIDs("workspace") {
		for _, p := range acct.Projects(ws) {
			if project == "" && len(acct.ProjectTasks(p)) >= 100 {
				project = p
			}
		}
	}
	most := -1
	for _, t := range acct.GIDs("task") {
		if n := len(acct.Stories(t)); n > most {
			task, most = t, n
		}
	}
	if project == "" {
		b.Fatal("no project with 100 tasks")
	}
	return project, task
}

// discardEmitter counts what an expansion emits.
type discardEmitter struct{ records, bytes, parents int }

func (d *discardEmitter) Record(_, _ string, data []byte) { d.records++; d.bytes += len(data) }
func (d *discardEmitter) Parent(asana.Parent)             { d.parents++ }
func (d *discardEmitter) Skipped(asana.Skip)              {}
func (d *discardEmitter) Lost(s asana.Skip)               { panic(s.String()) }
func (d *discardEmitter) Pages(string, int)               {}

// BenchmarkExpandPage decodes and expands one page of 100 records of the
// simulator, served from memory: the tasks of a project (the tasks
// stream), and the stories of a task (stories and their compact twin).
// Run with -benchmem: allocs/op and B/op are the parsing's.
func BenchmarkExpandPage(b *testing.B) {
	sim := asanatest.New(asanatest.Options{Seed: 1, Size: "small"})
	project, task := benchProject(b, sim)
	for _, tc := range []struct {
		name    string
		body    []byte
		parent  asana.Parent
		streams []string
	}{
		{"tasks", benchPage(b, sim, "tasks", "/tasks", url.Values{"project": {project}}),
			asana.Parent{Kind: asana.ParentProject, GID: project}, []string{"tasks"}},
		{"stories", benchPage(b, sim, "stories", "/tasks/"+task+"/stories", url.Values{}),
			asana.Parent{Kind: asana.ParentTask, GID: task}, []string{"stories", "stories_compact"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, x := benchExpander(b, tc.body, tc.streams...)
			ctx := context.Background()
			var out discardEmitter
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				out = discardEmitter{}
				if err := x.Expand(ctx, tc.parent, &out); err != nil {
					b.Fatal(err)
				}
			}
			if out.records+out.parents < 100 {
				b.Fatalf("%d records and %d parents from a page of 100", out.records, out.parents)
			}
		})
	}
}

// BenchmarkListPage is the paginator alone on the page of tasks: the
// records handed over, each with its gid checked.
func BenchmarkListPage(b *testing.B) {
	sim := asanatest.New(asanatest.Options{Seed: 1, Size: "small"})
	project, _ := benchProject(b, sim)
	body := benchPage(b, sim, "tasks", "/tasks", url.Values{"project": {project}})
	c, _ := benchExpander(b, body, "tasks")
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := c.List(ctx, "/tasks", url.Values{"project": {project}}, func(recs []json.RawMessage) error {
			n += len(recs)
			return nil
		}); err != nil || n != 100 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkTransport is the in-memory round trip the benchmarks above
// include: what is left when nothing is parsed.
func BenchmarkTransport(b *testing.B) {
	sim := asanatest.New(asanatest.Options{Seed: 1, Size: "small"})
	project, _ := benchProject(b, sim)
	body := benchPage(b, sim, "tasks", "/tasks", url.Values{"project": {project}})
	hc := &http.Client{Transport: asanatest.HandlerTransport(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get("https://app.asana.com/api/1.0/tasks")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
