package bigquery

import (
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// Encoder converts the JSON records of a stream to rows of newline-delimited
// JSON for a table of Schema(fields), the format of BigQuery's JSON load
// jobs: one object a line, members in the fields' order, with
//
//	String     a JSON string
//	Int64      a JSON number
//	Double     a JSON number
//	Bool       true or false
//	Timestamp  "2006-01-02T15:04:05.000000Z", RFC 3339, UTC, microseconds
//	Date       "2006-01-02"
//	JSON       the value itself (an object, an array, a string...)
//	Record     an object of its fields
//	Repeated   an array
//
// Null and missing values are left out of the row (BigQuery loads them as
// NULL, and a missing REPEATED field as an empty array). It reads each
// record in one pass with tabular.Decoder, without building a tree. An
// Encoder is not safe for concurrent use.
//
// AppendRow refuses a record with a value that does not fit its column;
// AppendRowLenient writes such a value as NULL instead, with a warning,
// and leaves out of its array an element that is null (BigQuery arrays
// cannot hold NULL), with a warning too.
type Encoder struct {
	w rowWriter
}

// rowWriter is the tabular.Handler of an Encoder: it writes the row as the
// decoder reports the values.
type rowWriter struct {
	dec     *tabular.Decoder
	buf     []byte
	stack   []frame
	err     *tabular.FieldError
	lenient bool     // leave null elements out, rather than fail
	leftOut []string // the paths of the null elements left out
}

// frame is a record or a list being written.
type frame struct {
	at    tabular.PathElem // the field's name, or the record's index in its list (none for the row itself)
	list  bool
	count int // members or elements written so far
	seen  int // elements reported so far, written or left out (of a list)
}

// LeftOut is the Outcome of the warning about an element of an array that
// AppendRowLenient left out, being null or made null.
const LeftOut = "left out of its array (BigQuery arrays cannot hold NULL)"

// NewEncoder returns an Encoder for the fields, which must be valid
// (tabular.Validate) and not modified while it is in use.
func NewEncoder(fields []tabular.Field) *Encoder {
	return &Encoder{w: rowWriter{dec: tabular.NewDecoder(fields)}}
}

// AppendRow appends the row of one JSON record, and a newline, to dst. A
// record that does not fit the fields appends nothing and returns a
// *tabular.FieldError that names the field: the errors of
// tabular.Decoder.Decode, and a null element in an array, which BigQuery
// cannot hold.
func (enc *Encoder) AppendRow(dst, record []byte) ([]byte, error) {
	e := &enc.w
	start := len(dst)
	e.buf = append(dst, '{')
	e.stack = append(e.stack[:0], frame{})
	e.err = nil
	err := e.dec.Decode(record, e)
	if err == nil && e.err != nil {
		err = e.err
	}
	out := e.buf
	e.buf = nil
	if err != nil {
		return out[:start], err
	}
	return append(out, '}', '\n'), nil
}

// AppendRowLenient is AppendRow, except that a value that does not fit its
// column is written as NULL (see tabular.Decoder.DecodeLenient) and a null
// element of an array is left out, each with a warning appended to
// warnings. Its errors are those of DecodeLenient: a record that is not
// valid JSON, or a value that does not fit a REQUIRED column. A record
// that fails adds no warning.
func (enc *Encoder) AppendRowLenient(dst, record []byte, warnings []tabular.Warning) ([]byte, []tabular.Warning, error) {
	e := &enc.w
	start, n := len(dst), len(warnings)
	e.buf = append(dst, '{')
	e.stack = append(e.stack[:0], frame{})
	e.err, e.lenient, e.leftOut = nil, true, e.leftOut[:0]
	warnings, err := e.dec.DecodeLenient(record, e, warnings)
	e.lenient = false
	out := e.buf
	e.buf = nil
	if err != nil {
		return out[:start], warnings[:n], err
	}
	if len(e.leftOut) > 0 {
		warnings = leaveOut(warnings, n, e.leftOut, tabular.GID(record))
	}
	return append(out, '}', '\n'), warnings, nil
}

// leaveOut marks the warnings (from n on) about the elements left out,
// and adds one for each element that was null in the record.
func leaveOut(warnings []tabular.Warning, n int, paths []string, gid string) []tabular.Warning {
	for _, p := range paths {
		found := false
		for i := n; i < len(warnings); i++ {
			if warnings[i].Field == p {
				warnings[i].Outcome, found = LeftOut, true
				break
			}
		}
		if !found {
			warnings = append(warnings, tabular.Warning{GID: gid, Field: p, Value: "null", Reason: "in an array", Outcome: LeftOut})
		}
	}
	return warnings
}

// key starts the value of field f: its name within a record, a separator
// within a list.
func (e *rowWriter) key(f int) {
	top := &e.stack[len(e.stack)-1]
	if top.count > 0 {
		e.buf = append(e.buf, ',')
	}
	top.count++
	top.seen++
	if !top.list {
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, e.dec.Field(f).Name...) // names are checked by BigQuery: letters, digits, underscores
		e.buf = append(e.buf, '"', ':')
	}
}

// Null leaves the field out of the row.
func (e *rowWriter) Null(int) {}

// NullElement is an error, as BigQuery arrays cannot hold NULL; or, when
// lenient, an element left out.
func (e *rowWriter) NullElement(f int) {
	top := &e.stack[len(e.stack)-1]
	p := e.path(tabular.PathElem{Index: top.seen})
	if e.lenient {
		top.seen++
		e.leftOut = append(e.leftOut, p)
		return
	}
	if e.err == nil {
		e.err = &tabular.FieldError{Path: p, Message: "a null element, and BigQuery arrays cannot hold NULL", Value: "null"}
	}
	e.key(f) // keep the counts right; the row is discarded
	e.buf = append(e.buf, "null"...)
}

// path names the value last, within the list or record being written, as
// tabular.FieldError does.
func (e *rowWriter) path(last tabular.PathElem) string {
	p := make(tabular.Path, 0, len(e.stack))
	for _, fr := range e.stack[1:] {
		p = append(p, fr.at)
	}
	return append(p, last).String()
}

func (e *rowWriter) BeginList(f int) {
	e.key(f)
	e.buf = append(e.buf, '[')
	e.stack = append(e.stack, frame{at: tabular.PathElem{Name: e.dec.Field(f).Name}, list: true})
}

func (e *rowWriter) EndList(int) {
	e.stack = e.stack[:len(e.stack)-1]
	e.buf = append(e.buf, ']')
}

func (e *rowWriter) BeginRecord(f int) {
	parent := e.stack[len(e.stack)-1]
	e.key(f)
	e.buf = append(e.buf, '{')
	if parent.list {
		e.stack = append(e.stack, frame{at: tabular.PathElem{Index: parent.seen}})
	} else {
		e.stack = append(e.stack, frame{at: tabular.PathElem{Name: e.dec.Field(f).Name}})
	}
}

func (e *rowWriter) EndRecord(int) {
	e.stack = e.stack[:len(e.stack)-1]
	e.buf = append(e.buf, '}')
}

func (e *rowWriter) Bytes(f int, b []byte) {
	e.key(f)
	if e.dec.Field(f).Type == tabular.JSON {
		e.buf = append(e.buf, b...) // compact JSON text: the value itself
		return
	}
	e.buf, _ = jsontext.AppendQuote(e.buf, b) // b is valid UTF-8: no error
}

func (e *rowWriter) Int64(f int, v int64) {
	e.key(f)
	switch e.dec.Field(f).Type {
	case tabular.Timestamp:
		e.buf = append(e.buf, '"')
		e.buf = tabular.TimeOfMicros(v).AppendFormat(e.buf, "2006-01-02T15:04:05.000000Z")
		e.buf = append(e.buf, '"')
	case tabular.Date:
		e.buf = append(e.buf, '"')
		e.buf = tabular.TimeOfDays(v).AppendFormat(e.buf, time.DateOnly)
		e.buf = append(e.buf, '"')
	default:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	}
}

func (e *rowWriter) Double(f int, v float64) {
	e.key(f)
	e.buf = strconv.AppendFloat(e.buf, v, 'g', -1, 64) // finite: it came from JSON
}

func (e *rowWriter) Bool(f int, v bool) {
	e.key(f)
	e.buf = strconv.AppendBool(e.buf, v)
}
