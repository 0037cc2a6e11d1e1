package tabular

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asana-beam/asana-beam/sources/asana/schemas"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func streamFields(t testing.TB, stream string) []Field {
	t.Helper()
	raw, ok := schemas.Raw(stream)
	if !ok {
		t.Fatalf("no schema for %s", stream)
	}
	fields, err := FromJSONSchema(raw)
	if err != nil {
		t.Fatalf("%s: %v", stream, err)
	}
	return fields
}

// TestFromJSONSchemaStreams maps the schema of every stream of the source,
// checked against a golden dump of the field tree.
func TestFromJSONSchemaStreams(t *testing.T) {
	names := schemas.Names()
	if len(names) != 20 {
		t.Fatalf("%d streams, want 20", len(names))
	}
	for _, stream := range names {
		t.Run(stream, func(t *testing.T) {
			fields := streamFields(t, stream)
			if err := Validate(fields); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("fields", stream+".txt"), Format(fields, true))
			// The conventions: gid first, a non-null string; nothing else
			// non-null.
			for _, f := range fields {
				if f.Name == "gid" {
					if f.Type != String || f.Nullable || f.Repeated {
						t.Errorf("gid is %+v", f)
					}
					continue
				}
				if !f.Nullable {
					t.Errorf("%s is not nullable", f.Name)
				}
			}
		})
	}
}

func TestFromJSONSchema(t *testing.T) {
	ref := []Field{
		{Name: "gid", Type: String, Nullable: true},
		{Name: "name", Type: String, Nullable: true, Description: "The name."},
	}
	tests := []struct {
		name   string
		schema string
		want   []Field
	}{
		{
			name: "scalars",
			schema: `{"type": "object", "properties": {
				"gid": {"type": "string", "description": "The id."},
				"s": {"type": ["null", "string"]},
				"i": {"type": ["null", "integer"]},
				"n": {"type": ["number", "null"]},
				"b": {"type": "boolean"},
				"t": {"type": ["null", "string"], "format": "date-time"},
				"d": {"type": ["null", "string"], "format": "date"},
				"u": {"type": ["null", "string"], "format": "uri"},
				"if": {"type": ["null", "integer"], "format": "date"}
			}}`,
			want: []Field{
				{Name: "gid", Type: String, Description: "The id."},
				{Name: "s", Type: String, Nullable: true},
				{Name: "i", Type: Int64, Nullable: true},
				{Name: "n", Type: Double, Nullable: true},
				{Name: "b", Type: Bool},
				{Name: "t", Type: Timestamp, Nullable: true},
				{Name: "d", Type: Date, Nullable: true},
				{Name: "u", Type: String, Nullable: true},
				{Name: "if", Type: Int64, Nullable: true},
			},
		},
		{
			name: "keeps the order of the file",
			schema: `{"properties": {"z": {"type": "string"}, "a": {"type": "string"}, "m": {"type": "string"}},
				"type": "object"}`,
			want: []Field{{Name: "z"}, {Name: "a"}, {Name: "m"}},
		},
		{
			name: "records",
			schema: `{"type": "object", "properties": {
				"owner": {"type": ["null", "object"], "description": "Who.", "properties": {
					"gid": {"type": ["null", "string"]},
					"name": {"type": ["null", "string"], "description": "The name."}
				}},
				"deep": {"type": "object", "properties": {
					"a": {"type": "object", "properties": {"b": {"type": ["null", "boolean"]}}}
				}}
			}}`,
			want: []Field{
				{Name: "owner", Type: Record, Nullable: true, Description: "Who.", Fields: ref},
				{Name: "deep", Type: Record, Fields: []Field{
					{Name: "a", Type: Record, Fields: []Field{{Name: "b", Type: Bool, Nullable: true}}},
				}},
			},
		},
		{
			name: "free-form objects are JSON",
			schema: `{"type": "object", "properties": {
				"a": {"type": ["null", "object"]},
				"b": {"type": "object", "additionalProperties": true},
				"c": {"type": "object", "properties": {}}
			}}`,
			want: []Field{
				{Name: "a", Type: JSON, Nullable: true},
				{Name: "b", Type: JSON},
				{Name: "c", Type: JSON},
			},
		},
		{
			name: "no type or several types are JSON",
			schema: `{"type": "object", "properties": {
				"none": {"description": "Anything."},
				"two": {"type": ["string", "integer"]},
				"twonull": {"type": ["null", "string", "integer"]},
				"onlynull": {"type": "null"},
				"yes": true
			}}`,
			want: []Field{
				{Name: "none", Type: JSON, Nullable: true, Description: "Anything."},
				{Name: "two", Type: JSON},
				{Name: "twonull", Type: JSON, Nullable: true},
				{Name: "onlynull", Type: JSON, Nullable: true},
				{Name: "yes", Type: JSON, Nullable: true},
			},
		},
		{
			name: "arrays",
			schema: `{"type": "object", "properties": {
				"tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}},
				"ids": {"type": "array", "items": {"type": "integer"}},
				"when": {"type": ["null", "array"], "items": {"type": "string", "format": "date-time"}},
				"refs": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
					"gid": {"type": ["null", "string"]},
					"name": {"type": ["null", "string"], "description": "The name."}
				}}},
				"free": {"type": ["null", "array"], "items": {"type": "object"}},
				"grid": {"type": ["null", "array"], "items": {"type": ["null", "array"], "items": {"type": "integer"}}},
				"noitems": {"type": ["null", "array"]},
				"tuple": {"type": "array", "items": [{"type": "string"}]},
				"mixed": {"type": "array", "items": {"type": ["string", "integer"]}},
				"untyped": {"type": "array", "items": {}}
			}}`,
			want: []Field{
				{Name: "tags", Type: String, Repeated: true, Nullable: true},
				{Name: "ids", Type: Int64, Repeated: true},
				{Name: "when", Type: Timestamp, Repeated: true, Nullable: true},
				{Name: "refs", Type: Record, Repeated: true, Nullable: true, Fields: ref},
				{Name: "free", Type: JSON, Repeated: true, Nullable: true},
				{Name: "grid", Type: JSON, Repeated: true, Nullable: true},
				{Name: "noitems", Type: JSON, Repeated: true, Nullable: true},
				{Name: "tuple", Type: JSON, Repeated: true},
				{Name: "mixed", Type: JSON, Repeated: true},
				{Name: "untyped", Type: JSON, Repeated: true},
			},
		},
		{
			name:   "top level without type",
			schema: `{"properties": {"a": {"type": "string"}}}`,
			want:   []Field{{Name: "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromJSONSchema([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromJSONSchemaErrors(t *testing.T) {
	tests := []struct {
		name, schema string
		path, msg    string
	}{
		{"not JSON", `{"type": "object",`, "", "not valid JSON"},
		{"trailing data", `{"properties": {"a": {}}} {}`, "", "data after the top-level value"},
		{"not an object", `["a"]`, "", "not a JSON object"},
		{"top level not object", `{"type": "array", "properties": {"a": {}}}`, "", `"type": "object"`},
		{"top level nullable", `{"type": ["null", "object"], "properties": {"a": {}}}`, "", `"type": "object"`},
		{"no properties", `{"type": "object"}`, "", `no "properties"`},
		{"empty properties", `{"type": "object", "properties": {}}`, "", "no properties"},
		{"properties not object", `{"type": "object", "properties": []}`, "", `"properties" is not an object`},
		{"duplicate", `{"type": "object", "properties": {"a": {}, "a": {}}}`, "", `duplicate key "a"`},
		{"empty name", `{"type": "object", "properties": {"": {}}}`, "", "empty name"},
		{"unknown type", `{"type": "object", "properties": {"a": {"type": "strin"}}}`, "a", `unknown type "strin"`},
		{"type not string", `{"type": "object", "properties": {"a": {"type": 5}}}`, "a", "neither a string"},
		{"type list not strings", `{"type": "object", "properties": {"a": {"type": ["null", 5]}}}`, "a", "not a string"},
		{"empty type list", `{"type": "object", "properties": {"a": {"type": []}}}`, "a", "empty list"},
		{"schema not object", `{"type": "object", "properties": {"a": 5}}`, "a", "not an object"},
		{"nested", `{"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "x"}}}}}`, "a.b", "unknown type"},
		{"items", `{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "x"}}}}`, "a.items", "unknown type"},
		{"items props", `{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "object", "properties": {"b": {"type": "x"}}}}}}`, "a.items.b", "unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromJSONSchema([]byte(tt.schema))
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SchemaError", err, err)
			}
			if se.Path != tt.path || !strings.Contains(se.Message, tt.msg) {
				t.Errorf("error %q at %q, want %q at %q", se.Message, se.Path, tt.msg, tt.path)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
		want   string // "" for valid
	}{
		{"valid", []Field{{Name: "a"}, {Name: "r", Type: Record, Fields: []Field{{Name: "a"}}}}, ""},
		{"none", nil, "no fields"},
		{"empty name", []Field{{Name: ""}}, "empty name"},
		{"duplicate", []Field{{Name: "a"}, {Name: "a", Type: Int64}}, "a: the name is used twice"},
		{"unknown type", []Field{{Name: "a", Type: Record + 1}}, "unknown type Type(8)"},
		{"negative type", []Field{{Name: "a", Type: -1}}, "unknown type Type(-1)"},
		{"empty record", []Field{{Name: "r", Type: Record}}, "r: a RECORD without fields"},
		{"fields on a scalar", []Field{{Name: "s", Fields: []Field{{Name: "a"}}}}, "s: fields on a STRING"},
		{"nested", []Field{{Name: "r", Type: Record, Fields: []Field{{Name: "x"}, {Name: "x"}}}}, "r.x: the name is used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.fields)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	fields := []Field{
		{Name: "gid", Type: String, Description: "The  id,\n on two lines."},
		{Name: "m", Type: Record, Repeated: true, Nullable: true, Fields: []Field{
			{Name: "at", Type: Timestamp, Nullable: true},
		}},
	}
	want := "gid STRING NOT NULL -- The id, on two lines.\nm RECORD REPEATED\n  at TIMESTAMP\n"
	if got := Format(fields, true); got != want {
		t.Errorf("Format(true) = %q, want %q", got, want)
	}
	want = "gid STRING NOT NULL\nm RECORD REPEATED\n  at TIMESTAMP\n"
	if got := Format(fields, false); got != want {
		t.Errorf("Format(false) = %q, want %q", got, want)
	}
	for typ, name := range map[Type]string{String: "STRING", Int64: "INT64", Double: "DOUBLE", Bool: "BOOL",
		Timestamp: "TIMESTAMP", Date: "DATE", JSON: "JSON", Record: "RECORD", 42: "Type(42)"} {
		if got := typ.String(); got != name {
			t.Errorf("Type(%d).String() = %q, want %q", int(typ), got, name)
		}
	}
}
