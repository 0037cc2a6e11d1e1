package tabular

// FieldError is a record that does not fit the fields: invalid JSON, or a
// value that does not fit its field. Path names the value at fault, such as
// "memberships[2].project.gid"; it is empty for the record itself. Value
// is the value at fault as compact JSON text, cut to MaxValueBytes (the
// message quotes it too); it is empty when there is none (invalid JSON, a
// missing value, a member given twice).
type FieldError struct {
	Path    string
	Message string
	Value   string

	// Of a value, valid JSON, that does not fit its field (a misfit),
	// which DecodeLenient may replace by null: the reason after the value
	// in the message, the length of its path, and where the value is in
	// the record (data[start:end]).
	misfit     bool
	reason     string
	depth      int
	start, end int
}

// Error returns "field PATH: MESSAGE", or the message alone when the
// error is of the record itself.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return "field " + e.Path + ": " + e.Message
}

// Warning is a value that did not fit its field and that DecodeLenient
// reported as null.
type Warning struct {
	// GID is the record's top-level "gid" (see GID), or "" when it has
	// none.
	GID string
	// Field is the path of the value, such as "memberships[1].project.gid".
	Field string
	// Value is the value as compact JSON text, cut to MaxValueBytes.
	Value string
	// Reason says why it does not fit, after the value: "is not a date
	// (YYYY-MM-DD)".
	Reason string
	// Outcome is what became of the value when it was not written as null
	// (a sink sets it, such as BigQuery's for an element of an array);
	// empty means written as null.
	Outcome string
}

// String returns the warning as one line, such as
//
//	record 123: field due_on: "2024-13-45" is not a date (YYYY-MM-DD); written as null
func (w Warning) String() string {
	rec := "record " + w.GID
	if w.GID == "" {
		rec = "a record without gid"
	}
	outcome := w.Outcome
	if outcome == "" {
		outcome = "written as null"
	}
	return rec + ": field " + w.Field + ": " + w.Value + " " + w.Reason + "; " + outcome
}

// Row converts one JSON record to a row of Go values for the fields. It is
// NewDecoder(fields).Row(record); a sink that converts many records builds
// its Decoder once.
func Row(fields []Field, record []byte) (map[string]any, error) {
	return NewDecoder(fields).Row(record)
}

// Row converts one JSON record (an object) to a row: a map keyed by field
// name with a value for every field, typed per field:
//
//	String     string
//	Int64      int64
//	Double     float64
//	Bool       bool
//	Timestamp  time.Time, UTC, truncated to the microsecond
//	Date       time.Time at midnight UTC
//	JSON       string, the value as compact JSON text
//	Record     map[string]any, the same way
//	Repeated   []any of the above (nil for a null element)
//
// The value is nil for JSON null and for a field missing from the record.
// The errors are those of Decode, each a *FieldError.
func (d *Decoder) Row(record []byte) (map[string]any, error) {
	b := mapBuilder{d: d}
	b.push(frame{m: make(map[string]any, len(d.root.fields))})
	if err := d.Decode(record, &b); err != nil {
		return nil, err
	}
	return b.stack[0].m, nil
}

// mapBuilder is the Handler of Row.
type mapBuilder struct {
	d     *Decoder
	stack []frame
}

// frame is a record or a list being built.
type frame struct {
	m    map[string]any
	list []any
}

func (b *mapBuilder) push(f frame) { b.stack = append(b.stack, f) }

func (b *mapBuilder) pop() frame {
	f := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	return f
}

// put sets field f of the current record, or appends an element to the
// current list.
func (b *mapBuilder) put(f int, v any) {
	top := &b.stack[len(b.stack)-1]
	if top.m == nil {
		top.list = append(top.list, v)
		return
	}
	top.m[b.d.numbered[f].Name] = v
}

func (b *mapBuilder) Null(f int)        { b.put(f, nil) }
func (b *mapBuilder) NullElement(f int) { b.put(f, nil) }
func (b *mapBuilder) BeginList(int)     { b.push(frame{list: []any{}}) }
func (b *mapBuilder) EndList(f int)     { b.put(f, b.pop().list) }

func (b *mapBuilder) BeginRecord(f int) {
	b.push(frame{m: make(map[string]any, len(b.d.numbered[f].Fields))})
}

func (b *mapBuilder) EndRecord(f int) { b.put(f, b.pop().m) }

func (b *mapBuilder) Bytes(f int, v []byte) { b.put(f, string(v)) }
func (b *mapBuilder) Double(f int, v float64) {
	b.put(f, v)
}
func (b *mapBuilder) Bool(f int, v bool) { b.put(f, v) }

func (b *mapBuilder) Int64(f int, v int64) {
	switch b.d.numbered[f].Type {
	case Timestamp:
		b.put(f, TimeOfMicros(v))
	case Date:
		b.put(f, TimeOfDays(v))
	default:
		b.put(f, v)
	}
}
