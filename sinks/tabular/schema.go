// Package tabular maps the JSON Schema of a stream to a table schema, and
// the JSON records of the stream to rows. It is the one mapping shared by
// the table sinks (Parquet, BigQuery), so that every sink gives a stream
// the same columns, types and values. It knows JSON Schema and JSON, never
// Asana.
//
// FromJSONSchema maps a schema (draft-07, with the conventions of the
// source's schemas: every type is ["null", T], arrays have "items", an
// object without "properties" is free-form) to Fields:
//
//	string                       String
//	string, "format":"date-time" Timestamp (UTC, microseconds)
//	string, "format":"date"      Date (a civil date)
//	integer                      Int64
//	number                       Double
//	boolean                      Bool
//	object with properties       Record (Fields in the schema's order)
//	object without properties    JSON (the value as compact JSON text)
//	array                        Repeated, of the type of its items
//	no type, several types       JSON
//
// Items that are arrays, or that have no usable type, make a Repeated JSON
// field. A field is Nullable when "null" is one of its types; the elements
// of a Repeated field may always be null (Field has no place for the
// nullability of the items, and every schema of the source allows it).
//
// A Decoder reads records in one pass guided by the fields, without
// building a generic tree, with the JSON tokenizer of
// github.com/go-json-experiment/json/jsontext (encoding/json/jsontext from
// Go 1.27 on), which checks the syntax and gives the values as raw JSON
// text without allocating: Decoder.Row returns a row as a map of Go values,
// and Decoder.Decode reports the values to a Handler without allocating, for
// sinks that write columns (Parquet). Both check every value against its
// field and name the one at fault, and the value, in a *FieldError.
// Decoder.DecodeLenient (and Decoder.Lenient, which returns the record
// fixed) reports a value that does not fit its field as null instead,
// with a Warning, wherever null may stand: the table sinks write such
// values as null rather than fail an export for one of them.
package tabular

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Type is the type of the values of a field (of its elements, when the
// field is Repeated).
type Type int

// The types of a field.
const (
	String    Type = iota // a UTF-8 string
	Int64                 // a 64-bit signed integer
	Double                // a 64-bit floating point number
	Bool                  // true or false
	Timestamp             // an instant, UTC, microsecond precision
	Date                  // a civil date, without time or zone
	JSON                  // any JSON value, kept as compact JSON text
	Record                // a nested record of Fields
)

var typeNames = [...]string{
	String:    "STRING",
	Int64:     "INT64",
	Double:    "DOUBLE",
	Bool:      "BOOL",
	Timestamp: "TIMESTAMP",
	Date:      "DATE",
	JSON:      "JSON",
	Record:    "RECORD",
}

// String returns the upper-case name of the type, such as "TIMESTAMP".
func (t Type) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Field is a column of a table, or a field of a Record.
type Field struct {
	Name        string
	Type        Type
	Repeated    bool    // a JSON array of Type
	Nullable    bool    // ["null", T] in the schema
	Fields      []Field // of a Record
	Description string  // from the schema's "description"
}

// SchemaError is a JSON Schema that FromJSONSchema cannot map; Path names
// the property at fault, such as "memberships.items.project".
type SchemaError struct {
	Path    string
	Message string
}

func (e *SchemaError) Error() string {
	if e.Path == "" {
		return "tabular: schema: " + e.Message
	}
	return "tabular: schema: " + e.Path + ": " + e.Message
}

// FromJSONSchema returns the fields of the top-level properties of a JSON
// Schema, in the order of the file. The top level must be an object with
// "properties".
func FromJSONSchema(schema []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	root, err := readNode(dec, 0)
	if err != nil {
		return nil, &SchemaError{Message: "not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SchemaError{Message: "not valid JSON: data after the top-level value"}
	}
	obj, ok := root.(object)
	if !ok {
		return nil, &SchemaError{Message: "the schema is not a JSON object"}
	}
	if t, ok := obj.get("type"); ok {
		types, err := typeList(t)
		if err != nil {
			return nil, &SchemaError{Message: err.Error()}
		}
		if len(types) != 1 || types[0] != "object" || types.nullable() {
			return nil, &SchemaError{Message: `the top level must be of "type": "object"`}
		}
	}
	props, ok := obj.get("properties")
	if !ok {
		return nil, &SchemaError{Message: `the top level has no "properties"`}
	}
	fields, err := fieldsOf(props, "")
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, &SchemaError{Message: `the top level has no properties`}
	}
	return fields, nil
}

// fieldsOf maps the value of a "properties" keyword.
func fieldsOf(props any, path string) ([]Field, error) {
	obj, ok := props.(object)
	if !ok {
		return nil, &SchemaError{Path: path, Message: `"properties" is not an object`}
	}
	fields := make([]Field, 0, len(obj))
	seen := make(map[string]bool, len(obj))
	for _, m := range obj {
		p := join(path, m.key)
		if m.key == "" {
			return nil, &SchemaError{Path: path, Message: "a property has an empty name"}
		}
		if seen[m.key] {
			return nil, &SchemaError{Path: p, Message: "the property is defined twice"}
		}
		seen[m.key] = true
		f, err := fieldOf(m.key, m.value, p)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// fieldOf maps the schema of one property.
func fieldOf(name string, schema any, path string) (Field, error) {
	f := Field{Name: name}
	s, ok := schema.(object)
	if !ok {
		// true, false or another non-object schema: anything goes.
		if _, isBool := schema.(bool); !isBool {
			return f, &SchemaError{Path: path, Message: "the schema of the property is not an object"}
		}
		f.Type, f.Nullable = JSON, true
		return f, nil
	}
	if d, ok := s.get("description"); ok {
		if ds, ok := d.(string); ok {
			f.Description = ds
		}
	}
	t, err := s.types()
	if err != nil {
		return f, &SchemaError{Path: path, Message: err.Error()}
	}
	f.Nullable = t.nullable() || len(t) == 0
	if t.single() != "array" {
		f.Type, f.Fields, err = typeOf(s, t.single(), path)
		return f, err
	}
	f.Repeated = true
	f.Type = JSON
	items, ok := s.get("items")
	if !ok {
		return f, nil
	}
	is, ok := items.(object)
	if !ok {
		return f, nil // tuple validation, or true/false: elements as JSON
	}
	it, err := is.types()
	if err != nil {
		return f, &SchemaError{Path: path + ".items", Message: err.Error()}
	}
	if it.single() == "array" {
		return f, nil
	}
	f.Type, f.Fields, err = typeOf(is, it.single(), path+".items")
	return f, err
}

// typeOf maps a schema whose only non-null type is single ("" for none or
// several) to a type that is not repeated.
func typeOf(s object, single, path string) (Type, []Field, error) {
	switch single {
	case "string":
		format := ""
		if v, ok := s.get("format"); ok {
			format, _ = v.(string)
		}
		switch format {
		case "date-time":
			return Timestamp, nil, nil
		case "date":
			return Date, nil, nil
		}
		return String, nil, nil
	case "integer":
		return Int64, nil, nil
	case "number":
		return Double, nil, nil
	case "boolean":
		return Bool, nil, nil
	case "object":
		props, ok := s.get("properties")
		if !ok {
			return JSON, nil, nil
		}
		if po, ok := props.(object); ok && len(po) == 0 {
			return JSON, nil, nil
		}
		fields, err := fieldsOf(props, path)
		if err != nil {
			return 0, nil, err
		}
		return Record, fields, nil
	}
	return JSON, nil, nil
}

type typeSet []string

// nullable reports whether "null" is one of the types.
func (t typeSet) nullable() bool {
	for _, s := range t {
		if s == "null" {
			return true
		}
	}
	return false
}

// single returns the only non-null type, or "" when there are none or
// several.
func (t typeSet) single() string {
	one := ""
	for _, s := range t {
		if s == "null" {
			continue
		}
		if one != "" && one != s {
			return ""
		}
		one = s
	}
	return one
}

var jsonTypes = map[string]bool{
	"null": true, "string": true, "integer": true, "number": true,
	"boolean": true, "object": true, "array": true,
}

// types returns the value of the "type" keyword (nil when absent).
func (s object) types() (typeSet, error) {
	v, ok := s.get("type")
	if !ok {
		return nil, nil
	}
	return typeList(v)
}

func typeList(v any) (typeSet, error) {
	var out typeSet
	switch v := v.(type) {
	case string:
		out = typeSet{v}
	case []any:
		if len(v) == 0 {
			return nil, errors.New(`"type" is an empty list`)
		}
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New(`"type" lists a value that is not a string`)
			}
			out = append(out, s)
		}
	default:
		return nil, errors.New(`"type" is neither a string nor a list of strings`)
	}
	for _, s := range out {
		if !jsonTypes[s] {
			return nil, fmt.Errorf(`"type" has an unknown type %q`, s)
		}
	}
	return out, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object is a JSON object that keeps the order of its members.
type object []member

type member struct {
	key   string
	value any
}

func (o object) get(key string) (any, bool) {
	for _, m := range o {
		if m.key == key {
			return m.value, true
		}
	}
	return nil, false
}

const maxSchemaDepth = 200

// readNode reads one JSON value: object for objects, []any for arrays,
// string, json.Number, bool or nil.
func readNode(dec *json.Decoder, depth int) (any, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var obj object
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := kt.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			if _, dup := obj.get(key); dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			v, err := readNode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj = append(obj, member{key, v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		if obj == nil {
			obj = object{}
		}
		return obj, nil
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := readNode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return tok, nil
}

// Validate checks that fields can be the columns of a table: at least one
// field, names non-empty and unique among their siblings, types known, and
// every Record with at least one field. FromJSONSchema only returns valid
// fields; sinks call Validate on fields from elsewhere.
func Validate(fields []Field) error {
	if len(fields) == 0 {
		return &SchemaError{Message: "no fields"}
	}
	return validate(fields, "")
}

func validate(fields []Field, path string) error {
	seen := make(map[string]bool, len(fields))
	for i := range fields {
		f := &fields[i]
		p := join(path, f.Name)
		switch {
		case f.Name == "":
			return &SchemaError{Path: path, Message: fmt.Sprintf("field %d has an empty name", i)}
		case seen[f.Name]:
			return &SchemaError{Path: p, Message: "the name is used twice"}
		case f.Type < String || f.Type > Record:
			return &SchemaError{Path: p, Message: "unknown type " + f.Type.String()}
		case f.Type == Record && len(f.Fields) == 0:
			return &SchemaError{Path: p, Message: "a RECORD without fields"}
		case f.Type != Record && len(f.Fields) != 0:
			return &SchemaError{Path: p, Message: "fields on a " + f.Type.String()}
		}
		seen[f.Name] = true
		if f.Type == Record {
			if err := validate(f.Fields, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Format returns the field tree as indented text, one field a line, for
// golden files and for printing:
//
//	gid STRING NOT NULL
//	memberships RECORD REPEATED
//	  project RECORD
//	    gid STRING
//
// Descriptions are left out unless descriptions is true, in which case each
// follows its field after "--".
func Format(fields []Field, descriptions bool) string {
	var b strings.Builder
	format(&b, fields, "", descriptions)
	return b.String()
}

func format(b *strings.Builder, fields []Field, indent string, descriptions bool) {
	for _, f := range fields {
		b.WriteString(indent)
		b.WriteString(f.Name)
		b.WriteByte(' ')
		b.WriteString(f.Type.String())
		if f.Repeated {
			b.WriteString(" REPEATED")
		}
		if !f.Nullable {
			b.WriteString(" NOT NULL")
		}
		if descriptions && f.Description != "" {
			b.WriteString(" -- ")
			b.WriteString(strings.Join(strings.Fields(f.Description), " "))
		}
		b.WriteByte('\n')
		format(b, f.Fields, indent+"  ", descriptions)
	}
}
