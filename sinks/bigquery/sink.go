package bigquery

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"

	bq "cloud.google.com/go/bigquery"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// Kind is the BigQuery sink: asana-export's --sink bigquery, with the
// --bq_ flags.
var Kind = sinks.Kind{
	Name: "bigquery",
	Flags: func(fs *flag.FlagSet) func(context.Context, sinks.Run) (sinks.Sink, error) {
		project := fs.String("bq_project", "", "--sink bigquery: the project of the dataset, billed for the jobs")
		dataset := fs.String("bq_dataset", "", "--sink bigquery: the dataset (it must exist) that gets a table per stream")
		location := fs.String("bq_location", "", "--sink bigquery: the location of the jobs, such as EU (default: the dataset's)")
		endpoint := fs.String("bq_endpoint", "", "--sink bigquery: the address of a BigQuery emulator, used without authentication; tables are then replaced by DML, as emulators have no copy jobs")
		return func(ctx context.Context, r sinks.Run) (sinks.Sink, error) {
			if *project == "" || *dataset == "" {
				return nil, errors.New("--sink bigquery needs --bq_project and --bq_dataset")
			}
			l := Load{Project: *project, Dataset: *dataset, Location: *location, Endpoint: *endpoint,
				RunID: NewRunID(r.StartedAt), Schemas: r.Schemas, Source: r.Source, StartedAt: r.StartedAt}
			if *endpoint != "" {
				l.Replace = ReplaceDML
			}
			if err := l.Check(); err != nil {
				return nil, err
			}
			if r.DryRun {
				return l, nil // offline: no credentials, no dataset to check
			}
			// The dataset exists, which also checks the credentials.
			c, err := l.NewClient(ctx)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			if _, err := c.Dataset(l.Dataset).Metadata(ctx); err != nil {
				return nil, fmt.Errorf("--bq_dataset: reading dataset %s.%s: %w (create it first, for example with bq mk --dataset %s:%s)", l.Project, l.Dataset, err, l.Project, l.Dataset)
			}
			return l, nil
		}
	},
	Decode: sinks.DecodeJSON[Load],
}

func init() { sinks.Register(Kind) }

// Kind is "bigquery".
func (Load) Kind() string { return Kind.Name }

// Target is the dataset.
func (l Load) Target() string { return "BigQuery dataset " + l.Project + "." + l.Dataset }

// ID is the run id.
func (l Load) ID() string { return l.RunID }

// The clients of this process, one per project, endpoint and location,
// made by Begin and kept for the process's life: every bundle of a run
// shares one.
var clients = struct {
	sync.Mutex
	m map[string]*bq.Client
}{m: map[string]*bq.Client{}}

func (l Load) client(ctx context.Context) (*bq.Client, error) {
	clients.Lock()
	defer clients.Unlock()
	k := l.Project + "\x00" + l.Endpoint + "\x00" + l.Location
	if c, ok := clients.m[k]; ok {
		return c, nil
	}
	c, err := l.NewClient(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	clients.m[k] = c
	return c, nil
}

// Begin checks the load and connects to BigQuery.
func (l Load) Begin(ctx context.Context) error {
	if err := l.Check(); err != nil {
		return err
	}
	_, err := l.client(ctx)
	return err
}

// Open creates a staging table of stream, of the part's own: a bundle
// that fails and is retried leaves its tables out of the run, which
// publishes only the tables of the bundles that succeeded.
func (l Load) Open(ctx context.Context, stream string) (sinks.PartWriter, error) {
	schema, known := l.Schemas[stream]
	if !known {
		return nil, fmt.Errorf("bigquery: no schema for stream %s", stream)
	}
	fields, err := tabular.FromJSONSchema([]byte(schema))
	if err != nil {
		return nil, fmt.Errorf("bigquery: schema of %s: %w", stream, err)
	}
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	t, err := CreateStaging(ctx, c, l, stream, Schema(fields))
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(c, t, fields, l.writerOptions())
	if err != nil {
		return nil, err
	}
	return &partWriter{table: t.TableID, w: w}, nil
}

// partWriter loads the rows of one staging table.
type partWriter struct {
	table string
	w     *Writer
}

// Write buffers and loads rows. A record that does not fit its table is
// named by its field and value (the DoFn adds the stream and gid).
func (pw *partWriter) Write(ctx context.Context, rows [][]byte) (int, error) {
	n, err := pw.w.Write(ctx, rows)
	var re *RecordError
	if errors.As(err, &re) {
		return n, re.Err
	}
	return n, err
}

func (pw *partWriter) Warnings() []string {
	var out []string
	for _, w := range pw.w.Warnings() {
		out = append(out, w.String())
	}
	return out
}

func (pw *partWriter) Close(ctx context.Context) (string, int64, error) {
	if err := pw.w.Close(ctx); err != nil {
		return pw.table, 0, err
	}
	return pw.table, pw.w.Rows(), nil
}

// Discard drops the rows not loaded yet; the staging table is not
// published, and expires.
func (pw *partWriter) Discard() { pw.w.Discard() }

// Publish replaces each stream's table with its staging tables and
// records the run (see the function Publish).
func (l Load) Publish(ctx context.Context, parts []sinks.Part, reports []sinks.Report) error {
	c, err := l.client(ctx)
	if err != nil {
		return err
	}
	_, err = Publish(ctx, c, l, parts, reports)
	return err
}

// Abandon deletes the staging tables of the run. The run was published
// if RunsTable has its rows: Publish records the run after it replaced
// every table.
func (l Load) Abandon(ctx context.Context) (sinks.Abandoned, error) {
	left := fmt.Sprintf("the tables of %s.%s keep their previous rows, unless labeled %s=%s", l.Project, l.Dataset, LabelRun, l.RunID)
	c, err := l.client(ctx)
	if err != nil {
		return sinks.Abandoned{Left: left}, err
	}
	if run, err := ReadRun(ctx, c, l.Dataset, l.RunID); err == nil && len(run) > 0 {
		return sinks.Abandoned{Published: true, Left: fmt.Sprintf("run %s was published to %s.%s before the run failed", l.RunID, l.Project, l.Dataset)}, nil
	}
	var streams []string
	for s := range l.Schemas {
		streams = append(streams, s)
	}
	if err := dropStaging(ctx, l, c.Dataset(l.Dataset), streams); err != nil {
		return sinks.Abandoned{Left: left}, fmt.Errorf("bigquery: deleting the staging tables of run %s (they expire by themselves): %w", l.RunID, err)
	}
	return sinks.Abandoned{Left: left}, nil
}

// Summary reads the run back from RunsTable: a row per stream.
func (l Load) Summary(ctx context.Context) (sinks.Summary, error) {
	c, err := l.client(ctx)
	if err != nil {
		return sinks.Summary{}, err
	}
	run, err := ReadRun(ctx, c, l.Dataset, l.RunID)
	if err != nil {
		return sinks.Summary{}, err
	}
	if len(run) != len(l.Schemas) {
		return sinks.Summary{}, fmt.Errorf("%s.%s.%s has %d rows of run %s, want one per stream (%d)", l.Project, l.Dataset, RunsTable, len(run), l.RunID, len(l.Schemas))
	}
	s := sinks.Summary{RunID: l.RunID, Where: fmt.Sprintf("dataset %s.%s, run %s in %s", l.Project, l.Dataset, l.RunID, RunsTable),
		Incomplete: fmt.Sprintf("their tables are labeled %s=false; see %s", LabelComplete, RunsTable)}
	for _, r := range run {
		s.Streams = append(s.Streams, sinks.StreamSummary{Stream: r.Stream, Records: r.Records, Parts: 1, Complete: r.Complete,
			Problems: r.Problems, Warnings: r.Warnings, WarningCount: r.WarningCount})
	}
	return s, nil
}
