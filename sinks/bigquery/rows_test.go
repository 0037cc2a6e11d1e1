package bigquery

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

var rowFields = []tabular.Field{
	{Name: "gid", Type: tabular.String},
	{Name: "n", Type: tabular.Int64, Nullable: true},
	{Name: "x", Type: tabular.Double, Nullable: true},
	{Name: "ok", Type: tabular.Bool, Nullable: true},
	{Name: "at", Type: tabular.Timestamp, Nullable: true},
	{Name: "on", Type: tabular.Date, Nullable: true},
	{Name: "data", Type: tabular.JSON, Nullable: true},
	{Name: "tags", Type: tabular.String, Repeated: true, Nullable: true},
	{Name: "memberships", Type: tabular.Record, Repeated: true, Nullable: true, Fields: []tabular.Field{
		{Name: "project", Type: tabular.Record, Nullable: true, Fields: []tabular.Field{
			{Name: "gid", Type: tabular.String, Nullable: true},
			{Name: "ids", Type: tabular.Int64, Repeated: true, Nullable: true},
		}},
	}},
}

func TestEncoderRows(t *testing.T) {
	for _, tc := range []struct {
		name, record, want string
	}{
		{"only the key", `{"gid":"1"}`, `{"gid":"1"}`},
		{"nulls are left out", `{"gid":"1","n":null,"tags":null,"memberships":null,"data":null}`, `{"gid":"1"}`},
		{"scalars", `{"n":-9007199254740993,"x":1.5,"ok":false,"gid":"2"}`, `{"n":-9007199254740993,"x":1.5,"ok":false,"gid":"2"}`},
		{"a big double", `{"gid":"1","x":1e300}`, `{"gid":"1","x":1e+300}`},
		{"timestamp in UTC with microseconds", `{"gid":"1","at":"2024-02-29T23:59:59.1234567+02:00"}`, `{"gid":"1","at":"2024-02-29T21:59:59.123456Z"}`},
		{"timestamp without fraction", `{"gid":"1","at":"2024-01-01T00:00:00Z"}`, `{"gid":"1","at":"2024-01-01T00:00:00.000000Z"}`},
		{"date", `{"gid":"1","on":"1999-12-31"}`, `{"gid":"1","on":"1999-12-31"}`},
		{"JSON as the value itself", `{"gid":"1","data":{ "a" : [1, "b"] }}`, `{"gid":"1","data":{"a":[1,"b"]}}`},
		{"JSON string", `{"gid":"1","data":"text"}`, `{"gid":"1","data":"text"}`},
		{"escapes", `{"gid":"a\"b\\c\n\t\u0001\u2028é"}`, `{"gid":"a\"b\\c\n\t\u0001\u2028é"}`},
		{"empty list", `{"gid":"1","tags":[]}`, `{"gid":"1","tags":[]}`},
		{"nested repeated", `{"gid":"1","memberships":[{"project":{"gid":"p1","ids":[1,2]}},{"project":null},{}]}`,
			`{"gid":"1","memberships":[{"project":{"gid":"p1","ids":[1,2]}},{},{}]}`},
		{"unknown members are ignored", `{"gid":"1","extra":{"x":[1]}}`, `{"gid":"1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewEncoder(rowFields).AppendRow([]byte("prefix\n"), []byte(tc.record))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("prefix\n"+tc.want+"\n", string(got)); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncoderErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		record, path, message string
	}{
		{`{"n":1}`, "gid", "not nullable"},
		{`{"gid":"1","n":"one"}`, "n", "want an integer"},
		{`{"gid":"1","at":"yesterday"}`, "at", "RFC 3339"},
		{`{"gid":"1","tags":["a",null]}`, "tags[1]", "cannot hold NULL"},
		{`{"gid":"1","memberships":[{},{"project":{"ids":[1,null]}}]}`, "memberships[1].project.ids[1]", "cannot hold NULL"},
		{`{"gid":"1","memberships":[{"project":{"gid":7}}]}`, "memberships[0].project.gid", "want a string"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			enc := NewEncoder(rowFields)
			got, err := enc.AppendRow([]byte("kept\n"), []byte(tc.record))
			var fe *tabular.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *tabular.FieldError", err)
			}
			if fe.Path != tc.path || !strings.Contains(fe.Message, tc.message) {
				t.Errorf("error %q at %q, want %q at %q", fe.Message, fe.Path, tc.message, tc.path)
			}
			if string(got) != "kept\n" {
				t.Errorf("the row was appended in part: %q", got)
			}
			// The encoder goes on after an error.
			if row, err := enc.AppendRow(nil, []byte(`{"gid":"ok"}`)); err != nil || string(row) != "{\"gid\":\"ok\"}\n" {
				t.Errorf("after the error: %q, %v", row, err)
			}
		})
	}
}
