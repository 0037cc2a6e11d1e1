package parquet

import (
	"fmt"
	"reflect"

	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"
)

// codec compresses every column. The default level (about zstd -3) costs
// little more CPU than the fastest and gives files about 10% smaller.
var codec compress.Codec = &zstd.Codec{Level: zstd.SpeedDefault}

// Schema returns the Parquet schema of a table of fields, named "schema":
//
//	String     BYTE_ARRAY (STRING)
//	Int64      INT64
//	Double     DOUBLE
//	Bool       BOOLEAN
//	Timestamp  INT64 (TIMESTAMP(isAdjustedToUTC=true, unit=MICROS))
//	Date       INT32 (DATE)
//	JSON       BYTE_ARRAY (JSON)
//	Record     a group (a STRUCT), its fields in their order
//	Repeated   the 3-level LIST: <list> (LIST) { repeated group list { <element> } }
//
// A Nullable field is optional, others are required; the element of a list
// is always optional. The columns keep the order of the fields (where
// parquet.Group would sort them by name), and every column is compressed
// with zstd.
//
// Schema panics if the fields are not valid (tabular.Validate); NewWriter
// returns that error instead.
func Schema(fields []tabular.Field) *parquet.Schema {
	if err := tabular.Validate(fields); err != nil {
		panic(fmt.Sprintf("parquet.Schema: %v", err))
	}
	return parquet.NewSchema("schema", groupOf(fields))
}

func groupOf(fields []tabular.Field) *group {
	g := &group{fields: make([]parquet.Field, len(fields))}
	for i := range fields {
		g.fields[i] = &field{Node: nodeOf(&fields[i]), name: fields[i].Name}
	}
	return g
}

// nodeOf returns the node of a field: its value, made a list when Repeated,
// made optional when Nullable.
func nodeOf(f *tabular.Field) parquet.Node {
	n := valueNode(f)
	if f.Repeated {
		n = parquet.List(parquet.Optional(n))
	}
	if f.Nullable {
		return parquet.Optional(n)
	}
	return parquet.Required(n)
}

func valueNode(f *tabular.Field) parquet.Node {
	var leaf parquet.Node
	switch f.Type {
	case tabular.String:
		leaf = parquet.String()
	case tabular.Int64:
		leaf = parquet.Leaf(parquet.Int64Type)
	case tabular.Double:
		leaf = parquet.Leaf(parquet.DoubleType)
	case tabular.Bool:
		leaf = parquet.Leaf(parquet.BooleanType)
	case tabular.Timestamp:
		leaf = parquet.Timestamp(parquet.Microsecond)
	case tabular.Date:
		leaf = parquet.Date()
	case tabular.JSON:
		leaf = parquet.JSON()
	case tabular.Record:
		return groupOf(f.Fields)
	default:
		panic(fmt.Sprintf("parquet: field %s has an unknown type %v", f.Name, f.Type))
	}
	return parquet.Compressed(leaf, codec)
}

// group is a parquet group whose fields keep their order. parquet.Group is a
// map and sorts its fields by name; the file's columns, and so the columns
// of SELECT *, would then not follow the stream's schema.
type group struct {
	fields []parquet.Field
}

func (g *group) ID() int                     { return 0 }
func (g *group) String() string              { return parquet.NewSchema("", g).String() }
func (g *group) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g *group) Optional() bool              { return false }
func (g *group) Repeated() bool              { return false }
func (g *group) Required() bool              { return true }
func (g *group) Leaf() bool                  { return false }
func (g *group) Fields() []parquet.Field     { return g.fields }
func (g *group) Encoding() encoding.Encoding { return nil }
func (g *group) Compression() compress.Codec { return nil }
func (g *group) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

// field is a named member of a group.
type field struct {
	parquet.Node
	name string
}

func (f *field) Name() string { return f.name }

// Value returns the value of the field in a map[string]any (the only Go
// representation of rows that a group of this package has).
func (f *field) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return reflect.Value{}
}
