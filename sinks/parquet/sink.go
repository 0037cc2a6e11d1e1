package parquet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// outputs
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local outputs
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// Export describes one export run to a directory: local, or gs:// through
// Beam's filesystems.
type Export struct {
	// Dir is where the streams go: Dir/<stream>/part-<run>-NNNNN.parquet
	// and Dir/_manifest.json, which names the files of the export.
	Dir string `json:"dir"`
	// RunID names the run; its files are written under Dir/_tmp/RunID and
	// moved into place only when every one of them is complete (see
	// Publish).
	RunID string `json:"run_id"`
	// Schemas maps each exported stream to its JSON Schema.
	Schemas map[string]string `json:"schemas"`
	// Source describes what was exported, for the manifest.
	Source map[string]string `json:"source"`
	// StartedAt is when the run began.
	StartedAt time.Time `json:"started_at"`
}

// NewRunID returns a fresh run id: the time and a random suffix.
func NewRunID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// ManifestName is the file written last: an export is finished when it
// exists and names the run's files. It alone says which files make the
// export: a stream folder may also hold, for a moment, the files of the
// export it replaced, or of a run that is being published or failed.
const ManifestName = "_manifest.json"

// ManifestPath is the manifest of the export in dir.
func ManifestPath(dir string) string { return join(dir, ManifestName) }

// Kind is the Parquet sink: asana-export's --sink parquet, with --output.
var Kind = sinks.Kind{
	Name: "parquet",
	Flags: func(fs *flag.FlagSet) func(context.Context, sinks.Run) (sinks.Sink, error) {
		output := fs.String("output", "asana-export", "--sink parquet: the export directory, a local path or gs://bucket/prefix")
		return func(_ context.Context, r sinks.Run) (sinks.Sink, error) {
			e := Export{Dir: *output, RunID: NewRunID(r.StartedAt), Schemas: r.Schemas, Source: r.Source, StartedAt: r.StartedAt}
			if r.Elsewhere && !isRemote(e.Dir) {
				return nil, fmt.Errorf("--output: workers on other machines write to Cloud Storage: give gs://bucket/prefix, not %q", e.Dir)
			}
			// Before anything is read: no symbolic link inside the directory.
			if err := e.Check(); err != nil {
				return nil, fmt.Errorf("--output: %w", err)
			}
			return e, nil
		}
	},
	Decode: sinks.DecodeJSON[Export],
}

func init() { sinks.Register(Kind) }

// Kind is "parquet".
func (Export) Kind() string { return Kind.Name }

// Target is the export directory.
func (e Export) Target() string { return e.Dir }

// ID is the run id.
func (e Export) ID() string { return e.RunID }

// Begin begins the run in this process (see runs.go): it refuses a
// symbolic link in the directory, deletes what stale runs left, and locks
// the run's temporary directory.
func (e Export) Begin(ctx context.Context) error { return begin(ctx, e) }

// Open starts a file of stream under the run's temporary directory.
func (e Export) Open(ctx context.Context, stream string) (sinks.PartWriter, error) {
	schema, known := e.Schemas[stream]
	if !known {
		return nil, fmt.Errorf("parquet: no schema for stream %s", stream)
	}
	fields, err := e.fields(stream, schema)
	if err != nil {
		return nil, err
	}
	p := tempPath(e, stream, randomName())
	if !isRemote(p) {
		if err := noLink(filepath.Dir(p)); err != nil {
			return nil, err
		}
	}
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	wc, err := fs.OpenWrite(ctx, p)
	fs.Close()
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", p, err)
	}
	w, err := NewWriter(wc, fields, Options{})
	if err != nil {
		wc.Close()
		return nil, err
	}
	return &partWriter{e: e, path: p, wc: wc, w: w}, nil
}

// fields parses the schema of stream once per process.
func (e Export) fields(stream, schema string) ([]tabular.Field, error) {
	st := stateOf(e)
	st.mu.Lock()
	defer st.mu.Unlock()
	if f, ok := st.fields[stream]; ok {
		return f, nil
	}
	f, err := tabular.FromJSONSchema([]byte(schema))
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", stream, err)
	}
	if st.fields == nil {
		st.fields = map[string][]tabular.Field{}
	}
	st.fields[stream] = f
	return f, nil
}

// partWriter writes one Parquet file of the run.
type partWriter struct {
	e    Export
	path string
	wc   io.WriteCloser
	w    *Writer
}

func (pw *partWriter) Write(_ context.Context, rows [][]byte) (int, error) { return pw.w.Write(rows) }

func (pw *partWriter) Warnings() []string {
	var out []string
	for _, w := range pw.w.Warnings() {
		out = append(out, w.String())
	}
	return out
}

func (pw *partWriter) Close(ctx context.Context) (string, int64, error) {
	heartbeat(ctx, pw.e)
	if err := pw.w.Close(); err != nil {
		pw.wc.Close()
		return pw.path, 0, fmt.Errorf("finishing %s: %w", pw.path, err)
	}
	if err := pw.wc.Close(); err != nil {
		return pw.path, 0, fmt.Errorf("closing %s: %w", pw.path, err)
	}
	return pw.path, pw.w.Rows(), nil
}

// Discard closes the file unfinished: the run does not name it, and
// deletes it with its temporary directory.
func (pw *partWriter) Discard() { pw.wc.Close() }

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func join(dir string, elem ...string) string {
	if strings.Contains(dir, "://") {
		return strings.TrimRight(dir, "/") + "/" + path.Join(elem...)
	}
	return filepath.Join(append([]string{dir}, elem...)...)
}

func tempPath(e Export, stream, name string) string {
	return join(e.Dir, "_tmp", e.RunID, stream, name+".parquet")
}

// Manifest describes a finished export.
type Manifest struct {
	Format     string            `json:"format"`
	RunID      string            `json:"run_id"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	Source     map[string]string `json:"source"`
	Complete   bool              `json:"complete"`
	// WarningCount is the number of values of all streams written as null
	// because they did not fit their column.
	WarningCount int64                     `json:"warning_count"`
	Streams      map[string]ManifestStream `json:"streams"`
}

// ManifestStream is one stream of a manifest.
type ManifestStream struct {
	Records  int64    `json:"records"`
	Files    []string `json:"files"`
	Complete bool     `json:"complete"`
	Problems []string `json:"problems,omitempty"`
	// Warnings are the first MaxWarnings values written as null because
	// they did not fit their column, such as `record 123: field due_on:
	// "2024-13-45" is not a date (YYYY-MM-DD); written as null`, of
	// WarningCount.
	Warnings     []string        `json:"warnings,omitempty"`
	WarningCount int64           `json:"warning_count"`
	Schema       json.RawMessage `json:"schema"`
}

// Publish publishes the run (see publish.go): it moves the run's files
// into the stream folders under names of the run, with an empty file for
// a stream without records (so that readers see its columns), switches
// the manifest, then deletes the files the new manifest replaced and the
// run's temporary directory. A reader of the manifest sees the previous
// export or this one, whenever the process stops. Published again (a
// retried bundle), it leaves the export as it is.
func (e Export) Publish(ctx context.Context, parts []sinks.Part, reports []sinks.Report) error {
	if err := begin(ctx, e); err != nil {
		return err
	}
	st := stateOf(e)
	st.publishing.Lock()
	defer st.publishing.Unlock()
	if st.abandoned {
		return fmt.Errorf("run %s was abandoned: not publishing it", e.RunID)
	}
	fs, err := filesystem.New(ctx, join(e.Dir, ManifestName))
	if err != nil {
		return err
	}
	defer fs.Close()
	byStream := map[string][]sinks.Part{}
	for _, f := range parts {
		byStream[f.Stream] = append(byStream[f.Stream], f)
	}
	m := &Manifest{Format: "asana-beam parquet export 1", RunID: e.RunID, StartedAt: e.StartedAt, Source: e.Source,
		Complete: true, Streams: map[string]ManifestStream{}}
	problems, lost := sinks.Tally(reports)
	for _, stream := range streamsOf(e) {
		ms := ManifestStream{Complete: !lost[stream], Problems: problems[stream], Schema: json.RawMessage(e.Schemas[stream])}
		sort.Strings(ms.Problems)
		m.Complete = m.Complete && ms.Complete
		m.Streams[stream] = ms
	}
	if cur, err := readManifest(ctx, fs, e.Dir); err == nil && cur.RunID == e.RunID {
		m = cur // a retry of this bundle, after the switch: published
	} else {
		p := &publisher{fs: fs, e: e}
		if err := p.publish(ctx, byStream, m); err != nil {
			if uerr := p.moveBack(ctx); uerr != nil {
				log.Warnf(ctx, "parquet: putting back the files of run %s: %v", e.RunID, uerr)
			}
			return fmt.Errorf("publishing run %s to %s: %w", e.RunID, e.Dir, err)
		}
	}
	if err := cleanUp(ctx, fs, e, m, failpoint); err != nil {
		log.Warnf(ctx, "parquet: run %s is published to %s, but deleting what it replaced failed (the next run deletes it): %v", e.RunID, e.Dir, err)
	}
	return failpoint(StepDone)
}

// Abandon cleans up after the run, once its pipeline has failed or was
// stopped (see abandon).
func (e Export) Abandon(ctx context.Context) (sinks.Abandoned, error) {
	published, err := abandon(ctx, e)
	if published {
		return sinks.Abandoned{Published: true, Left: fmt.Sprintf("run %s was published to %s before the run failed", e.RunID, e.Dir)}, err
	}
	return sinks.Abandoned{Left: fmt.Sprintf("nothing of this run was published (%s still holds the previous export, if any)", e.Dir)}, err
}

// Summary reads the run back from its manifest.
func (e Export) Summary(ctx context.Context) (sinks.Summary, error) {
	m, err := ReadManifest(ctx, e.Dir)
	if err != nil {
		return sinks.Summary{}, err
	}
	if m.RunID != e.RunID {
		return sinks.Summary{}, fmt.Errorf("the manifest in %s is of run %s, not this run %s", e.Dir, m.RunID, e.RunID)
	}
	s := sinks.Summary{RunID: m.RunID, Where: "the manifest " + ManifestPath(e.Dir), Incomplete: "marked incomplete in the manifest"}
	for _, name := range slices.Sorted(maps.Keys(m.Streams)) {
		ms := m.Streams[name]
		s.Streams = append(s.Streams, sinks.StreamSummary{Stream: name, Records: ms.Records, Parts: len(ms.Files), Complete: ms.Complete,
			Problems: ms.Problems, Warnings: ms.Warnings, WarningCount: ms.WarningCount})
	}
	return s, nil
}

func remove(ctx context.Context, fs filesystem.Interface, p string) error {
	r, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("the filesystem of %s cannot remove files", p)
	}
	if err := r.Remove(ctx, p); err != nil && !os.IsNotExist(err) && !strings.Contains(err.Error(), "not exist") && !strings.Contains(err.Error(), "doesn't exist") {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}

func rename(ctx context.Context, fs filesystem.Interface, from, to string) error {
	if !strings.Contains(to, "://") {
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
	}
	if r, ok := fs.(filesystem.Renamer); ok {
		if err := r.Rename(ctx, from, to); err != nil {
			return fmt.Errorf("moving %s to %s: %w", from, to, err)
		}
		return nil
	}
	if err := filesystem.Copy(ctx, fs, from, to); err != nil {
		return fmt.Errorf("copying %s to %s: %w", from, to, err)
	}
	return remove(ctx, fs, from)
}

// ReadManifest reads the manifest of the export in dir.
func ReadManifest(ctx context.Context, dir string) (*Manifest, error) {
	fs, err := filesystem.New(ctx, join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	return readManifest(ctx, fs, dir)
}

func readManifest(ctx context.Context, fs filesystem.Interface, dir string) (*Manifest, error) {
	p := join(dir, ManifestName)
	b, err := filesystem.Read(ctx, fs, p)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding the manifest %s: %w", p, err)
	}
	return &m, nil
}
