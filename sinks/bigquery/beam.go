package bigquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	bq "cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

func init() {
	register.DoFn3x1[context.Context, sinks.Record, func(Staged), error](&WriteFn{})
	register.Emitter1[Staged]()
	register.DoFn2x0[[]byte, func(Staged)](&markerFn{})
	register.DoFn2x0[Staged, func(string, Staged)](&keyStagedFn{})
	register.Emitter2[string, Staged]()
	register.DoFn2x0[sinks.Report, func(string, sinks.Report)](&keyReportFn{})
	register.Emitter2[string, sinks.Report]()
	register.DoFn4x1[context.Context, string, func(*Staged) bool, func(*sinks.Report) bool, error](&FinalizeFn{})
}

// Write loads each PCollection of sinks.Record into staging tables of the
// run and, when all are loaded, replaces each stream's table with them and
// records the run (Publish). Reports (skipped parts, lost data) go into
// the tables' labels and descriptions and into RunsTable.
func Write(s beam.Scope, l Load, records []beam.PCollection, reports beam.PCollection) {
	s = s.Scope("BigQuery")
	// The marker makes FinalizeFn run when there is no staging table and
	// no report at all: every table is replaced by an empty one then.
	staged := []beam.PCollection{beam.ParDo(s, &markerFn{}, beam.Impulse(s))}
	for _, r := range records {
		staged = append(staged, beam.ParDo(s, &WriteFn{Load: l}, r))
	}
	keyed := beam.ParDo(s, &keyStagedFn{}, beam.Flatten(s, staged...))
	keyedReports := beam.ParDo(s, &keyReportFn{}, reports)
	beam.ParDo0(s, &FinalizeFn{Load: l}, beam.CoGroupByKey(s, keyed, keyedReports))
}

// WriteFn loads the records of a bundle into a staging table per stream,
// of its own: a bundle that fails and is retried leaves its tables out of
// the run, which publishes only the tables of the bundles that succeeded.
type WriteFn struct {
	Load Load `json:"load"`

	client *bq.Client
	fields map[string][]tabular.Field
	open   map[string]*stagingWriter
}

type stagingWriter struct {
	staged Staged
	w      *Writer
}

// Setup parses the schemas and connects to BigQuery.
func (fn *WriteFn) Setup(ctx context.Context) error {
	if err := fn.Load.Check(); err != nil {
		return err
	}
	fn.fields = map[string][]tabular.Field{}
	for stream, schema := range fn.Load.Schemas {
		f, err := tabular.FromJSONSchema([]byte(schema))
		if err != nil {
			return fmt.Errorf("bigquery: schema of %s: %w", stream, err)
		}
		fn.fields[stream] = f
	}
	c, err := fn.Load.NewClient(ctx)
	if err != nil {
		return err
	}
	fn.client = c
	return nil
}

// StartBundle starts with no staging table.
func (fn *WriteFn) StartBundle(_ context.Context, _ func(Staged)) {
	fn.discard()
	fn.open = map[string]*stagingWriter{}
}

// discard drops the writers of a bundle that failed: their staging tables
// are not handed on, and expire.
func (fn *WriteFn) discard() {
	for _, sw := range fn.open {
		sw.w.Discard()
	}
	fn.open = nil
}

// ProcessElement adds one record to the rows of its stream.
func (fn *WriteFn) ProcessElement(ctx context.Context, r sinks.Record, _ func(Staged)) error {
	sw, ok := fn.open[r.Stream]
	if !ok {
		fields, known := fn.fields[r.Stream]
		if !known {
			return fmt.Errorf("bigquery: no schema for stream %s", r.Stream)
		}
		t, err := CreateStaging(ctx, fn.client, fn.Load, r.Stream, Schema(fields))
		if err != nil {
			return err
		}
		w, err := NewWriter(fn.client, t, fields, fn.Load.writerOptions())
		if err != nil {
			return err
		}
		sw = &stagingWriter{staged: Staged{Stream: r.Stream, Table: t.TableID}, w: w}
		fn.open[r.Stream] = sw
	}
	n, err := sw.w.Write(ctx, [][]byte{r.Data})
	var re *RecordError
	if errors.As(err, &re) {
		return fmt.Errorf("bigquery: %s record %s: %w", r.Stream, r.Key, re.Err)
	}
	for _, w := range sw.w.Warnings() {
		sw.staged.addWarning(w)
	}
	if err != nil {
		return fmt.Errorf("bigquery: writing %s record %s: %w", r.Stream, r.Key, err)
	}
	if n != 1 {
		return fmt.Errorf("bigquery: writing %s record %s: %d rows written, want 1", r.Stream, r.Key, n)
	}
	sw.staged.Rows++
	return nil
}

// FinishBundle loads the rows still buffered and hands the staging tables
// on.
func (fn *WriteFn) FinishBundle(ctx context.Context, emit func(Staged)) error {
	for _, sw := range fn.open {
		if err := sw.w.Close(ctx); err != nil {
			return err
		}
		if sw.w.Rows() != sw.staged.Rows {
			return fmt.Errorf("bigquery: staging table %s holds %d rows, want %d", sw.staged.Table, sw.w.Rows(), sw.staged.Rows)
		}
		if st := sw.staged; st.WarningCount > 0 {
			slog.Warn("bigquery: values that did not fit their columns were written as NULL", "stream", st.Stream,
				"values", st.WarningCount, "first", st.Stream+": "+st.Warnings[0])
		}
		emit(sw.staged)
	}
	fn.open = nil
	return nil
}

// Teardown closes the client.
func (fn *WriteFn) Teardown() error {
	fn.discard()
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

// markerFn emits an empty Staged, which Publish skips.
type markerFn struct{}

func (*markerFn) ProcessElement(_ []byte, emit func(Staged)) { emit(Staged{}) }

type keyStagedFn struct{}

func (*keyStagedFn) ProcessElement(st Staged, emit func(string, Staged)) { emit("", st) }

type keyReportFn struct{}

func (*keyReportFn) ProcessElement(r sinks.Report, emit func(string, sinks.Report)) { emit("", r) }

// FinalizeFn runs once, after every bundle has loaded its staging tables:
// it publishes the run (Publish).
type FinalizeFn struct {
	Load Load `json:"load"`

	client *bq.Client
}

// Setup connects to BigQuery.
func (fn *FinalizeFn) Setup(ctx context.Context) error {
	c, err := fn.Load.NewClient(ctx)
	fn.client = c
	return err
}

// ProcessElement publishes the run.
func (fn *FinalizeFn) ProcessElement(ctx context.Context, _ string, staged func(*Staged) bool, reports func(*sinks.Report) bool) error {
	var all []Staged
	var st Staged
	for staged(&st) {
		all = append(all, st)
	}
	var rs []sinks.Report
	var r sinks.Report
	for reports(&r) {
		rs = append(rs, r)
	}
	_, err := Publish(ctx, fn.client, fn.Load, all, rs)
	return err
}

// Teardown closes the client.
func (fn *FinalizeFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}
