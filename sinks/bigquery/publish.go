package bigquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// MaxWarnings is the most warnings a row of RunsTable keeps of a
// stream; their count is kept whole.
const MaxWarnings = sinks.MaxWarnings

// The labels Publish gives each table.
const (
	// LabelComplete is "true" when the run read the whole stream, "false"
	// when it lost data (the table's description says what).
	LabelComplete = "asana_beam_complete"
	// LabelRun is the id of the run that wrote the table.
	LabelRun = "asana_beam_run"
)

// RunsTable is the table of the dataset where Publish records each run,
// last, a row per stream: the BigQuery sink's manifest. A run is finished
// when its rows are there.
const RunsTable = "asana_beam_runs"

// RunStream is the row of RunsTable of one stream of one run.
type RunStream struct {
	RunID      string            `json:"run_id"`
	Stream     string            `json:"stream"`
	Records    int64             `json:"records"`
	Complete   bool              `json:"complete"`
	Problems   []string          `json:"problems"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	Source     map[string]string `json:"source,omitempty"`
	// Warnings are the first MaxWarnings (in sorted order) of the values
	// that did not fit their columns, such as `record 123: field due_on:
	// "2024-13-45" is not a date (YYYY-MM-DD); written as null`, and
	// WarningCount how many there were.
	Warnings     []string `json:"warnings"`
	WarningCount int64    `json:"warning_count"`
}

// runsFields are the columns of RunsTable.
var runsFields = []tabular.Field{
	{Name: "run_id", Type: tabular.String, Description: "The run (asana-export prints it)."},
	{Name: "stream", Type: tabular.String, Description: "The stream, and its table."},
	{Name: "records", Type: tabular.Int64, Description: "The rows of the table after the run."},
	{Name: "complete", Type: tabular.Bool, Description: "False when the run lost data of the stream to errors that retries did not cure."},
	{Name: "problems", Type: tabular.String, Repeated: true, Nullable: true, Description: "What was skipped (parts the token may not read) or lost."},
	{Name: "started_at", Type: tabular.Timestamp, Description: "When the run started."},
	{Name: "finished_at", Type: tabular.Timestamp, Description: "When the run replaced the table."},
	{Name: "source", Type: tabular.JSON, Nullable: true, Description: "What was exported: the Asana address and user."},
	{Name: "warnings", Type: tabular.String, Repeated: true, Nullable: true,
		Description: "The first 100 values that did not fit their columns (a date like 2024-13-45, an integer beyond 64 bits, a wrong type), each naming the record's gid, the field and the value; they were written as NULL (an element of an array was left out)."},
	{Name: "warning_count", Type: tabular.Int64, Nullable: true, Description: "How many values did not fit their columns (see warnings)."},
}

// runsAdded are the columns of RunsTable that its first version lacked:
// recordRun adds them to a table that lacks them.
var runsAdded = []string{"warnings", "warning_count"}

// maxCopySources is the most staging tables Publish copies in one job,
// below BigQuery's limit of 1,200 source tables per copy job.
var maxCopySources = 1000 // a variable for tests

// maxTableDescription is the most characters BigQuery keeps in a table's
// description.
const maxTableDescription = 16384

// Publish replaces the table of each stream of l with the rows of its
// staging tables, then records the run in RunsTable and deletes the
// staging tables. A stream without staging tables gets an empty table.
//
// Each table is replaced atomically, the old rows by the new ones (see
// Replace), after every preparation: a failure before leaves every table
// as it was. Reports name what was skipped or lost: a stream with lost
// data is replaced all the same, but its table is labeled
// asana_beam_complete=false and its description says what was lost, as
// does its row of RunsTable. After the replacement, each table must hold
// as many rows as its staging tables: fewer (or more) is an error.
func Publish(ctx context.Context, c *bq.Client, l Load, parts []sinks.Part, reports []sinks.Report) ([]RunStream, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	ds := c.Dataset(l.Dataset)
	var streams []string
	schemas := map[string]bq.Schema{}
	for s, js := range l.Schemas {
		fields, err := tabular.FromJSONSchema([]byte(js))
		if err != nil {
			return nil, fmt.Errorf("bigquery: schema of %s: %w", s, err)
		}
		streams = append(streams, s)
		schemas[s] = Schema(fields)
	}
	sort.Strings(streams)
	sources := map[string][]*bq.Table{}
	rows := map[string]int64{}
	warnings := map[string][]string{}
	warningCount := map[string]int64{}
	for _, st := range parts {
		if _, ok := l.Schemas[st.Stream]; !ok {
			return nil, fmt.Errorf("bigquery: staging table %s is of stream %s, which this run does not export", st.Name, st.Stream)
		}
		if !strings.HasPrefix(st.Name, l.stagingPrefix(st.Stream)) {
			return nil, fmt.Errorf("bigquery: %s is not a staging table of stream %s in run %s", st.Name, st.Stream, l.RunID)
		}
		sources[st.Stream] = append(sources[st.Stream], ds.Table(st.Name))
		rows[st.Stream] += st.Rows
		warnings[st.Stream] = append(warnings[st.Stream], st.Warnings...)
		warningCount[st.Stream] += st.WarningCount
	}
	for s, ws := range warnings {
		sort.Strings(ws)
		warnings[s] = ws[:min(len(ws), MaxWarnings)]
	}
	problems, lost := sinks.Tally(reports)

	// Prepare every stream, so that the replacements follow each other.
	for _, s := range streams {
		src := sources[s]
		slices.SortFunc(src, func(a, b *bq.Table) int { return strings.Compare(a.TableID, b.TableID) })
		switch l.replace() {
		case ReplaceCopy:
			if len(src) == 0 {
				t, err := createStaging(ctx, l, ds, l.stagingPrefix(s)+"empty", schemas[s])
				if err != nil {
					return nil, err
				}
				src = []*bq.Table{t}
			}
			var err error
			if src, err = consolidate(ctx, l, ds, s, schemas[s], src); err != nil {
				return nil, err
			}
		case ReplaceDML:
			if err := prepareDML(ctx, ds.Table(s), schemas[s], tableMetadata(l, s, rows[s], problems[s], lost[s], warnings[s], warningCount[s])); err != nil {
				return nil, err
			}
			if err := runDML(ctx, c, ds.Table(s), dmlScript(ds.Table(s), schemas[s], src), true); err != nil {
				return nil, fmt.Errorf("bigquery: no table is replaced: %w", err)
			}
		}
		sources[s] = src
	}

	// Replace.
	finished := map[string]time.Time{}
	for _, s := range streams {
		var err error
		switch l.replace() {
		case ReplaceCopy:
			err = replaceByCopy(ctx, ds.Table(s), sources[s])
		case ReplaceDML:
			err = runDML(ctx, c, ds.Table(s), dmlScript(ds.Table(s), schemas[s], sources[s]), false)
		}
		if err != nil {
			return nil, fmt.Errorf("bigquery: replacing table %s (the tables before it in alphabetical order are replaced, the others are not): %w", s, err)
		}
		finished[s] = time.Now().UTC()
	}

	// Describe and check.
	var errs []error
	run := make([]RunStream, 0, len(streams))
	for _, s := range streams {
		md := tableMetadata(l, s, rows[s], problems[s], lost[s], warnings[s], warningCount[s])
		update := bq.TableMetadataToUpdate{Description: md.Description}
		for k, v := range md.Labels {
			update.SetLabel(k, v)
		}
		switch l.replace() {
		case ReplaceCopy:
			update.ExpirationTime = bq.NeverExpire // whatever a copy may take from the staging tables
		case ReplaceDML:
			update.Schema = schemas[s] // the descriptions of the columns
		}
		if _, err := ds.Table(s).Update(ctx, update, ""); err != nil {
			errs = append(errs, fmt.Errorf("bigquery: labeling table %s: %w", s, err))
		}
		n, err := countRows(ctx, c, ds.Table(s))
		if err != nil {
			errs = append(errs, err)
		} else if n != rows[s] {
			errs = append(errs, fmt.Errorf("bigquery: table %s holds %d rows after the run, want %d", s, n, rows[s]))
		}
		p := slices.Clone(problems[s])
		sort.Strings(p)
		run = append(run, RunStream{RunID: l.RunID, Stream: s, Records: rows[s], Complete: !lost[s], Problems: p,
			StartedAt: l.StartedAt.UTC(), FinishedAt: finished[s], Source: l.Source,
			Warnings: warnings[s], WarningCount: warningCount[s]})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bigquery: the tables are replaced, but: %w", errors.Join(errs...))
	}
	if err := recordRun(ctx, c, ds, run); err != nil {
		return nil, err
	}
	if err := dropStaging(ctx, l, ds, streams); err != nil {
		slog.Warn("bigquery: some staging tables are left; they expire by themselves", "run", l.RunID, "error", err)
	}
	return run, nil
}

// CreateStaging creates an empty staging table for rows of stream in the
// run of l, with the schema of Schema and an expiration.
func CreateStaging(ctx context.Context, c *bq.Client, l Load, stream string, schema bq.Schema) (*bq.Table, error) {
	return createStaging(ctx, l, c.Dataset(l.Dataset), l.newStagingName(stream), schema)
}

func createStaging(ctx context.Context, l Load, ds *bq.Dataset, name string, schema bq.Schema) (*bq.Table, error) {
	t := ds.Table(name)
	md := &bq.TableMetadata{
		Schema:         schema,
		ExpirationTime: time.Now().Add(l.stagingExpiration()),
		Description:    "asana-beam: rows of run " + l.RunID + ", not published yet; deleted when the run publishes, else when it expires.",
		Labels:         map[string]string{LabelRun: l.RunID},
	}
	if err := t.Create(ctx, md); err != nil {
		return nil, fmt.Errorf("bigquery: creating staging table %s: %w", tableName(t), err)
	}
	return t, nil
}

// consolidate copies the sources into fewer staging tables until one copy
// job can take them.
func consolidate(ctx context.Context, l Load, ds *bq.Dataset, stream string, schema bq.Schema, src []*bq.Table) ([]*bq.Table, error) {
	for round := 0; len(src) > maxCopySources; round++ {
		var merged []*bq.Table
		for i := 0; i < len(src); i += maxCopySources {
			part := src[i:min(i+maxCopySources, len(src))]
			t, err := createStaging(ctx, l, ds, fmt.Sprintf("%smerged%d_%d", l.stagingPrefix(stream), round, i/maxCopySources), schema)
			if err != nil {
				return nil, err
			}
			if err := copyTables(ctx, t, part); err != nil {
				return nil, fmt.Errorf("bigquery: merging staging tables of %s: %w", stream, err)
			}
			merged = append(merged, t)
		}
		src = merged
	}
	return src, nil
}

// replaceByCopy replaces dst by the sources in one copy job.
func replaceByCopy(ctx context.Context, dst *bq.Table, src []*bq.Table) error {
	return copyTables(ctx, dst, src)
}

// copyTables runs one copy job of src into dst (WRITE_TRUNCATE, creating
// dst when missing) and waits for it. BigQuery makes it atomic: dst has
// its old rows until the job succeeds, the new ones after.
func copyTables(ctx context.Context, dst *bq.Table, src []*bq.Table) error {
	cp := dst.CopierFrom(src...)
	cp.WriteDisposition = bq.WriteTruncate
	cp.CreateDisposition = bq.CreateIfNeeded
	job, err := cp.Run(ctx)
	if err != nil {
		return fmt.Errorf("starting the copy job into %s: %w", tableName(dst), err)
	}
	status, err := job.Wait(ctx)
	if err == nil {
		err = jobError(status)
	}
	if err != nil {
		return fmt.Errorf("copy job %s into %s: %w", job.ID(), tableName(dst), err)
	}
	return nil
}

// prepareDML makes sure that dst exists with the schema, for
// replaceByDML: a missing table is created (with its metadata, which the
// emulator keeps only from creation), and a table of other columns is
// dropped and created again, which is not atomic.
func prepareDML(ctx context.Context, dst *bq.Table, schema bq.Schema, md *bq.TableMetadata) error {
	old, err := dst.Metadata(ctx)
	switch {
	case isNotFound(err):
	case err != nil:
		return fmt.Errorf("bigquery: reading table %s: %w", tableName(dst), err)
	default:
		same, why := sameSchema(old.Schema, schema, "")
		if same {
			return nil
		}
		slog.Warn("bigquery: the columns of the table changed; dropping it to create it again (not atomic, as DML cannot change columns)", "table", tableName(dst), "change", why)
		if err := dst.Delete(ctx); err != nil {
			return fmt.Errorf("bigquery: dropping table %s to change its columns: %w", tableName(dst), err)
		}
	}
	md.Schema = schema
	if err := dst.Create(ctx, md); err != nil {
		return fmt.Errorf("bigquery: creating table %s: %w", tableName(dst), err)
	}
	return nil
}

// dmlScript is the query that replaces the rows of dst by those of the
// sources, all of the schema: one transaction of DML.
func dmlScript(dst *bq.Table, schema bq.Schema, src []*bq.Table) string {
	cols := make([]string, len(schema))
	for i, f := range schema {
		cols[i] = "`" + f.Name + "`"
	}
	list := strings.Join(cols, ", ")
	var b strings.Builder
	b.WriteString("BEGIN TRANSACTION;\nDELETE FROM `" + tableName(dst) + "` WHERE TRUE;\n")
	for _, t := range src {
		b.WriteString("INSERT INTO `" + tableName(dst) + "` (" + list + ") SELECT " + list + " FROM `" + tableName(t) + "`;\n")
	}
	b.WriteString("COMMIT TRANSACTION;\n")
	return b.String()
}

// runDML runs a script of dmlScript in one query job, or only checks it
// (dry).
//
// The emulator runs the script in one SQLite transaction, but commits what
// ran before a statement that fails (and ignores BEGIN and COMMIT
// TRANSACTION): a dry run, which it runs in full and rolls back, finds such
// failures (a staging table gone, a column that does not fit) before the
// script changes anything.
func runDML(ctx context.Context, c *bq.Client, dst *bq.Table, script string, dry bool) error {
	q := c.Query(script)
	q.DryRun = dry
	what := "query job"
	if dry {
		what = "dry run of the query"
	}
	job, err := q.Run(ctx)
	if err != nil {
		return fmt.Errorf("starting the %s that replaces the rows of %s: %w", what, tableName(dst), err)
	}
	status := job.LastStatus()
	if !dry {
		status, err = job.Wait(ctx)
	}
	if err == nil {
		err = jobError(status)
	}
	if err != nil {
		return fmt.Errorf("%s %s that replaces the rows of %s: %w", what, job.ID(), tableName(dst), err)
	}
	return nil
}

// tableMetadata is the description and labels of the table of a stream:
// what was lost or skipped, and how many values did not fit their columns
// (warnings, sorted, are the first of them).
func tableMetadata(l Load, stream string, rows int64, problems []string, lost bool, warnings []string, warningCount int64) *bq.TableMetadata {
	p := slices.Clone(problems)
	sort.Strings(p)
	var d strings.Builder
	fmt.Fprintf(&d, "Asana stream %s, exported by asana-beam, run %s: %d records", stream, l.RunID, rows)
	if lost {
		d.WriteString(". INCOMPLETE: the run lost data to errors that retries did not cure: ")
	} else if len(p) > 0 {
		d.WriteString(", complete; skipped parts the token may not read: ")
	} else {
		d.WriteString(", complete.")
	}
	d.WriteString(strings.Join(p, "; "))
	if warningCount > 0 && len(warnings) > 0 {
		if len(p) > 0 {
			d.WriteString(".")
		}
		what := "values did not fit their columns and were"
		if warningCount == 1 {
			what = "value did not fit its column and was"
		}
		fmt.Fprintf(&d, " %d %s written as NULL (see %s), the first: %s", warningCount, what, RunsTable, warnings[0])
	}
	return &bq.TableMetadata{
		Description: truncate(d.String(), maxTableDescription),
		Labels:      map[string]string{LabelComplete: fmt.Sprint(!lost), LabelRun: l.RunID},
	}
}

// recordRun appends the rows of the run to RunsTable, creating it when
// missing, and reads them back.
func recordRun(ctx context.Context, c *bq.Client, ds *bq.Dataset, run []RunStream) error {
	t := ds.Table(RunsTable)
	err := t.Create(ctx, &bq.TableMetadata{Schema: Schema(runsFields),
		Description: "asana-beam: a row per stream of each export run, written when the run has replaced the tables."})
	if isStatus(err, http.StatusConflict) {
		err = addRunsColumns(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("bigquery: creating table %s: %w", tableName(t), err)
	}
	enc := NewEncoder(runsFields)
	var rows []byte
	for _, r := range run {
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if rows, err = enc.AppendRow(rows, js); err != nil {
			return fmt.Errorf("bigquery: the row of %s in %s: %w", r.Stream, RunsTable, err)
		}
	}
	if _, err := loadRows(ctx, t, strings.NewReader(string(rows)), int64(len(run))); err != nil {
		return err
	}
	got, err := ReadRun(ctx, c, ds.DatasetID, run[0].RunID)
	if err != nil {
		return err
	}
	if len(got) != len(run) {
		return fmt.Errorf("bigquery: %s holds %d rows of run %s, want %d", tableName(t), len(got), run[0].RunID, len(run))
	}
	return nil
}

// addRunsColumns adds to an existing RunsTable the columns it lacks
// (runsAdded), which BigQuery allows for NULLABLE and REPEATED columns.
// (The emulator changes only the table's metadata, not its storage: it
// cannot load rows into a runs table of the first version.)
func addRunsColumns(ctx context.Context, t *bq.Table) error {
	md, err := t.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("reading its columns: %w", err)
	}
	schema := slices.Clone(md.Schema)
	want := Schema(runsFields)
	for _, name := range runsAdded {
		if slices.ContainsFunc(schema, func(f *bq.FieldSchema) bool { return f.Name == name }) {
			continue
		}
		i := slices.IndexFunc(want, func(f *bq.FieldSchema) bool { return f.Name == name })
		schema = append(schema, want[i])
	}
	if len(schema) == len(md.Schema) {
		return nil
	}
	if _, err := t.Update(ctx, bq.TableMetadataToUpdate{Schema: schema}, md.ETag); err != nil {
		return fmt.Errorf("adding the columns %s: %w", strings.Join(runsAdded, ", "), err)
	}
	return nil
}

// ReadRun returns the rows of RunsTable of a run, by stream.
func ReadRun(ctx context.Context, c *bq.Client, dataset, runID string) ([]RunStream, error) {
	t := c.Dataset(dataset).Table(RunsTable)
	q := c.Query("SELECT run_id, stream, records, complete, problems, started_at, finished_at, warnings, warning_count FROM `" + tableName(t) +
		"` WHERE run_id = @run_id ORDER BY stream")
	q.Parameters = []bq.QueryParameter{{Name: "run_id", Value: runID}}
	it, err := q.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("bigquery: reading run %s from %s: %w", runID, tableName(t), err)
	}
	var out []RunStream
	for {
		var row map[string]bq.Value
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bigquery: reading run %s from %s: %w", runID, tableName(t), err)
		}
		r := RunStream{}
		r.RunID, _ = row["run_id"].(string)
		r.Stream, _ = row["stream"].(string)
		r.Records, _ = row["records"].(int64)
		r.Complete, _ = row["complete"].(bool)
		r.StartedAt, _ = row["started_at"].(time.Time)
		r.FinishedAt, _ = row["finished_at"].(time.Time)
		ps, _ := row["problems"].([]bq.Value)
		for _, p := range ps {
			if s, ok := p.(string); ok {
				r.Problems = append(r.Problems, s)
			}
		}
		ws, _ := row["warnings"].([]bq.Value)
		for _, w := range ws {
			if s, ok := w.(string); ok {
				r.Warnings = append(r.Warnings, s)
			}
		}
		r.WarningCount, _ = row["warning_count"].(int64)
		out = append(out, r)
	}
	return out, nil
}

// dropStaging deletes the staging tables of the run: those Publish used,
// and those of bundles that failed and were retried.
func dropStaging(ctx context.Context, l Load, ds *bq.Dataset, streams []string) error {
	var errs []error
	it := ds.Tables(ctx)
	for {
		t, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return fmt.Errorf("listing the tables of %s: %w", ds.DatasetID, err)
		}
		for _, s := range streams {
			if strings.HasPrefix(t.TableID, l.stagingPrefix(s)) {
				if err := t.Delete(ctx); err != nil && !isNotFound(err) {
					errs = append(errs, fmt.Errorf("deleting %s: %w", tableName(t), err))
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool { return isStatus(err, http.StatusNotFound) }

func isStatus(err error, code int) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && e.Code == code
}
