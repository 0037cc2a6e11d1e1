package parquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/asana-beam/asana-beam/sources/asana/schemas"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

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

func streamFields(t testing.TB, stream string) []tabular.Field {
	t.Helper()
	raw, ok := schemas.Raw(stream)
	if !ok {
		t.Fatalf("no schema for %s", stream)
	}
	fields, err := tabular.FromJSONSchema(raw)
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

// write writes the records in batches of batch to a new file and returns it.
func write(t *testing.T, fields []tabular.Field, opts Options, records [][]byte, batch int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, opts)
	if err != nil {
		t.Fatal(err)
	}
	for len(records) > 0 {
		k := min(batch, len(records))
		n, err := w.Write(records[:k])
		if err != nil || n != k {
			t.Fatalf("Write = %d, %v; want %d", n, err, k)
		}
		records = records[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(t *testing.T, file []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readBack reads the rows of a file with parquet-go's reader, and makes
// them comparable with expect.
func readBack(t *testing.T, fields []tabular.Field, file []byte) []map[string]any {
	t.Helper()
	f := open(t, file)
	r := parquet.NewReader(f)
	var rows []map[string]any
	for {
		m := map[string]any{}
		err := r.Read(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, normalize(t, fields, m))
	}
	if int64(len(rows)) != f.NumRows() {
		t.Errorf("read %d rows, the file has %d", len(rows), f.NumRows())
	}
	return rows
}

// expect returns the rows of the records as tabular.Row gives them, in
// the representation of readBack: timestamps as microseconds, dates as
// days, JSON as canonical JSON text.
func expect(t *testing.T, fields []tabular.Field, records [][]byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for i, rec := range records {
		m, err := tabular.Row(fields, rec)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		rows = append(rows, normalize(t, fields, m))
	}
	return rows
}

// normalize brings a row of tabular.Row, or of parquet-go's reader, to one
// representation.
func normalize(t *testing.T, fields []tabular.Field, m map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, ok := m[f.Name]
		if !ok {
			t.Fatalf("no %s in %v", f.Name, m)
		}
		if v == nil {
			out[f.Name] = nil
			continue
		}
		if !f.Repeated {
			out[f.Name] = normalizeValue(t, f, v)
			continue
		}
		list, ok := v.([]any)
		if !ok {
			t.Fatalf("%s: %T, want a list", f.Name, v)
		}
		nl := make([]any, len(list))
		for i, e := range list {
			if e != nil {
				nl[i] = normalizeValue(t, f, e)
			}
		}
		out[f.Name] = nl
	}
	return out
}

func normalizeValue(t *testing.T, f tabular.Field, v any) any {
	switch v := v.(type) {
	case time.Time:
		if f.Type == tabular.Date {
			return fmt.Sprintf("date %d", v.Unix()/86400)
		}
		return fmt.Sprintf("timestamp %d", v.UnixMicro())
	case map[string]any:
		if f.Type == tabular.Record {
			return normalize(t, f.Fields, v)
		}
	}
	switch f.Type {
	case tabular.Date:
		return fmt.Sprintf("date %d", v)
	case tabular.Timestamp:
		return fmt.Sprintf("timestamp %d", v)
	case tabular.JSON:
		// tabular.Row gives JSON text; parquet-go's reader decodes it.
		var x any = v
		if s, ok := v.(string); ok && json.Valid([]byte(s)) && f.Type == tabular.JSON {
			if err := json.Unmarshal([]byte(s), &x); err != nil {
				t.Fatal(err)
			}
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return "json " + string(b)
	}
	return v
}

// streamRecords returns realistic records of a stream, and one with only
// its required members.
func streamRecords(fields []tabular.Field, seed uint64, n int) [][]byte {
	g := newSynth(seed)
	recs := [][]byte{}
	minimal := "{}"
	for _, f := range fields {
		if f.Name == "gid" {
			minimal = `{"gid": "1"}`
		}
	}
	recs = append(recs, []byte(minimal))
	for range n {
		recs = append(recs, g.record(fields))
	}
	return recs
}

// TestWriteEveryStream writes records of every stream and reads them back.
func TestWriteEveryStream(t *testing.T) {
	for i, stream := range schemas.Names() {
		t.Run(stream, func(t *testing.T) {
			fields := streamFields(t, stream)
			records := streamRecords(fields, uint64(i), 150)
			want := expect(t, fields, records)
			for _, tc := range []struct {
				name  string
				opts  Options
				batch int
			}{
				{"defaults", Options{}, 1000},
				{"small row groups", Options{RowGroupRows: 7, PageBufferSize: 1024}, 10},
				{"one record a call", Options{RowGroupRows: 100}, 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					file := write(t, fields, tc.opts, records, tc.batch)
					got := readBack(t, fields, file)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
					f := open(t, file)
					if !parquet.EqualNodes(f.Schema(), Schema(fields)) {
						t.Errorf("the file's schema:\n%s\nwant:\n%s", f.Schema(), Schema(fields))
					}
					wantGroups := 1
					if tc.opts.RowGroupRows > 0 {
						wantGroups = (len(records) + tc.opts.RowGroupRows - 1) / tc.opts.RowGroupRows
					}
					if n := len(f.Metadata().RowGroups); n != wantGroups {
						t.Errorf("%d row groups, want %d", n, wantGroups)
					}
					checkChunks(t, f)
				})
			}
		})
	}
}

// checkChunks checks that every column chunk is zstd-compressed, with
// version 1 data pages in encodings every reader knows.
func checkChunks(t *testing.T, f *parquet.File) {
	t.Helper()
	//lint:ignore SA1019 older writers use PLAIN_DICTIONARY; the check must know it
	known := map[format.Encoding]bool{format.Plain: true, format.RLE: true, format.RLEDictionary: true, format.PlainDictionary: true, format.BitPacked: true}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			md := cc.MetaData
			if md.Codec != format.Zstd {
				t.Errorf("%s: codec %v", strings.Join(md.PathInSchema, "."), md.Codec)
			}
			for _, e := range md.Encoding {
				if !known[e] {
					t.Errorf("%s: encoding %v", strings.Join(md.PathInSchema, "."), e)
				}
			}
			for _, s := range md.EncodingStats {
				if s.PageType == format.DataPageV2 {
					t.Errorf("%s: a version 2 data page", strings.Join(md.PathInSchema, "."))
				}
			}
		}
	}
}

// TestWriteValues checks the values of a file read back field by field,
// for the edge cases of each type.
func TestWriteValues(t *testing.T) {
	fields, err := tabular.FromJSONSchema([]byte(`{"type": "object", "properties": {
		"gid": {"type": "string"},
		"s": {"type": ["null", "string"]},
		"i": {"type": ["null", "integer"]},
		"n": {"type": ["null", "number"]},
		"b": {"type": ["null", "boolean"]},
		"t": {"type": ["null", "string"], "format": "date-time"},
		"d": {"type": ["null", "string"], "format": "date"},
		"j": {"type": ["null", "object"]},
		"r": {"type": ["null", "object"], "properties": {"x": {"type": ["null", "string"]}, "y": {"type": "integer"}}},
		"l": {"type": ["null", "array"], "items": {"type": ["null", "array"]}},
		"ts": {"type": "array", "items": {"type": ["null", "string"], "format": "date-time"}},
		"m": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
			"p": {"type": ["null", "object"], "properties": {"gid": {"type": ["null", "string"]}}},
			"tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}}
		}}}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	records := []string{
		`{"gid": "1", "ts": []}`,
		`{"gid": "2", "s": "Ünïcödé ✓ 日本語 🎉 \"q\" \\ \n", "i": -9223372036854775808, "n": -0.0, "b": false,
		  "t": "1969-12-31T23:59:59.999Z", "d": "1900-01-01", "j": {"a": [1, "x", null]},
		  "r": {"x": null, "y": 9223372036854775807}, "l": [[1, 2], null, []],
		  "ts": ["2024-03-01T12:34:56.789Z", null, "2024-03-01T14:34:56.789+02:00"],
		  "m": [{"p": {"gid": "p1"}, "tags": ["a", null, "b"]}, null, {"p": null, "tags": []}, {"tags": null}, {}]}`,
		`{"gid": "3", "s": "", "i": 0, "n": 1e300, "b": true, "t": "9999-12-31T23:59:59.999999Z", "d": "9999-12-31",
		  "j": "just a string", "r": {"y": 0}, "l": [], "ts": [null], "m": []}`,
		`{"gid": "4", "j": 12.50, "m": [null, null], "ts": ["0001-01-01T00:00:00Z"]}`,
		`{"gid": "5", "s": "` + strings.Repeat("long é ", 20000) + `", "ts": []}`,
	}
	var recs [][]byte
	for _, r := range records {
		recs = append(recs, []byte(r))
	}
	for _, batch := range []int{1, 2, 10} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			file := write(t, fields, Options{RowGroupRows: 3}, recs, batch)
			if diff := cmp.Diff(expect(t, fields, recs), readBack(t, fields, file)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteCopies checks that the Writer keeps nothing of the records it
// is given: the caller may reuse their memory.
func TestWriteCopies(t *testing.T) {
	fields := streamFields(t, "stories")
	records := streamRecords(fields, 5, 300)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{RowGroupRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]byte, 0, 64<<10)
	for _, rec := range records {
		scratch = append(scratch[:0], rec...)
		if _, err := w.Write([][]byte{scratch}); err != nil {
			t.Fatal(err)
		}
		for i := range scratch {
			scratch[i] = 'X'
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(expect(t, fields, records), readBack(t, fields, buf.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSchemaTasks(t *testing.T) {
	golden(t, "schema/tasks.txt", Schema(streamFields(t, "tasks")).String()+"\n")
}

func TestSchema(t *testing.T) {
	fields := []tabular.Field{
		{Name: "z_first", Type: tabular.String},
		{Name: "s", Type: tabular.String, Nullable: true},
		{Name: "i", Type: tabular.Int64, Nullable: true},
		{Name: "n", Type: tabular.Double},
		{Name: "b", Type: tabular.Bool, Nullable: true},
		{Name: "t", Type: tabular.Timestamp, Nullable: true},
		{Name: "d", Type: tabular.Date, Nullable: true},
		{Name: "j", Type: tabular.JSON, Nullable: true},
		{Name: "r", Type: tabular.Record, Fields: []tabular.Field{
			{Name: "y", Type: tabular.Int64, Nullable: true},
			{Name: "x", Type: tabular.String},
		}},
		{Name: "l", Type: tabular.Int64, Repeated: true},
		{Name: "m", Type: tabular.Record, Repeated: true, Nullable: true, Fields: []tabular.Field{
			{Name: "tags", Type: tabular.Date, Repeated: true, Nullable: true},
		}},
	}
	want := `message schema {
	required binary z_first (STRING);
	optional binary s (STRING);
	optional int64 i (INT(64,true));
	required double n;
	optional boolean b;
	optional int64 t (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS));
	optional int32 d (DATE);
	optional binary j (JSON);
	required group r {
		optional int64 y (INT(64,true));
		required binary x (STRING);
	}
	required group l (LIST) {
		repeated group list {
			optional int64 element (INT(64,true));
		}
	}
	optional group m (LIST) {
		repeated group list {
			optional group element {
				optional group tags (LIST) {
					repeated group list {
						optional int32 element (DATE);
					}
				}
			}
		}
	}
}`
	s := Schema(fields)
	if diff := cmp.Diff(want, s.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, col := range s.Columns() {
		leaf, ok := s.Lookup(col...)
		if !ok {
			t.Fatalf("no column %v", col)
		}
		if c := leaf.Node.Compression(); c == nil || c.CompressionCodec() != format.Zstd {
			t.Errorf("%v: compression %v", col, c)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Schema of invalid fields did not panic")
		}
	}()
	Schema([]tabular.Field{{Name: "r", Type: tabular.Record}})
}

// TestWriteAllOrNothing checks that a record that does not fit writes
// nothing, and that the writer goes on.
func TestWriteAllOrNothing(t *testing.T) {
	fields := streamFields(t, "tasks")
	good := streamRecords(fields, 7, 200)[1:]
	// The error is in the last member, after values of every column (a
	// value that does not fit is written as null: a member given twice
	// cannot be written).
	last := fields[len(fields)-1]
	bad := newSynth(99).record(fields[:len(fields)-1])
	bad = append(bad[:len(bad)-1], `, "`+last.Name+`": "x", "gid": "again"}`...)
	if err := json.Unmarshal(bad, new(any)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{RowGroupRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	// A bad record first, in the middle of a batch, after a full batch, last.
	for _, at := range []int{0, 3, batchRows + 1, 9} {
		batch := append(append(append([][]byte{}, good[:at]...), bad), good[at:at+10]...)
		good = good[at+10:]
		n, err := w.Write(batch)
		if n != at {
			t.Errorf("Write = %d, want %d", n, at)
		}
		var re *RecordError
		var fe *tabular.FieldError
		if !errors.As(err, &re) || re.Index != at || !errors.As(err, &fe) || fe.Path != "gid" {
			t.Fatalf("Write error %v, want a RecordError at %d for gid", err, at)
		}
		if msg := fmt.Sprintf("record %d (gid %s): field gid: the member is given twice", at, tabular.GID(bad)); err.Error() != msg {
			t.Errorf("error %q, want %q", err, msg)
		}
		want = append(want, batch[:at]...)
		// The rest of the batch goes on.
		n, err = w.Write(batch[at+1:])
		if n != 10 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		want = append(want, batch[at+1:]...)
	}
	if w.Rows() != int64(len(want)) {
		t.Errorf("Rows() = %d, want %d", w.Rows(), len(want))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(expect(t, fields, want), readBack(t, fields, buf.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteInvalidJSON(t *testing.T) {
	fields := streamFields(t, "tags")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		record, path, msg string
	}{
		{``, "", "invalid JSON: the record is empty"},
		{`{"gid": "1"`, "", "invalid JSON: unexpected end of the record"},
		{`[]`, "", "the record is an array, not a JSON object"},
		{`{"name": "x"}`, "gid", "missing, and the field is not nullable"},
		{`{"gid": 1, "created_at": "2024-03-01"}`, "gid", `1 is a number, not a string`},
		{`{"gid": "1", "followers": [{"gid": "1"}, {"name": "a" "b"}]}`, "followers[1]", "invalid JSON at offset 54: unexpected character '\"'"},
	}
	for _, tt := range tests {
		n, err := w.Write([][]byte{[]byte(`{"gid": "0"}`), []byte(tt.record)})
		var re *RecordError
		var fe *tabular.FieldError
		if n != 1 || !errors.As(err, &re) || re.Index != 1 || !errors.As(err, &fe) || fe.Path != tt.path || fe.Message != tt.msg {
			t.Errorf("Write(%s) = %d, %v; want 1, record 1: %s: %s", tt.record, n, err, tt.path, tt.msg)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := open(t, buf.Bytes()).NumRows(); got != int64(len(tests)) {
		t.Errorf("%d rows, want %d", got, len(tests))
	}
}

func TestRowGroups(t *testing.T) {
	fields := streamFields(t, "stories")
	records := streamRecords(fields, 3, 300)
	groups := func(file []byte) []int64 {
		var n []int64
		for _, rg := range open(t, file).Metadata().RowGroups {
			n = append(n, rg.NumRows)
		}
		return n
	}
	t.Run("rows", func(t *testing.T) {
		file := write(t, fields, Options{RowGroupRows: 100}, records[:250], 30)
		if diff := cmp.Diff([]int64{100, 100, 50}, groups(file)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		// A tiny byte target ends a row group at every batch of rows.
		file := write(t, fields, Options{RowGroupBytes: 1}, records[:150], 1000)
		if diff := cmp.Diff([]int64{batchRows, batchRows, 150 - 2*batchRows}, groups(file)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("flush", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, fields, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil { // nothing to end
			t.Fatal(err)
		}
		for _, k := range []int{5, 0, 12, 1} {
			if _, err := w.Write(records[:k]); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{5, 12, 1}, groups(buf.Bytes())); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		file := write(t, fields, Options{}, nil, 1)
		f := open(t, file)
		if f.NumRows() != 0 || len(f.Metadata().RowGroups) != 0 {
			t.Errorf("%d rows in %d row groups", f.NumRows(), len(f.Metadata().RowGroups))
		}
		if !parquet.EqualNodes(f.Schema(), Schema(fields)) {
			t.Errorf("schema %s", f.Schema())
		}
	})
}

func TestWriterClosed(t *testing.T) {
	fields := streamFields(t, "tags")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([][]byte{[]byte(`{"gid": "1"}`)}); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size := buf.Len()
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([][]byte{[]byte(`{"gid": "2"}`)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if buf.Len() != size || w.Rows() != 1 {
		t.Errorf("the file changed after Close, or Rows() = %d", w.Rows())
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterOutputError(t *testing.T) {
	fields := streamFields(t, "tags")
	records := streamRecords(fields, 1, 200)
	w, err := NewWriter(&failingWriter{n: 100}, fields, Options{RowGroupRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(records)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write error %v, want disk full", err)
	}
	var re *RecordError
	if errors.As(err, &re) {
		t.Errorf("an output error is a RecordError: %v", err)
	}
	// The writer cannot go on.
	if _, err2 := w.Write(records[:1]); err2 == nil {
		t.Error("Write after an output error succeeded")
	}
	if err2 := w.Close(); err2 == nil {
		t.Error("Close after an output error succeeded")
	}
}

func TestNewWriterErrors(t *testing.T) {
	tests := []struct {
		name   string
		fields []tabular.Field
		opts   Options
		want   string
	}{
		{"no fields", nil, Options{}, "no fields"},
		{"record without fields", []tabular.Field{{Name: "r", Type: tabular.Record}}, Options{}, "r: a RECORD without fields"},
		{"duplicate", []tabular.Field{{Name: "a"}, {Name: "a"}}, Options{}, "a: the name is used twice"},
		{"negative rows", []tabular.Field{{Name: "a"}}, Options{RowGroupRows: -1}, "negative option"},
		{"negative bytes", []tabular.Field{{Name: "a"}}, Options{RowGroupBytes: -1}, "negative option"},
		{"negative page", []tabular.Field{{Name: "a"}}, Options{PageBufferSize: -1}, "negative option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(io.Discard, tt.fields, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewWriter = %v, %v; want error %q", w, err, tt.want)
			}
		})
	}
}
