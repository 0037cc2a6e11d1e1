package tabular

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLenient: each value that does not fit its field becomes null, with a
// warning naming the record's gid, the path and the value; the other
// values are kept; a field that cannot be null keeps the error.
func TestLenient(t *testing.T) {
	tasks := streamFields(t, "tasks")
	test := testFields(t)
	tests := []struct {
		name     string
		fields   []Field
		record   string
		fixed    string // the record Lenient returns
		warnings []Warning
	}{
		{"bad date", tasks, `{"gid": "123", "name": "Plan", "due_on": "2024-13-45"}`,
			`{"gid": "123", "name": "Plan", "due_on": null}`,
			[]Warning{{GID: "123", Field: "due_on", Value: `"2024-13-45"`, Reason: "is not a date (YYYY-MM-DD)"}}},
		{"bad timestamp", tasks, `{"gid": "123", "created_at": "yesterday at noon", "name": "Plan"}`,
			`{"gid": "123", "created_at": null, "name": "Plan"}`,
			[]Warning{{GID: "123", Field: "created_at", Value: `"yesterday at noon"`, Reason: "is not an RFC 3339 timestamp"}}},
		{"int beyond int64", tasks, `{"num_likes": 1e30, "gid": "7"}`,
			`{"num_likes": null, "gid": "7"}`,
			[]Warning{{GID: "7", Field: "num_likes", Value: "1e30", Reason: "is out of range for a 64-bit integer"}}},
		{"long int beyond int64", tasks, `{"gid": "7", "num_likes": 123456789012345678901234567890}`,
			`{"gid": "7", "num_likes": null}`,
			[]Warning{{GID: "7", Field: "num_likes", Value: "123456789012345678901234567890", Reason: "is out of range for a 64-bit integer"}}},
		{"fraction for int", tasks, `{"gid": "7", "num_subtasks": 2.5}`,
			`{"gid": "7", "num_subtasks": null}`,
			[]Warning{{GID: "7", Field: "num_subtasks", Value: "2.5", Reason: "is not an integer"}}},
		{"string for int", tasks, `{"gid": "7", "num_subtasks": "3"}`,
			`{"gid": "7", "num_subtasks": null}`,
			[]Warning{{GID: "7", Field: "num_subtasks", Value: `"3"`, Reason: "is a string, not an integer"}}},
		{"object for string", tasks, `{"gid": "7", "name": { "text" : "Plan" }}`,
			`{"gid": "7", "name": null}`,
			[]Warning{{GID: "7", Field: "name", Value: `{"text":"Plan"}`, Reason: "is an object, not a string"}}},
		{"string for record", tasks, `{"gid": "7", "assignee": "Ann"}`,
			`{"gid": "7", "assignee": null}`,
			[]Warning{{GID: "7", Field: "assignee", Value: `"Ann"`, Reason: "is a string, not an object"}}},
		{"object for list", tasks, `{"gid": "7", "memberships": {"project": {}}}`,
			`{"gid": "7", "memberships": null}`,
			[]Warning{{GID: "7", Field: "memberships", Value: `{"project":{}}`, Reason: "is an object, not an array"}}},
		{"number too large for a double", tasks, `{"gid": "7", "actual_time_minutes": -1e999}`,
			`{"gid": "7", "actual_time_minutes": null}`,
			[]Warning{{GID: "7", Field: "actual_time_minutes", Value: "-1e999", Reason: "is out of range for a 64-bit floating point number"}}},
		{"inside a list of records", tasks,
			`{"gid": "7", "memberships": [{"project": {"gid": "1"}}, {"project": {"gid": 2, "name": "P"}}], "name": "x"}`,
			`{"gid": "7", "memberships": [{"project": {"gid": "1"}}, {"project": {"gid": null, "name": "P"}}], "name": "x"}`,
			[]Warning{{GID: "7", Field: "memberships[1].project.gid", Value: "2", Reason: "is a number, not a string"}}},
		{"element of a list", test, record(`"tags": ["a", 5, "c"], "memberships": [{"counts": [1, 2.5]}, "m"]`),
			record(`"tags": ["a", null, "c"], "memberships": [{"counts": [1, null]}, null]`),
			[]Warning{
				{GID: "1", Field: "tags[1]", Value: "5", Reason: "is a number, not a string"},
				{GID: "1", Field: "memberships[0].counts[1]", Value: "2.5", Reason: "is not an integer"},
				{GID: "1", Field: "memberships[1]", Value: `"m"`, Reason: "is a string, not an object"},
			}},
		{"element of a required list", test, `{"gid": "1", "ids": [1, "two"], "req": {"n": 0}}`,
			`{"gid": "1", "ids": [1, null], "req": {"n": 0}}`,
			[]Warning{{GID: "1", Field: "ids[1]", Value: `"two"`, Reason: "is a string, not an integer"}}},
		{"several, no gid", test, `{"ids": [], "name": 1, "count": "2", "gid": 3, "req": {"n": 0}}`, "", nil},
		{"no gid member", streamFields(t, "events"), `{"action": 5, "created_at": "2024-01-01T00:00:00Z"}`,
			`{"action": null, "created_at": "2024-01-01T00:00:00Z"}`,
			[]Warning{{Field: "action", Value: "5", Reason: "is a number, not a string"}}},
		{"long value", tasks, `{"gid": "9", "due_on": "` + strings.Repeat("x", 500) + `"}`,
			`{"gid": "9", "due_on": null}`,
			[]Warning{{GID: "9", Field: "due_on", Value: `"` + strings.Repeat("x", 199) + "...", Reason: "is not a date (YYYY-MM-DD)"}}},
		{"fits", tasks, `{"gid": "9", "due_on": "2024-02-29", "num_likes": 3}`, `{"gid": "9", "due_on": "2024-02-29", "num_likes": 3}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.fields)
			fixed, warnings, err := d.Lenient([]byte(tt.record))
			if tt.fixed == "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Path != "gid" || fe.Value != "3" {
					t.Fatalf("Lenient = %q, %v, %v; want an error of gid with its value", fixed, warnings, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lenient: %v", err)
			}
			if string(fixed) != tt.fixed {
				t.Errorf("fixed record\n got %s\nwant %s", fixed, tt.fixed)
			}
			if diff := cmp.Diff(tt.warnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			// The fixed record fits, and DecodeLenient reports what Decode
			// reports of it, with the same warnings.
			want, err := d.Row(fixed)
			if err != nil {
				t.Fatalf("Row of the fixed record: %v", err)
			}
			b := mapBuilder{d: d}
			b.push(frame{m: map[string]any{}})
			prior := []Warning{{Field: "kept"}}
			got, err := d.DecodeLenient([]byte(tt.record), &b, prior)
			if err != nil {
				t.Fatalf("DecodeLenient: %v", err)
			}
			if diff := cmp.Diff(want, b.stack[0].m); diff != "" {
				t.Errorf("DecodeLenient row (-Row of the fixed record +got):\n%s", diff)
			}
			if diff := cmp.Diff(append([]Warning{{Field: "kept"}}, tt.warnings...), got); diff != "" {
				t.Errorf("DecodeLenient warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLenientErrors: what null cannot fix stays an error, which names the
// field and the value, and adds no warning.
func TestLenientErrors(t *testing.T) {
	fields := testFields(t)
	tests := []struct {
		name, record, path, value, msg string
	}{
		{"required field", `{"gid": 12, "ids": [], "req": {"n": 0}}`, "gid", "12", "field gid: 12 is a number, not a string"},
		{"required field, after a warning", `{"name": 1, "gid": {"a": 1}, "ids": [], "req": {"n": 0}}`, "gid", `{"a":1}`,
			`field gid: {"a":1} is an object, not a string`},
		{"required list", `{"gid": "1", "ids": "1,2", "req": {"n": 0}}`, "ids", `"1,2"`, `field ids: "1,2" is a string, not an array`},
		{"required field in a record", `{"gid": "1", "ids": [], "req": {"n": "zero"}}`, "req.n", `"zero"`, `field req.n: "zero" is a string, not a number`},
		{"null required", `{"gid": null, "ids": [], "req": {"n": 0}}`, "gid", "null", "field gid: null, and the field is not nullable"},
		{"missing required", `{"ids": [], "req": {"n": 0}}`, "gid", "", "field gid: missing, and the field is not nullable"},
		{"invalid JSON in a bad value", record(`"count": [1, }`), "count", "", "field count: invalid JSON at offset 54: unexpected character '}'"},
		{"invalid JSON", record(`"name": "a"`) + "x", "", "", "invalid JSON at offset 53: data after the record"},
		{"duplicate", record(`"count": "a", "count": 2`), "count", "", "field count: the member is given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(fields)
			fixed, warnings, err := d.Lenient([]byte(tt.record))
			var fe *FieldError
			if !errors.As(err, &fe) || fixed != nil || warnings != nil {
				t.Fatalf("Lenient = %q, %v, %v; want only a *FieldError", fixed, warnings, err)
			}
			if fe.Path != tt.path || fe.Value != tt.value || err.Error() != tt.msg {
				t.Errorf("error %q at %q of value %q; want %q at %q of value %q", err, fe.Path, fe.Value, tt.msg, tt.path, tt.value)
			}
			prior := []Warning{{Field: "kept"}}
			got, err2 := d.DecodeLenient([]byte(tt.record), discard{}, prior)
			if err2 == nil || err2.Error() != err.Error() || len(got) != 1 {
				t.Errorf("DecodeLenient = %v, %v; want the same error and the prior warnings only", got, err2)
			}
			// Decode fails too.
			if err := d.Decode([]byte(tt.record), discard{}); err == nil {
				t.Error("Decode accepts the record")
			}
		})
	}
}

func TestWarningString(t *testing.T) {
	tests := []struct {
		w    Warning
		want string
	}{
		{Warning{GID: "123", Field: "due_on", Value: `"2024-13-45"`, Reason: "is not a date (YYYY-MM-DD)"},
			`record 123: field due_on: "2024-13-45" is not a date (YYYY-MM-DD); written as null`},
		{Warning{Field: "memberships[1].project.gid", Value: "2", Reason: "is a number, not a string"},
			`a record without gid: field memberships[1].project.gid: 2 is a number, not a string; written as null`},
		{Warning{GID: "9", Field: "tags[0]", Value: "null", Reason: "is null", Outcome: "left out"},
			`record 9: field tags[0]: null is null; left out`},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestGID(t *testing.T) {
	tests := []struct{ record, want string }{
		{`{"gid": "123"}`, "123"},
		{` { "name" : {"gid": "nested"}, "g\u0069d" : "a\"b" , "x": 1}`, `a"b`},
		{`{"name": "x", "gid": 5}`, ""},
		{`{"name": "x"}`, ""},
		{`{"name": [1, }, "gid": "1"}`, ""},
		{`[{"gid": "1"}]`, ""},
		{``, ""},
		{`{"gid": "` + strings.Repeat("1", 300) + `"}`, strings.Repeat("1", 200) + "..."},
	}
	for _, tt := range tests {
		if got := GID([]byte(tt.record)); got != tt.want {
			t.Errorf("GID(%s) = %q, want %q", tt.record, got, tt.want)
		}
	}
}

// FuzzLenient checks that Lenient never panics; that a record Decode
// takes comes back as it is, without warnings; that a fixed record always
// fits (Decode takes it), with a warning per value replaced; and that
// what Lenient refuses, Decode refuses too, for a reason null cannot fix:
// invalid JSON, a member given twice, or a field that is not Nullable.
// The seeds are in testdata/fuzz/FuzzLenient; run with go test -fuzz
// FuzzLenient.
func FuzzLenient(f *testing.F) {
	fields := testFields(f)
	d := NewDecoder(fields)
	for _, s := range []string{
		record(`"name": "Ann", "count": 3, "at": "2024-03-01T12:34:56.789Z", "tags": ["a", null]`),
		record(`"name": 5, "count": 1e30, "at": "2024-13-01T00:00:00Z", "on": "2024-13-45", "tags": ["a", 2]`),
		record(`"memberships": [{"project": {"gid": 2}, "counts": [1, "x"]}, 5], "owner": [], "ratio": 1e999`),
		`{"gid": 1, "ids": [], "req": {"n": "x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		strictErr := d.Decode(rec, discard{})
		fixed, warnings, err := d.Lenient(rec)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, not a *FieldError", err, err)
			}
			if strictErr == nil {
				t.Fatalf("Lenient refuses what Decode takes: %v", err)
			}
			if fe.misfit {
				if f := fieldAt(fields, fe.Path); f == nil || f.Nullable || strings.HasSuffix(fe.Path, "]") {
					t.Fatalf("Lenient refuses a value that null could replace: %v", err)
				}
			}
			if fixed != nil || warnings != nil {
				t.Fatalf("an error, and a fixed record or warnings")
			}
			return
		}
		if strictErr == nil {
			if string(fixed) != string(rec) || len(warnings) != 0 {
				t.Fatalf("a record that fits became %q, with warnings %v", fixed, warnings)
			}
			return
		}
		if len(warnings) == 0 {
			t.Fatalf("Decode refuses %q (%v), Lenient takes it without a warning", rec, strictErr)
		}
		if err := d.Decode(fixed, discard{}); err != nil {
			t.Fatalf("the fixed record %q does not fit: %v", fixed, err)
		}
		again, more, err := d.Lenient(fixed)
		if err != nil || len(more) != 0 || string(again) != string(fixed) {
			t.Fatalf("Lenient of the fixed record: %q, %v, %v", again, more, err)
		}
		row, err := d.Row(fixed)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range warnings {
			if w.Field == "" || w.Value == "" || w.Reason == "" || len(w.Value) > MaxValueBytes+3 {
				t.Fatalf("warning %+v", w)
			}
			if v, ok := valueAt(row, w.Field); !ok || v != nil {
				t.Fatalf("warning %+v, but the value at its path in %q is %#v (%t)", w, fixed, v, ok)
			}
		}
	})
}

// fieldAt returns the field of a path of FieldError, or nil.
func fieldAt(fields []Field, path string) *Field {
	var f *Field
	for _, name := range strings.Split(path, ".") {
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		var next *Field
		for k := range fields {
			if fields[k].Name == name {
				next = &fields[k]
			}
		}
		if next == nil {
			return nil
		}
		f, fields = next, next.Fields
	}
	return f
}

// valueAt returns the value at a path of a Warning in a row of Row.
func valueAt(row map[string]any, path string) (any, bool) {
	var v any = row
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			l, ok := v.([]any)
			if err != nil || !ok || i >= len(l) {
				return nil, false
			}
			v, rest = l[i], strings.TrimPrefix(after, "[")
		}
	}
	return v, true
}
