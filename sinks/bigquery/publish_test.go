package bigquery

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	bq "cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/iterator"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/bigquery/bqtest"
	"github.com/asana-beam/asana-beam/sources/asana/schemas"
)

func rawSchema(t *testing.T, stream string) string {
	t.Helper()
	raw, ok := schemas.Raw(stream)
	if !ok {
		t.Fatalf("no schema for %s", stream)
	}
	return string(raw)
}

// stage loads records of stream into a new staging table of the run, as a
// bundle of WriteFn does.
func stage(t *testing.T, c *bq.Client, l Load, stream string, gids ...string) sinks.Part {
	t.Helper()
	fields := streamFields(t, stream)
	tb, err := CreateStaging(t.Context(), c, l, stream, Schema(fields))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(c, tb, fields, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gids {
		if _, err := w.Write(t.Context(), [][]byte{fmt.Appendf(nil, `{"gid":%q,"name":"task %s"}`, g, g)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return sinks.Part{Stream: stream, Name: tb.TableID, Rows: w.Rows()}
}

func gids(t *testing.T, c *bq.Client, l Load, table string) []string {
	t.Helper()
	var out []string
	for _, row := range bqtest.Query(t, c, "SELECT gid FROM `"+l.Project+"."+l.Dataset+"."+table+"` ORDER BY gid") {
		out = append(out, row[0].(string))
	}
	return out
}

func tableNames(t *testing.T, c *bq.Client, dataset string) []string {
	t.Helper()
	var out []string
	it := c.Dataset(dataset).Tables(t.Context())
	for {
		tb, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tb.TableID)
	}
	slices.Sort(out)
	return out
}

// TestPublishReplacesAtomically: a run replaces each table with exactly
// its rows; a run that fails before publishing leaves the tables as they
// were; an empty stream gets an empty table; staging tables go away.
func TestPublishReplacesAtomically(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	streams := map[string]string{"tasks": rawSchema(t, "tasks"), "tags": rawSchema(t, "tags")}
	first := testLoad(t, c, streams)

	run, err := Publish(ctx, c, first, []sinks.Part{stage(t, c, first, "tasks", "1", "2"), stage(t, c, first, "tasks", "3")}, nil)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, emu.Log())
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, gids(t, c, first, "tasks")); diff != "" {
		t.Errorf("tasks after the first run (-want +got):\n%s", diff)
	}
	if got := gids(t, c, first, "tags"); len(got) != 0 {
		t.Errorf("tags after the first run: %v, want an empty table", got)
	}
	if len(run) != 2 || run[0].Stream != "tags" || run[0].Records != 0 || run[1].Stream != "tasks" || run[1].Records != 3 || !run[1].Complete {
		t.Errorf("run: %+v", run)
	}

	// A run that loads its staging tables and fails before Publish.
	failed := first
	failed.RunID = NewRunID(testNow())
	stage(t, c, failed, "tasks", "9")
	if diff := cmp.Diff([]string{"1", "2", "3"}, gids(t, c, first, "tasks")); diff != "" {
		t.Errorf("tasks after a failed run (-want +got):\n%s", diff)
	}

	// A run whose replacement fails midway (a staging table went away):
	// the table keeps its rows.
	broken := first
	broken.RunID = NewRunID(testNow())
	gone := stage(t, c, broken, "tasks", "8")
	if err := c.Dataset(first.Dataset).Table(gone.Name).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = Publish(ctx, c, broken, []sinks.Part{stage(t, c, broken, "tasks", "7"), gone}, nil)
	if err == nil || !strings.Contains(err.Error(), "no table is replaced") || !strings.Contains(err.Error(), gone.Name) {
		t.Fatalf("Publish from a deleted staging table: %v, want an error naming it, before any replacement", err)
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, gids(t, c, first, "tasks")); diff != "" {
		t.Errorf("tasks after a failed replacement (-want +got):\n%s", diff)
	}

	second := first
	second.RunID = NewRunID(testNow())
	staged := []sinks.Part{stage(t, c, second, "tasks", "4"), stage(t, c, second, "tasks", "5", "6"), stage(t, c, second, "tags", "7")}
	if _, err := Publish(ctx, c, second, staged, nil); err != nil {
		t.Fatalf("second run: %v\n%s", err, emu.Log())
	}
	if diff := cmp.Diff([]string{"4", "5", "6"}, gids(t, c, second, "tasks")); diff != "" {
		t.Errorf("tasks after the second run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"7"}, gids(t, c, second, "tags")); diff != "" {
		t.Errorf("tags after the second run (-want +got):\n%s", diff)
	}
	// The staging tables of the runs that failed are left to expire; the
	// others are gone.
	var staging []string
	for _, name := range tableNames(t, c, first.Dataset) {
		if strings.Contains(name, "__") {
			staging = append(staging, name)
			if !strings.Contains(name, failed.RunID) && !strings.Contains(name, broken.RunID) {
				t.Errorf("staging table %s is left", name)
			}
		}
	}
	if len(staging) != 2 {
		t.Errorf("staging tables %v, want one of each failed run", staging)
	}
	md, err := c.Dataset(first.Dataset).Table(staging[0]).Metadata(ctx)
	if err != nil || md.ExpirationTime.IsZero() {
		t.Errorf("the failed run's staging table has no expiration: %v, %v", md, err)
	}
	for _, l := range []Load{first, second} {
		run, err := ReadRun(ctx, c, l.Dataset, l.RunID)
		if err != nil || len(run) != 2 {
			t.Errorf("run %s in %s: %+v, %v", l.RunID, RunsTable, run, err)
		}
	}
}

// TestPublishMarksLostData: a stream that lost data is replaced, but
// labeled incomplete, with what was lost in its description and its row
// of the runs table.
func TestPublishMarksLostData(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	l := testLoad(t, c, map[string]string{"tasks": rawSchema(t, "tasks"), "tags": rawSchema(t, "tags")})
	reports := []sinks.Report{
		{Stream: "tasks", Lost: true, Message: "project 42: tasks: HTTP 500 after 5 attempts"},
		{Stream: "tags", Message: "workspace 7: 402 Payment Required"},
	}
	if _, err := Publish(ctx, c, l, []sinks.Part{stage(t, c, l, "tasks", "1")}, reports); err != nil {
		t.Fatalf("%v\n%s", err, emu.Log())
	}
	run, err := ReadRun(ctx, c, l.Dataset, l.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want := []RunStream{
		{RunID: l.RunID, Stream: "tags", Complete: true, Problems: []string{"workspace 7: 402 Payment Required"}},
		{RunID: l.RunID, Stream: "tasks", Records: 1, Complete: false, Problems: []string{"project 42: tasks: HTTP 500 after 5 attempts"}},
	}
	if diff := cmp.Diff(want, run, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".StartedAt" || n == ".FinishedAt"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("runs table (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1"}, gids(t, c, l, "tasks")); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	// Labels and descriptions: the emulator keeps a table's metadata from
	// its creation only (tables.patch changes nothing), so this holds for
	// tables the run created, as here.
	md, err := c.Dataset(l.Dataset).Table("tasks").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Labels[LabelComplete] != "false" || md.Labels[LabelRun] != l.RunID || !strings.Contains(md.Description, "INCOMPLETE") ||
		!strings.Contains(md.Description, "HTTP 500 after 5 attempts") {
		t.Errorf("tasks: labels %v, description %q; want it marked incomplete", md.Labels, md.Description)
	}
	if md.Schema[0].Name != "gid" || !md.Schema[0].Required || md.Schema[0].Description == "" {
		t.Errorf("tasks: first column %+v, want gid, REQUIRED, described", md.Schema[0])
	}
	md, err = c.Dataset(l.Dataset).Table("tags").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Labels[LabelComplete] != "true" || !strings.Contains(md.Description, "402 Payment Required") {
		t.Errorf("tags: labels %v, description %q; want it complete, naming what was skipped", md.Labels, md.Description)
	}
}

// TestPublishChecksRowCounts: a table that does not end with the rows its
// staging tables were said to hold is an error.
func TestPublishChecksRowCounts(t *testing.T) {
	c := newClient(t)
	l := testLoad(t, c, map[string]string{"tasks": rawSchema(t, "tasks")})
	st := stage(t, c, l, "tasks", "1", "2")
	st.Rows = 3
	_, err := Publish(t.Context(), c, l, []sinks.Part{st}, nil)
	if err == nil || !strings.Contains(err.Error(), "holds 2 rows after the run, want 3") {
		t.Fatalf("Publish: %v, want the count mismatch", err)
	}
}

// TestPublishRecordsWarnings: the warnings of the staging tables of a
// stream go to its row of RunsTable (the first MaxWarnings in sorted
// order, and their count) and to its table's description.
func TestPublishRecordsWarnings(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	l := testLoad(t, c, map[string]string{"tasks": rawSchema(t, "tasks"), "tags": rawSchema(t, "tags")})
	a, b := stage(t, c, l, "tasks", "1"), stage(t, c, l, "tasks", "2")
	for i := range MaxWarnings {
		a.Warnings = append(a.Warnings, fmt.Sprintf(`record 1: field f%03d: 1 is a number, not a string; written as null`, 2*i+1))
		b.Warnings = append(b.Warnings, fmt.Sprintf(`record 2: field f%03d: 1 is a number, not a string; written as null`, i))
	}
	a.WarningCount, b.WarningCount = 150, MaxWarnings
	run, err := Publish(ctx, c, l, []sinks.Part{a, b, stage(t, c, l, "tags", "5")}, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, emu.Log())
	}
	got, err := ReadRun(ctx, c, l.Dataset, l.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run, got, cmpopts.IgnoreFields(RunStream{}, "StartedAt", "FinishedAt", "Source")); diff != "" {
		t.Errorf("ReadRun (-Publish +ReadRun):\n%s", diff)
	}
	if len(got) != 2 || got[0].Stream != "tags" || got[0].WarningCount != 0 || got[0].Warnings != nil {
		t.Fatalf("runs %+v; want tags without warnings first", got)
	}
	tasks := got[1]
	if tasks.WarningCount != 250 || len(tasks.Warnings) != MaxWarnings || tasks.Warnings[0] != a.Warnings[0] ||
		tasks.Warnings[MaxWarnings-1] != a.Warnings[MaxWarnings-1] {
		t.Errorf("tasks: %d warnings, %d kept, from %q to %q; want 250, the first %d of record 1 (they sort first)",
			tasks.WarningCount, len(tasks.Warnings), tasks.Warnings[0], tasks.Warnings[len(tasks.Warnings)-1], MaxWarnings)
	}
	md, err := c.Dataset(l.Dataset).Table("tasks").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "complete. 250 values did not fit their columns and were written as NULL (see asana_beam_runs), the first: " + a.Warnings[0]; !strings.Contains(md.Description, want) {
		t.Errorf("tasks: description %q, want %q", md.Description, want)
	}
}
