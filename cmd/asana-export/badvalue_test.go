package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"

	"github.com/asana-beam/asana-beam/sinks/bigquery"
	"github.com/asana-beam/asana-beam/sinks/bigquery/bqtest"
	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// badValues are the members of one task that a look-alike Asana rewrites,
// each a value that does not fit its column: a date that is no date, an
// integer beyond 64 bits, a boolean that is a string.
var badValues = []badValue{
	{"due_on", `"2024-13-45"`, "2024-13-45"},
	{"num_likes", `1e30`, "1e30"},
	{"completed", `"yes"`, "yes"},
}

type badValue struct{ field, json, text string }

// badValueServer serves the tiny account with badValues in one task (a
// task without parent, so that the listings of /tasks deliver it), in
// every answer under /api/1.0/tasks that holds it. It returns the task's
// gid, and counts the answers rewritten.
func badValueServer(t *testing.T) (*asanatest.Server, string, *atomic.Int64) {
	t.Helper()
	sim := asanatest.New(asanatest.Options{Seed: 1, ServiceAccount: true})
	acct := sim.Account()
	gids := acct.GIDs("task")
	sort.Strings(gids)
	target := ""
	for _, g := range gids {
		if o := acct.Object(g); o["parent"] == nil && o["name"] != nil && len(o["memberships"].([]any)) > 0 {
			target = g
			break
		}
	}
	if target == "" {
		t.Fatal("the account has no task without parent")
	}
	tamper := func(o map[string]json.RawMessage) bool {
		var gid string
		if json.Unmarshal(o["gid"], &gid) != nil || gid != target {
			return false
		}
		for _, b := range badValues {
			o[b.field] = json.RawMessage(b.json)
		}
		return true
	}
	var rewritten atomic.Int64
	srv := asanatest.NewTamperedServer(sim, func(r *http.Request, a *asanatest.Answer) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/api/1.0/tasks") || a.Status != http.StatusOK ||
			!bytes.Contains(a.Body, []byte(target)) {
			return
		}
		var env map[string]json.RawMessage
		if json.Unmarshal(a.Body, &env) != nil {
			return
		}
		var list []map[string]json.RawMessage
		var one map[string]json.RawMessage
		var data []byte
		switch {
		case json.Unmarshal(env["data"], &list) == nil:
			changed := false
			for _, o := range list {
				changed = tamper(o) || changed
			}
			if !changed {
				return
			}
			data, _ = json.Marshal(list)
		case json.Unmarshal(env["data"], &one) == nil && tamper(one):
			data, _ = json.Marshal(one)
		default:
			return
		}
		env["data"] = data
		body, err := json.Marshal(env)
		if err != nil {
			t.Errorf("rewriting %s: %v", r.URL, err)
			return
		}
		a.Body = body
		rewritten.Add(1)
	})
	t.Cleanup(srv.Close)
	return srv, target, &rewritten
}

// TestHardening12BadValue (issue 11, item 12): one task of the account
// has a date like 2024-13-45, an integer beyond int64 and a value of the
// wrong type. The export succeeds; in Parquet and in BigQuery those values
// are NULL and the record's other values are as Asana sent them, and a
// warning names the stream, the gid, each field and its value: in the
// manifest (Parquet), in the runs table and on stderr (BigQuery). The
// command's last line names the first warning.
func TestHardening12BadValue(t *testing.T) {
	t.Run("parquet", func(t *testing.T) {
		srv, target, rewritten := badValueServer(t)
		dir := filepath.Join(t.TempDir(), "export")
		r := runExport(t, nil, 3*time.Minute, "--config", writeConfig(t, srv, nil), "--output", dir, "--streams", "tasks", "--quiet")
		if r.code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", r.code, r.stderr)
		}
		if rewritten.Load() == 0 {
			t.Fatalf("no answer held task %s: the test proves nothing", target)
		}
		m, err := parquet.ReadManifest(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		src := "read_parquet('" + filepath.Join(dir, "tasks", "*.parquet") + "')"
		count := duckQuery(t, "SELECT CAST(count(*) AS VARCHAR) AS n FROM "+src)
		want := srv.Account().Expected(nil)["tasks"]
		if n := count[0]["n"]; n != fmt.Sprint(len(want)) || n != fmt.Sprint(m.Streams["tasks"].Records) {
			t.Errorf("DuckDB reads %v tasks, the manifest says %d, the simulator has %d", n, m.Streams["tasks"].Records, len(want))
		}
		rows := duckQuery(t, "SELECT gid, name, resource_subtype, CAST(epoch_us(created_at) AS VARCHAR) AS created_at, "+
			"CAST(due_on AS VARCHAR) AS due_on, CAST(num_likes AS VARCHAR) AS num_likes, CAST(completed AS VARCHAR) AS completed, "+
			"array_to_string(list_transform(memberships, m -> m.project.gid), ',') AS projects FROM "+src+" WHERE gid = '"+target+"'")
		if len(rows) != 1 {
			t.Fatalf("DuckDB finds %d rows of task %s, want 1", len(rows), target)
		}
		got := rows[0]
		for _, b := range badValues {
			if got[b.field] != nil {
				t.Errorf("task %s: %s is %v, want NULL (Asana sent %s)", target, b.field, got[b.field], b.json)
			}
		}
		o := srv.Account().Object(target)
		created, err := time.Parse(time.RFC3339Nano, o["created_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		intact := map[string]any{"gid": target, "name": o["name"], "resource_subtype": o["resource_subtype"],
			"created_at": fmt.Sprint(created.UnixMicro()), "projects": strings.Join(membershipProjects(o), ",")}
		for k, v := range intact {
			if got[k] != v {
				t.Errorf("task %s: %s is %#v, want %#v as Asana sent it", target, k, got[k], v)
			}
		}

		// The warnings of the stream in the manifest (written by
		// sinks/parquet/beam.go from Writer.Warnings).
		b, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Streams map[string]map[string]json.RawMessage `json:"streams"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		ws, ok := raw.Streams["tasks"]["warnings"]
		if !ok {
			t.Errorf("the manifest has no warnings for tasks (sinks/parquet/beam.go puts Writer.Warnings there):\n%s", raw.Streams["tasks"]["records"])
		} else {
			t.Logf("the manifest's warnings of tasks: %s", ws)
			checkWarnings(t, "the manifest's warnings of tasks", string(ws), target)
		}
		if n := string(raw.Streams["tasks"]["warning_count"]); n != fmt.Sprint(len(badValues)) {
			t.Errorf("the manifest's warning_count of tasks is %q, want %d", n, len(badValues))
		}
		checkLastLine(t, r.stderr, target)
		t.Logf("last line: %s", lastLine(r.stderr))
	})

	t.Run("bigquery", func(t *testing.T) {
		srv, target, rewritten := badValueServer(t)
		emu, err := bqtest.Start(t.Context(), "asana-test", "asana")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(emu.Close)
		r := runExport(t, nil, 3*time.Minute, "--config", writeConfig(t, srv, nil), "--streams", "tasks", "--quiet", "--sink", "bigquery",
			"--bq_endpoint", emu.Endpoint, "--bq_project", emu.Project, "--bq_dataset", emu.Dataset)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0:\n%s\nemulator:\n%s", r.code, r.stderr, emu.Log())
		}
		if rewritten.Load() == 0 {
			t.Fatalf("no answer held task %s: the test proves nothing", target)
		}
		c, err := bigquery.Load{Project: emu.Project, Endpoint: emu.Endpoint}.NewClient(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		table := func(name string) string { return "`" + emu.Project + "." + emu.Dataset + "." + name + "`" }
		want := srv.Account().Expected(nil)["tasks"]
		if n := bqtest.Query(t, c, "SELECT COUNT(*) FROM "+table("tasks"))[0][0]; n != int64(len(want)) {
			t.Errorf("tasks has %v rows, the simulator %d tasks", n, len(want))
		}
		rows := bqtest.Query(t, c, "SELECT gid, name, resource_subtype, created_at, due_on, num_likes, completed, "+
			"ARRAY(SELECT m.project.gid FROM UNNEST(memberships) AS m WITH OFFSET o ORDER BY o) FROM "+table("tasks")+" WHERE gid = '"+target+"'")
		if len(rows) != 1 {
			t.Fatalf("%d rows of task %s, want 1", len(rows), target)
		}
		got := rows[0]
		for i, b := range badValues {
			if got[4+i] != nil {
				t.Errorf("task %s: %s is %v, want NULL (Asana sent %s)", target, b.field, got[4+i], b.json)
			}
		}
		o := srv.Account().Object(target)
		created, err := time.Parse(time.RFC3339Nano, o["created_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var projects []string
		for _, p := range got[7].([]bq.Value) {
			projects = append(projects, p.(string))
		}
		if got[0] != target || got[1] != o["name"] || got[2] != o["resource_subtype"] ||
			!got[3].(time.Time).Equal(created.Truncate(time.Microsecond)) || !slices.Equal(projects, membershipProjects(o)) {
			t.Errorf("task %s: gid, name, resource_subtype, created_at, memberships' projects are %v %v %v %v %v; want %v %v %v %v %v as Asana sent them",
				target, got[0], got[1], got[2], got[3], projects, target, o["name"], o["resource_subtype"], created, membershipProjects(o))
		}

		// The warnings in the runs table, and on stderr.
		run := bqtest.Query(t, c, "SELECT warnings, warning_count FROM "+table(bigquery.RunsTable)+" WHERE stream = 'tasks'")
		if len(run) != 1 {
			t.Fatalf("%d rows of tasks in %s, want 1", len(run), bigquery.RunsTable)
		}
		var ws []string
		for _, w := range run[0][0].([]bq.Value) {
			ws = append(ws, w.(string))
		}
		t.Logf("%s.warnings of tasks: %q", bigquery.RunsTable, ws)
		checkWarnings(t, bigquery.RunsTable+".warnings of tasks", strings.Join(ws, "\n"), target)
		if run[0][1] != int64(len(badValues)) {
			t.Errorf("%s.warning_count of tasks is %v, want %d", bigquery.RunsTable, run[0][1], len(badValues))
		}
		var logged []string
		for _, line := range strings.Split(string(r.stderr), "\n") {
			if strings.Contains(line, "stream=tasks") && strings.Contains(line, target) {
				logged = append(logged, line)
			}
		}
		if len(logged) == 0 {
			t.Errorf("no line of stderr names tasks and record %s:\n%s", target, r.stderr)
		} else if !strings.Contains(logged[0], "values=3") || !slices.ContainsFunc(badValues, func(b badValue) bool {
			return strings.Contains(logged[0], b.field) && strings.Contains(logged[0], b.text)
		}) {
			t.Errorf("stderr: %s; want the count and the first warning", logged[0])
		}
		checkLastLine(t, r.stderr, target)
		t.Logf("last line: %s", lastLine(r.stderr))
	})

	t.Run("required field", func(t *testing.T) {
		// Only gid is non-nullable, in every stream's schema
		// (sinks/tabular/testdata/fields), and a record whose gid is
		// not a string never reaches a sink: the source drops or
		// refuses it (sources/asana/paginate.go, gidOf). The rule (such
		// a record fails the stream with an error naming stream, gid,
		// field and value) is tested below the binary: tabular's
		// TestLenientErrors, parquet's TestWriteRequiredBadValue,
		// bigquery's TestEncoderLenientErrors and TestWriteFn.
		t.Skip("no non-nullable field but gid, which the source checks before any sink")
	})
}

// checkWarnings checks that text names record target, and each bad field
// with its value.
func checkWarnings(t *testing.T, what, text, target string) {
	t.Helper()
	if !strings.Contains(text, target) {
		t.Errorf("%s do not name record %s:\n%s", what, target, text)
	}
	for _, b := range badValues {
		if !strings.Contains(text, b.field) || !strings.Contains(text, b.text) {
			t.Errorf("%s do not name field %s and its value %s:\n%s", what, b.field, b.text, text)
		}
	}
}

// checkLastLine checks that the command's last line names the stream,
// the record, and a field with its value (cmd/asana-export/main.go names
// the first warning there).
func checkLastLine(t *testing.T, stderr []byte, target string) {
	t.Helper()
	last := lastLine(stderr)
	ok := strings.Contains(last, "tasks") && strings.Contains(last, target)
	named := false
	for _, b := range badValues {
		named = named || strings.Contains(last, b.field) && strings.Contains(last, b.text)
	}
	if !ok || !named {
		t.Errorf("the last line does not name the stream, record %s, a field and its value:\n%s", target, last)
	}
}

// membershipProjects returns the project gids of a task's memberships.
func membershipProjects(o map[string]any) []string {
	var out []string
	ms, _ := o["memberships"].([]any)
	for _, m := range ms {
		out = append(out, m.(map[string]any)["project"].(map[string]any)["gid"].(string))
	}
	return out
}

// duckQuery runs a query with DuckDB (an independent Parquet reader) and
// returns its rows as JSON objects.
func duckQuery(t *testing.T, sql string) []map[string]any {
	t.Helper()
	if _, err := os.Stat(filepath.Join(duckdbDir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("DuckDB is not installed: run npm ci --prefix sinks/parquet/testdata/duckdb (the test command does): %v", err)
	}
	const script = `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
console.log(JSON.stringify((await conn.runAndReadAll(process.env.DUCK_SQL)).getRowObjectsJson()));`
	cmd := exec.Command("node", "--input-type=module", "-e", script)
	cmd.Dir = duckdbDir
	cmd.Env = append(os.Environ(), "DUCK_SQL="+sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB: %s: %v\n%s", sql, err, stderr.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("DuckDB's answer %q: %v", out, err)
	}
	return rows
}
