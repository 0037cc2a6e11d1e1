package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// PageSize is the page size of every listing: Asana's maximum.
const PageSize = 100

// maxRestarts bounds how often one listing starts again after its offset
// token expired.
const maxRestarts = 3

// maxStalledPages bounds the pages in a row that bring no record the
// listing did not have (empty, or records listed before) and still point
// to another page. Asana's offsets are positions in a changing list, so a
// few such pages happen when many records move during a listing (a rule
// that moves completed tasks to the end); a listing that brings nothing
// new for longer is a loop.
const maxStalledPages = 10

// maxBadRecords bounds the records without a usable gid that a listing
// names one by one in ListStats.Bad; the rest are counted.
const maxBadRecords = 10

// ListStats describes one finished listing.
type ListStats struct {
	Pages    int // pages requested, restarts included
	Records  int // records handed to the caller
	Restarts int // times the listing began again after a stale offset
	// Bad names records that were dropped because they have no usable gid
	// (missing, not a string, empty), by page and position; BadCount
	// counts them all.
	Bad      []string
	BadCount int
}

// A page is one answer of a collection endpoint (a listing's page, or
// the events API), decoded in one pass of a JSON tokenizer (jsontext):
// the envelope, and for each record its bytes (a slice of the body, as
// Asana sent them), its gid, the few head fields the expander reads
// (head), and where each of its top-level members lies, so that a compact
// twin is cut without parsing the record again.
//
// The tokenizer takes the common shape; anything else (a body that is not
// JSON, an envelope that is not what the endpoint sends, a head field of
// the wrong type, a name that encoding/json would match case-insensitively
// or unescaped, a name twice) is left to encoding/json, which decides as
// it always did: the envelope with the reference decoder below (decodeRef),
// a record's head with refHead, gidOf and EventKey. Errors and odd records
// are rare, so they cost a second parse; the rest costs one.
type page struct {
	Data     []record
	NextPage string // offset of the next page, "" on the last
	Sync     string // of events: the token for the next call
	HasMore  bool   // of events: call again at once with Sync

	p parser
}

// envelope is the shape of an answer.
type envelope int

const (
	listPage  envelope = iota // {"data": [records], "next_page": null or {"offset": …}}
	eventPage                 // {"data": [events], "sync": …, "has_more": …}
	onePage                   // {"data": {record}}: one object (Get)
)

// decode decodes body, the answer of the kind env, into p: "data" must be
// an array of at most MaxPageItems elements (the body limit bounds what
// the pass holds), or of onePage an object; "next_page" null, absent or
// an object with an offset. A body that is not valid JSON is errBadJSON.
// The records of p.Data hold slices of body, and share the parser's arenas
// with the records of the page decoded before: they are valid until the
// next call.
func (p *page) decode(body []byte, env envelope) error {
	p.clear()
	if p.fast(body, env) == nil {
		return nil
	}
	p.clear()
	return p.decodeRef(body, env)
}

func (p *page) clear() {
	p.Data, p.NextPage, p.Sync, p.HasMore = p.Data[:0], "", "", false
	p.p.members, p.p.projects = p.p.members[:0], p.p.projects[:0]
}

// errOdd stops the tokenizer's pass: what it met is left to encoding/json.
var errOdd = errors.New("left to encoding/json")

// fast decodes the common shape of a page in one pass of the tokenizer,
// which checks the whole body's syntax on the way.
func (p *page) fast(body []byte, env envelope) error {
	d := p.p.start(body)
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return errOdd
	}
	var data, next, sync, more bool
	for d.PeekKind() == '"' {
		v, err := d.ReadValue()
		if err != nil {
			return errOdd
		}
		name := v[1 : len(v)-1]
		switch {
		case !plainName(name):
			return errOdd // encoding/json would unescape it
		case string(name) == "data" && !data:
			data = true
			err = p.data(env)
		case env == listPage && string(name) == "next_page" && !next:
			next = true
			p.NextPage, err = p.p.offset()
		case env == eventPage && string(name) == "sync" && !sync:
			sync = true
			p.Sync, err = p.p.optString()
		case env == eventPage && string(name) == "has_more" && !more:
			more = true
			p.HasMore, err = p.p.optBool()
		case envelopeNames[env].folds(name):
			return errOdd // a name twice, or one encoding/json matches case-insensitively
		default:
			_, err = d.ReadValue()
		}
		if err != nil {
			return errOdd
		}
	}
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '}' {
		return errOdd
	}
	if _, err := d.ReadToken(); err != io.EOF || !data {
		return errOdd
	}
	return nil
}

// envelopeNames are the members of each envelope.
var envelopeNames = [...]fieldSet{
	listPage:  newFieldSet(map[string]field{"data": fOther, "next_page": fOther}),
	eventPage: newFieldSet(map[string]field{"data": fOther, "sync": fOther, "has_more": fOther}),
	onePage:   newFieldSet(map[string]field{"data": fOther}),
}

// data reads the value of "data": the records.
func (p *page) data(env envelope) error {
	d := &p.p.dec
	if env == onePage {
		if d.PeekKind() != '{' {
			return errOdd
		}
		r, err := p.p.record(&recordFields)
		p.Data = append(p.Data, r)
		return err
	}
	if d.PeekKind() != '[' {
		return errOdd
	}
	if _, err := d.ReadToken(); err != nil {
		return errOdd
	}
	fields := &recordFields
	if env == eventPage {
		fields = &eventFields
	}
	for k := d.PeekKind(); k != ']'; k = d.PeekKind() {
		if k == 0 || len(p.Data) == MaxPageItems {
			return errOdd
		}
		r, err := p.p.record(fields)
		if err != nil {
			return err
		}
		p.Data = append(p.Data, r)
	}
	_, err := d.ReadToken()
	return err
}

// decodeRef decodes a page with encoding/json, as the paginator did
// before it had a tokenizer: the answer to whatever the tokenizer's pass
// did not take, with the same errors. Each record is then read on its own.
func (p *page) decodeRef(body []byte, env envelope) error {
	raws, err := p.envelopeRef(body, env)
	if err != nil {
		return err
	}
	fields := &recordFields
	if env == eventPage {
		fields = &eventFields
	}
	for _, raw := range raws {
		p.Data = append(p.Data, p.p.parse(raw, fields))
	}
	return nil
}

// envelopeRef decodes the envelope of a page with encoding/json into p,
// and returns the records, each as encoding/json cut it.
func (p *page) envelopeRef(body []byte, env envelope) ([]json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, errBadJSON
	}
	var raws []json.RawMessage
	var err error
	switch env {
	case listPage:
		raws, p.NextPage, err = decodeListRef(body)
	case eventPage:
		raws, p.Sync, p.HasMore, err = decodeEventsRef(body)
	case onePage:
		var one json.RawMessage
		one, err = decodeOneRef(body)
		raws = []json.RawMessage{one}
	}
	return raws, err
}

func decodeListRef(body []byte) (data []json.RawMessage, next string, err error) {
	var env struct {
		Data     *[]json.RawMessage `json:"data"`
		NextPage json.RawMessage    `json:"next_page"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, "", envelopeError(err)
	}
	data, err = records(env.Data, body)
	if err != nil {
		return nil, "", err
	}
	switch jsonKind(env.NextPage) {
	case "missing", "null":
	case "an object":
		var np struct {
			Offset *string `json:"offset"`
		}
		if json.Unmarshal(env.NextPage, &np) != nil || np.Offset == nil {
			return nil, "", &errMalformed{"the response's \"next_page\" has no string offset"}
		}
		next = *np.Offset
	default:
		return nil, "", &errMalformed{fmt.Sprintf("the response's \"next_page\" is %s", jsonKind(env.NextPage))}
	}
	return data, next, nil
}

func decodeEventsRef(body []byte) (events []json.RawMessage, sync string, more bool, err error) {
	var p struct {
		Data    *[]json.RawMessage `json:"data"`
		Sync    string             `json:"sync"`
		HasMore bool               `json:"has_more"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", false, envelopeError(err)
	}
	events, err = records(p.Data, body)
	if err != nil {
		return nil, "", false, err
	}
	return events, p.Sync, p.HasMore, nil
}

func decodeOneRef(body []byte) (json.RawMessage, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &errMalformed{"the response is not an object with \"data\""}
	}
	if d := bytes.TrimSpace(env.Data); len(d) == 0 || d[0] != '{' {
		return nil, &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an object", jsonKind(env.Data))}
	}
	return env.Data, nil
}

// envelopeError describes an answer whose envelope (data, next_page) is
// not what a collection endpoint sends.
func envelopeError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field == "data":
		return &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an array", jsonTypeName(te.Value))}
	case errors.As(err, &te) && strings.HasPrefix(te.Field, "next_page"):
		return &errMalformed{fmt.Sprintf("the response's \"next_page\" is %s", jsonTypeName(te.Value))}
	}
	return &errMalformed{"the response is not an object with \"data\""}
}

// records checks the "data" of a collection answer, decoded as a pointer
// (nil when null or missing), against MaxPageItems.
func records(data *[]json.RawMessage, body []byte) ([]json.RawMessage, error) {
	if data == nil {
		k := "missing"
		if bytes.Contains(body, []byte(`"data"`)) {
			k = "null"
		}
		return nil, &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an array", k)}
	}
	if len(*data) > MaxPageItems {
		return nil, &Error{Kind: KindTransient, Message: fmt.Sprintf("a page holds more than %d records (%d were asked for)", MaxPageItems, PageSize), Err: errGiveUp}
	}
	return *data, nil
}

// jsonTypeName names the JSON type encoding/json reports in an
// UnmarshalTypeError ("object", "number", …) for messages.
func jsonTypeName(v string) string {
	switch v {
	case "object", "array", "array element":
		return "an " + v
	}
	return "a " + v
}

// record is one record of a page, read in the page's pass.
type record struct {
	raw     []byte    // the record: a slice of the body, exactly as Asana sent it
	members []member  // its top-level members; nil when it is not an object
	h       head      // what the pass read of it, unless odd
	read    *fieldSet // the head fields the pass read: recordFields or eventFields
	hasGID  bool      // h.gid was read from a "gid" string
	// odd marks a record the pass cannot read the head of as encoding/json
	// would (a head field of another type, a name twice, a name that needs
	// unescaping or matches only case-insensitively): its head, gid and
	// event key are read from raw with encoding/json.
	odd bool
}

// member is where one top-level member of a record lies in its raw bytes.
type member struct {
	k0, k1 int32 // the name, quotes included
	v0, v1 int32 // the value
	esc    bool  // the name holds an escape or non-ASCII text: unquote it to compare
}

// head is what the expander reads of a record: of a task, what decides its
// owner and its subtask walk; of an event, its key (see EventKey).
type head struct {
	gid         string
	isOrg       bool
	numSubtasks int
	parent      ref // of a task, and of an event
	assignee    ref
	workspace   ref
	projects    [][]byte // their gids

	createdAt, action []byte // of an event
	resource, user    ref
	change            struct {
		set           bool
		field, action []byte
	}
}

// ref is a reference to another object, {"gid": …}: set unless absent or
// null.
type ref struct {
	set bool
	gid []byte
}

// id returns the record's gid, or why it has none that is usable: missing,
// not a string, empty.
func (r *record) id() (string, error) {
	if !r.odd && r.hasGID && strings.TrimSpace(r.h.gid) != "" {
		return r.h.gid, nil
	}
	return gidOf(r.raw)
}

// field names a head field the pass decodes.
type field uint8

const (
	fOther field = iota
	fGID
	fIsOrg
	fNumSubtasks
	fParent
	fAssignee
	fWorkspace
	fProjects
	fCreatedAt
	fAction
	fResource
	fUser
	fChange
)

// fieldSet is the members of an object the pass reads.
type fieldSet struct{ names map[string]field }

func newFieldSet(m map[string]field) fieldSet { return fieldSet{m} }

// folds tells whether encoding/json would take name, which is plain ASCII
// (see plainName), for one of the set's: the same but for case.
func (s *fieldSet) folds(name []byte) bool {
	var b [32]byte
	if len(name) > len(b) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	_, ok := s.names[string(b[:len(name)])]
	return ok
}

var (
	// recordFields are read of every record: the members of the head's
	// reference decoding (emit, owns, subtasks).
	recordFields = fieldsOf(reflect.TypeFor[headJSON](), map[string]field{"GID": fGID, "IsOrg": fIsOrg,
		"NumSubtasks": fNumSubtasks, "Parent": fParent, "Assignee": fAssignee, "Workspace": fWorkspace, "Projects": fProjects})
	// eventFields are read of an event: the members of EventKey's.
	eventFields = fieldsOf(reflect.TypeFor[eventJSON](), map[string]field{"CreatedAt": fCreatedAt, "Action": fAction,
		"Resource": fResource, "User": fUser, "Parent": fParent, "Change": fChange})
)

// fieldsOf returns the members of the reference struct t (embedded
// structs flattened) that the pass reads: each field's JSON name, as the
// head field byGo maps its Go name to.
func fieldsOf(t reflect.Type, byGo map[string]field) fieldSet {
	s := fieldSet{names: map[string]field{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			maps.Copy(s.names, fieldsOf(sf.Type, byGo).names)
			continue
		}
		f, ok := byGo[sf.Name]
		if !ok {
			panic("asana: no head field for " + t.String() + "." + sf.Name)
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		s.names[name] = f
	}
	return s
}

// parser is the tokenizer of a page, with the arenas its records' members
// and project gids are kept in.
type parser struct {
	dec      jsontext.Decoder
	buf      bytes.Buffer
	body     []byte
	members  []member
	projects [][]byte
}

// Options of the tokenizer: what encoding/json accepts (a name twice,
// invalid UTF-8 in strings, which sanitize repairs later).
var tokenizerOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// start points the tokenizer at body, which it reads in place.
func (p *parser) start(body []byte) *jsontext.Decoder {
	p.body = body
	p.buf = *bytes.NewBuffer(body)
	p.dec.Reset(&p.buf, tokenizerOptions...)
	return &p.dec
}

// span returns the n bytes the tokenizer just read, as a slice of the body.
func (p *parser) span(n int) (b []byte, start, end int) {
	end = int(p.dec.InputOffset())
	return p.body[end-n : end : end], end - n, end
}

// parse reads raw, one record that encoding/json decoded, on its own.
func (p *parser) parse(raw []byte, fields *fieldSet) record {
	d := p.start(raw)
	r, err := p.record(fields)
	if err == nil {
		if _, err = d.ReadToken(); err == io.EOF {
			return r
		}
	}
	return record{raw: raw, odd: true}
}

// parseRecord reads raw, one record, on its own.
func parseRecord(raw []byte, fields *fieldSet) record {
	var p parser
	return p.parse(raw, fields)
}

// record reads the next value, an element of "data": its extent, and of
// an object its members and the head fields of fields.
func (p *parser) record(fields *fieldSet) (record, error) {
	d := &p.dec
	if d.PeekKind() != '{' {
		v, err := d.ReadValue()
		if err != nil {
			return record{}, errOdd
		}
		raw, _, _ := p.span(len(v))
		return record{raw: raw, odd: true}, nil
	}
	if _, err := d.ReadToken(); err != nil {
		return record{}, errOdd
	}
	start := int(d.InputOffset()) - 1
	var r record
	var seen uint32
	m0 := len(p.members)
	for d.PeekKind() == '"' {
		v, err := d.ReadValue()
		if err != nil {
			return record{}, errOdd
		}
		_, k0, k1 := p.span(len(v))
		m := member{k0: int32(k0 - start), k1: int32(k1 - start)}
		name := v[1 : len(v)-1]
		f := fOther
		switch {
		case !plainName(name):
			m.esc, r.odd = true, true
		default:
			var ok bool
			if f, ok = fields.names[string(name)]; !ok {
				r.odd = r.odd || fields.folds(name)
			} else if seen&(1<<f) != 0 {
				f, r.odd = fOther, true
			} else {
				seen |= 1 << f
			}
		}
		v0, v1, err := p.value(f, &r)
		if err != nil {
			return record{}, errOdd
		}
		m.v0, m.v1 = int32(v0-start), int32(v1-start)
		p.members = append(p.members, m)
	}
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '}' {
		return record{}, errOdd
	}
	end := int(d.InputOffset())
	r.raw, r.read = p.body[start:end:end], fields
	r.members = p.members[m0:len(p.members):len(p.members)]
	return r, nil
}

// value reads the value of a member, decoding it into r's head when f
// names a head field, and returns where it lies in the body.
func (p *parser) value(f field, r *record) (v0, v1 int, err error) {
	d := &p.dec
	h := &r.h
	switch k := d.PeekKind(); {
	case k == '{' && f == fChange:
		var fa [2][]byte
		v0, v1, err = p.object(changeNames, &fa, r)
		h.change.set, h.change.field, h.change.action = true, fa[0], fa[1]
		return v0, v1, err
	case k == '{' && (f == fParent || f == fAssignee || f == fWorkspace || f == fResource || f == fUser):
		var gid [2][]byte
		v0, v1, err = p.object(gidName, &gid, r)
		*h.ref(f) = ref{set: true, gid: gid[0]}
		return v0, v1, err
	case k == '[' && f == fProjects:
		return p.projectsArray(r)
	}
	v, err := d.ReadValue()
	if err != nil {
		return 0, 0, err
	}
	v, v0, v1 = p.span(len(v))
	switch f {
	case fOther:
	case fGID, fCreatedAt, fAction:
		s, ok := plainString(v)
		switch {
		case !ok:
			r.odd = true
		case f == fGID:
			h.gid, r.hasGID = string(s), true
		case f == fCreatedAt:
			h.createdAt = s
		default:
			h.action = s
		}
	case fIsOrg:
		switch v[0] {
		case 't', 'f':
			h.isOrg = v[0] == 't'
		default:
			r.odd = true
		}
	case fNumSubtasks:
		n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
		if err != nil {
			r.odd = true // not an integer: encoding/json says what
		}
		h.numSubtasks = int(n)
	default:
		// A reference, the projects, a change: null is absent, anything
		// else is not what encoding/json decodes there.
		if v[0] != 'n' {
			r.odd = true
		}
	}
	return v0, v1, nil
}

// ref returns the reference field f of h.
func (h *head) ref(f field) *ref {
	switch f {
	case fParent:
		return &h.parent
	case fAssignee:
		return &h.assignee
	case fWorkspace:
		return &h.workspace
	case fResource:
		return &h.resource
	}
	return &h.user
}

// The members read of the objects within a record.
var (
	gidName     = []string{"gid"}
	changeNames = []string{"field", "action"}
	offsetName  = []string{"offset"}
)

// object reads an object whose string members named in names (at most
// two) go to out. A member that encoding/json would read differently (not
// a plain string, twice, a name to unescape or that matches only
// case-insensitively) makes r odd.
func (p *parser) object(names []string, out *[2][]byte, r *record) (v0, v1 int, err error) {
	d := &p.dec
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	v0 = int(d.InputOffset()) - 1
	var seen [2]bool
	for d.PeekKind() == '"' {
		v, err := d.ReadValue()
		if err != nil {
			return 0, 0, err
		}
		name := v[1 : len(v)-1]
		i := -1
		if !plainName(name) {
			r.odd = true
		} else {
			for j, n := range names {
				if string(name) == n {
					i = j
				} else if foldsTo(name, n) {
					r.odd = true
				}
			}
		}
		if v, err = d.ReadValue(); err != nil {
			return 0, 0, err
		}
		if i < 0 {
			continue
		}
		v, _, _ = p.span(len(v))
		s, ok := plainString(v)
		if !ok || seen[i] {
			r.odd = true
		}
		seen[i], out[i] = true, s
	}
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	return v0, int(d.InputOffset()), nil
}

// foldsTo tells whether name, plain ASCII, is n but for case.
func foldsTo(name []byte, n string) bool {
	if len(name) != len(n) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != n[i] {
			return false
		}
	}
	return true
}

// projectsArray reads a task's projects, [{"gid": …}, …].
func (p *parser) projectsArray(r *record) (v0, v1 int, err error) {
	d := &p.dec
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	v0 = int(d.InputOffset()) - 1
	a := len(p.projects)
	for k := d.PeekKind(); k != ']'; k = d.PeekKind() {
		switch k {
		case '{':
			var gid [2][]byte
			if _, _, err := p.object(gidName, &gid, r); err != nil {
				return 0, 0, err
			}
			p.projects = append(p.projects, gid[0])
		case 'n': // a null element decodes as a project without a gid
			if _, err := d.ReadValue(); err != nil {
				return 0, 0, err
			}
			p.projects = append(p.projects, nil)
		case 0:
			return 0, 0, errOdd
		default:
			if _, err := d.ReadValue(); err != nil {
				return 0, 0, err
			}
			r.odd = true
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	r.h.projects = p.projects[a:len(p.projects):len(p.projects)]
	return v0, int(d.InputOffset()), nil
}

// offset reads the value of "next_page": null, or an object with a string
// offset.
func (p *parser) offset() (string, error) {
	d := &p.dec
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadValue()
		return "", err
	case '{':
	default:
		return "", errOdd
	}
	var r record
	var off [2][]byte
	if _, _, err := p.object(offsetName, &off, &r); err != nil || r.odd || off[0] == nil {
		return "", errOdd
	}
	return string(off[0]), nil
}

// optString reads a string or null.
func (p *parser) optString() (string, error) {
	v, err := p.dec.ReadValue()
	if err != nil || v[0] == 'n' {
		return "", err
	}
	s, ok := plainString(v)
	if !ok {
		return "", errOdd
	}
	return string(s), nil
}

// optBool reads a boolean or null.
func (p *parser) optBool() (bool, error) {
	v, err := p.dec.ReadValue()
	if err != nil {
		return false, err
	}
	switch v[0] {
	case 't', 'f', 'n':
		return v[0] == 't', nil
	}
	return false, errOdd
}

// plainName tells whether an object's name (without its quotes) is printable
// ASCII without escapes: what encoding/json compares as it is.
func plainName(name []byte) bool {
	for _, c := range name {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainString returns the text of a JSON string that holds no escape and
// only valid UTF-8, which encoding/json decodes to the same bytes.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	ascii := true
	for _, c := range s {
		if c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return s, ascii || utf8.Valid(s)
}

// List walks every page of a collection endpoint, GET path?q with
// limit=100 (less for pages over MaxBodyBytes) and Asana's offset tokens, and calls fn with the records of each
// page in order. Pass opt_fields in q so that the records are full.
//
// When Asana rejects an offset as expired, the listing starts again from
// the first page and records already handed to fn are skipped, so fn sees
// each gid once. A listing that would never end (an offset handed out
// twice, or a page of records all listed before) fails as a lost listing;
// a record without a usable gid is dropped and named in the stats. An
// error from fn stops the listing and is returned as is.
//
// The records handed to fn are slices of the page's body: fn may keep
// them, but not write to them.
func (c *Client) List(ctx context.Context, path string, q url.Values, fn func([]json.RawMessage) error) (ListStats, error) {
	return c.list(ctx, path, q, func(recs []record) error {
		raws := make([]json.RawMessage, len(recs))
		for i := range recs {
			raws[i] = recs[i].raw
		}
		return fn(raws)
	})
}

// list is List handing over the records as the page's pass read them;
// they are valid until fn returns.
func (c *Client) list(ctx context.Context, path string, q url.Values, fn func([]record) error) (ListStats, error) {
	var st ListStats
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", fmt.Sprint(PageSize))
	q.Del("offset")
	seen := map[string]struct{}{}
	// Of this pass (since the first page or the last restart): the
	// offsets followed and the gids read.
	offsets := map[string]bool{}
	passSeen := map[string]struct{}{}
	var p page
	stalled := 0 // pages in a row without a new record
	loop := func(format string, args ...any) error {
		return &Error{Kind: KindTransient, Request: describe(path, q), Message: fmt.Sprintf(format, args...) + "; the listing would never end", Err: errGiveUp}
	}
	for pageNo := 1; ; pageNo++ {
		st.Pages++
		err := c.fetch(ctx, path, q, func(body []byte) error { return p.decode(body, listPage) }, false)
		if limit := q.Get("limit"); errors.Is(err, errTooLarge) && limit != "1" {
			// Pages of large records (a task with thousands of custom field
			// options): the same page again, with half as many.
			n, _ := strconv.Atoi(limit)
			q.Set("limit", strconv.Itoa(max(1, n/2)))
			c.log.Warn("a page is over the body limit, asking for fewer records", "request", describe(path, q), "limit", q.Get("limit"))
			pageNo--
			continue
		}
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == KindStaleOffset && q.Has("offset") && st.Restarts < maxRestarts {
			st.Restarts++
			c.log.Warn("offset expired, listing again from the first page",
				"request", ae.Request, "message", ae.Message, "restart", st.Restarts)
			q.Del("offset")
			clear(offsets)
			clear(passSeen)
			pageNo, stalled = 0, 0
			continue
		}
		if err != nil {
			return st, err
		}
		// The records kept, in place: each is read before it is overwritten.
		records := p.Data[:0]
		fresh := 0
		for i := range p.Data {
			gid, err := p.Data[i].id()
			if err != nil {
				st.BadCount++
				if len(st.Bad) < maxBadRecords {
					st.Bad = append(st.Bad, fmt.Sprintf("page %d, record %d: %v", pageNo, i+1, err))
				}
				continue
			}
			if _, again := passSeen[gid]; !again {
				fresh++
				passSeen[gid] = struct{}{}
			}
			if _, dup := seen[gid]; dup {
				continue
			}
			seen[gid] = struct{}{}
			records = append(records, p.Data[i])
		}
		st.Records += len(records)
		if len(records) > 0 {
			if err := fn(records); err != nil {
				return st, err
			}
		}
		if p.NextPage == "" {
			return st, nil
		}
		if fresh == 0 {
			stalled++
		} else {
			stalled = 0
		}
		if offsets[p.NextPage] {
			return st, loop("page %d points back to a page already read (offset repeated)", pageNo)
		}
		if stalled > maxStalledPages {
			return st, loop("%d pages in a row hold no record that earlier pages did not, and point to another page", stalled)
		}
		offsets[p.NextPage] = true
		q.Set("offset", p.NextPage)
	}
}

// gidOf reads a record's gid with encoding/json. Every Asana object has
// one, except events, which the events API returns without pages.
func gidOf(rec json.RawMessage) (string, error) {
	var r struct {
		GID json.RawMessage `json:"gid"`
	}
	if err := json.Unmarshal(rec, &r); err != nil {
		return "", fmt.Errorf("not a JSON object but %s", jsonKind(rec))
	}
	var gid string
	if err := json.Unmarshal(r.GID, &gid); err != nil || strings.TrimSpace(gid) == "" {
		return "", fmt.Errorf("no usable gid (it is %s)", gidKind(r.GID))
	}
	return gid, nil
}

func gidKind(v json.RawMessage) string {
	if k := jsonKind(v); k != "a string" {
		return k
	}
	return "an empty string"
}

// EventsPage is one answer of the events API.
type EventsPage struct {
	Events  []json.RawMessage
	Sync    string // token for the next call
	HasMore bool   // call again at once with Sync
}

// Events reads the events of resource (a project or task) since sync. With
// no sync, or an expired one, Asana answers 412 and a fresh token: Events
// returns an *Error of KindSyncToken whose Sync field holds it; events
// begin after that token was issued.
func (c *Client) Events(ctx context.Context, resource, sync string, q url.Values) (EventsPage, error) {
	var p page
	if err := c.events(ctx, resource, sync, q, &p); err != nil {
		return EventsPage{}, err
	}
	ep := EventsPage{Events: make([]json.RawMessage, len(p.Data)), Sync: p.Sync, HasMore: p.HasMore}
	for i := range p.Data {
		ep.Events[i] = p.Data[i].raw
	}
	return ep, nil
}

// events is Events decoding the answer into p, each event read in the
// page's pass.
func (c *Client) events(ctx context.Context, resource, sync string, q url.Values, p *page) error {
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("resource", resource)
	if sync != "" {
		q.Set("sync", sync)
	}
	return c.fetch(ctx, "/events", q, func(body []byte) error { return p.decode(body, eventPage) }, false)
}

// one fetches one object, GET path?q, whose answer's "data" must be an
// object: Get, read in one pass as a page's records are.
func (c *Client) one(ctx context.Context, path string, q url.Values) (record, error) {
	var p page
	if err := c.fetch(ctx, path, q, func(body []byte) error { return p.decode(body, onePage) }, false); err != nil {
		return record{}, err
	}
	return p.Data[0], nil
}
