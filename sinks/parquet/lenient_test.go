package parquet

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// TestWriteBadValuesAsNull: a value that does not fit its column is
// written as null, the record's other values as they came, and Warnings
// names the record's gid, the field and the value, once, in the order of
// the records and of their members.
func TestWriteBadValuesAsNull(t *testing.T) {
	fields := streamFields(t, "tasks")
	good := streamRecords(fields, 12, 150)
	bad := [][]byte{
		[]byte(`{"gid": "101", "name": "Plan", "due_on": "2024-13-45", "num_likes": 1e30, "completed": "yes",
			"created_at": "2024-03-01T12:34:56.789Z", "memberships": [{"project": {"gid": "p1"}}, {"project": {"gid": 2, "name": "Launch"}}]}`),
		[]byte(`{"gid": "102", "notes": {"text": "an object"}, "tags": [{"gid": "t1"}, "t2"], "num_subtasks": 2.5}`),
	}
	fixed := []string{
		`{"gid": "101", "name": "Plan", "due_on": null, "num_likes": null, "completed": null,
			"created_at": "2024-03-01T12:34:56.789Z", "memberships": [{"project": {"gid": "p1"}}, {"project": {"gid": null, "name": "Launch"}}]}`,
		`{"gid": "102", "notes": null, "tags": [{"gid": "t1"}, null], "num_subtasks": null}`,
	}
	// Bad records among good ones, within a batch and across batches.
	records := append(append(append([][]byte{}, good[:70]...), bad[0]), good[70:]...)
	records = append(records, bad[1])
	want := append(append(append([][]byte{}, good[:70]...), []byte(fixed[0])), good[70:]...)
	want = append(want, []byte(fixed[1]))

	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{RowGroupRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Warnings(); len(got) != 0 {
		t.Errorf("Warnings before any record: %v", got)
	}
	if n, err := w.Write(records[:80]); n != 80 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	var lines []string
	for _, wn := range w.Warnings() {
		lines = append(lines, wn.String())
	}
	if n, err := w.Write(records[80:]); n != len(records)-80 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	for _, wn := range w.Warnings() {
		lines = append(lines, wn.String())
	}
	if got := w.Warnings(); len(got) != 0 {
		t.Errorf("Warnings did not forget: %v", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines := []string{
		`record 101: field due_on: "2024-13-45" is not a date (YYYY-MM-DD); written as null`,
		`record 101: field num_likes: 1e30 is out of range for a 64-bit integer; written as null`,
		`record 101: field completed: "yes" is a string, not a boolean; written as null`,
		`record 101: field memberships[1].project.gid: 2 is a number, not a string; written as null`,
		`record 102: field notes: {"text":"an object"} is an object, not a string; written as null`,
		`record 102: field tags[1]: "t2" is a string, not an object; written as null`,
		`record 102: field num_subtasks: 2.5 is not an integer; written as null`,
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if w.Rows() != int64(len(records)) {
		t.Errorf("Rows() = %d, want %d", w.Rows(), len(records))
	}
	if diff := cmp.Diff(expect(t, fields, want), readBack(t, fields, buf.Bytes())); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestWriteRequiredBadValue: a value that does not fit a column that
// cannot be null fails its record, naming the index, gid, field and
// value; the record's warnings are not kept, and the Writer goes on.
func TestWriteRequiredBadValue(t *testing.T) {
	fields := streamFields(t, "tasks")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		record, msg string
	}{
		{`{"due_on": "2024-13-45", "gid": 1207}`, `record 1: field gid: 1207 is a number, not a string`},
		{`{"gid": null, "name": "x"}`, `record 1: field gid: null, and the field is not nullable`},
		{`{"name": 5}`, `record 1: field gid: missing, and the field is not nullable`},
		{`{"gid": "55", "name": "a", "name": "b"}`, `record 1 (gid 55): field name: the member is given twice`},
		{`{"gid": "56", "name": [1, }`, `record 1 (gid 56): field name: invalid JSON at offset 26: unexpected character '}'`},
	}
	rows := 0
	for _, tt := range tests {
		n, err := w.Write([][]byte{[]byte(`{"gid": "0", "num_likes": "many"}`), []byte(tt.record)})
		rows += n
		var re *RecordError
		var fe *tabular.FieldError
		if n != 1 || !errors.As(err, &re) || !errors.As(err, &fe) || err.Error() != tt.msg {
			t.Errorf("Write(%s) = %d, %v; want 1, %s", tt.record, n, err, tt.msg)
		}
		if got := w.Warnings(); len(got) != 1 || got[0].GID != "0" || got[0].Field != "num_likes" {
			t.Errorf("warnings %v, want only the first record's", got)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := open(t, buf.Bytes()).NumRows(); got != int64(rows) {
		t.Errorf("%d rows, want %d", got, rows)
	}
}
