package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Handler receives the values of a record from Decoder.Decode, without
// allocation. Fields are identified by their number in the Decoder
// (Decoder.Field): the fields are numbered from 0 in depth-first order, a
// Record before its fields and its fields before its next sibling.
//
// For every record value (the record itself, a Record field's value, an
// element of a Repeated Record), each of its fields is reported exactly
// once: null (or missing) as Null, a Repeated field as BeginList, its
// elements, EndList; a Record as BeginRecord, its fields, EndRecord; other
// values by the method of their type. An element of a list is reported the
// same way as a value, or as NullElement. Fields are reported in the order
// of the record's members, the missing ones last.
//
// When Decode returns an error, the handler has received part of the
// record: the caller discards what it made of it.
type Handler interface {
	// Null reports that field f is null or missing; for a Repeated field,
	// the list itself.
	Null(f int)
	// BeginList and EndList enclose the elements of Repeated field f.
	BeginList(f int)
	EndList(f int)
	// NullElement is a null element of the list of field f.
	NullElement(f int)
	// BeginRecord and EndRecord enclose the fields of a value of Record
	// field f.
	BeginRecord(f int)
	EndRecord(f int)
	// Bytes is a value of a String field (UTF-8 text) or of a JSON field
	// (compact JSON text, valid UTF-8). b is valid only during the call.
	Bytes(f int, b []byte)
	// Int64 is a value of an Int64 field, of a Timestamp field as
	// microseconds since the Unix epoch (UTC), or of a Date field as days
	// since 1970-01-01.
	Int64(f int, v int64)
	Double(f int, v float64)
	Bool(f int, v bool)
}

// Decoder converts JSON records for one list of fields. It is safe for
// concurrent use. The fields must not be modified while it is in use.
type Decoder struct {
	root     *plan
	numbered []*Field
}

// plan is a list of fields compiled for decoding.
type plan struct {
	fields []Field
	index  map[string]int
	ids    []int   // numbers of the fields
	sub    []*plan // of the Record fields

	// Records list their members in a steady order: the fields' own, or
	// the order of their names (encoding/json's, of a map). The field
	// first in name order, and after each field the next one in it, are
	// tried before the index.
	firstByName int
	nextByName  []int
}

// NewDecoder returns a Decoder for the fields.
func NewDecoder(fields []Field) *Decoder {
	d := &Decoder{}
	d.root = d.compile(fields)
	return d
}

func (d *Decoder) compile(fields []Field) *plan {
	p := &plan{
		fields: fields,
		index:  make(map[string]int, len(fields)),
		ids:    make([]int, len(fields)),
		sub:    make([]*plan, len(fields)),
	}
	for i := range fields {
		if _, dup := p.index[fields[i].Name]; !dup {
			p.index[fields[i].Name] = i
		}
		p.ids[i] = len(d.numbered)
		d.numbered = append(d.numbered, &fields[i])
		if fields[i].Type == Record {
			p.sub[i] = d.compile(fields[i].Fields)
		}
	}
	byName := make([]int, len(fields))
	for i := range byName {
		byName[i] = i
	}
	slices.SortStableFunc(byName, func(a, b int) int { return strings.Compare(fields[a].Name, fields[b].Name) })
	p.nextByName = make([]int, len(fields))
	p.firstByName = len(fields)
	for k, i := range byName {
		if k == 0 {
			p.firstByName = i
		}
		p.nextByName[i] = len(fields)
		if k+1 < len(byName) {
			p.nextByName[i] = byName[k+1]
		}
	}
	return p
}

// Fields returns the (top-level) fields of the decoder.
func (d *Decoder) Fields() []Field { return d.root.fields }

// NumFields returns how many fields the decoder has, counting the fields of
// Records.
func (d *Decoder) NumFields() int { return len(d.numbered) }

// Field returns field number f (see Handler).
func (d *Decoder) Field(f int) *Field { return d.numbered[f] }

// Decode reads one JSON record (an object) and reports its values to h.
//
// The JSON text is read by the tokenizer of package jsontext (the
// encoding/json/jsontext of Go 1.27), which checks its syntax. Members of
// the record that are not fields are ignored (but must be valid JSON).
// Every error is a *FieldError: invalid JSON, a value that does not
// fit its field (a value of the wrong JSON type, an Int64 given a fraction
// or a number beyond 64 bits, a Timestamp that is not RFC 3339 (with or
// without a fraction of seconds, with Z or an offset), a Date that is not
// YYYY-MM-DD, a Double beyond 64 bits), a member given twice, and null
// for, or a missing value of, a field that is not Nullable (the elements
// of a list may always be null). Strings are decoded like encoding/json
// does: invalid UTF-8 becomes U+FFFD. Timestamps are truncated to the
// microsecond.
func (d *Decoder) Decode(record []byte, h Handler) error {
	s := newScanner(record, h)
	err := s.record(d.root)
	s.release()
	return err
}

// DecodeLenient is Decode, except that a value that does not fit its
// field is reported to h as null when null may stand in its place: the
// field is Nullable, or the value is an element of a list (h receives
// Null, or NullElement). Each such value adds a Warning to warnings, which
// DecodeLenient returns, naming the record's gid (GID), the value's path
// and the value. A value that does not fit a field that is not Nullable is
// still an error, as is invalid JSON, a member given twice, and a missing
// or null value of a field that is not Nullable; the warnings of a record
// that fails are not added.
//
// A record whose values all fit costs what Decode costs: only the values
// that do not fit take a slower path.
func (d *Decoder) DecodeLenient(record []byte, h Handler, warnings []Warning) ([]Warning, error) {
	s := newScanner(record, h)
	n := len(warnings)
	s.lenient, s.warnings = true, warnings
	err := s.record(d.root)
	warnings = s.warnings
	s.release()
	if err != nil {
		return warnings[:n], err
	}
	if len(warnings) > n {
		gid := GID(record)
		for i := n; i < len(warnings); i++ {
			warnings[i].GID = gid
		}
	}
	return warnings, nil
}

// Lenient returns the record with every value that DecodeLenient would
// report as null replaced by null, and the warnings about them. A record
// whose values all fit is returned as it is (fixed is record), with no
// warning. The fixed record fits the fields: Decode takes it without
// error. The errors are those of DecodeLenient.
func (d *Decoder) Lenient(record []byte) (fixed []byte, warnings []Warning, err error) {
	s := newScanner(record, discard{})
	s.lenient = true
	err = s.record(d.root)
	warnings = s.warnings
	if err == nil && len(s.spans) > 0 {
		fixed = make([]byte, 0, len(record))
		at := 0
		for _, sp := range s.spans {
			fixed = append(fixed, record[at:sp.start]...)
			fixed = append(fixed, "null"...)
			at = sp.end
		}
		fixed = append(fixed, record[at:]...)
	}
	s.release()
	if err != nil {
		return nil, nil, err
	}
	if fixed == nil {
		return record, nil, nil
	}
	gid := GID(record)
	for i := range warnings {
		warnings[i].GID = gid
	}
	return fixed, warnings, nil
}

// scanners is a pool of *scanner, to reuse their tokenizers and buffers.
var scanners sync.Pool

// readOptions are those of the tokenizer. A member given twice is an
// error of the fields only (the decoder tells it, naming the field);
// invalid UTF-8 in strings is taken, and becomes U+FFFD, as encoding/json
// does.
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// newScanner returns a scanner of the pool, ready to read record.
func newScanner(record []byte, h Handler) *scanner {
	s, _ := scanners.Get().(*scanner)
	if s == nil {
		s = new(scanner)
	}
	s.data, s.h, s.path = record, h, s.path[:0]
	s.in = *bytes.NewBuffer(record) // the tokenizer reads a bytes.Buffer in place, without copying
	s.dec.Reset(&s.in, readOptions...)
	return s
}

// release puts s back in the pool, keeping nothing of the record.
func (s *scanner) release() {
	s.data, s.h = nil, nil
	s.in = bytes.Buffer{}
	s.dec.Reset(&s.in)
	s.lenient, s.warnings, s.spans = false, nil, s.spans[:0]
	scanners.Put(s)
}

// discard is a Handler that keeps nothing.
type discard struct{}

func (discard) Null(int)            {}
func (discard) BeginList(int)       {}
func (discard) EndList(int)         {}
func (discard) NullElement(int)     {}
func (discard) BeginRecord(int)     {}
func (discard) EndRecord(int)       {}
func (discard) Bytes(int, []byte)   {}
func (discard) Int64(int, int64)    {}
func (discard) Double(int, float64) {}
func (discard) Bool(int, bool)      {}

// scanner reads one record with a jsontext.Decoder, guided by the fields.
type scanner struct {
	dec  jsontext.Decoder
	in   bytes.Buffer // the record, read by dec
	data []byte       // the record
	h    Handler
	path Path   // of the value being read
	buf  []byte // scratch for unquoted strings
	jbuf []byte // scratch for compacted JSON

	// lenient reports values that do not fit as null (DecodeLenient),
	// adding to warnings, and the place of each value to spans.
	lenient  bool
	warnings []Warning
	spans    []span
}

// span is the place of a value in the record: data[start:end].
type span struct{ start, end int }

// Path is where a value is in a record, as FieldError and Warning name
// it: the names of the members and the indexes of the list elements on
// the way, such as memberships[2].project.gid. Its String is the one
// spelling of a path of the table sinks.
type Path []PathElem

// PathElem is a step of a Path: a member Name, or, when Name is "", the
// Index of an element of a list.
type PathElem struct {
	Name  string
	Index int
}

// String returns the path as text, such as "memberships[2].project.gid";
// "" for the record itself.
func (p Path) String() string {
	var b []byte
	for _, e := range p {
		if e.Name == "" {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(e.Index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, e.Name...)
	}
	return string(b)
}

// jsonSpace is the white space of JSON.
const jsonSpace = " \t\r\n"

func (s *scanner) record(p *plan) error {
	if len(bytes.TrimLeft(s.data, jsonSpace)) == 0 {
		return s.errorf("invalid JSON: the record is empty")
	}
	switch k := s.dec.PeekKind(); k {
	case '{':
	case 0:
		return s.syntax(s.dec.ReadToken())
	default:
		return s.errorf("the record is %s, not a JSON object", kindName(k))
	}
	if err := s.object(p); err != nil {
		return err
	}
	if rest := bytes.TrimLeft(s.data[s.dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return s.errorf("invalid JSON at offset %d: data after the record", len(s.data)-len(rest))
	}
	return nil
}

func (s *scanner) errorf(format string, args ...any) *FieldError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &FieldError{Path: s.path.String(), Message: msg}
}

// syntax is the error of invalid JSON that the tokenizer returned with
// the token (or value) t, at the current path: "invalid JSON at offset
// N: " and what is wrong there: "unexpected character '}'", "control
// character in a string", "unexpected end of the record" (without the
// offset), or the tokenizer's own message ("invalid escape sequence `\q`
// in string", "exceeded max depth").
func (s *scanner) syntax(t any, err error) *FieldError {
	if err == nil {
		err = fmt.Errorf("unexpected %v", t) // cannot happen: the kinds were peeked
	}
	msg, offset := err.Error(), int64(len(s.data))
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		offset = se.ByteOffset
		if se.Err != nil {
			msg = se.Err.Error()
		}
		// "invalid character 'x' after array element (expecting ',' or
		// ']')" is said as the table sinks have always said it, naming
		// the character at the offset.
		if strings.HasPrefix(msg, "invalid character ") && offset >= 0 && offset < int64(len(s.data)) {
			msg = unexpected(s.data[offset], strings.Contains(msg, " in string"))
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg, offset = "unexpected end of the record", int64(len(s.data))
	}
	if offset < int64(len(s.data)) {
		return s.errorf("invalid JSON at offset %d: %s", offset, msg)
	}
	return s.errorf("invalid JSON: %s", msg)
}

// unexpected says what an unexpected byte c of the record is: a control
// character in a string, or a character (a byte) where it cannot be.
func unexpected(c byte, inString bool) string {
	switch {
	case inString && c < 0x20:
		return "control character in a string"
	case c >= 0x20 && c < 0x7f:
		return "unexpected character " + strconv.QuoteRune(rune(c))
	}
	return "unexpected byte " + strconv.Quote(string(c))
}

// kindName names a kind of JSON value, for messages.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '0':
		return "a number"
	}
	return "not JSON"
}

// wrongType reads the next value, of kind k, which is not of the type
// want of its field, and returns the error: a misfit when the value is
// valid JSON, else the error of its syntax.
func (s *scanner) wrongType(k jsontext.Kind, want string) *FieldError {
	v, err := s.dec.ReadValue()
	if err != nil {
		return s.syntax(v, err)
	}
	return s.misfit(v, "is "+kindName(k)+", not "+want)
}

// misfit is the error of a value v, valid JSON, that does not fit its
// field, read last; reason follows it in the message, such as "is not a
// date (YYYY-MM-DD)".
func (s *scanner) misfit(v jsontext.Value, reason string) *FieldError {
	end := int(s.dec.InputOffset())
	text := valueText(v)
	return &FieldError{Path: s.path.String(), Message: text + " " + reason, Value: text,
		misfit: true, reason: reason, depth: len(s.path), start: end - len(v), end: end}
}

// fixable reports whether err is of a value that null may replace (when
// the field allows it): in lenient mode, a misfit of the value at the
// current path, not of a value within it. It then keeps a warning and the
// place of the value.
func (s *scanner) fixable(err error) bool {
	fe, ok := err.(*FieldError)
	if !s.lenient || !ok || !fe.misfit || fe.depth != len(s.path) {
		return false
	}
	s.warnings = append(s.warnings, Warning{Field: fe.Path, Value: fe.Value, Reason: fe.reason})
	s.spans = append(s.spans, span{fe.start, fe.end})
	return true
}

// object reads an object, whose '{' is next, and reports every field of p.
func (s *scanner) object(p *plan) error {
	if t, err := s.dec.ReadToken(); err != nil {
		return s.syntax(t, err)
	}
	var seen bitset
	seen.init(len(p.fields))
	next, nextByName := 0, p.firstByName // the fields expected next (see plan)
	for {
		name, err := s.dec.ReadToken()
		if err != nil {
			return s.syntax(name, err)
		}
		if name.Kind() == '}' {
			break
		}
		key := name.String() // does not allocate: key does not escape
		i, known := next, next < len(p.fields) && p.fields[next].Name == key
		if !known {
			i, known = nextByName, nextByName < len(p.fields) && p.fields[nextByName].Name == key
		}
		if !known {
			i, known = p.index[key]
		}
		if !known {
			if v, err := s.dec.ReadValue(); err != nil {
				return s.syntax(v, err)
			}
			continue
		}
		k := s.dec.PeekKind()
		if k == 0 && s.nextByte() != ':' { // an error of the object, not of the value
			return s.syntax(s.dec.ReadValue())
		}
		s.path = append(s.path, PathElem{Name: p.fields[i].Name})
		if seen.has(i) {
			return s.errorf("the member is given twice")
		}
		seen.set(i)
		next, nextByName = i+1, p.nextByName[i]
		if err := s.value(p, i, k); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
	}
	for i := range p.fields {
		if seen.has(i) {
			continue
		}
		if !p.fields[i].Nullable {
			s.path = append(s.path, PathElem{Name: p.fields[i].Name})
			return s.errorf("missing, and the field is not nullable")
		}
		s.h.Null(p.ids[i])
	}
	return nil
}

// nextByte returns the byte of the record that comes next after white
// space, 0 at the end; for errors, to tell where they are.
func (s *scanner) nextByte() byte {
	rest := bytes.TrimLeft(s.data[s.dec.InputOffset():], jsonSpace)
	if len(rest) == 0 {
		return 0
	}
	return rest[0]
}

// value reads the value of field i of p, of kind k, which is next.
func (s *scanner) value(p *plan, i int, k jsontext.Kind) error {
	f, id := &p.fields[i], p.ids[i]
	if k == 'n' {
		if v, err := s.dec.ReadValue(); err != nil {
			return s.syntax(v, err)
		}
		if !f.Nullable {
			err := s.errorf("null, and the field is not nullable")
			err.Value = "null"
			return err
		}
		s.h.Null(id)
		return nil
	}
	if !f.Repeated {
		err := s.single(f, id, p.sub[i], k)
		if err != nil && f.Nullable && s.fixable(err) {
			s.h.Null(id)
			return nil
		}
		return err
	}
	if k != '[' {
		err := s.wrongType(k, "an array")
		if f.Nullable && s.fixable(err) {
			s.h.Null(id)
			return nil
		}
		return err
	}
	if t, err := s.dec.ReadToken(); err != nil {
		return s.syntax(t, err)
	}
	s.h.BeginList(id)
	s.path = append(s.path, PathElem{})
	for n := 0; ; n++ {
		k := s.dec.PeekKind()
		if k == ']' {
			break
		}
		if k == 0 || k == '}' {
			// An error after an element (not after its comma) is of
			// that element.
			if n > 0 && s.nextByte() != ',' {
				n--
			}
			s.path[len(s.path)-1].Index = n
			return s.syntax(s.dec.ReadValue())
		}
		s.path[len(s.path)-1].Index = n
		if k == 'n' {
			if v, err := s.dec.ReadValue(); err != nil {
				return s.syntax(v, err)
			}
			s.h.NullElement(id)
			continue
		}
		if err := s.single(f, id, p.sub[i], k); err != nil {
			if !s.fixable(err) {
				return err
			}
			s.h.NullElement(id)
		}
	}
	if t, err := s.dec.ReadToken(); err != nil { // ']'
		return s.syntax(t, err)
	}
	s.path = s.path[:len(s.path)-1]
	s.h.EndList(id)
	return nil
}

// single reads a value of field f (number id) that is not null, of kind
// k: the value, or an element when f is Repeated.
func (s *scanner) single(f *Field, id int, sub *plan, k jsontext.Kind) error {
	switch f.Type {
	case String:
		if k != '"' {
			return s.wrongType(k, "a string")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		s.h.Bytes(id, s.unquote(v))
	case Int64:
		if k != '0' {
			return s.wrongType(k, "an integer")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		n, reason := parseInt64(v)
		if reason != "" {
			return s.misfit(v, reason)
		}
		s.h.Int64(id, n)
	case Double:
		if k != '0' {
			return s.wrongType(k, "a number")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		x, ok := parseDouble(v)
		if !ok {
			return s.misfit(v, "is out of range for a 64-bit floating point number")
		}
		s.h.Double(id, x)
	case Bool:
		if k != 't' && k != 'f' {
			return s.wrongType(k, "a boolean")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		s.h.Bool(id, k == 't')
	case Timestamp:
		if k != '"' {
			return s.wrongType(k, "an RFC 3339 timestamp")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		us, ok := parseTimestamp(s.unquote(v))
		if !ok {
			return s.misfit(v, "is not an RFC 3339 timestamp")
		}
		s.h.Int64(id, us)
	case Date:
		if k != '"' {
			return s.wrongType(k, "a date (YYYY-MM-DD)")
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		days, ok := parseDate(s.unquote(v))
		if !ok {
			return s.misfit(v, "is not a date (YYYY-MM-DD)")
		}
		s.h.Int64(id, days)
	case JSON:
		v, err := s.dec.ReadValue()
		if err != nil {
			return s.syntax(v, err)
		}
		s.h.Bytes(id, s.compact(v))
	case Record:
		if k != '{' {
			return s.wrongType(k, "an object")
		}
		s.h.BeginRecord(id)
		if err := s.object(sub); err != nil {
			return err
		}
		s.h.EndRecord(id)
	default:
		return s.errorf("the field has an unknown type %v", f.Type)
	}
	return nil
}

// unquote returns the text of a JSON string v that the tokenizer read, as
// valid UTF-8: invalid bytes and lone surrogates become U+FFFD, as
// encoding/json does. The result may alias v or the scanner's scratch
// buffer: use it before the next call.
func (s *scanner) unquote(v jsontext.Value) []byte {
	text := v[1 : len(v)-1]
	if plainString(text) {
		return text
	}
	// The tokenizer checked the string: AppendUnquote's only complaints
	// left are the invalid UTF-8 and the lone surrogates it replaced.
	s.buf, _ = jsontext.AppendUnquote(s.buf[:0], v)
	return s.buf
}

// plainString reports whether the text of a JSON string is its value: no
// escape, valid UTF-8.
func plainString(text []byte) bool {
	for i, c := range text {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			return bytes.IndexByte(text[i:], '\\') < 0 && utf8.Valid(text[i:])
		}
	}
	return true
}

// compact returns a JSON value v that the tokenizer read as compact JSON
// text, valid UTF-8 (each invalid byte, in a string, becomes U+FFFD, as
// in strings). The result may alias v or the scanner's scratch buffer.
func (s *scanner) compact(v jsontext.Value) []byte {
	out := []byte(v)
	if bytes.ContainsAny(v, jsonSpace) {
		c := jsontext.Value(append(s.jbuf[:0], v...))
		if err := c.Compact(); err == nil { // checked already: cannot fail
			out = c
		}
		s.jbuf = c
	}
	if utf8.Valid(out) {
		return out
	}
	fixed := make([]byte, 0, len(out)+16)
	for len(out) > 0 {
		r, size := utf8.DecodeRune(out)
		fixed = utf8.AppendRune(fixed, r)
		out = out[size:]
	}
	return fixed
}

const outOfInt64 = "is out of range for a 64-bit integer"

// parseInt64 parses a JSON number (checked by the tokenizer) as an
// integer; reason says why it is not one (out of range, a fraction).
func parseInt64(num []byte) (v int64, reason string) {
	i := bytes.IndexAny(num, ".eE")
	if i < 0 {
		if v, ok := parseInt(num); ok {
			return v, ""
		}
		return 0, outOfInt64
	}
	// A fraction of zeros (2.0) or an exponent (2e3) may still be integral.
	if num[i] == '.' && !bytes.ContainsAny(num, "eE") && len(bytes.Trim(num[i+1:], "0")) == 0 {
		if v, ok := parseInt(num[:i]); ok {
			return v, ""
		}
		return 0, outOfInt64
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil && math.IsInf(f, 0) {
		return 0, outOfInt64
	}
	if err != nil || math.Trunc(f) != f {
		return 0, "is not an integer"
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, outOfInt64
	}
	return int64(f), ""
}

// parseInt parses a JSON integer literal (already checked).
func parseInt(num []byte) (int64, bool) {
	neg := len(num) > 0 && num[0] == '-'
	digits := num
	if neg {
		digits = num[1:]
	}
	if len(digits) <= 18 {
		var v int64
		for _, c := range digits {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return v, true
	}
	v, err := strconv.ParseInt(string(num), 10, 64)
	return v, err == nil
}

// parseDouble parses a JSON number (checked by the tokenizer) as a 64-bit
// floating point number, false when it is out of range.
func parseDouble(num []byte) (float64, bool) {
	if len(num) <= 16 && !bytes.ContainsAny(num, ".eE") {
		if v, ok := parseInt(num); ok && v > -(1<<53) && v < 1<<53 {
			if v == 0 && num[0] == '-' {
				return math.Copysign(0, -1), true
			}
			return float64(v), true
		}
	}
	f, err := strconv.ParseFloat(string(num), 64)
	return f, err == nil
}

// bitset is a set of field indexes.
type bitset struct {
	small [2]uint64
	large []uint64
}

func (b *bitset) init(n int) {
	if n > 128 {
		b.large = make([]uint64, (n+63)/64)
	}
}

func (b *bitset) set(i int) {
	if b.large != nil {
		b.large[i/64] |= 1 << (i % 64)
		return
	}
	b.small[i/64] |= 1 << (i % 64)
}

func (b *bitset) has(i int) bool {
	if b.large != nil {
		return b.large[i/64]&(1<<(i%64)) != 0
	}
	return b.small[i/64]&(1<<(i%64)) != 0
}

// MaxValueBytes is the most bytes of a value that a FieldError or a
// Warning quotes; a longer value is cut there, and ends with "...".
const MaxValueBytes = 200

// valueText returns a JSON value (valid JSON) as compact text for a
// message, cut to MaxValueBytes.
func valueText(raw []byte) string {
	v := jsontext.Value(bytes.Clone(raw))
	if v.Compact() == nil {
		raw = v
	}
	return cut(raw, MaxValueBytes)
}

// cut returns b as valid UTF-8, cut to max bytes (at a character
// boundary, ending with "...") when it is longer.
func cut(b []byte, max int) string {
	if len(b) > max {
		n := max
		for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
			n--
		}
		b = append(b[:n:n], "..."...)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

// GID returns the value of the top-level member "gid" of a JSON record
// when it is a string (cut to MaxValueBytes), else "". It reads the
// record only up to that member; it is for messages about the record.
func GID(record []byte) string {
	s := newScanner(record, discard{})
	defer s.release()
	if s.dec.PeekKind() != '{' {
		return ""
	}
	if _, err := s.dec.ReadToken(); err != nil {
		return ""
	}
	for s.dec.PeekKind() == '"' {
		name, err := s.dec.ReadValue()
		if err != nil {
			return ""
		}
		isGID := string(s.unquote(name)) == "gid"
		v, err := s.dec.ReadValue()
		if err != nil {
			return ""
		}
		if isGID {
			if v.Kind() != '"' {
				return ""
			}
			return cut(s.unquote(v), MaxValueBytes)
		}
	}
	return ""
}
