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
		// U+2028 needs no escape in JSON (RFC 8259): BigQuery reads it as it is.
		{"escapes", `{"gid":"a\"b\\c\n\t\u0001\u2028é"}`, "{\"gid\":\"a\\\"b\\\\c\\n\\t\\u0001\u2028é\"}"},
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
		{`{"gid":"1","n":"one"}`, "n", `"one" is a string, not an integer`},
		{`{"gid":"1","at":"yesterday"}`, "at", "RFC 3339"},
		{`{"gid":"1","tags":["a",null]}`, "tags[1]", "cannot hold NULL"},
		{`{"gid":"1","memberships":[{},{"project":{"ids":[1,null]}}]}`, "memberships[1].project.ids[1]", "cannot hold NULL"},
		{`{"gid":"1","memberships":[{"project":{"gid":7}}]}`, "memberships[0].project.gid", "7 is a number, not a string"},
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

// TestEncoderLenient: a value that does not fit its column is left out of
// the row (NULL), a null element of an array is left out of the array,
// each with one warning naming the gid, the field and the value; a value
// that does not fit a REQUIRED column is still an error.
func TestEncoderLenient(t *testing.T) {
	for _, tc := range []struct {
		name, record, want string
		warnings           []string
	}{
		{"fits", `{"gid":"1","n":2,"tags":["a"]}`, `{"gid":"1","n":2,"tags":["a"]}`, nil},
		{"bad values", `{"gid":"7","on":"2024-13-45","n":1e30,"x":"1.5","ok":1,"at":"noon"}`, `{"gid":"7"}`, []string{
			`record 7: field on: "2024-13-45" is not a date (YYYY-MM-DD); written as null`,
			`record 7: field n: 1e30 is out of range for a 64-bit integer; written as null`,
			`record 7: field x: "1.5" is a string, not a number; written as null`,
			`record 7: field ok: 1 is a number, not a boolean; written as null`,
			`record 7: field at: "noon" is not an RFC 3339 timestamp; written as null`,
		}},
		{"a list of the wrong type", `{"gid":"7","tags":"a,b","n":3}`, `{"gid":"7","n":3}`, []string{
			`record 7: field tags: "a,b" is a string, not an array; written as null`,
		}},
		{"null elements are left out", `{"gid":"7","tags":[null,"a",null,"b"]}`, `{"gid":"7","tags":["a","b"]}`, []string{
			`record 7: field tags[0]: null in an array; ` + LeftOut,
			`record 7: field tags[2]: null in an array; ` + LeftOut,
		}},
		{"bad elements are left out", `{"gid":"7","tags":["a",5],"memberships":[null,{"project":{"gid":2,"ids":[1,"2",3]}},"m",{"project":{"gid":"p"}}]}`,
			`{"gid":"7","tags":["a"],"memberships":[{"project":{"ids":[1,3]}},{"project":{"gid":"p"}}]}`, []string{
				`record 7: field tags[1]: 5 is a number, not a string; ` + LeftOut,
				`record 7: field memberships[1].project.gid: 2 is a number, not a string; written as null`,
				`record 7: field memberships[1].project.ids[1]: "2" is a string, not an integer; ` + LeftOut,
				`record 7: field memberships[2]: "m" is a string, not an object; ` + LeftOut,
				`record 7: field memberships[0]: null in an array; ` + LeftOut,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := NewEncoder(rowFields)
			prior := []tabular.Warning{{Field: "prior"}}
			got, warnings, err := enc.AppendRowLenient([]byte("prefix\n"), []byte(tc.record), prior)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("prefix\n"+tc.want+"\n", string(got)); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
			var lines []string
			for _, w := range warnings[1:] {
				lines = append(lines, w.String())
			}
			if diff := cmp.Diff(tc.warnings, lines); diff != "" || warnings[0].Field != "prior" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			// AppendRow still refuses the record when it does not fit.
			if _, err := enc.AppendRow(nil, []byte(tc.record)); (err == nil) != (tc.warnings == nil) {
				t.Errorf("AppendRow: %v", err)
			}
		})
	}
}

func TestEncoderLenientErrors(t *testing.T) {
	for _, tc := range []struct {
		record, msg string
	}{
		{`{"gid":12,"n":"x"}`, "field gid: 12 is a number, not a string"},
		{`{"n":"x"}`, "field gid: missing, and the field is not nullable"},
		{`{"gid":"1","tags":[1,}`, "field tags[1]: invalid JSON at offset 20: unexpected character ','"},
	} {
		enc := NewEncoder(rowFields)
		prior := []tabular.Warning{{Field: "prior"}}
		got, warnings, err := enc.AppendRowLenient([]byte("kept\n"), []byte(tc.record), prior)
		if err == nil || err.Error() != tc.msg || string(got) != "kept\n" || len(warnings) != 1 {
			t.Errorf("AppendRowLenient(%s) = %q, %v, %v; want %q and nothing added", tc.record, got, warnings, err, tc.msg)
		}
		if row, _, err := enc.AppendRowLenient(nil, []byte(`{"gid":"ok","tags":[null]}`), nil); err != nil || string(row) != "{\"gid\":\"ok\",\"tags\":[]}\n" {
			t.Errorf("after the error: %q, %v", row, err)
		}
	}
}
