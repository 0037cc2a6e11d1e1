package bigquery

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bq "cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/asana-beam/asana-beam/sources/asana/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func streamFields(t testing.TB, stream string) []tabular.Field {
	t.Helper()
	raw, ok := schemas.Raw(stream)
	if !ok {
		t.Fatalf("no schema for %s", stream)
	}
	fields, err := tabular.FromJSONSchema(raw)
	if err != nil {
		t.Fatalf("%s: %v", stream, err)
	}
	return fields
}

// TestSchemaTasks checks the BigQuery schema of the tasks stream, the
// largest, against a golden file in the JSON form of bq's --schema.
func TestSchemaTasks(t *testing.T) {
	js, err := Schema(streamFields(t, "tasks")).ToJSONFields()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tasks.schema.json", append(js, '\n'))
}

// TestSchemaMapping checks each type and mode of the mapping.
func TestSchemaMapping(t *testing.T) {
	long := strings.Repeat("é", 2000)
	fields := []tabular.Field{
		{Name: "s", Type: tabular.String, Description: "a string"},
		{Name: "i", Type: tabular.Int64, Nullable: true},
		{Name: "d", Type: tabular.Double, Nullable: true},
		{Name: "b", Type: tabular.Bool, Nullable: true},
		{Name: "t", Type: tabular.Timestamp, Nullable: true},
		{Name: "day", Type: tabular.Date, Nullable: true},
		{Name: "j", Type: tabular.JSON, Nullable: true},
		{Name: "tags", Type: tabular.String, Repeated: true, Nullable: true},
		{Name: "m", Type: tabular.Record, Repeated: true, Description: long, Fields: []tabular.Field{
			{Name: "gid", Type: tabular.String},
		}},
	}
	want := bq.Schema{
		{Name: "s", Type: bq.StringFieldType, Required: true, Description: "a string"},
		{Name: "i", Type: bq.IntegerFieldType},
		{Name: "d", Type: bq.FloatFieldType},
		{Name: "b", Type: bq.BooleanFieldType},
		{Name: "t", Type: bq.TimestampFieldType},
		{Name: "day", Type: bq.DateFieldType},
		{Name: "j", Type: bq.JSONFieldType},
		{Name: "tags", Type: bq.StringFieldType, Repeated: true},
		{Name: "m", Type: bq.RecordFieldType, Repeated: true, Description: strings.Repeat("é", MaxDescription-1) + "…",
			Schema: bq.Schema{{Name: "gid", Type: bq.StringFieldType, Required: true}}},
	}
	if diff := cmp.Diff(want, Schema(fields)); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééé", 3, "ééé"},
		{"éééé", 3, "éé…"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
