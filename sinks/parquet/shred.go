package parquet

import (
	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/parquet-go/parquet-go"
)

// shredder is the tabular.Handler that adds the values of records to the
// leaf columns of a batch, with their repetition and definition levels
// (Dremel's striping, as parquet.Schema.Deconstruct does, without
// reflection nor a map per record). The batch goes to parquet-go column by
// column.
//
// Definition levels only depend on the field; repetition levels on where in
// the lists a value is, which the shredder follows with a stack.
type shredder struct {
	nodes   []node            // by field number (tabular.Decoder.Field)
	leaves  int               // leaf columns
	columns [][]parquet.Value // values of the batch, by leaf column
	nulls0  []parquet.Value   // a null of each column, levels 0
	marks   []int             // lengths of the columns when the record began
	rep     byte              // repetition level of the next value
	lists   []listFrame       // the lists being read, innermost last
	arena   arena             // the bytes of the values of the batch
}

// node is a field compiled for shredding.
type node struct {
	first    int  // first leaf column of the field
	end      int  // one past its last leaf column
	nullDef  byte // definition level when the field is null (its parent's)
	def      byte // definition level of a present value (of the list, when repeated)
	rep      byte // repetition level of the list's elements, when repeated
	repeated bool
	date     bool // an INT32 column
}

// listFrame is a list being read.
type listFrame struct {
	rep   byte // the repetition level when the list started
	count int  // elements so far
}

func newShredder(fields []tabular.Field) *shredder {
	s := &shredder{}
	s.compile(fields, 0, 0)
	s.columns = make([][]parquet.Value, s.leaves)
	s.marks = make([]int, s.leaves)
	s.nulls0 = make([]parquet.Value, s.leaves)
	for c := range s.nulls0 {
		s.nulls0[c].SetColumnIndex(c)
	}
	return s
}

// compile numbers the fields like tabular.Decoder does: depth-first, a
// Record before its fields.
func (s *shredder) compile(fields []tabular.Field, def, rep byte) {
	for i := range fields {
		f := &fields[i]
		k := len(s.nodes)
		s.nodes = append(s.nodes, node{})
		n := node{first: s.leaves, nullDef: def, def: def, repeated: f.Repeated, date: f.Type == tabular.Date}
		if f.Nullable {
			n.def++
		}
		d, r := n.def, rep
		if f.Repeated {
			// The repeated group "list" and the optional "element".
			r++
			n.rep = r
			d += 2
		}
		if f.Type == tabular.Record {
			s.compile(f.Fields, d, r)
		} else {
			s.leaves++
		}
		n.end = s.leaves
		s.nodes[k] = n
	}
}

// begin starts a record.
func (s *shredder) begin() {
	for c, col := range s.columns {
		s.marks[c] = len(col)
	}
	s.rep = 0
	s.lists = s.lists[:0]
}

// rollback removes the values of the record begun last.
func (s *shredder) rollback() {
	for c := range s.columns {
		s.columns[c] = s.columns[c][:s.marks[c]]
	}
}

// reset empties the batch, once parquet-go has copied its values.
func (s *shredder) reset() {
	for c := range s.columns {
		clear(s.columns[c]) // drop the pointers into the arena and elsewhere
		s.columns[c] = s.columns[c][:0]
	}
	s.arena.reset()
}

// element returns the repetition level of the next element of the list of
// n, and counts it.
func (s *shredder) element(n *node) byte {
	top := &s.lists[len(s.lists)-1]
	top.count++
	if top.count == 1 {
		return top.rep
	}
	return n.rep
}

// nulls adds a null at the given levels to every leaf column of n.
func (s *shredder) nulls(n *node, rep, def byte) {
	for c := n.first; c < n.end; c++ {
		v := s.nulls0[c]
		v.SetRepetitionLevel(int(rep))
		v.SetDefinitionLevel(int(def))
		s.columns[c] = append(s.columns[c], v)
	}
}

// leaf adds a value of leaf field f.
func (s *shredder) leaf(f int, v parquet.Value) {
	n := &s.nodes[f]
	rep, def := s.rep, n.def
	if n.repeated {
		rep, def = s.element(n), n.def+2
	}
	v.SetRepetitionLevel(int(rep))
	v.SetDefinitionLevel(int(def))
	v.SetColumnIndex(n.first)
	s.columns[n.first] = append(s.columns[n.first], v)
}

func (s *shredder) Null(f int) {
	n := &s.nodes[f]
	s.nulls(n, s.rep, n.nullDef)
}

func (s *shredder) BeginList(f int) {
	s.lists = append(s.lists, listFrame{rep: s.rep})
}

func (s *shredder) EndList(f int) {
	top := s.lists[len(s.lists)-1]
	s.lists = s.lists[:len(s.lists)-1]
	if top.count == 0 {
		n := &s.nodes[f]
		s.nulls(n, top.rep, n.def) // an empty list
	}
	s.rep = top.rep
}

func (s *shredder) NullElement(f int) {
	n := &s.nodes[f]
	s.nulls(n, s.element(n), n.def+1)
}

func (s *shredder) BeginRecord(f int) {
	if n := &s.nodes[f]; n.repeated {
		// The fields of the element start at the element's level.
		s.rep = s.element(n)
	}
}

func (s *shredder) EndRecord(int) {}

func (s *shredder) Bytes(f int, b []byte) { s.leaf(f, parquet.ByteArrayValue(s.arena.copy(b))) }

// Int64 is an Int64, a Timestamp (microseconds, as the column) or a Date
// (days, as the INT32 column).
func (s *shredder) Int64(f int, v int64) {
	if s.nodes[f].date {
		s.leaf(f, parquet.Int32Value(int32(v)))
		return
	}
	s.leaf(f, parquet.Int64Value(v))
}

func (s *shredder) Double(f int, v float64) { s.leaf(f, parquet.DoubleValue(v)) }
func (s *shredder) Bool(f int, v bool)      { s.leaf(f, parquet.BooleanValue(v)) }

// arena holds copies of the bytes of values until the batch is written.
// Its chunks never move, so values may point into them.
type arena struct {
	chunks [][]byte
	cur    int // chunk being filled
}

const arenaChunk = 64 << 10

func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunk/4 {
		return append([]byte(nil), b...)
	}
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	c := a.chunks[a.cur]
	if cap(c)-len(c) < len(b) {
		a.cur++
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
		}
		c = a.chunks[a.cur]
	}
	start := len(c)
	c = append(c, b...)
	a.chunks[a.cur] = c
	return c[start:len(c):len(c)]
}

// reset lets the chunks be reused, once the values that point into them are
// written.
func (a *arena) reset() {
	for i := range a.chunks[:min(a.cur+1, len(a.chunks))] {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}
