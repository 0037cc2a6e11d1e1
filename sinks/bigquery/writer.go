package bigquery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// DefaultFlushBytes is when a Writer loads what it has buffered without
// waiting for Flush: 256 MiB of rows, so that a load job stays well within
// BigQuery's limits and a retried upload repeats little.
const DefaultFlushBytes = 256 << 20

// WriterOptions tunes a Writer. The zero value is ready to use.
type WriterOptions struct {
	// TempDir is where the rows wait for their load job (default
	// os.TempDir()).
	TempDir string
	// FlushBytes loads the buffered rows once they reach that many bytes
	// (default DefaultFlushBytes).
	FlushBytes int64
	// SingleRequest uploads the rows of a load job in one request, streamed
	// from the file, which is not retried if it fails. By default uploads
	// larger than a chunk (16 MiB) are resumable, in chunks retried one by
	// one; the emulator fails on them (v0.6.6 cannot read the job of a
	// resumable upload of this client), so it needs SingleRequest.
	SingleRequest bool
}

// RecordError is a record that Write could not write. Index is its
// position in the records given to that call of Write; GID is its
// top-level "gid" (tabular.GID), if it has one; Err is the
// *tabular.FieldError that names the field and the value.
type RecordError struct {
	Index int
	GID   string
	Err   error
}

// Error returns "record INDEX (gid GID): field PATH: MESSAGE", such as
// "record 0 (gid 12): field gid: 12 is a number, not a string".
func (e *RecordError) Error() string {
	if e.GID == "" {
		return fmt.Sprintf("record %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("record %d (gid %s): %v", e.Index, e.GID, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ErrClosed is returned by the methods of a Writer called after Close.
var ErrClosed = errors.New("bigquery: the writer is closed")

// Writer appends the records of one stream to an existing BigQuery table
// by load jobs: Write converts records to rows (Encoder) into a temporary
// file, so that memory stays bounded whatever their number; Flush sends the
// file to BigQuery in one load job (newline-delimited JSON, appending, no
// bad record allowed) and waits for it. BigQuery does not bill load jobs.
//
// Every load is checked: a job that fails returns its errors, and a job
// that writes fewer rows than were sent is an error. The check uses the
// job's statistics; a server that reports none (the BigQuery emulator)
// gets its table's rows counted before and after the load instead, which
// assumes that the Writer is the table's only writer, as it is of the
// staging tables of Write (the Beam transform): it must have been empty at
// NewWriter, and written by no one else.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	client                  *bq.Client
	table                   *bq.Table
	enc                     *Encoder
	opts                    WriterOptions
	file                    *os.File
	bw                      *bufio.Writer
	line                    []byte
	buffered, bufferedBytes int64 // rows and bytes in the file, not loaded yet
	rows                    int64 // rows loaded
	err                     error // sticky: the writer failed and cannot go on
	closed                  bool
	warnings                []tabular.Warning // since the last call of Warnings
}

// NewWriter returns a Writer of records of the fields to table (of the
// client c), whose schema must be Schema(fields). The fields must not be
// modified while the Writer is in use.
func NewWriter(c *bq.Client, table *bq.Table, fields []tabular.Field, opts WriterOptions) (*Writer, error) {
	if err := tabular.Validate(fields); err != nil {
		return nil, err
	}
	if opts.FlushBytes < 0 {
		return nil, errors.New("bigquery: negative FlushBytes")
	}
	if opts.FlushBytes == 0 {
		opts.FlushBytes = DefaultFlushBytes
	}
	return &Writer{client: c, table: table, enc: NewEncoder(fields), opts: opts}, nil
}

// Write adds JSON records (objects of the stream) to the rows to load and
// returns how many it added. It loads the rows when they reach
// WriterOptions.FlushBytes.
//
// A value that does not fit its column is written as NULL, and a null
// element of an array is left out, each with a warning that Warnings
// returns (see Encoder.AppendRowLenient). A record that cannot be written
// that way (invalid JSON, a value that does not fit a REQUIRED column)
// adds nothing: Write stops there, having added the records before it,
// and returns a *RecordError that names the record's index and gid, the
// field and the value. The Writer can go on after that error; after any
// other error (a file, a load job), it cannot.
func (w *Writer) Write(ctx context.Context, records [][]byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	for i, rec := range records {
		line, warnings, err := w.enc.AppendRowLenient(w.line[:0], rec, w.warnings)
		w.line, w.warnings = line, warnings
		if err != nil {
			return i, &RecordError{Index: i, GID: tabular.GID(rec), Err: err}
		}
		if w.file == nil {
			f, err := os.CreateTemp(w.opts.TempDir, "asana-beam-bigquery-*.ndjson")
			if err != nil {
				w.err = fmt.Errorf("bigquery: buffering rows: %w", err)
				return i, w.err
			}
			w.file, w.bw = f, bufio.NewWriterSize(f, 256<<10)
		}
		if _, err := w.bw.Write(line); err != nil {
			w.err = fmt.Errorf("bigquery: buffering rows in %s: %w", w.file.Name(), err)
			return i, w.err
		}
		w.buffered++
		w.bufferedBytes += int64(len(line))
		if w.bufferedBytes >= w.opts.FlushBytes {
			if err := w.flush(ctx); err != nil {
				return i + 1, err
			}
		}
	}
	return len(records), nil
}

// Flush loads the buffered rows into the table in one load job and waits
// for it. It does nothing when no row is buffered.
func (w *Writer) Flush(ctx context.Context) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	return w.flush(ctx)
}

func (w *Writer) flush(ctx context.Context) error {
	if w.buffered == 0 {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("bigquery: buffering rows in %s: %w", w.file.Name(), err)
		return w.err
	}
	if _, err := w.file.Seek(0, io.SeekStart); err != nil {
		w.err = fmt.Errorf("bigquery: reading %s: %w", w.file.Name(), err)
		return w.err
	}
	var media []googleapi.MediaOption
	if w.opts.SingleRequest {
		media = append(media, googleapi.ChunkSize(0))
	}
	wrote, err := loadRows(ctx, w.table, w.file, w.buffered, media...)
	if err == nil && wrote < 0 {
		// No statistics (the emulator): count the rows of the table, which
		// only this Writer has written.
		var n int64
		if n, err = countRows(ctx, w.client, w.table); err == nil {
			wrote = n - w.rows
		}
	}
	if err == nil && wrote != w.buffered {
		err = fmt.Errorf("bigquery: %d rows written into %s, want %d", wrote, tableName(w.table), w.buffered)
	}
	if err != nil {
		w.err = err
		return err
	}
	w.rows += w.buffered
	w.buffered, w.bufferedBytes = 0, 0
	if err := w.file.Truncate(0); err != nil {
		w.err = fmt.Errorf("bigquery: emptying %s: %w", w.file.Name(), err)
		return w.err
	}
	if _, err := w.file.Seek(0, io.SeekStart); err != nil {
		w.err = fmt.Errorf("bigquery: emptying %s: %w", w.file.Name(), err)
		return w.err
	}
	w.bw.Reset(w.file)
	return nil
}

// Close loads the rows still buffered and removes the temporary file. The
// rows are in the table only after Close (or Flush) returns nil. Calling
// it again does nothing.
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	err := w.err
	if err == nil {
		err = w.flush(ctx)
	}
	w.Discard()
	return err
}

// Discard closes the Writer without loading the rows still buffered, and
// removes its temporary file.
func (w *Writer) Discard() {
	w.closed = true
	if w.file != nil {
		w.file.Close()
		os.Remove(w.file.Name())
		w.file, w.bw = nil, nil
	}
}

// Rows returns how many rows the Writer has loaded into the table.
func (w *Writer) Rows() int64 { return w.rows }

// Warnings returns the warnings about the values that Write wrote as NULL
// or left out since the last call, in the order of the records, and
// forgets them. The Writer keeps every warning until then: a caller that
// writes many records calls it often.
func (w *Writer) Warnings() []tabular.Warning {
	ws := w.warnings
	w.warnings = nil
	return ws
}

// Buffered returns how many rows wait for the next load job.
func (w *Writer) Buffered() int64 { return w.buffered }

// loadRows runs one load job of the newline-delimited JSON rows of r into
// table (appending; the table must exist). It returns how many rows the job
// says it wrote, or -1 when the server does not say.
func loadRows(ctx context.Context, table *bq.Table, r io.Reader, rows int64, media ...googleapi.MediaOption) (int64, error) {
	src := bq.NewReaderSource(r)
	src.SourceFormat = bq.JSON
	src.MaxBadRecords = 0
	loader := table.LoaderFrom(src)
	loader.CreateDisposition = bq.CreateNever
	loader.WriteDisposition = bq.WriteAppend
	loader.MediaOptions = media
	job, err := loader.Run(ctx)
	if err != nil {
		return 0, fmt.Errorf("bigquery: starting the load job of %d rows into %s: %w", rows, tableName(table), err)
	}
	status, err := job.Wait(ctx)
	if err == nil {
		err = jobError(status)
	}
	if err != nil {
		return 0, fmt.Errorf("bigquery: load job %s of %d rows into %s: %w", job.ID(), rows, tableName(table), err)
	}
	if status.Statistics != nil {
		if ls, ok := status.Statistics.Details.(*bq.LoadStatistics); ok {
			return ls.OutputRows, nil
		}
	}
	return -1, nil
}

// jobError returns the error of a finished job, with every message
// BigQuery gave (a load job lists one per bad row, up to ten here), or nil.
func jobError(status *bq.JobStatus) error {
	if status == nil || status.Err() == nil {
		return nil
	}
	first := errorText(status.Err())
	msgs := []string{first}
	for _, e := range status.Errors {
		if m := errorText(e); m != first && len(msgs) < 10 {
			msgs = append(msgs, m)
		}
	}
	if n := len(status.Errors) - 9; n > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more errors", n))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// errorText is a job's error as "message (reason, at location)".
func errorText(err error) string {
	var e *bq.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := e.Message
	if e.Reason != "" || e.Location != "" {
		s += " (" + e.Reason
		if e.Location != "" {
			s += ", at " + e.Location
		}
		s += ")"
	}
	return s
}

// tableName is the table's full name in Standard SQL: project.dataset.table.
func tableName(t *bq.Table) string { return t.ProjectID + "." + t.DatasetID + "." + t.TableID }

// countRows counts the rows of a table with a query (BigQuery answers
// COUNT(*) of a whole table from its metadata, without billing bytes).
func countRows(ctx context.Context, c *bq.Client, t *bq.Table) (int64, error) {
	q := c.Query("SELECT COUNT(*) FROM `" + tableName(t) + "`")
	it, err := q.Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("bigquery: counting the rows of %s: %w", tableName(t), err)
	}
	var row []bq.Value
	if err := it.Next(&row); err != nil {
		return 0, fmt.Errorf("bigquery: counting the rows of %s: %w", tableName(t), err)
	}
	n, ok := row[0].(int64)
	if len(row) != 1 || !ok {
		return 0, fmt.Errorf("bigquery: counting the rows of %s: got %v", tableName(t), row)
	}
	return n, nil
}
