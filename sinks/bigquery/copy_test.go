package bigquery

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks"
)

// fakeBigQuery answers the REST calls that Publish makes with
// ReplaceCopy, which the emulator cannot run (it has no copy jobs): it
// keeps tables as row counts, runs copy jobs on them, and records every
// call. It proves the calls, not BigQuery's semantics of copy jobs.
type fakeBigQuery struct {
	mu      sync.Mutex
	rows    map[string]int64 // table -> rows
	calls   []string         // "METHOD table-or-kind", in order
	copies  []copyJob
	patches map[string]map[string]any
	runRows int
	// oldRuns makes RunsTable exist already, with the columns of its
	// first version.
	oldRuns bool
}

type copyJob struct {
	Dst, Write, Create string
	Srcs               []string
}

var tablePath = regexp.MustCompile(`/datasets/[^/]+/tables/([^/?]+)`)

func (f *fakeBigQuery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	done := map[string]any{"state": "DONE"}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/upload/"): // the load job of the runs table
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
		var job map[string]any
		part, _ := mr.NextPart()
		json.NewDecoder(part).Decode(&job)
		part, _ = mr.NextPart()
		data, _ := io.ReadAll(part)
		n := strings.Count(string(data), "\n")
		f.runRows += n
		f.calls = append(f.calls, "LOAD "+RunsTable)
		job["status"] = done
		job["statistics"] = map[string]any{"load": map[string]any{"outputRows": fmt.Sprint(n)}}
		reply(job)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/tables"):
		var t struct {
			TableReference struct{ TableID string } `json:"tableReference"`
		}
		json.Unmarshal(body, &t)
		if _, ok := f.rows[t.TableReference.TableID]; ok {
			w.WriteHeader(http.StatusConflict)
			reply(map[string]any{"error": map[string]any{"code": 409, "message": "Already Exists"}})
			return
		}
		f.rows[t.TableReference.TableID] = 0
		f.calls = append(f.calls, "CREATE "+t.TableReference.TableID)
		w.Write(body)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/jobs"):
		var job struct {
			JobReference  map[string]any `json:"jobReference"`
			Configuration struct {
				Copy *struct {
					SourceTables      []struct{ TableID string } `json:"sourceTables"`
					DestinationTable  struct{ TableID string }   `json:"destinationTable"`
					WriteDisposition  string                     `json:"writeDisposition"`
					CreateDisposition string                     `json:"createDisposition"`
				} `json:"copy"`
			} `json:"configuration"`
		}
		json.Unmarshal(body, &job)
		cp := job.Configuration.Copy
		if cp == nil {
			http.Error(w, "only copy jobs", http.StatusBadRequest)
			return
		}
		c := copyJob{Dst: cp.DestinationTable.TableID, Write: cp.WriteDisposition, Create: cp.CreateDisposition}
		var n int64
		for _, s := range cp.SourceTables {
			c.Srcs = append(c.Srcs, s.TableID)
			n += f.rows[s.TableID]
		}
		f.rows[c.Dst] = n // WRITE_TRUNCATE
		f.copies = append(f.copies, c)
		f.calls = append(f.calls, "COPY "+c.Dst)
		reply(map[string]any{"jobReference": job.JobReference, "configuration": map[string]any{"copy": map[string]any{}}, "status": done})
	case r.Method == http.MethodGet && strings.Contains(p, "/jobs/"):
		reply(map[string]any{"jobReference": map[string]any{"jobId": p[strings.LastIndex(p, "/")+1:]}, "status": done})
	case r.Method == http.MethodPatch:
		t := tablePath.FindStringSubmatch(p)[1]
		var patch map[string]any
		json.Unmarshal(body, &patch)
		f.patches[t] = patch
		f.calls = append(f.calls, "PATCH "+t)
		w.Write(body)
	case strings.HasSuffix(p, "/queries"):
		var q struct{ Query string }
		json.Unmarshal(body, &q)
		resp := map[string]any{"jobComplete": true, "jobReference": map[string]any{"jobId": "q"}}
		if strings.HasPrefix(q.Query, "SELECT COUNT(*)") {
			t := q.Query[strings.LastIndex(q.Query, ".")+1 : len(q.Query)-1]
			resp["schema"] = map[string]any{"fields": []any{map[string]any{"name": "f0_", "type": "INTEGER"}}}
			resp["rows"] = []any{map[string]any{"f": []any{map[string]any{"v": fmt.Sprint(f.rows[t])}}}}
			resp["totalRows"] = "1"
		} else { // ReadRun
			var fields []any
			for _, c := range []string{"run_id", "stream", "records", "complete", "problems", "started_at", "finished_at", "warnings", "warning_count"} {
				fields = append(fields, map[string]any{"name": c, "type": "STRING"})
			}
			resp["schema"] = map[string]any{"fields": fields}
			var rows []any
			for range f.runRows {
				values := []any{map[string]any{"v": "x"}, map[string]any{"v": "x"}}
				for range len(fields) - 2 {
					values = append(values, map[string]any{"v": nil})
				}
				rows = append(rows, map[string]any{"f": values})
			}
			resp["rows"] = rows
			resp["totalRows"] = fmt.Sprint(len(rows))
		}
		reply(resp)
	case r.Method == http.MethodGet && tablePath.MatchString(p) && f.oldRuns && tablePath.FindStringSubmatch(p)[1] == RunsTable:
		var fields []any
		for _, c := range Schema(runsFields) {
			if !slices.Contains(runsAdded, c.Name) {
				fields = append(fields, map[string]any{"name": c.Name, "type": string(c.Type)})
			}
		}
		f.calls = append(f.calls, "GET "+RunsTable)
		reply(map[string]any{"tableReference": map[string]any{"projectId": "p", "datasetId": "d", "tableId": RunsTable},
			"etag": "etag1", "schema": map[string]any{"fields": fields}})
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/tables"):
		var tables []any
		for t := range f.rows {
			tables = append(tables, map[string]any{"tableReference": map[string]any{"projectId": "p", "datasetId": "d", "tableId": t}})
		}
		reply(map[string]any{"tables": tables})
	case r.Method == http.MethodDelete:
		t := tablePath.FindStringSubmatch(p)[1]
		delete(f.rows, t)
		f.calls = append(f.calls, "DELETE "+t)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unexpected "+r.Method+" "+p, http.StatusNotImplemented)
	}
}

// TestPublishByCopy checks the calls of the production path against a
// fake: every preparation (empty staging tables, merges of more staging
// tables than a copy job takes) before the first replacement; one copy job
// per table, WRITE_TRUNCATE from all its staging tables; then labels,
// description and no expiration; the runs table; staging tables deleted.
func TestPublishByCopy(t *testing.T) {
	defer func(n int) { maxCopySources = n }(maxCopySources)
	maxCopySources = 2
	l := Load{Project: "p", Dataset: "d", RunID: "r1", Schemas: map[string]string{"tasks": rawSchema(t, "tasks"), "tags": rawSchema(t, "tags")}}
	staged := []sinks.Part{
		{Stream: "tasks", Name: "tasks__r1__a", Rows: 2},
		{Stream: "tasks", Name: "tasks__r1__b", Rows: 3},
		{Stream: "tasks", Name: "tasks__r1__c", Rows: 4},
	}
	f := &fakeBigQuery{rows: map[string]int64{"tasks": 7, "tasks__r0__left": 1}, patches: map[string]map[string]any{}}
	for _, s := range staged {
		f.rows[s.Name] = s.Rows
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := Load{Project: "p", Endpoint: srv.URL}.NewClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, err := Publish(t.Context(), c, l, staged, []sinks.Report{{Stream: "tasks", Lost: true, Message: "lost a page"}})
	if err != nil {
		t.Fatalf("%v\ncalls: %v", err, f.calls)
	}
	if len(run) != 2 || run[1].Records != 9 || run[1].Complete {
		t.Errorf("run %+v", run)
	}
	wantCopies := []copyJob{
		{Dst: "tasks__r1__merged0_0", Srcs: []string{"tasks__r1__a", "tasks__r1__b"}},
		{Dst: "tasks__r1__merged0_1", Srcs: []string{"tasks__r1__c"}},
		{Dst: "tags", Srcs: []string{"tags__r1__empty"}},
		{Dst: "tasks", Srcs: []string{"tasks__r1__merged0_0", "tasks__r1__merged0_1"}},
	}
	for i := range wantCopies {
		wantCopies[i].Write, wantCopies[i].Create = "WRITE_TRUNCATE", "CREATE_IF_NEEDED"
	}
	if diff := cmp.Diff(wantCopies, f.copies); diff != "" {
		t.Errorf("copy jobs (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"CREATE tags__r1__empty", "CREATE tasks__r1__merged0_0", "COPY tasks__r1__merged0_0", "CREATE tasks__r1__merged0_1", "COPY tasks__r1__merged0_1",
		"COPY tags", "COPY tasks", "PATCH tags", "PATCH tasks", "CREATE " + RunsTable, "LOAD " + RunsTable,
	}
	if diff := cmp.Diff(wantCalls, f.calls[:min(len(wantCalls), len(f.calls))]); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	deleted := slices.Sorted(slices.Values(f.calls[len(wantCalls):]))
	if diff := cmp.Diff([]string{"DELETE tags__r1__empty", "DELETE tasks__r1__a", "DELETE tasks__r1__b", "DELETE tasks__r1__c",
		"DELETE tasks__r1__merged0_0", "DELETE tasks__r1__merged0_1"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got); the staging tables of this run, and no other table:\n%s", diff)
	}
	p := f.patches["tasks"]
	labels, _ := p["labels"].(map[string]any)
	if exp, ok := p["expirationTime"]; !ok || exp != nil || labels[LabelComplete] != "false" || labels[LabelRun] != "r1" ||
		!strings.Contains(fmt.Sprint(p["description"]), "INCOMPLETE") {
		t.Errorf("patch of tasks: %v; want labels, the description of what was lost, and expirationTime null", p)
	}
}

// TestPublishAddsRunsColumns: a runs table of the first version, without
// the warnings columns, gets them (BigQuery adds NULLABLE and REPEATED
// columns by a patch of the schema) before the run's rows are loaded.
func TestPublishAddsRunsColumns(t *testing.T) {
	l := Load{Project: "p", Dataset: "d", RunID: "r1", Schemas: map[string]string{"tags": rawSchema(t, "tags")}}
	f := &fakeBigQuery{rows: map[string]int64{RunsTable: 0, "tags__r1__a": 1}, patches: map[string]map[string]any{}, oldRuns: true}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := Load{Project: "p", Endpoint: srv.URL}.NewClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	staged := []sinks.Part{{Stream: "tags", Name: "tags__r1__a", Rows: 1, Warnings: []string{"record 1: field name: 1 is a number, not a string; written as null"}, WarningCount: 1}}
	if _, err := Publish(t.Context(), c, l, staged, nil); err != nil {
		t.Fatalf("%v\ncalls: %v", err, f.calls)
	}
	i := slices.Index(f.calls, "PATCH "+RunsTable)
	if i < 0 || i+1 >= len(f.calls) || f.calls[i-1] != "GET "+RunsTable || f.calls[i+1] != "LOAD "+RunsTable {
		t.Fatalf("calls %v; want the runs table read, patched, then loaded", f.calls)
	}
	var names []string
	for _, fd := range f.patches[RunsTable]["schema"].(map[string]any)["fields"].([]any) {
		names = append(names, fd.(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"run_id", "stream", "records", "complete", "problems", "started_at", "finished_at", "source", "warnings", "warning_count"}, names); diff != "" {
		t.Errorf("the runs table's columns (-want +got):\n%s", diff)
	}
	if desc := fmt.Sprint(f.patches["tags"]["description"]); !strings.Contains(desc, "1 value did not fit its column and was written as NULL (see asana_beam_runs), the first: record 1: field name: 1 is a number") {
		t.Errorf("the description of tags: %s", desc)
	}
}
