package airbyte

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// InputError is a bad catalog or state file; Field names the part at fault.
type InputError struct {
	File    string // "catalog" or "state"
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid %s: %s", e.File, e.Message)
	}
	return fmt.Sprintf("invalid %s: %s: %s", e.File, e.Field, e.Message)
}

// protocolSyncModes are the sync modes of the Airbyte protocol.
var protocolSyncModes = []string{FullRefresh, Incremental}

// destinationSyncModes are the destination sync modes of the Airbyte
// protocol (DestinationSyncMode).
var destinationSyncModes = []string{"append", "overwrite", "append_dedup", "update", "soft_delete"}

// ParseCatalog decodes a ConfiguredAirbyteCatalog and checks it against
// the streams this source has (known) and the sync modes it reads
// (syncModes, the first its usual one), the same for every stream: see
// [ParseConfiguredCatalog], which reads each stream's modes from the
// catalog discover lists.
func ParseCatalog(data []byte, known func(stream string) bool, syncModes ...string) (*ConfiguredCatalog, error) {
	return parseCatalog(data, func(name string) (Stream, bool) {
		if !known(name) {
			return Stream{}, false
		}
		return Stream{Name: name, SupportedSyncModes: syncModes}, true
	})
}

// ParseConfiguredCatalog decodes a ConfiguredAirbyteCatalog and checks
// it against discovered, the catalog discover lists: each configured
// stream must be one of its streams, configured once.
//
// A stream that supports the sync mode it is configured in is read in
// it. Configured incremental, its cursor_field must be empty or the
// stream's default cursor (the source defines its cursors).
//
// A stream configured in a sync mode of the protocol that it does not
// support is accepted, to be read in its first supported mode (full
// refresh), as Airbyte's Python CDK reads an incremental stream that has
// no cursor in full: clients such as PyAirbyte configure every stream
// incremental unless told otherwise. Its SyncMode stays as configured,
// so that the caller can say how it reads it (see [Stream.Supports]),
// and its cursor_field is not looked at. A sync mode outside the
// protocol is an error, and so is a destination_sync_mode outside the
// protocol in any stream; an empty one is the protocol's default
// (append).
//
// Every error is an *InputError naming the field, such as
// streams[2].cursor_field.
func ParseConfiguredCatalog(data []byte, discovered *Catalog) (*ConfiguredCatalog, error) {
	byName := map[string]Stream{}
	if discovered != nil {
		for _, s := range discovered.Streams {
			byName[s.Name] = s
		}
	}
	return parseCatalog(data, func(name string) (Stream, bool) {
		s, ok := byName[name]
		return s, ok
	})
}

// parseCatalog decodes a configured catalog; stream returns what the
// source offers for a stream of that name, or false if it has none.
func parseCatalog(data []byte, stream func(name string) (Stream, bool)) (*ConfiguredCatalog, error) {
	bad := func(field, format string, args ...any) error {
		return &InputError{File: "catalog", Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, bad("", "the file is empty; it must be a JSON object with \"streams\"")
	}
	var raw struct {
		Streams *[]json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, bad(te.Field, "must be %s, got %s", jsonType(te.Type), te.Value)
		}
		return nil, bad("", "not a JSON object: %s", describeJSONError(err))
	}
	if raw.Streams == nil {
		return nil, bad("streams", "missing")
	}
	var cat ConfiguredCatalog
	seen := map[string]int{}
	for i, rs := range *raw.Streams {
		field := fmt.Sprintf("streams[%d]", i)
		var cs ConfiguredStream
		if err := json.Unmarshal(rs, &cs); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, bad(field+"."+te.Field, "must be %s, got %s", jsonType(te.Type), te.Value)
			}
			return nil, bad(field, "not a configured stream: %s", describeJSONError(err))
		}
		name := cs.Stream.Name
		if name == "" {
			return nil, bad(field+".stream.name", "missing")
		}
		offered, ok := stream(name)
		if !ok {
			return nil, bad(field+".stream.name", "unknown stream %q", name)
		}
		if j, dup := seen[name]; dup {
			return nil, bad(field+".stream.name", "stream %q is configured twice (also streams[%d])", name, j)
		}
		seen[name] = i
		modes := offered.SupportedSyncModes
		if cs.SyncMode == "" {
			return nil, bad(field+".sync_mode", "missing; use %s", strings.Join(modes, " or "))
		}
		if !offered.Supports(cs.SyncMode) && !(slices.Contains(protocolSyncModes, cs.SyncMode) && len(modes) > 0) {
			return nil, bad(field+".sync_mode", "%q is not supported for %s; use %s", cs.SyncMode, name, strings.Join(modes, " or "))
		}
		if cs.SyncMode == Incremental && offered.Supports(Incremental) && len(cs.CursorField) > 0 &&
			!slices.Equal(cs.CursorField, offered.DefaultCursorField) {
			if len(offered.DefaultCursorField) == 0 {
				return nil, bad(field+".cursor_field", "%s is not a cursor of %s: the source defines its cursor; leave cursor_field empty", quotePath(cs.CursorField), name)
			}
			return nil, bad(field+".cursor_field", "%s is not the cursor of %s: the source defines it as %s; leave cursor_field empty or set it to that",
				quotePath(cs.CursorField), name, quotePath(offered.DefaultCursorField))
		}
		if d := cs.DestinationSyncMode; d != "" && !slices.Contains(destinationSyncModes, d) {
			return nil, bad(field+".destination_sync_mode", "%q is not a destination sync mode of the Airbyte protocol; use %s", d, strings.Join(destinationSyncModes, ", "))
		}
		cat.Streams = append(cat.Streams, cs)
	}
	if len(cat.Streams) == 0 {
		return nil, bad("streams", "empty: configure at least one stream")
	}
	return &cat, nil
}

// quotePath shows a field path as JSON: ["modified_at"].
func quotePath(p []string) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// Supports reports whether the stream can be read in sync mode mode.
func (s Stream) Supports(mode string) bool { return slices.Contains(s.SupportedSyncModes, mode) }

// WithIncremental returns s offered in incremental sync too, with the
// cursor the source defines (a path, usually one field: "modified_at"),
// as Airbyte's acceptance tests want an incremental stream:
// source_defined_cursor, default_cursor_field and is_resumable. The
// cursor must be a property of the stream's schema.
func (s Stream) WithIncremental(cursor ...string) Stream {
	if !s.Supports(FullRefresh) {
		s.SupportedSyncModes = append(slices.Clip(s.SupportedSyncModes), FullRefresh)
	}
	if !s.Supports(Incremental) {
		s.SupportedSyncModes = append(slices.Clip(s.SupportedSyncModes), Incremental)
	}
	s.SourceDefinedCursor = true
	s.DefaultCursorField = slices.Clone(cursor)
	s.IsResumable = true
	return s
}

// deletedAtSchema is the schema of DeletedAtField.
const deletedAtSchema = `{"description":"When the record was deleted in Asana: set only on the tombstone of a deleted record, which carries its primary key, so that append_dedup destinations drop the row (Airbyte's CDC convention); null on a live record.","type":["null","string"],"format":"date-time"}`

// WithDeletedAt returns the JSON schema of a stream with the nullable
// date-time property _ab_cdc_deleted_at added last to its properties,
// everything else as it was, in its order: the schema a catalog lists
// for a stream whose deletions a sync emits as tombstones. The schema
// must be a JSON object that has no such property yet.
func WithDeletedAt(schema json.RawMessage) (json.RawMessage, error) {
	top, err := objectMembers(schema)
	if err != nil {
		return nil, fmt.Errorf("adding %s to a schema: %w", DeletedAtField, err)
	}
	i := slices.IndexFunc(top, func(m member) bool { return m.name == "properties" })
	if i < 0 {
		top = append(top, member{name: "properties", value: jsontext.Value("{}")})
		i = len(top) - 1
	}
	props, err := objectMembers(top[i].value)
	if err != nil {
		return nil, fmt.Errorf("adding %s to a schema: properties: %w", DeletedAtField, err)
	}
	if slices.ContainsFunc(props, func(m member) bool { return m.name == DeletedAtField }) {
		return nil, fmt.Errorf("adding %s to a schema: it has that property already", DeletedAtField)
	}
	props = append(props, member{name: DeletedAtField, value: jsontext.Value(deletedAtSchema)})
	if top[i].value, err = encodeMembers(props); err != nil {
		return nil, fmt.Errorf("adding %s to a schema: %w", DeletedAtField, err)
	}
	out, err := encodeMembers(top)
	if err != nil {
		return nil, fmt.Errorf("adding %s to a schema: %w", DeletedAtField, err)
	}
	return json.RawMessage(out), nil
}

// member is a name and value of a JSON object.
type member struct {
	name  string
	value jsontext.Value
}

// objectMembers returns the members of a JSON object, in order. Invalid
// JSON, duplicate names and anything but one object are errors.
func objectMembers(b []byte) ([]member, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if tok.Kind() != '{' {
		return nil, fmt.Errorf("must be a JSON object, got %s", jsonKind(byte(tok.Kind())))
	}
	var out []member
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		name := tok.String() // before the next read voids tok
		v, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		out = append(out, member{name: name, value: v.Clone()})
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return out, nil
}

// encodeMembers writes a JSON object of members, in order.
func encodeMembers(ms []member) (jsontext.Value, error) {
	var buf bytes.Buffer
	enc := jsontext.NewEncoder(&buf)
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := enc.WriteToken(jsontext.String(m.name)); err != nil {
			return nil, err
		}
		if err := enc.WriteValue(m.value); err != nil {
			return nil, err
		}
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// ParseState checks a state file: an array of AirbyteStateMessages, a
// legacy object, or null. Full-refresh streams keep no state, so its
// content is only checked, not used.
func ParseState(data []byte) ([]json.RawMessage, error) {
	bad := func(field, format string, args ...any) error {
		return &InputError{File: "state", Field: field, Message: fmt.Sprintf(format, args...)}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	switch data[0] {
	case '[':
		var msgs []json.RawMessage
		if err := json.Unmarshal(data, &msgs); err != nil {
			return nil, bad("", "not a JSON array of state messages: %s", describeJSONError(err))
		}
		for i, m := range msgs {
			var sm struct {
				Type string `json:"type"`
			}
			if string(m) == "null" {
				return nil, bad(fmt.Sprintf("[%d]", i), "not a state message: found null")
			}
			if err := json.Unmarshal(m, &sm); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) && te.Field != "" {
					return nil, bad(fmt.Sprintf("[%d].%s", i, te.Field), "must be %s, got %s", jsonType(te.Type), te.Value)
				}
				return nil, bad(fmt.Sprintf("[%d]", i), "not a state message: %s", describeJSONError(err))
			}
			switch sm.Type {
			case "STREAM", "GLOBAL", "LEGACY", "":
			default:
				return nil, bad(fmt.Sprintf("[%d].type", i), "must be STREAM, GLOBAL or LEGACY, got %q", sm.Type)
			}
		}
		return msgs, nil
	case '{':
		if !json.Valid(data) {
			return nil, bad("", "not valid JSON")
		}
		return []json.RawMessage{data}, nil
	}
	return nil, bad("", "must be a JSON array of state messages or an object")
}

// ParseStreamStates reads a state file as this source writes it: an
// array of STREAM state messages, one per stream. It returns each
// stream's stream_state by stream name, as raw JSON for the source to
// read (a state blob is the source's own business); a stream whose
// stream_state is null (Airbyte's "reset this stream") is left out, as
// one without state. No state (an empty file, null, [] or {}) is an
// empty map.
//
// A LEGACY state (a legacy object, or a message with type LEGACY or
// none), a GLOBAL state, a stream descriptor with a namespace (this
// source's streams have none), a stream_state that is not an object and
// a stream with two states are each an *InputError naming the field,
// such as [3].stream.stream_descriptor.name.
func ParseStreamStates(data []byte) (map[string]json.RawMessage, error) {
	bad := func(field, format string, args ...any) error {
		return &InputError{File: "state", Field: field, Message: fmt.Sprintf(format, args...)}
	}
	msgs, err := ParseState(data)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	if data = bytes.TrimSpace(data); len(data) > 0 && data[0] == '{' {
		var legacy map[string]json.RawMessage
		if json.Unmarshal(data, &legacy) == nil && len(legacy) == 0 {
			return out, nil
		}
		return nil, bad("", "a LEGACY state (one object for the whole connection) is not supported: this source keeps a STREAM state per stream; clear the connection's state to sync in full")
	}
	seen := map[string]int{}
	for i, m := range msgs {
		at := fmt.Sprintf("[%d]", i)
		var sm struct {
			Type   string          `json:"type"`
			Stream json.RawMessage `json:"stream"`
		}
		if err := json.Unmarshal(m, &sm); err != nil {
			return nil, bad(at, "not a state message: %s", describeJSONError(err))
		}
		switch sm.Type {
		case "STREAM":
		case "":
			return nil, bad(at+".type", "missing, which makes it a LEGACY state: this source keeps a STREAM state per stream; clear the connection's state to sync in full")
		default:
			return nil, bad(at+".type", "%s state is not supported: this source keeps a STREAM state per stream; clear the connection's state to sync in full", sm.Type)
		}
		if len(sm.Stream) == 0 || string(sm.Stream) == "null" {
			return nil, bad(at+".stream", "missing: a STREAM state message carries its stream's state")
		}
		var ss struct {
			StreamDescriptor *struct {
				Name      *string `json:"name"`
				Namespace *string `json:"namespace"`
			} `json:"stream_descriptor"`
			StreamState json.RawMessage `json:"stream_state"`
		}
		if err := json.Unmarshal(sm.Stream, &ss); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, bad(at+".stream."+te.Field, "must be %s, got %s", jsonType(te.Type), te.Value)
			}
			return nil, bad(at+".stream", "must be an object: %s", describeJSONError(err))
		}
		d := ss.StreamDescriptor
		switch {
		case d == nil:
			return nil, bad(at+".stream.stream_descriptor", "missing")
		case d.Name == nil || *d.Name == "":
			return nil, bad(at+".stream.stream_descriptor.name", "missing")
		case d.Namespace != nil && *d.Namespace != "":
			return nil, bad(at+".stream.stream_descriptor.namespace", "must be empty: this source's streams have no namespace, got %q", *d.Namespace)
		}
		name := *d.Name
		if j, dup := seen[name]; dup {
			return nil, bad(at+".stream.stream_descriptor.name", "stream %q has two states (also [%d])", name, j)
		}
		seen[name] = i
		st := bytes.TrimSpace(ss.StreamState)
		switch {
		case len(st) == 0 || string(st) == "null":
		case st[0] != '{':
			return nil, bad(at+".stream.stream_state", "must be an object or null, got %s", jsonKind(st[0]))
		default:
			out[name] = json.RawMessage(st)
		}
	}
	return out, nil
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	}
	return "number"
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "a " + t.Kind().String()
}

// describeJSONError says what is wrong without quoting the input.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("found %s", te.Value)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return err.Error()
	}
	return "invalid JSON"
}
