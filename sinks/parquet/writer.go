// Package parquet is the Parquet sink of asana-beam, in plain Go: a Writer
// turns the JSON records of one stream into one Parquet file, whose schema
// Schema derives from the stream's fields (package tabular).
//
// The files are made for analytics engines (DuckDB, Spark, Trino, BigQuery
// external tables and loads): nested records are groups (STRUCT), arrays
// the standard 3-level LIST, timestamps INT64 TIMESTAMP(MICROS, UTC), dates
// INT32 DATE, free-form values BYTE_ARRAY with the JSON logical type.
// Every column is zstd-compressed, with statistics and page indexes for
// pruning. The pages are version 1 and byte arrays PLAIN-encoded, the forms
// that every reader knows (parquet-go would otherwise write version 2 pages
// and DELTA_LENGTH_BYTE_ARRAY, which older readers such as Spark's
// vectorized reader before 3.3 reject); zstd makes up for the encoding.
//
// Records are converted by tabular.Decoder.DecodeLenient straight into the
// values of the columns, with their Dremel levels, and handed to parquet-go
// column by column: no map, no reflection, no allocation per record. A
// value that does not fit its column (a date like 2024-13-45, an integer
// beyond 64 bits, a value of the wrong JSON type) is written as null, and
// the Writer keeps a warning about it (Warnings); only a value that cannot
// be null (such as a gid) fails its record.
package parquet

import (
	"errors"
	"fmt"
	"io"

	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/parquet-go/parquet-go"
)

// Defaults of Options.
const (
	// DefaultRowGroupRows is 128 Ki rows: row groups are the unit of
	// parallelism and of pruning of the engines that read the files, and
	// they want them large (DuckDB writes 122,880 rows; Spark and Trino
	// target 128 MiB). A row count gives every file of a stream the same
	// shape whatever the size of its records.
	DefaultRowGroupRows = 128 * 1024

	// DefaultRowGroupBytes caps a row group at 128 MiB (as the writer
	// estimates it: compressed pages plus the values still buffered), the
	// row group size Spark and Trino target. The writer holds the current
	// row group in memory, so the cap also bounds its memory when records
	// are large (tasks with long notes).
	DefaultRowGroupBytes = 128 << 20

	// DefaultPageBufferSize is parquet-go's default: the in-memory page of
	// each column is written out (encoded and compressed) when it reaches
	// 256 KiB.
	DefaultPageBufferSize = 256 << 10
)

// Options tunes a Writer. The zero value is ready to use.
type Options struct {
	// RowGroupRows ends a row group after that many rows (default
	// DefaultRowGroupRows).
	RowGroupRows int
	// RowGroupBytes ends a row group once its estimated size reaches that
	// many bytes (default DefaultRowGroupBytes). It is checked every 64
	// rows.
	RowGroupBytes int64
	// PageBufferSize is the size of the in-memory page buffer of each
	// column (default DefaultPageBufferSize).
	PageBufferSize int
}

// RecordError is a record that Write could not write. Index is its
// position in the records given to that call of Write; GID is its
// top-level "gid" (tabular.GID), if it has one; Err is the
// *tabular.FieldError that names the field path and the value.
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
var ErrClosed = errors.New("parquet: the writer is closed")

// Writer writes the records of one table to a Parquet file. It is not safe
// for concurrent use.
type Writer struct {
	pw      *parquet.GenericWriter[any]
	dec     *tabular.Decoder
	shred   *shredder
	opts    Options
	batch   int   // rows in the shredder's batch, not yet handed to pw
	rows    int64 // rows handed to pw
	groupAt int64 // rows before the current row group
	sizeAt  int64 // pw.Size() when the current row group started
	err     error // sticky: the writer failed and cannot go on
	closed  bool

	warnings []tabular.Warning // since the last call of Warnings
}

// batchRows is how many rows the Writer hands to parquet-go at a time,
// whatever the number of records of each call of Write. Pages end between
// batches, so a batch is small next to a page.
const batchRows = 64

// NewWriter starts a Parquet file of the fields on w. Nothing is written to
// w until the first row group ends (or Close). The caller closes w after
// Close. The fields must not be modified while the Writer is in use.
func NewWriter(w io.Writer, fields []tabular.Field, opts Options) (*Writer, error) {
	if err := tabular.Validate(fields); err != nil {
		return nil, err
	}
	if opts.RowGroupRows < 0 || opts.RowGroupBytes < 0 || opts.PageBufferSize < 0 {
		return nil, errors.New("parquet: negative option")
	}
	if opts.RowGroupRows == 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.RowGroupBytes == 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	if opts.PageBufferSize == 0 {
		opts.PageBufferSize = DefaultPageBufferSize
	}
	config, err := parquet.NewWriterConfig(
		Schema(fields),
		parquet.Compression(codec),
		parquet.PageBufferSize(opts.PageBufferSize),
		parquet.DataPageVersion(1),
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
	)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	wr := &Writer{
		pw:    parquet.NewGenericWriter[any](w, config),
		dec:   tabular.NewDecoder(fields),
		shred: newShredder(fields),
		opts:  opts,
	}
	return wr, nil
}

// Write adds JSON records (objects of the stream, as Asana returned them)
// to the file and returns how many it added. It copies what it keeps: the
// caller may reuse the records' memory when Write returns. Rows reach the
// output as row groups end (Flush, Options, Close).
//
// A value that does not fit its column is written as null, with a warning
// that Warnings returns (see tabular.Decoder.DecodeLenient). A record that
// cannot be written that way (invalid JSON, a value that does not fit a
// column that cannot be null) adds nothing: Write stops there, having
// added the records before it, and returns a *RecordError that names the
// record's index and gid, the field path and the value. The Writer can go
// on after that error; after any other error (from the output), it cannot.
func (w *Writer) Write(records [][]byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	for i, rec := range records {
		w.shred.begin()
		var err error
		if w.warnings, err = w.dec.DecodeLenient(rec, w.shred, w.warnings); err != nil {
			w.shred.rollback()
			return i, &RecordError{Index: i, GID: tabular.GID(rec), Err: err}
		}
		w.batch++
		if w.batch == batchRows || w.Rows()-w.groupAt >= int64(w.opts.RowGroupRows) {
			if err := w.flushBatch(); err != nil {
				return i + 1, err
			}
		}
	}
	return len(records), nil
}

// flushBatch hands the batch to parquet-go, column by column, and ends the
// row group when it has reached its size.
func (w *Writer) flushBatch() error {
	if w.batch == 0 {
		return nil
	}
	for c, cw := range w.pw.ColumnWriters() {
		if _, err := cw.WriteRowValues(w.shred.columns[c]); err != nil {
			w.err = fmt.Errorf("parquet: writing rows: %w", err)
			return w.err
		}
	}
	w.shred.reset()
	w.rows += int64(w.batch)
	w.batch = 0
	if w.rows-w.groupAt >= int64(w.opts.RowGroupRows) || w.pw.Size()-w.sizeAt >= w.opts.RowGroupBytes {
		return w.endRowGroup()
	}
	return nil
}

// endRowGroup writes the row group (already handed to parquet-go) to the
// output.
func (w *Writer) endRowGroup() error {
	if w.rows == w.groupAt {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		w.err = fmt.Errorf("parquet: ending a row group: %w", err)
		return w.err
	}
	w.groupAt = w.rows
	w.sizeAt = w.pw.Size()
	return nil
}

// Flush ends the current row group, writing it to the output. It does
// nothing when the row group has no rows.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if err := w.flushBatch(); err != nil {
		return err
	}
	return w.endRowGroup()
}

// Close ends the last row group and writes the footer: the file is complete
// only after Close. It does not close the output. Calling it again does
// nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.flushBatch(); err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		w.err = fmt.Errorf("parquet: closing the file: %w", err)
		return w.err
	}
	return nil
}

// Rows returns how many rows the file has: the records that Write added.
func (w *Writer) Rows() int64 { return w.rows + int64(w.batch) }

// Warnings returns the warnings about the values that Write wrote as null
// since the last call, in the order of the records, and forgets them. The
// Writer keeps every warning until then: a caller that writes many records
// calls it often.
func (w *Writer) Warnings() []tabular.Warning {
	ws := w.warnings
	w.warnings = nil
	return ws
}
