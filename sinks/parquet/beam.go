package parquet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// outputs
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local outputs
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/tabular"
)

func init() {
	register.DoFn3x1[context.Context, sinks.Record, func(File), error](&WriteFn{})
	register.Emitter1[File]()
	register.DoFn2x0[File, func(string, File)](&keyFileFn{})
	register.Emitter2[string, File]()
	register.DoFn2x0[sinks.Report, func(string, sinks.Report)](&keyReportFn{})
	register.Emitter2[string, sinks.Report]()
	register.DoFn4x1[context.Context, string, func(*File) bool, func(*sinks.Report) bool, error](&FinalizeFn{})
	register.DoFn2x1[context.Context, []byte, error](&startFn{})
}

// Export describes one export run to a directory: local, or gs:// through
// Beam's filesystems.
type Export struct {
	// Dir is where the streams go: Dir/<stream>/part-<run>-NNNNN.parquet
	// and Dir/_manifest.json, which names the files of the export.
	Dir string `json:"dir"`
	// RunID names the run; its files are written under Dir/_tmp/RunID and
	// moved into place only when every one of them is complete (see
	// FinalizeFn).
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

// File is one Parquet file a bundle wrote under its temporary name.
type File struct {
	Stream string `json:"stream"`
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	// Warnings are the first MaxWarnings values written as null because
	// they did not fit their column (tabular.Warning.String), of
	// WarningCount.
	Warnings     []string `json:"warnings,omitempty"`
	WarningCount int64    `json:"warning_count,omitempty"`
}

// MaxWarnings is how many warnings a file, and a stream of the manifest,
// keeps; the counts go on.
const MaxWarnings = 100

// keepWarnings appends ws to kept, up to MaxWarnings in all.
func keepWarnings(kept []string, ws ...string) []string {
	return append(kept, ws[:min(len(ws), max(0, MaxWarnings-len(kept)))]...)
}

// Write writes each PCollection of sinks.Record to Parquet files and, when
// all are written, moves them into place and writes the manifest. Reports
// (skipped parts, lost data) go into the manifest; a stream with lost data
// is marked incomplete there.
func Write(s beam.Scope, e Export, records []beam.PCollection, reports beam.PCollection) {
	s = s.Scope("Parquet")
	beam.ParDo0(s, &startFn{Export: e}, beam.Impulse(s))
	var files []beam.PCollection
	for _, r := range records {
		files = append(files, beam.ParDo(s, &WriteFn{Export: e}, r))
	}
	keyed := beam.ParDo(s, &keyFileFn{}, beam.Flatten(s, files...))
	keyedReports := beam.ParDo(s, &keyReportFn{}, reports)
	beam.ParDo0(s, &FinalizeFn{Export: e}, beam.CoGroupByKey(s, keyed, keyedReports))
}

// WriteFn writes the records of a bundle, one temporary file per stream.
type WriteFn struct {
	Export Export `json:"export"`

	fields map[string][]tabular.Field
	open   map[string]*openFile
}

type openFile struct {
	file File
	wc   io.WriteCloser
	w    *Writer
}

// startFn begins the run as the pipeline starts (see begin): a symbolic
// link in the export directory stops it before anything is read.
type startFn struct {
	Export Export `json:"export"`
}

// ProcessElement begins the run.
func (fn *startFn) ProcessElement(ctx context.Context, _ []byte) error { return begin(ctx, fn.Export) }

// Setup begins the run in this process, if no other DoFn did, and parses
// the schemas once.
func (fn *WriteFn) Setup(ctx context.Context) error {
	if err := begin(ctx, fn.Export); err != nil {
		return err
	}
	fn.fields = map[string][]tabular.Field{}
	for stream, schema := range fn.Export.Schemas {
		f, err := tabular.FromJSONSchema([]byte(schema))
		if err != nil {
			return fmt.Errorf("schema of %s: %w", stream, err)
		}
		fn.fields[stream] = f
	}
	return nil
}

// StartBundle starts with no open file.
func (fn *WriteFn) StartBundle(_ context.Context, _ func(File)) { fn.open = map[string]*openFile{} }

// ProcessElement writes one record.
func (fn *WriteFn) ProcessElement(ctx context.Context, r sinks.Record, _ func(File)) error {
	of, ok := fn.open[r.Stream]
	if !ok {
		fields, known := fn.fields[r.Stream]
		if !known {
			return fmt.Errorf("parquet: no schema for stream %s", r.Stream)
		}
		p := tempPath(fn.Export, r.Stream, randomName())
		if !isRemote(p) {
			if err := noLink(filepath.Dir(p)); err != nil {
				return err
			}
		}
		fs, err := filesystem.New(ctx, p)
		if err != nil {
			return err
		}
		wc, err := fs.OpenWrite(ctx, p)
		fs.Close()
		if err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
		w, err := NewWriter(wc, fields, Options{})
		if err != nil {
			wc.Close()
			return err
		}
		of = &openFile{file: File{Stream: r.Stream, Path: p}, wc: wc, w: w}
		fn.open[r.Stream] = of
	}
	n, err := of.w.Write([][]byte{r.Data})
	if err != nil {
		return fmt.Errorf("writing %s record %s: %w", r.Stream, r.Key, err)
	}
	if n != 1 {
		return fmt.Errorf("writing %s record %s: %d rows written, want 1", r.Stream, r.Key, n)
	}
	of.file.Rows++
	for _, w := range of.w.Warnings() {
		of.file.Warnings = keepWarnings(of.file.Warnings, w.String())
		of.file.WarningCount++
	}
	return nil
}

// FinishBundle completes the bundle's files and hands them on.
func (fn *WriteFn) FinishBundle(ctx context.Context, emit func(File)) error {
	heartbeat(ctx, fn.Export)
	for _, of := range fn.open {
		if err := of.w.Close(); err != nil {
			return fmt.Errorf("finishing %s: %w", of.file.Path, err)
		}
		if err := of.wc.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", of.file.Path, err)
		}
		if of.w.Rows() != of.file.Rows {
			return fmt.Errorf("%s holds %d rows, want %d", of.file.Path, of.w.Rows(), of.file.Rows)
		}
		emit(of.file)
	}
	fn.open = nil
	return nil
}

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

type keyFileFn struct{}

func (*keyFileFn) ProcessElement(f File, emit func(string, File)) { emit("", f) }

type keyReportFn struct{}

func (*keyReportFn) ProcessElement(r sinks.Report, emit func(string, sinks.Report)) { emit("", r) }

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

// FinalizeFn runs once, after every file is written: it publishes the
// run (see publish.go): it moves the run's files into the stream folders
// under names of the run, with an empty file for a stream without
// records (so that readers see its columns), switches the manifest, then
// deletes the files the new manifest replaced and the run's temporary
// directory. A reader of the manifest sees the previous export or this
// one, whenever the process stops.
type FinalizeFn struct {
	Export Export `json:"export"`
}

// ProcessElement finalizes the run.
func (fn *FinalizeFn) ProcessElement(ctx context.Context, _ string, files func(*File) bool, reports func(*sinks.Report) bool) error {
	e := fn.Export
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
	byStream := map[string][]File{}
	var f File
	for files(&f) {
		byStream[f.Stream] = append(byStream[f.Stream], f)
	}
	m := &Manifest{Format: "asana-beam parquet export 1", RunID: e.RunID, StartedAt: e.StartedAt, Source: e.Source,
		Complete: true, Streams: map[string]ManifestStream{}}
	var r sinks.Report
	problems := map[string][]string{}
	lost := map[string]bool{}
	for reports(&r) {
		problems[r.Stream] = append(problems[r.Stream], r.Message)
		lost[r.Stream] = lost[r.Stream] || r.Lost
	}
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
