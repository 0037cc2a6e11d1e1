package tabular

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
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
	scanners sync.Pool // of *scanner, to reuse their buffers
}

// plan is a list of fields compiled for decoding.
type plan struct {
	fields []Field
	index  map[string]int
	ids    []int   // numbers of the fields
	sub    []*plan // of the Record fields
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
// Members of the record that are not fields are ignored (but must be valid
// JSON). Every error is a *FieldError: invalid JSON, a value that does not
// fit its field (a value of the wrong JSON type, an Int64 given a fraction
// or a number beyond 64 bits, a Timestamp that is not RFC 3339 (with or
// without a fraction of seconds, with Z or an offset), a Date that is not
// YYYY-MM-DD, a Double beyond 64 bits), a member given twice, and null
// for, or a missing value of, a field that is not Nullable (the elements
// of a list may always be null). Strings are decoded like encoding/json
// does: invalid UTF-8 becomes U+FFFD. Timestamps are truncated to the
// microsecond.
func (d *Decoder) Decode(record []byte, h Handler) error {
	s := d.scanner(record, h)
	err := s.record(d.root)
	d.release(s)
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
	s := d.scanner(record, h)
	n := len(warnings)
	s.lenient, s.warnings = true, warnings
	err := s.record(d.root)
	warnings = s.warnings
	d.release(s)
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
	s := d.scanner(record, discard{})
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
	d.release(s)
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

// scanner returns a scanner of the pool, ready to read record.
func (d *Decoder) scanner(record []byte, h Handler) *scanner {
	s, _ := d.scanners.Get().(*scanner)
	if s == nil {
		s = new(scanner)
	}
	s.data, s.pos, s.h, s.path = record, 0, h, s.path[:0]
	return s
}

// release puts s back in the pool.
func (d *Decoder) release(s *scanner) {
	s.data, s.h = nil, nil
	s.lenient, s.warnings, s.spans = false, nil, s.spans[:0]
	d.scanners.Put(s)
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

// scanner reads one record.
type scanner struct {
	data  []byte
	pos   int
	h     Handler
	path  []pathElem
	buf   []byte // scratch for unescaped strings
	jbuf  []byte // scratch for compacted JSON
	stack []byte // scratch for skipValue

	// lenient reports values that do not fit as null (DecodeLenient),
	// adding to warnings, and the place of each value to spans.
	lenient  bool
	warnings []Warning
	spans    []span
}

// span is the place of a value in the record: data[start:end].
type span struct{ start, end int }

type pathElem struct {
	name  string
	index int // of an array element, when name is ""
}

// maxDepth bounds the nesting of a value that is skipped or kept as JSON.
const maxDepth = 10000

func (s *scanner) record(p *plan) error {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.syntax("the record is empty")
	}
	if s.data[s.pos] != '{' {
		if s.kind() == "not JSON" {
			return s.unexpected()
		}
		return s.errorf("the record is %s, not a JSON object", s.kind())
	}
	if err := s.object(p); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.syntax("data after the record")
	}
	return nil
}

func (s *scanner) pathString() string {
	var b []byte
	for _, e := range s.path {
		if e.name == "" {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(e.index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, e.name...)
	}
	return string(b)
}

func (s *scanner) errorf(format string, args ...any) *FieldError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &FieldError{Path: s.pathString(), Message: msg}
}

// syntax is an error of JSON syntax at the current position.
func (s *scanner) syntax(msg string) *FieldError {
	if s.pos < len(s.data) {
		return s.errorf("invalid JSON at offset %d: %s", s.pos, msg)
	}
	return s.errorf("invalid JSON: %s", msg)
}

func (s *scanner) unexpected() *FieldError {
	if s.pos >= len(s.data) {
		return s.syntax("unexpected end of the record")
	}
	c := s.data[s.pos]
	if c >= 0x20 && c < 0x7f {
		return s.syntax("unexpected character " + strconv.QuoteRune(rune(c)))
	}
	return s.syntax("unexpected byte " + strconv.Quote(string(c)))
}

// skipSpace skips white space and reports whether there was some.
func (s *scanner) skipSpace() bool {
	start := s.pos
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
			continue
		}
		break
	}
	return s.pos != start
}

// kind names the JSON type of the value at the current position, for
// messages.
func (s *scanner) kind() string {
	if s.pos >= len(s.data) {
		return "nothing"
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "not JSON"
}

// wrongType is the error of a value of the wrong JSON type at the current
// position, where want was expected.
func (s *scanner) wrongType(want string) *FieldError {
	if got := s.kind(); got != "not JSON" && got != "nothing" {
		return s.misfit(s.pos, "is "+got+", not "+want)
	}
	return s.unexpected()
}

// misfit is the error of a value, valid JSON, that does not fit its field:
// the value starts at start, and reason follows it in the message, such
// as "is not a date (YYYY-MM-DD)". It moves past the value; a value that
// is not valid JSON is an error of JSON syntax instead.
func (s *scanner) misfit(start int, reason string) *FieldError {
	s.pos = start
	if _, _, err := s.skipValue(); err != nil {
		return err.(*FieldError)
	}
	v := valueText(s.data[start:s.pos])
	return &FieldError{Path: s.pathString(), Message: v + " " + reason, Value: v, reason: reason, at: start, misfit: true}
}

// fixable reports whether err, from a value that starts at start, is a
// value that null may replace (when the field allows it): in lenient
// mode, a misfit of this very value, not of a value within it. It then
// keeps a warning, and the scanner is past the value.
func (s *scanner) fixable(err error, start int) bool {
	fe, ok := err.(*FieldError)
	if !s.lenient || !ok || !fe.misfit || fe.at != start {
		return false
	}
	s.warnings = append(s.warnings, Warning{Field: fe.Path, Value: fe.Value, Reason: fe.reason})
	s.spans = append(s.spans, span{start, s.pos})
	return true
}

// object reads an object at the current position (a '{') and reports every
// field of p.
func (s *scanner) object(p *plan) error {
	s.pos++ // '{'
	var seen bitset
	seen.init(len(p.fields))
	next := 0 // the field expected next: records list their members in a steady order
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
	} else {
		for {
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return s.unexpected()
			}
			key, err := s.stringBytes()
			if err != nil {
				return err
			}
			i, known := next, next < len(p.fields) && p.fields[next].Name == string(key)
			if !known {
				i, known = p.index[string(key)]
			}
			s.skipSpace()
			if s.pos >= len(s.data) || s.data[s.pos] != ':' {
				return s.unexpected()
			}
			s.pos++
			s.skipSpace()
			if known {
				s.path = append(s.path, pathElem{name: p.fields[i].Name})
				if seen.has(i) {
					return s.errorf("the member is given twice")
				}
				seen.set(i)
				next = i + 1
				if err := s.value(p, i); err != nil {
					return err
				}
				s.path = s.path[:len(s.path)-1]
			} else if _, _, err := s.skipValue(); err != nil {
				return err
			}
			s.skipSpace()
			if s.pos < len(s.data) && s.data[s.pos] == ',' {
				s.pos++
				s.skipSpace()
				continue
			}
			if s.pos < len(s.data) && s.data[s.pos] == '}' {
				s.pos++
				break
			}
			return s.unexpected()
		}
	}
	for i := range p.fields {
		if seen.has(i) {
			continue
		}
		if !p.fields[i].Nullable {
			s.path = append(s.path, pathElem{name: p.fields[i].Name})
			return s.errorf("missing, and the field is not nullable")
		}
		s.h.Null(p.ids[i])
	}
	return nil
}

// value reads the value of field i of p at the current position.
func (s *scanner) value(p *plan, i int) error {
	f, id := &p.fields[i], p.ids[i]
	if s.pos >= len(s.data) {
		return s.unexpected()
	}
	if s.data[s.pos] == 'n' {
		if err := s.literal("null"); err != nil {
			return err
		}
		if !f.Nullable {
			err := s.errorf("null, and the field is not nullable")
			err.Value = "null"
			return err
		}
		s.h.Null(id)
		return nil
	}
	start := s.pos
	if !f.Repeated {
		err := s.single(f, id, p.sub[i])
		if err != nil && f.Nullable && s.fixable(err, start) {
			s.h.Null(id)
			return nil
		}
		return err
	}
	if s.data[s.pos] != '[' {
		err := s.wrongType("an array")
		if f.Nullable && s.fixable(err, start) {
			s.h.Null(id)
			return nil
		}
		return err
	}
	s.pos++
	s.skipSpace()
	s.h.BeginList(id)
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		s.h.EndList(id)
		return nil
	}
	s.path = append(s.path, pathElem{})
	for n := 0; ; n++ {
		s.path[len(s.path)-1].index = n
		if s.pos < len(s.data) && s.data[s.pos] == 'n' {
			if err := s.literal("null"); err != nil {
				return err
			}
			s.h.NullElement(id)
		} else {
			start := s.pos
			if err := s.single(f, id, p.sub[i]); err != nil {
				if !s.fixable(err, start) {
					return err
				}
				s.h.NullElement(id)
			}
		}
		s.skipSpace()
		if s.pos < len(s.data) && s.data[s.pos] == ',' {
			s.pos++
			s.skipSpace()
			continue
		}
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			break
		}
		return s.unexpected()
	}
	s.path = s.path[:len(s.path)-1]
	s.h.EndList(id)
	return nil
}

// single reads a value of field f (number id) that is not null: the value,
// or an element when f is Repeated.
func (s *scanner) single(f *Field, id int, sub *plan) error {
	if s.pos >= len(s.data) {
		return s.unexpected()
	}
	c := s.data[s.pos]
	switch f.Type {
	case String:
		if c != '"' {
			return s.wrongType("a string")
		}
		b, err := s.stringBytes()
		if err != nil {
			return err
		}
		s.h.Bytes(id, b)
	case Int64:
		if c != '-' && (c < '0' || c > '9') {
			return s.wrongType("an integer")
		}
		v, err := s.int64()
		if err != nil {
			return err
		}
		s.h.Int64(id, v)
	case Double:
		if c != '-' && (c < '0' || c > '9') {
			return s.wrongType("a number")
		}
		v, err := s.double()
		if err != nil {
			return err
		}
		s.h.Double(id, v)
	case Bool:
		switch c {
		case 't':
			if err := s.literal("true"); err != nil {
				return err
			}
			s.h.Bool(id, true)
		case 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
			s.h.Bool(id, false)
		default:
			return s.wrongType("a boolean")
		}
	case Timestamp:
		if c != '"' {
			return s.wrongType("an RFC 3339 timestamp")
		}
		start := s.pos
		b, err := s.stringBytes()
		if err != nil {
			return err
		}
		us, ok := parseTimestamp(b)
		if !ok {
			return s.misfit(start, "is not an RFC 3339 timestamp")
		}
		s.h.Int64(id, us)
	case Date:
		if c != '"' {
			return s.wrongType("a date (YYYY-MM-DD)")
		}
		start := s.pos
		b, err := s.stringBytes()
		if err != nil {
			return err
		}
		days, ok := parseDate(b)
		if !ok {
			return s.misfit(start, "is not a date (YYYY-MM-DD)")
		}
		s.h.Int64(id, days)
	case JSON:
		b, err := s.rawJSON()
		if err != nil {
			return err
		}
		s.h.Bytes(id, b)
	case Record:
		if c != '{' {
			return s.wrongType("an object")
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

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return nil
	}
	return s.unexpected()
}

// number scans a JSON number at the current position and returns it; frac
// reports a fraction or an exponent.
func (s *scanner) number() (num []byte, frac bool, err error) {
	start := s.pos
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, false, s.unexpected()
	}
	if i < len(d) && d[i] == '.' {
		frac = true
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, s.unexpected()
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		frac = true
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, false, s.unexpected()
		}
	}
	s.pos = i
	return d[start:i], frac, nil
}

const outOfInt64 = "is out of range for a 64-bit integer"

func (s *scanner) int64() (int64, error) {
	start := s.pos
	num, frac, err := s.number()
	if err != nil {
		return 0, err
	}
	if !frac {
		if v, ok := parseInt(num); ok {
			return v, nil
		}
		return 0, s.misfit(start, outOfInt64)
	}
	// A fraction of zeros (2.0) or an exponent (2e3) may still be integral.
	if i := bytes.IndexByte(num, '.'); i >= 0 && !bytes.ContainsAny(num, "eE") &&
		len(bytes.Trim(num[i+1:], "0")) == 0 {
		if v, ok := parseInt(num[:i]); ok {
			return v, nil
		}
		return 0, s.misfit(start, outOfInt64)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil && math.IsInf(f, 0) {
		return 0, s.misfit(start, outOfInt64)
	}
	if err != nil || math.Trunc(f) != f {
		return 0, s.misfit(start, "is not an integer")
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, s.misfit(start, outOfInt64)
	}
	return int64(f), nil
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

func (s *scanner) double() (float64, error) {
	start := s.pos
	num, frac, err := s.number()
	if err != nil {
		return 0, err
	}
	if !frac && len(num) <= 16 {
		if v, ok := parseInt(num); ok && v > -(1<<53) && v < 1<<53 {
			if v == 0 && num[0] == '-' {
				return math.Copysign(0, -1), nil
			}
			return float64(v), nil
		}
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return 0, s.misfit(start, "is out of range for a 64-bit floating point number")
	}
	return f, nil
}

// stringBytes reads a JSON string at the current position (a '"') and
// returns its decoded bytes, valid UTF-8. The result may alias the record or
// the scanner's scratch buffer: use it before the next call.
func (s *scanner) stringBytes() ([]byte, error) {
	d := s.data
	start := s.pos + 1
	ascii := true
	for i := start; i < len(d); i++ {
		c := d[i]
		if !stringSpecial[c] {
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			b := d[start:i]
			if ascii || utf8.Valid(b) {
				return b, nil
			}
			return s.unescape(start)
		case c == '\\':
			return s.unescape(start)
		case c < 0x20:
			s.pos = i
			return nil, s.syntax("control character in a string")
		default: // >= 0x80
			ascii = false
		}
	}
	s.pos = len(d)
	return nil, s.syntax("unterminated string")
}

// stringSpecial marks the bytes that end the fast path of a string: the
// quote, the backslash, control characters, and bytes beyond ASCII.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()

// unescape decodes the string that starts at start (after its '"') into
// s.buf, replacing invalid UTF-8 and lone surrogates with U+FFFD.
func (s *scanner) unescape(start int) ([]byte, error) {
	d := s.data
	b := s.buf[:0]
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.buf = b
			return b, nil
		case c < 0x20:
			s.pos = i
			return nil, s.syntax("control character in a string")
		case c < utf8.RuneSelf && c != '\\':
			b = append(b, c)
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[i:])
			b = utf8.AppendRune(b, r) // RuneError for invalid bytes
			i += size
		default: // '\\'
			if i+1 >= len(d) {
				s.pos = len(d)
				return nil, s.syntax("unterminated string")
			}
			e := d[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d, i)
				if !ok {
					s.pos = i
					return nil, s.syntax("invalid \\u escape in a string")
				}
				i += 4
				if utf16IsHigh(r) {
					if lo, ok := hex4(d, i+2); ok && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' && utf16IsLow(lo) {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else if utf16IsLow(r) {
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				s.pos = i - 1
				return nil, s.syntax("invalid escape in a string")
			}
		}
	}
	s.pos = len(d)
	return nil, s.syntax("unterminated string")
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

func hex4(d []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// skipString skips a JSON string at the current position (a '"'),
// checking it; ascii reports that it has no byte beyond ASCII.
func (s *scanner) skipString() (ascii bool, err error) {
	d := s.data
	ascii = true
	for i := s.pos + 1; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return ascii, nil
		case c == '\\':
			if i+1 >= len(d) {
				s.pos = len(d)
				return false, s.syntax("unterminated string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(d, i+2); !ok {
					s.pos = i + 2
					return false, s.syntax("invalid \\u escape in a string")
				}
				i += 5
			default:
				s.pos = i + 1
				return false, s.syntax("invalid escape in a string")
			}
		case c < 0x20:
			s.pos = i
			return false, s.syntax("control character in a string")
		case c >= 0x80:
			ascii = false
		}
	}
	s.pos = len(d)
	return false, s.syntax("unterminated string")
}

// skipValue skips and checks the JSON value at the current position. It
// reports whether the value is compact (no white space between its tokens)
// and whether it is all ASCII.
func (s *scanner) skipValue() (compact, ascii bool, err error) {
	compact, ascii = true, true
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	for {
		// A value.
		if s.pos >= len(s.data) {
			return false, false, s.unexpected()
		}
		switch c := s.data[s.pos]; {
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return false, false, s.syntax("nested too deeply")
			}
			s.pos++
			if s.skipSpace() {
				compact = false
			}
			if s.pos < len(s.data) && s.data[s.pos] == c+2 { // '}' or ']'
				s.pos++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if err := s.skipKey(&compact, &ascii); err != nil {
					return false, false, err
				}
			}
			continue
		case c == '"':
			a, err := s.skipString()
			if err != nil {
				return false, false, err
			}
			ascii = ascii && a
		case c == 't':
			if err := s.literal("true"); err != nil {
				return false, false, err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return false, false, err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return false, false, err
			}
		case c == '-' || c >= '0' && c <= '9':
			if _, _, err := s.number(); err != nil {
				return false, false, err
			}
		default:
			return false, false, s.unexpected()
		}
		// After a value: close containers, or go on to the next value.
		for {
			if len(stack) == 0 {
				return compact, ascii, nil
			}
			if s.skipSpace() {
				compact = false
			}
			if s.pos >= len(s.data) {
				return false, false, s.unexpected()
			}
			c, top := s.data[s.pos], stack[len(stack)-1]
			if c == top+2 {
				s.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return false, false, s.unexpected()
			}
			s.pos++
			if s.skipSpace() {
				compact = false
			}
			if top == '{' {
				if err := s.skipKey(&compact, &ascii); err != nil {
					return false, false, err
				}
			}
			break
		}
	}
}

// skipKey skips `"key":` and the white space after it.
func (s *scanner) skipKey(compact, ascii *bool) error {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return s.unexpected()
	}
	a, err := s.skipString()
	if err != nil {
		return err
	}
	*ascii = *ascii && a
	if s.skipSpace() {
		*compact = false
	}
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return s.unexpected()
	}
	s.pos++
	if s.skipSpace() {
		*compact = false
	}
	return nil
}

// rawJSON reads any JSON value as compact JSON text, valid UTF-8. The
// result may alias the record or the scanner's scratch buffer.
func (s *scanner) rawJSON() ([]byte, error) {
	start := s.pos
	compact, ascii, err := s.skipValue()
	if err != nil {
		return nil, err
	}
	raw := s.data[start:s.pos]
	if compact && (ascii || utf8.Valid(raw)) {
		return raw, nil
	}
	buf := bytes.NewBuffer(s.jbuf[:0])
	if err := json.Compact(buf, raw); err != nil { // checked already; cannot fail
		return nil, s.errorf("invalid JSON: %v", err)
	}
	out := buf.Bytes()
	s.jbuf = out
	if !utf8.Valid(out) {
		// Invalid bytes can only be inside strings, where U+FFFD keeps the
		// text valid JSON. Each becomes one, as in strings.
		fixed := make([]byte, 0, len(out)+16)
		for len(out) > 0 {
			r, size := utf8.DecodeRune(out)
			fixed = utf8.AppendRune(fixed, r)
			out = out[size:]
		}
		out = fixed
	}
	return out, nil
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
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		raw = b.Bytes()
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
	s := scanner{data: record}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return ""
	}
	s.pos++
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return ""
		}
		key, err := s.stringBytes()
		if err != nil {
			return ""
		}
		isGID := string(key) == "gid"
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return ""
		}
		s.pos++
		s.skipSpace()
		if isGID {
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return ""
			}
			v, err := s.stringBytes()
			if err != nil {
				return ""
			}
			return cut(v, MaxValueBytes)
		}
		if _, _, err := s.skipValue(); err != nil {
			return ""
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ',' {
			return ""
		}
		s.pos++
	}
}
