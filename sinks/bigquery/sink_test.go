package bigquery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks"
)

// TestWriteFn runs the generic sink DoFn's methods on the BigQuery sink
// as a runner would: a bundle's records go to a staging table of its own,
// handed on with its row count, and a record that does not fit fails the
// bundle, naming the record (its gid) and the field.
func TestWriteFn(t *testing.T) {
	ctx := t.Context()
	c := newClient(t)
	load := testLoad(t, c, map[string]string{"tasks": rawSchema(t, "tasks"), "tags": rawSchema(t, "tags")})
	d, err := sinks.Describe(load)
	if err != nil {
		t.Fatal(err)
	}
	fn := &sinks.WriteFn{Desc: d}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	defer fn.Teardown()
	var staged []sinks.Part
	emit := func(s sinks.Part) { staged = append(staged, s) }
	fn.StartBundle(ctx, emit)
	for _, r := range []sinks.Record{
		{Stream: "tasks", Key: "1", Data: []byte(`{"gid":"1"}`)},
		{Stream: "tags", Key: "5", Data: []byte(`{"gid":"5"}`)},
		{Stream: "tasks", Key: "2", Data: []byte(`{"gid":"2"}`)},
	} {
		if err := fn.ProcessElement(ctx, r, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := fn.FinishBundle(ctx, emit); err != nil {
		t.Fatal(err)
	}
	if len(staged) != 2 {
		t.Fatalf("staged %+v, want a table per stream", staged)
	}
	for _, s := range staged {
		want := map[string][]string{"tasks": {"1", "2"}, "tags": {"5"}}[s.Stream]
		if s.Rows != int64(len(want)) || !strings.HasPrefix(s.Name, load.stagingPrefix(s.Stream)) {
			t.Errorf("staged %+v", s)
		}
		if diff := cmp.Diff(want, gids(t, c, load, s.Name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.Name, diff)
		}
	}

	// A value that does not fit is loaded as NULL, and the staging table
	// carries the warning (the first MaxWarnings, and their count).
	staged = nil
	fn.StartBundle(ctx, emit)
	for i := range MaxWarnings + 2 {
		data := fmt.Appendf(nil, `{"gid":"%d","due_on":"2024-02-30","num_likes":%d}`, 1200+i, i)
		if err := fn.ProcessElement(ctx, sinks.Record{Stream: "tasks", Key: fmt.Sprint(1200 + i), Data: data}, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := fn.FinishBundle(ctx, emit); err != nil {
		t.Fatal(err)
	}
	if len(staged) != 1 || staged[0].Rows != MaxWarnings+2 || staged[0].WarningCount != MaxWarnings+2 || len(staged[0].Warnings) != MaxWarnings ||
		staged[0].Warnings[0] != `record 1200: field due_on: "2024-02-30" is not a date (YYYY-MM-DD); written as null` {
		t.Errorf("staged %+v, want %d rows and warnings, the first %d kept", staged, MaxWarnings+2, MaxWarnings)
	}

	// A record whose gid does not fit fails the bundle, naming the
	// stream, the record, the field and the value.
	fn.StartBundle(ctx, emit)
	err = fn.ProcessElement(ctx, sinks.Record{Stream: "tasks", Key: "1207", Data: []byte(`{"gid":1207,"due_on":"2024-02-30"}`)}, emit)
	if err == nil || err.Error() != "bigquery: tasks record 1207: field gid: 1207 is a number, not a string" {
		t.Errorf("a record that does not fit: %v, want its stream, gid, field and value", err)
	}
}
