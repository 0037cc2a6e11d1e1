package asanatest

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Rendering: every resource type is a *kind, an ordered list of fields
// taken from the spec's XResponse schema. A field's getter returns a val;
// nested objects carry their own kind, so a projection (proj) can be
// applied recursively without building maps.

type valType uint8

const (
	vNull valType = iota
	vStr
	vNum
	vInt
	vBool
	vObj
	vArr
)

type val struct {
	t valType
	b bool
	s string
	n float64
	i int64
	k *kind
	o any
	a []val
}

var null = val{}

func str(s string) val { return val{t: vStr, s: s} }

// strN is a string that is null when empty.
func strN(s string) val {
	if s == "" {
		return null
	}
	return val{t: vStr, s: s}
}

func num(f float64) val   { return val{t: vNum, n: f} }
func integer(i int64) val { return val{t: vInt, i: i} }
func boolean(b bool) val  { return val{t: vBool, b: b} }

// ts renders a millisecond timestamp; 0 is null.
func ts(ms int64) val {
	if ms == 0 {
		return null
	}
	return val{t: vStr, s: formatTS(ms)}
}

// date renders a day number; 0 is null.
func date(d int32) val {
	if d == 0 {
		return null
	}
	return val{t: vStr, s: formatDate(d)}
}

func formatTS(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func formatDate(d int32) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02")
}

func obj(k *kind, o any) val { return val{t: vObj, k: k, o: o} }

func arr(a []val) val {
	if a == nil {
		a = []val{}
	}
	return val{t: vArr, a: a}
}

func strs(ss []string) val {
	a := make([]val, len(ss))
	for i, s := range ss {
		a[i] = str(s)
	}
	return arr(a)
}

// objs maps a slice of entity pointers to an array of objects of kind k.
func objs[T any](k *kind, xs []*T) val {
	a := make([]val, len(xs))
	for i, x := range xs {
		a[i] = obj(k, x)
	}
	return arr(a)
}

// ref returns an object value, or null for a nil pointer.
func ref[T any](k *kind, p *T) val {
	if p == nil {
		return null
	}
	return obj(k, p)
}

// ---- projections ----

type projMode uint8

const (
	pCompact  projMode = iota // the kind's compact representation
	pFull                     // the full record without [Opt In] fields
	pAll                      // the full record with [Opt In] fields
	pExplicit                 // gid plus named fields (opt_fields)
)

// proj says which fields of an object to render.
type proj struct {
	mode  projMode
	leaf  bool             // pExplicit: the path itself was also named, so include the compact fields
	names map[string]*proj // pExplicit: child projections (nil = compact)

	// sel caches, per kind, the fields an explicit projection selects.
	// Projections parsed from opt_fields belong to one request, so the
	// cache needs no lock; shared projections (projNamed) do not use it.
	sel    map[*kind][]selected
	shared bool
}

type selected struct {
	f   *field
	sub *proj
}

// selectFields resolves an explicit projection against a kind.
func (p *proj) selectFields(k *kind) []selected {
	if s, ok := p.sel[k]; ok {
		return s
	}
	var out []selected
	for _, f := range k.fields {
		sub, ok := p.names[f.name]
		if ok || f.name == "gid" || p.leaf && f.compact {
			out = append(out, selected{f, sub})
		}
	}
	if !p.shared {
		if p.sel == nil {
			p.sel = map[*kind][]selected{}
		}
		p.sel[k] = out
	}
	return out
}

var (
	projCompact = &proj{mode: pCompact}
	projFull    = &proj{mode: pFull}
	projAll     = &proj{mode: pAll}
	projNamed   = &proj{mode: pExplicit, names: map[string]*proj{"resource_type": nil, "name": nil}, shared: true}
)

// ---- kinds ----

type field struct {
	name    string
	compact bool  // part of the compact representation
	optIn   bool  // omitted from the default full record
	fullSub *proj // child projection inside full records (nil = compact)
	get     func(c *rctx, o any) val
}

// C marks the field as part of the compact representation.
func (f *field) C() *field { f.compact = true; return f }

// Opt marks an [Opt In] field.
func (f *field) Opt() *field { f.optIn = true; return f }

// Full renders nested objects with their full record inside full records.
func (f *field) Full() *field { f.fullSub = projFull; return f }

// Sub sets the nested projection used inside full records.
func (f *field) Sub(p *proj) *field { f.fullSub = p; return f }

// fld makes a field whose getter receives the concrete object type.
func fld[T any](name string, get func(c *rctx, o T) val) *field {
	return &field{name: name, get: func(c *rctx, o any) val { return get(c, o.(T)) }}
}

type kind struct {
	name   string // resource_type; "" for inline objects
	hasGID bool
	// immutable marks kinds whose compact representation never changes
	// at runtime; it is rendered once per object and cached.
	immutable bool
	fields    []*field
	byName    map[string]*field
	compact   []*field
	full      []*field
}

func newKind(name string, fs ...*field) *kind {
	k := &kind{name: name, fields: fs, byName: map[string]*field{}}
	for _, f := range fs {
		k.byName[f.name] = f
		if f.name == "gid" {
			k.hasGID = true
		}
		if f.compact {
			k.compact = append(k.compact, f)
		}
		if !f.optIn {
			k.full = append(k.full, f)
		}
	}
	return k
}

// rctx is the per-request rendering context.
type rctx struct {
	s   *Sim
	me  *user
	now int64 // simulated ms
}

// ---- JSON writer ----

type jw struct {
	b []byte
	c *rctx
}

func (w *jw) str(s string) { w.b = appendJSONString(w.b, s) }

func (w *jw) value(v val, p *proj) {
	switch v.t {
	case vNull:
		w.b = append(w.b, "null"...)
	case vStr:
		w.str(v.s)
	case vNum:
		w.b = strconv.AppendFloat(w.b, v.n, 'f', -1, 64)
	case vInt:
		w.b = strconv.AppendInt(w.b, v.i, 10)
	case vBool:
		w.b = strconv.AppendBool(w.b, v.b)
	case vObj:
		if v.o == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.object(v.k, v.o, p)
	case vArr:
		w.b = append(w.b, '[')
		for i, e := range v.a {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.value(e, p)
		}
		w.b = append(w.b, ']')
	}
}

// object renders o (of kind k) with projection p (nil = compact).
func (w *jw) object(k *kind, o any, p *proj) {
	if p == nil {
		p = projCompact
	}
	if p == projCompact && k.immutable && w.c != nil && w.c.s != nil {
		cache := &w.c.s.compactCache
		if b, ok := cache.Load(o); ok {
			w.b = append(w.b, b.([]byte)...)
			return
		}
		start := len(w.b)
		w.render(k, o, p)
		cache.Store(o, append([]byte(nil), w.b[start:]...))
		return
	}
	w.render(k, o, p)
}

func (w *jw) render(k *kind, o any, p *proj) {
	w.b = append(w.b, '{')
	n := 0
	emit := func(f *field, sub *proj) {
		if n > 0 {
			w.b = append(w.b, ',')
		}
		n++
		w.str(f.name)
		w.b = append(w.b, ':')
		w.value(f.get(w.c, o), sub)
	}
	switch p.mode {
	case pCompact:
		for _, f := range k.compact {
			emit(f, nil)
		}
	case pFull:
		for _, f := range k.full {
			emit(f, f.fullSub)
		}
	case pAll:
		for _, f := range k.fields {
			sub := f.fullSub
			if sub == projFull {
				sub = projAll
			}
			emit(f, sub)
		}
	case pExplicit:
		for _, s := range p.selectFields(k) {
			emit(s.f, s.sub)
		}
	}
	w.b = append(w.b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
