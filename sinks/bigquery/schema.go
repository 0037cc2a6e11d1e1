// Package bigquery is the BigQuery sink of asana-beam: a table per stream,
// replaced atomically by each full refresh.
//
// It is plain Go first, in three layers kept apart:
//
//   - the table schema (Schema) and the row format (Encoder): the stream's
//     fields (package tabular) as BigQuery columns, and its JSON records as
//     newline-delimited JSON rows for those columns;
//   - the transport (Writer): rows buffered in a temporary file and sent to
//     a table by load jobs, which BigQuery does not bill (streaming inserts
//     and the Storage Write API are billed per byte);
//   - the publication (Publish): each stream's staging tables replace its
//     table in one job, then a row of the run per stream goes to the runs
//     table (RunsTable), the BigQuery sink's manifest.
//
// Write wraps them in a Beam transform, as the Parquet sink does: every
// bundle loads its rows into staging tables of its own, and one
// FinalizeFn, after every bundle, publishes the run.
package bigquery

import (
	"fmt"
	"unicode/utf8"

	bq "cloud.google.com/go/bigquery"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// MaxDescription is the most characters BigQuery keeps in a column's
// description; longer descriptions are cut there.
const MaxDescription = 1024

// Schema returns the BigQuery schema of the fields:
//
//	String     STRING
//	Int64      INTEGER
//	Double     FLOAT
//	Bool       BOOLEAN
//	Timestamp  TIMESTAMP
//	Date       DATE
//	JSON       JSON
//	Record     RECORD, of the schema of its fields
//
// A Repeated field is REPEATED (BigQuery has no nullable arrays: a null
// list loads as an empty one); other fields are NULLABLE when Nullable,
// else REQUIRED. Descriptions longer than MaxDescription characters are
// cut, ending with "…". The fields must be valid (tabular.Validate).
func Schema(fields []tabular.Field) bq.Schema {
	s := make(bq.Schema, 0, len(fields))
	for _, f := range fields {
		fs := &bq.FieldSchema{
			Name:        f.Name,
			Type:        fieldTypes[f.Type],
			Description: truncate(f.Description, MaxDescription),
			Repeated:    f.Repeated,
			Required:    !f.Repeated && !f.Nullable,
		}
		if f.Type == tabular.Record {
			fs.Schema = Schema(f.Fields)
		}
		s = append(s, fs)
	}
	return s
}

var fieldTypes = map[tabular.Type]bq.FieldType{
	tabular.String:    bq.StringFieldType,
	tabular.Int64:     bq.IntegerFieldType,
	tabular.Double:    bq.FloatFieldType,
	tabular.Bool:      bq.BooleanFieldType,
	tabular.Timestamp: bq.TimestampFieldType,
	tabular.Date:      bq.DateFieldType,
	tabular.JSON:      bq.JSONFieldType,
	tabular.Record:    bq.RecordFieldType,
}

// truncate cuts s to at most n characters, the last one "…" when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// sameSchema reports whether two schemas have the same columns: names,
// types, modes and nesting, descriptions aside. It returns what differs
// first, for messages.
func sameSchema(a, b bq.Schema, path string) (bool, string) {
	if len(a) != len(b) {
		return false, fmt.Sprintf("%s: %d columns, want %d", orTop(path), len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		p := x.Name
		if path != "" {
			p = path + "." + x.Name
		}
		switch {
		case x.Name != y.Name:
			return false, fmt.Sprintf("%s: column %d is %s, want %s", orTop(path), i, x.Name, y.Name)
		case x.Type != y.Type:
			return false, fmt.Sprintf("%s: %s, want %s", p, x.Type, y.Type)
		case x.Repeated != y.Repeated || x.Required != y.Required:
			return false, fmt.Sprintf("%s: mode %s, want %s", p, mode(x), mode(y))
		}
		if ok, why := sameSchema(x.Schema, y.Schema, p); !ok {
			return false, why
		}
	}
	return true, ""
}

func orTop(path string) string {
	if path == "" {
		return "the table"
	}
	return path
}

func mode(f *bq.FieldSchema) string {
	switch {
	case f.Repeated:
		return "REPEATED"
	case f.Required:
		return "REQUIRED"
	}
	return "NULLABLE"
}
