package tabular

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/schemas"
	"github.com/google/go-cmp/cmp"
)

// testSchema has a field of every kind.
const testSchema = `{"type": "object", "properties": {
	"gid": {"type": "string"},
	"name": {"type": ["null", "string"]},
	"count": {"type": ["null", "integer"]},
	"ratio": {"type": ["null", "number"]},
	"done": {"type": ["null", "boolean"]},
	"at": {"type": ["null", "string"], "format": "date-time"},
	"on": {"type": ["null", "string"], "format": "date"},
	"extra": {"type": ["null", "object"]},
	"owner": {"type": ["null", "object"], "properties": {
		"gid": {"type": ["null", "string"]},
		"name": {"type": ["null", "string"]}
	}},
	"tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}},
	"grid": {"type": ["null", "array"], "items": {"type": ["null", "array"], "items": {"type": "integer"}}},
	"memberships": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
		"project": {"type": ["null", "object"], "properties": {"gid": {"type": ["null", "string"]}}},
		"at": {"type": ["null", "string"], "format": "date-time"},
		"counts": {"type": ["null", "array"], "items": {"type": ["null", "integer"]}}
	}}},
	"ids": {"type": "array", "items": {"type": "integer"}},
	"req": {"type": "object", "properties": {"n": {"type": "number"}}}
}}`

func testFields(t testing.TB) []Field {
	t.Helper()
	fields, err := FromJSONSchema([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

// row returns the row of the test schema with the required fields set
// (gid "1", ids [], req {n: 0}) and the others nil, then the changes.
func row(changes map[string]any) map[string]any {
	m := map[string]any{
		"gid": "1", "name": nil, "count": nil, "ratio": nil, "done": nil, "at": nil, "on": nil,
		"extra": nil, "owner": nil, "tags": nil, "grid": nil, "memberships": nil,
		"ids": []any{}, "req": map[string]any{"n": 0.0},
	}
	for k, v := range changes {
		m[k] = v
	}
	return m
}

// record returns a record of the test schema with the required members and
// the members given (JSON text after a comma).
func record(members string) string {
	if members == "" {
		return `{"gid": "1", "ids": [], "req": {"n": 0}}`
	}
	return `{"gid": "1", "ids": [], "req": {"n": 0}, ` + members + `}`
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestRow(t *testing.T) {
	fields := testFields(t)
	tests := []struct {
		name   string
		record string
		want   map[string]any
	}{
		{"required only", record(""), row(nil)},
		{"nulls", record(`"name": null, "count": null, "ratio": null, "done": null, "at": null, "on": null,
			"extra": null, "owner": null, "tags": null, "grid": null, "memberships": null`), row(nil)},
		{"white space", " \n\t{ \"gid\" : \"1\" ,\r\n \"ids\" : [ ] , \"req\" : { \"n\" : 0 } } \n", row(nil)},
		{"scalars", record(`"name": "Écrire ✓ 🎉", "count": -42, "ratio": 0.25, "done": true, "at": "2024-03-01T12:34:56.789Z", "on": "2024-02-29"`),
			row(map[string]any{"name": "Écrire ✓ 🎉", "count": int64(-42), "ratio": 0.25, "done": true,
				"at": utc("2024-03-01T12:34:56.789Z"), "on": utc("2024-02-29T00:00:00Z")})},
		{"false and zeros", record(`"done": false, "count": 0, "ratio": 0, "name": ""`),
			row(map[string]any{"done": false, "count": int64(0), "ratio": 0.0, "name": ""})},
		{"escapes", record(`"name": "a\"b\\c\/d\b\f\n\r\t\u00e9\u65e5\ud83c\udf89"`),
			row(map[string]any{"name": "a\"b\\c/d\b\f\n\r\té日🎉"})},
		{"lone surrogates", record(`"name": "\ud83c.\udf89.\ud83c\u0041"`),
			row(map[string]any{"name": "\uFFFD.\uFFFD.\uFFFDA"})},
		{"invalid UTF-8", record("\"name\": \"a\xffb\xc3\""),
			row(map[string]any{"name": "a\uFFFDb\uFFFD"})},
		{"integers", `{"gid": "1", "req": {"n": 0}, "count": 9223372036854775807, "ids": [-9223372036854775808, 2.0, 2.50e1, 1E2, 0, -0]}`,
			row(map[string]any{"count": int64(9223372036854775807),
				"ids": []any{int64(-9223372036854775808), int64(2), int64(25), int64(100), int64(0), int64(0)}})},
		{"numbers", record(`"ratio": -1.5e-3`), row(map[string]any{"ratio": -1.5e-3})},
		{"integral number", record(`"ratio": 12345678901234567890`), row(map[string]any{"ratio": 12345678901234567890.0})},
		{"timestamp offset", record(`"at": "2024-03-01T01:00:00+02:30"`), row(map[string]any{"at": utc("2024-02-29T22:30:00Z")})},
		{"timestamp no fraction", record(`"at": "2024-03-01T12:34:56Z"`), row(map[string]any{"at": utc("2024-03-01T12:34:56Z")})},
		{"timestamp nanoseconds truncated", record(`"at": "2024-03-01T12:34:56.123456789-00:00"`),
			row(map[string]any{"at": utc("2024-03-01T12:34:56.123456Z")})},
		{"timestamp long fraction", record(`"at": "1969-12-31T23:59:59.9999999999z"`),
			row(map[string]any{"at": utc("1969-12-31T23:59:59.999999Z")})},
		{"timestamp lower case t", record(`"at": "2024-03-01t12:34:56Z"`), row(map[string]any{"at": utc("2024-03-01T12:34:56Z")})},
		{"timestamp old", record(`"at": "0001-01-01T00:00:00Z", "on": "0000-01-01"`),
			row(map[string]any{"at": time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "on": time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)})},
		{"timestamp far", record(`"at": "9999-12-31T23:59:59.999999+00:00", "on": "9999-12-31"`),
			row(map[string]any{"at": utc("9999-12-31T23:59:59.999999Z"), "on": utc("9999-12-31T00:00:00Z")})},
		{"JSON is compact", record(`"extra": { "a" : [1, 2.50, {"b": null}], "c" : "x y" , "é": "\u00e9" }`),
			row(map[string]any{"extra": `{"a":[1,2.50,{"b":null}],"c":"x y","é":"\u00e9"}`})},
		{"JSON any value", record(`"extra": "text"`), row(map[string]any{"extra": `"text"`})},
		{"JSON invalid UTF-8", record("\"extra\": {\"a\": \"\xff\" }"), row(map[string]any{"extra": "{\"a\":\"\uFFFD\"}"})},
		{"JSON compact kept", record(`"extra": {"a":[true,false,null,-1e+5]}`), row(map[string]any{"extra": `{"a":[true,false,null,-1e+5]}`})},
		{"record", record(`"owner": {"gid": "2", "name": "Ann", "email": "ann@example.com"}`),
			row(map[string]any{"owner": map[string]any{"gid": "2", "name": "Ann"}})},
		{"empty record", record(`"owner": {}`), row(map[string]any{"owner": map[string]any{"gid": nil, "name": nil}})},
		{"lists", record(`"tags": ["a", null, "b"], "grid": [[1, 2], null, [], [[3]]]`),
			row(map[string]any{"tags": []any{"a", nil, "b"}, "grid": []any{"[1,2]", nil, "[]", "[[3]]"}})},
		{"empty list", record(`"tags": []`), row(map[string]any{"tags": []any{}})},
		{"nested lists", record(`"memberships": [
				{"project": {"gid": "p1"}, "at": "2024-03-01T12:34:56.789Z", "counts": [1, null, 3]},
				null,
				{"project": null, "counts": []},
				{}
			]`),
			row(map[string]any{"memberships": []any{
				map[string]any{"project": map[string]any{"gid": "p1"}, "at": utc("2024-03-01T12:34:56.789Z"), "counts": []any{int64(1), nil, int64(3)}},
				nil,
				map[string]any{"project": nil, "at": nil, "counts": []any{}},
				map[string]any{"project": nil, "at": nil, "counts": nil},
			}})},
		{"unknown members are ignored", record(`"other": {"deep": [1, {"x": [null, true, "s\"]"]}]}, "more": -0.5e10`), row(nil)},
		{"escaped member name", record(`"n\u0061me": "x"`), row(map[string]any{"name": "x"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Row(fields, []byte(tt.record))
			if err != nil {
				t.Fatalf("Row: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	fields := testFields(t)
	tests := []struct {
		name   string
		record string
		path   string
		msg    string
	}{
		// The record.
		{"empty", ``, "", "invalid JSON: the record is empty"},
		{"spaces", "  \n", "", "invalid JSON: the record is empty"},
		{"array", `[1]`, "", "the record is an array, not a JSON object"},
		{"null", `null`, "", "the record is null, not a JSON object"},
		{"garbage", `x`, "", "invalid JSON at offset 0: unexpected character 'x'"},
		{"after", record("") + ` {}`, "", "invalid JSON at offset 41: data after the record"},
		{"truncated", `{"gid": "1"`, "", "invalid JSON: unexpected end of the record"},
		{"truncated member", `{"gid": "1", "na`, "", "invalid JSON: unexpected end of the record"},
		{"no colon", `{"gid" "1"}`, "", "invalid JSON at offset 7: unexpected character '\"'"},
		{"trailing comma", `{"gid": "1",}`, "", "invalid JSON at offset 11: unexpected character ','"},
		{"no comma", `{"gid": "1" "ids": []}`, "", "unexpected character '\"'"},
		{"key not string", `{gid: "1"}`, "", "unexpected character 'g'"},
		// Required fields.
		{"missing", `{"ids": [], "req": {"n": 0}}`, "gid", "missing, and the field is not nullable"},
		{"null required", record(`"gid": null`), "gid", "the member is given twice"},
		{"null gid", `{"gid": null, "ids": [], "req": {"n": 0}}`, "gid", "null, and the field is not nullable"},
		{"null list", `{"gid": "1", "ids": null, "req": {"n": 0}}`, "ids", "null, and the field is not nullable"},
		{"missing nested", `{"gid": "1", "ids": [], "req": {}}`, "req.n", "missing, and the field is not nullable"},
		{"null nested", `{"gid": "1", "ids": [], "req": {"n": null}}`, "req.n", "null, and the field is not nullable"},
		{"duplicate", record(`"name": "a", "name": "b"`), "name", "the member is given twice"},
		// Types.
		{"string", record(`"name": 5`), "name", "5 is a number, not a string"},
		{"integer", record(`"count": "5"`), "count", `"5" is a string, not an integer`},
		{"fraction", record(`"count": 1.5`), "count", "1.5 is not an integer"},
		{"fraction exp", record(`"count": 15e-1`), "count", "15e-1 is not an integer"},
		{"int overflow", record(`"count": 9223372036854775808`), "count", "9223372036854775808 is out of range for a 64-bit integer"},
		{"int overflow frac", record(`"count": 92233720368547758080.0`), "count", "out of range for a 64-bit integer"},
		{"int overflow exp", record(`"count": 1e19`), "count", "1e19 is out of range for a 64-bit integer"},
		{"int overflow huge exp", record(`"count": 1e400`), "count", "1e400 is out of range for a 64-bit integer"},
		{"number", record(`"ratio": true`), "ratio", "true is a boolean, not a number"},
		{"number overflow", record(`"ratio": 1e400`), "ratio", "1e400 is out of range for a 64-bit floating point number"},
		{"bad number", record(`"ratio": 01`), "", "unexpected character '1'"},
		{"bad fraction", record(`"ratio": 1.`), "ratio", "unexpected character '}'"},
		{"bad exponent", record(`"ratio": 1e}`), "ratio", "unexpected character '}'"},
		{"minus", record(`"ratio": -}`), "ratio", "unexpected character '}'"},
		{"plus", record(`"ratio": +1`), "ratio", "invalid JSON at offset 50: unexpected character '+'"},
		{"bool", record(`"done": "true"`), "done", `"true" is a string, not a boolean`},
		{"bad literal", record(`"done": tru}`), "done", "invalid JSON at offset 52: unexpected character '}'"},
		{"bad null", record(`"done": nul}`), "done", "invalid JSON at offset 52: unexpected character '}'"},
		{"timestamp type", record(`"at": 1709296496`), "at", "1709296496 is a number, not an RFC 3339 timestamp"},
		{"timestamp date only", record(`"at": "2024-03-01"`), "at", `"2024-03-01" is not an RFC 3339 timestamp`},
		{"timestamp no zone", record(`"at": "2024-03-01T12:34:56"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp space", record(`"at": "2024-03-01 12:34:56Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp empty fraction", record(`"at": "2024-03-01T12:34:56.Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp bad month", record(`"at": "2024-13-01T12:34:56Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp bad day", record(`"at": "2023-02-29T12:34:56Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp bad hour", record(`"at": "2024-03-01T24:00:00Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp leap second", record(`"at": "2024-03-01T23:59:60Z"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp bad offset", record(`"at": "2024-03-01T12:34:56+2:00"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp offset range", record(`"at": "2024-03-01T12:34:56+24:00"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp junk", record(`"at": "2024-03-01T12:34:56Zjunk"`), "at", "not an RFC 3339 timestamp"},
		{"timestamp long", record(`"at": "` + strings.Repeat("9", 300) + `"`), "at", `"` + strings.Repeat("9", 199) + `... is not an RFC 3339 timestamp`},
		{"value cut at a character", record(`"at": "` + strings.Repeat("é", 150) + `"`), "at", `"` + strings.Repeat("é", 99) + `... is not`},
		{"value compacted", record(`"count": { "a" : [ 1 ] }`), "count", `{"a":[1]} is an object, not an integer`},
		{"date type", record(`"on": null, "on": 5`), "on", "the member is given twice"},
		{"date number", record(`"on": 20240301`), "on", "20240301 is a number, not a date (YYYY-MM-DD)"},
		{"date time", record(`"on": "2024-03-01T00:00:00Z"`), "on", `"2024-03-01T00:00:00Z" is not a date (YYYY-MM-DD)`},
		{"date short", record(`"on": "2024-3-1"`), "on", "not a date"},
		{"date zero day", record(`"on": "2024-03-00"`), "on", "not a date"},
		{"date 31 april", record(`"on": "2024-04-31"`), "on", "not a date"},
		{"date 1900 not leap", record(`"on": "1900-02-29"`), "on", "not a date"},
		{"date letters", record(`"on": "2024-0a-01"`), "on", "not a date"},
		{"record type", record(`"owner": "Ann"`), "owner", `"Ann" is a string, not an object`},
		{"record field", record(`"owner": {"gid": 2}`), "owner.gid", "2 is a number, not a string"},
		{"list type", record(`"tags": "a"`), "tags", `"a" is a string, not an array`},
		{"list element", record(`"tags": ["a", 2]`), "tags[1]", "2 is a number, not a string"},
		{"list unterminated", record(`"tags": ["a"`), "tags[0]", "unexpected character '}'"},
		{"list no comma", record(`"tags": ["a" "b"]`), "tags[0]", "unexpected character '\"'"},
		{"list of lists", record(`"grid": [[1, 2], [3,]]`), "grid[1]", "unexpected character ']'"},
		{"deep path", record(`"memberships": [{}, null, {"project": {"gid": "p"}, "counts": [1, "2"]}]`), "memberships[2].counts[1]", `"2" is a string, not an integer`},
		{"deep path record", record(`"memberships": [{"project": {"gid": ["p"]}}]`), "memberships[0].project.gid", `["p"] is an array, not a string`},
		{"deep timestamp", record(`"memberships": [{"at": "yesterday"}]`), "memberships[0].at", `"yesterday" is not an RFC 3339 timestamp`},
		// Strings.
		{"control character", record("\"name\": \"a\nb\""), "name", "control character in a string"},
		{"bad escape", record(`"name": "a\xb"`), "name", "invalid JSON at offset 51: invalid escape sequence `\\x` in string"},
		{"bad unicode escape", record(`"name": "\u12G4"`), "name", "invalid JSON at offset 50: invalid escape sequence `\\u12G4` in string"},
		{"short unicode escape", record(`"name": "\u12"`), "name", "invalid JSON at offset 50: invalid escape sequence `\\u12"},
		{"unterminated", `{"gid": "1`, "gid", "invalid JSON: unexpected end of the record"},
		{"unterminated escape", `{"gid": "1\`, "gid", "invalid JSON: unexpected end of the record"},
		// Skipped and JSON values are checked.
		{"bad unknown", record(`"other": [1, }`), "", "unexpected character '}'"},
		{"bad unknown string", record("\"other\": \"\t\""), "", "control character in a string"},
		{"bad unknown escape", record(`"other": "\q"`), "", "invalid JSON at offset 51: invalid escape sequence `\\q` in string"},
		{"bad unknown key", record(`"other": {1: 2}`), "", "unexpected character '1'"},
		{"bad JSON", record(`"extra": {"a": [1, 2}`), "extra", "unexpected character '}'"},
		{"bad JSON colon", record(`"extra": {"a" 1}`), "extra", "unexpected character '1'"},
		{"bad JSON literal", record(`"extra": [nulL]`), "extra", "invalid JSON at offset 54: unexpected character 'L'"},
		{"deep JSON", record(`"extra": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), "extra", "invalid JSON at offset 10049: exceeded max depth"},
		{"deep unknown", record(`"other": ` + strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001)), "", "invalid JSON at offset 50045: exceeded max depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Row(fields, []byte(tt.record))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Row = %v, %v (%T); want a *FieldError", got, err, err)
			}
			if fe.Path != tt.path || !strings.Contains(fe.Message, tt.msg) {
				t.Errorf("error %q at %q, want %q at %q", fe.Message, fe.Path, tt.msg, tt.path)
			}
			want := fe.Message
			if tt.path != "" {
				want = "field " + tt.path + ": " + fe.Message
			}
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

// TestRowEveryStream converts a minimal record of every stream: every
// field is in the row, nil.
func TestRowEveryStream(t *testing.T) {
	for _, stream := range schemas.Names() {
		t.Run(stream, func(t *testing.T) {
			fields := streamFields(t, stream)
			rec := `{}`
			want := map[string]any{}
			for _, f := range fields {
				want[f.Name] = nil
			}
			if _, ok := want["gid"]; ok {
				rec, want["gid"] = `{"gid": "12345"}`, "12345"
			}
			got, err := Row(fields, []byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// events records what a Handler receives.
type events struct {
	d   *Decoder
	out []string
}

func (e *events) add(f int, format string, args ...any) {
	e.out = append(e.out, e.d.Field(f).Name+" "+fmt.Sprintf(format, args...))
}
func (e *events) Null(f int)              { e.add(f, "null") }
func (e *events) BeginList(f int)         { e.add(f, "[") }
func (e *events) EndList(f int)           { e.add(f, "]") }
func (e *events) NullElement(f int)       { e.add(f, "null element") }
func (e *events) BeginRecord(f int)       { e.add(f, "{") }
func (e *events) EndRecord(f int)         { e.add(f, "}") }
func (e *events) Bytes(f int, b []byte)   { e.add(f, "%q", b) }
func (e *events) Int64(f int, v int64)    { e.add(f, "%d", v) }
func (e *events) Double(f int, v float64) { e.add(f, "%g", v) }
func (e *events) Bool(f int, v bool)      { e.add(f, "%t", v) }

func TestDecode(t *testing.T) {
	fields, err := FromJSONSchema([]byte(`{"type": "object", "properties": {
		"a": {"type": ["null", "string"]},
		"r": {"type": ["null", "object"], "properties": {
			"b": {"type": ["null", "string"], "format": "date"},
			"l": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
				"c": {"type": ["null", "string"], "format": "date-time"},
				"d": {"type": ["null", "number"]}
			}}}
		}},
		"e": {"type": ["null", "boolean"]},
		"j": {}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(fields)
	// Numbering: depth-first, a record before its fields.
	var names []string
	for i := range d.NumFields() {
		names = append(names, d.Field(i).Name)
	}
	if diff := cmp.Diff([]string{"a", "r", "b", "l", "c", "d", "e", "j"}, names); diff != "" {
		t.Errorf("numbering (-want +got):\n%s", diff)
	}
	if d.Field(4) != &fields[1].Fields[1].Fields[0] {
		t.Error("Field(4) is not fields[1].Fields[1].Fields[0]")
	}
	if diff := cmp.Diff(fields, d.Fields()); diff != "" {
		t.Errorf("Fields (-want +got):\n%s", diff)
	}
	e := &events{d: d}
	err = d.Decode([]byte(`{"e": true, "r": {"l": [{"d": 1.5}, null, {"c": "1970-01-01T00:00:01.5Z", "d": null}], "b": "1970-01-02"}, "j": [1, {"x": null}]}`), e)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"e true",
		"r {",
		"l [",
		"l {", "d 1.5", "c null", "l }",
		"l null element",
		"l {", "c 1500000", "d null", "l }",
		"l ]",
		"b 1",
		"r }",
		`j "[1,{\"x\":null}]"`,
		"a null",
	}
	if diff := cmp.Diff(want, e.out); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestTimeConversions(t *testing.T) {
	for _, s := range []string{"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2024-02-29T12:00:00.5Z",
		"0000-03-01T00:00:00Z", "1600-02-29T00:00:00Z", "9999-12-31T23:59:59.999999Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		us, ok := parseTimestamp([]byte(s))
		if !ok || us != want.UnixMicro() {
			t.Errorf("parseTimestamp(%s) = %d, %t; want %d", s, us, ok, want.UnixMicro())
		}
		if got := TimeOfMicros(us); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("TimeOfMicros(%d) = %v, want %v", us, got, want)
		}
		date := want.Truncate(24 * time.Hour)
		days, ok := parseDate([]byte(s[:10]))
		if !ok || days*86400 != date.Unix() {
			t.Errorf("parseDate(%s) = %d, %t; want %d", s[:10], days, ok, date.Unix()/86400)
		}
		if got := TimeOfDays(days); !got.Equal(date) || got.Location() != time.UTC {
			t.Errorf("TimeOfDays(%d) = %v, want %v", days, got, date)
		}
	}
}

func BenchmarkRowTasks(b *testing.B) {
	fields := streamFields(b, "tasks")
	rec := []byte(`{"gid": "1204", "resource_type": "task", "name": "Write the plan", "completed": false,
		"created_at": "2024-03-01T12:34:56.789Z", "due_on": "2024-03-08", "notes": "Some notes\nwith two lines.",
		"assignee": {"gid": "1", "resource_type": "user", "name": "Ann"},
		"memberships": [{"project": {"gid": "2", "resource_type": "project", "name": "Launch"},
			"section": {"gid": "3", "resource_type": "section", "name": "To do"}}],
		"tags": [], "followers": [{"gid": "1", "resource_type": "user", "name": "Ann"}]}`)
	d := NewDecoder(fields)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Row(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecoderConcurrent uses one Decoder from several goroutines (run with
// -race).
func TestDecoderConcurrent(t *testing.T) {
	d := NewDecoder(testFields(t))
	recs := []string{
		record(`"name": "a\nb", "memberships": [{"counts": [1, 2]}], "extra": {"x": [1, 2]}`),
		record(`"owner": {"gid": "2"}, "tags": ["x"]`),
		record(`"memberships": [{"counts": ["bad"]}]`),
	}
	want := make([]map[string]any, len(recs))
	for i, r := range recs {
		want[i], _ = d.Row([]byte(r))
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(recs)
				got, err := d.Row([]byte(recs[k]))
				if (err != nil) != (k == 2) || !cmp.Equal(want[k], got) {
					done <- fmt.Errorf("record %d: %v, %v", k, got, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		path Path
		want string
	}{
		{nil, ""},
		{Path{{Name: "gid"}}, "gid"},
		{Path{{Name: "tags"}, {Index: 0}}, "tags[0]"},
		{Path{{Name: "memberships"}, {Index: 2}, {Name: "project"}, {Name: "gid"}}, "memberships[2].project.gid"},
		{Path{{Name: "grid"}, {Index: 1}, {Index: 12}}, "grid[1][12]"},
	}
	var got, want []string
	for _, tt := range tests {
		got, want = append(got, tt.path.String()), append(want, tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Path.String (-want +got):\n%s", diff)
	}
}
