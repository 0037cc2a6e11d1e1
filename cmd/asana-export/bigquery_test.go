package main

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/sinks/bigquery"
	"github.com/asana-beam/asana-beam/sinks/bigquery/bqtest"
	"github.com/asana-beam/asana-beam/sources/asana"
)

// TestExportToBigQuery exports the tiny demo account into the BigQuery
// emulator and reads the tables back: per table the rows are the
// simulator's records (gids, counts), values survive (timestamps with
// fractions of seconds, dates, a nested repeated field), and the run is
// recorded complete.
func TestExportToBigQuery(t *testing.T) {
	emu, err := bqtest.Start(t.Context(), "asana-test", "asana")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	out, code := export(t, "--demo", "--demo-size", "tiny", "--sink", "bigquery",
		"--bq_endpoint", emu.Endpoint, "--bq_project", emu.Project, "--bq_dataset", emu.Dataset)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\nemulator:\n%s", code, out, emu.Log())
	}

	// The same account as the demo's (same seed and size), for the truth.
	demo, err := cli.NewDemo("tiny")
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	acct := demo.Account()
	want := acct.Expected(acct.OrganizationExports())

	c, err := bigquery.Load{Project: emu.Project, Endpoint: emu.Endpoint}.NewClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	query := func(sql string) [][]bq.Value {
		t.Helper()
		return bqtest.Query(t, c, sql)
	}
	table := func(name string) string { return "`" + emu.Project + "." + emu.Dataset + "." + name + "`" }

	for _, st := range asana.Streams() {
		if st.Name == "events" { // no gid, and they depend on when the sync subscribed
			t.Logf("%-24s rows %5v", st.Name, query("SELECT COUNT(*) FROM " + table(st.Name))[0][0])
			continue
		}
		var got []string
		for _, r := range query("SELECT gid FROM " + table(st.Name)) {
			got = append(got, r[0].(string))
		}
		sort.Strings(got)
		w := slices.Clone(want[st.Name])
		sort.Strings(w)
		if len(got) != len(w) || !cmp.Equal(w, got) {
			t.Errorf("%s: %d rows, the simulator has %d records; gids (-simulator +BigQuery):\n%s", st.Name, len(got), len(w), cmp.Diff(w, got))
		}
		t.Logf("%-24s rows %5d  simulator %5d", st.Name, len(got), len(w))
	}

	// Values: every task's created_at (with its fraction of a second) and
	// due_on, and the projects of its memberships.
	var wantTasks, gotTasks []string
	for _, gid := range want["tasks"] {
		o := acct.Object(gid)
		created, err := time.Parse(time.RFC3339Nano, o["created_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		due, _ := o["due_on"].(string)
		var projects []string
		ms, _ := o["memberships"].([]any)
		for _, m := range ms {
			projects = append(projects, m.(map[string]any)["project"].(map[string]any)["gid"].(string))
		}
		wantTasks = append(wantTasks, strings.Join([]string{gid, created.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano), due, strings.Join(projects, ",")}, " "))
	}
	fractions := 0
	for _, r := range query("SELECT gid, created_at, due_on, ARRAY(SELECT m.project.gid FROM UNNEST(memberships) AS m WITH OFFSET o ORDER BY o) FROM " + table("tasks")) {
		due := ""
		if d, ok := r[2].(civil.Date); ok {
			due = d.String()
		}
		var projects []string
		for _, p := range r[3].([]bq.Value) {
			projects = append(projects, p.(string))
		}
		created := r[1].(time.Time)
		if created.Nanosecond() != 0 {
			fractions++
		}
		gotTasks = append(gotTasks, strings.Join([]string{r[0].(string), created.UTC().Format(time.RFC3339Nano), due, strings.Join(projects, ",")}, " "))
	}
	sort.Strings(wantTasks)
	sort.Strings(gotTasks)
	if diff := cmp.Diff(wantTasks, gotTasks); diff != "" {
		t.Errorf("tasks: gid created_at due_on memberships[].project.gid (-simulator +BigQuery):\n%s", diff)
	}
	if fractions == 0 {
		t.Errorf("no task has a created_at with a fraction of a second: the check of fractions proves nothing")
	}

	run := query("SELECT COUNT(*), COUNTIF(complete) FROM " + table(bigquery.RunsTable))
	if n := int64(len(asana.Streams())); run[0][0] != n || run[0][1] != n {
		t.Errorf("%s: %v rows, %v complete; want %d of each", bigquery.RunsTable, run[0][0], run[0][1], n)
	}
}
