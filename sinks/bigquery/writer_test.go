package bigquery

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks/bigquery/bqtest"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

func testNow() time.Time { return time.Now() }

// createTable creates a table of the fields.
func createTable(t *testing.T, c *bq.Client, dataset, name string, fields []tabular.Field) *bq.Table {
	t.Helper()
	tb := c.Dataset(dataset).Table(name)
	if err := tb.Create(t.Context(), &bq.TableMetadata{Schema: Schema(fields)}); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	return tb
}

// TestWriterLoadsRows loads records of the tasks and events streams through
// load jobs and reads them back: a nested repeated field, timestamps with
// fractions of seconds, a date, a JSON field, nulls.
func TestWriterLoadsRows(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	ds := newDataset(t, c)

	tasks := streamFields(t, "tasks")
	tw, err := NewWriter(c, createTable(t, c, ds, "tasks", tasks), tasks, WriterOptions{FlushBytes: 600})
	if err != nil {
		t.Fatal(err)
	}
	records := [][]byte{
		[]byte(`{"gid":"1","name":"Ship it","created_at":"2024-03-01T12:34:56.789012Z","due_on":"2024-03-05",
			"memberships":[{"project":{"gid":"p1","name":"Launch"},"section":{"gid":"s1"}},{"project":{"gid":"p2"}}],
			"num_likes":3,"completed":false}`),
		[]byte(`{"gid":"2","name":"Tabs\tand \"quotes\" é","created_at":"2024-03-01T23:59:59.5+01:00","memberships":[]}`),
		[]byte(`{"gid":"3","name":null,"due_on":null}`),
	}
	for _, r := range records { // one call each, and FlushBytes makes several load jobs
		if n, err := tw.Write(ctx, [][]byte{r}); n != 1 || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if err := tw.Close(ctx); err != nil {
		t.Fatalf("Close: %v\n%s", err, emu.Log())
	}
	if tw.Rows() != 3 || tw.Buffered() != 0 {
		t.Errorf("Rows %d, Buffered %d, want 3 and 0", tw.Rows(), tw.Buffered())
	}
	got := bqtest.Query(t, c, "SELECT gid, name, created_at, due_on, ARRAY(SELECT m.project.gid FROM UNNEST(memberships) AS m), num_likes, completed FROM `"+
		testProject+"."+ds+".tasks` ORDER BY gid")
	want := [][]bq.Value{
		{"1", "Ship it", time.Date(2024, 3, 1, 12, 34, 56, 789012000, time.UTC), civil.Date{Year: 2024, Month: 3, Day: 5}, []bq.Value{"p1", "p2"}, int64(3), false},
		{"2", "Tabs\tand \"quotes\" é", time.Date(2024, 3, 1, 22, 59, 59, 500000000, time.UTC), nil, []bq.Value(nil), nil, nil},
		{"3", nil, nil, nil, []bq.Value(nil), nil, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}

	events := streamFields(t, "events")
	ew, err := NewWriter(c, createTable(t, c, ds, "events", events), events, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ew.Write(ctx, [][]byte{[]byte(`{"action":"changed","created_at":"2024-03-01T12:00:00Z","resource":{"gid":"1"},
		"change":{"field":"assignee","action":"changed","new_value":{"gid":"u1","resource_type":"user","tags":[1,null]}}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := ew.Close(ctx); err != nil {
		t.Fatalf("Close: %v\n%s", err, emu.Log())
	}
	got = bqtest.Query(t, c, "SELECT change.field, change.new_value, change.added_value FROM `"+testProject+"."+ds+".events`")
	if len(got) != 1 || got[0][0] != "assignee" || got[0][2] != nil {
		t.Fatalf("events: %#v", got)
	}
	// JSON columns come back as JSON text: compare the values. The
	// emulator has a defect there: it decodes NDJSON rows with
	// json.Number and stores the numbers within JSON values as strings
	// (1 comes back "1"; BigQuery keeps numbers). So numbers are compared
	// as their text.
	var value any
	if s, ok := got[0][1].(string); !ok || json.Unmarshal([]byte(s), &value) != nil {
		t.Fatalf("change.new_value is %#v, want JSON text", got[0][1])
	}
	wantValue := map[string]any{"gid": "u1", "resource_type": "user", "tags": []any{1.0, nil}}
	if diff := cmp.Diff(numbersAsText(wantValue), numbersAsText(value)); diff != "" {
		t.Errorf("change.new_value (-want +got):\n%s", diff)
	}
}

// TestWriterBadValues: a value that does not fit its column is loaded as
// NULL, the record's other values as they came, with a warning naming the
// gid, the field and the value; a record whose REQUIRED column does not
// fit stops Write at its index, naming its field and value; the records
// before it are loaded, and the Writer goes on.
func TestWriterBadValues(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	ds := newDataset(t, c)
	tasks := streamFields(t, "tasks")
	w, err := NewWriter(c, createTable(t, c, ds, "tasks", tasks), tasks, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.Write(ctx, [][]byte{
		[]byte(`{"gid":"1"}`),
		[]byte(`{"gid":"2","name":"Two","due_on":"2024-13-45","num_likes":1e30,"completed":"yes","tags":[null,{"gid":"t1"}],
			"memberships":[{"project":{"gid":"p1"}},{"project":{"gid":42,"name":"P"}}]}`),
		[]byte(`{"name":"bad","gid":3}`),
		[]byte(`{"gid":"4"}`),
	})
	var re *RecordError
	var fe *tabular.FieldError
	if n != 2 || !errors.As(err, &re) || re.Index != 2 || !errors.As(err, &fe) || fe.Path != "gid" || fe.Value != "3" ||
		err.Error() != "record 2: field gid: 3 is a number, not a string" {
		t.Fatalf("Write: %d, %v; want 2 and an error of record 2 naming gid and its value", n, err)
	}
	var lines []string
	for _, wn := range w.Warnings() {
		lines = append(lines, wn.String())
	}
	wantLines := []string{
		`record 2: field due_on: "2024-13-45" is not a date (YYYY-MM-DD); written as null`,
		`record 2: field num_likes: 1e30 is out of range for a 64-bit integer; written as null`,
		`record 2: field completed: "yes" is a string, not a boolean; written as null`,
		`record 2: field memberships[1].project.gid: 42 is a number, not a string; written as null`,
		`record 2: field tags[0]: null in an array; ` + LeftOut,
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if n, err := w.Write(ctx, [][]byte{[]byte(`{"gid":"3"}`)}); n != 1 || err != nil {
		t.Fatalf("Write after a record error: %d, %v", n, err)
	}
	if got := w.Warnings(); len(got) != 0 {
		t.Errorf("Warnings did not forget: %v", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := bqtest.Query(t, c, "SELECT gid, name, due_on, num_likes, completed, ARRAY(SELECT t.gid FROM UNNEST(tags) AS t), "+
		"ARRAY(SELECT CONCAT(IFNULL(m.project.gid, 'NULL'), ' ', IFNULL(m.project.name, 'NULL')) FROM UNNEST(memberships) AS m WITH OFFSET o ORDER BY o) FROM `"+
		testProject+"."+ds+".tasks` ORDER BY gid")
	want := [][]bq.Value{
		{"1", nil, nil, nil, nil, []bq.Value(nil), []bq.Value(nil)},
		{"2", "Two", nil, nil, nil, []bq.Value{"t1"}, []bq.Value{"p1 NULL", "NULL P"}},
		{"3", nil, nil, nil, nil, []bq.Value(nil), []bq.Value(nil)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if _, err := w.Write(ctx, nil); err != ErrClosed {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

// TestWriterLoadErrorSurfaces: a load job that fails returns the
// server's message and names the table, and the Writer stops.
func TestWriterLoadErrorSurfaces(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	ds := newDataset(t, c)
	tasks := streamFields(t, "tasks")
	w, err := NewWriter(c, c.Dataset(ds).Table("missing"), tasks, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, [][]byte{[]byte(`{"gid":"1"}`)}); err != nil {
		t.Fatal(err)
	}
	err = w.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), ds+".missing") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Flush into a missing table: %v, want the table and the server's message", err)
	}
	t.Log(err)
	if _, err2 := w.Write(ctx, [][]byte{[]byte(`{"gid":"2"}`)}); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Write after a failed load: %v, want the same error", err2)
	}
	if err2 := w.Close(ctx); err2 == nil {
		t.Error("Close after a failed load: no error")
	}
}

// numbersAsText replaces the numbers of a decoded JSON value by their text,
// around the emulator's defect with numbers in JSON columns.
func numbersAsText(v any) any {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = numbersAsText(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = numbersAsText(x)
		}
		return out
	}
	return v
}

// TestWriterLargeLoad loads more than an upload chunk (16 MiB) in one load
// job, in one request, as the emulator needs.
func TestWriterLargeLoad(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	ds := newDataset(t, c)
	tasks := streamFields(t, "tasks")
	w, err := NewWriter(c, createTable(t, c, ds, "tasks", tasks), tasks, WriterOptions{SingleRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Repeat("x", 4000)
	const n = 4500 // 18 MB
	for i := range n {
		if _, err := w.Write(ctx, [][]byte{fmt.Appendf(nil, `{"gid":"%d","notes":%q}`, i, notes)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := bqtest.Query(t, c, "SELECT COUNT(*), SUM(LENGTH(notes)) FROM `"+testProject+"."+ds+".tasks`")
	if !cmp.Equal(got, [][]bq.Value{{int64(n), int64(n * len(notes))}}) {
		t.Errorf("got %v, want %d rows of notes of %d characters", got, n, len(notes))
	}
}
