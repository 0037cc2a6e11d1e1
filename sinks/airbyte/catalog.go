package airbyte

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
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
var protocolSyncModes = []string{"full_refresh", "incremental"}

// ParseCatalog decodes a ConfiguredAirbyteCatalog and checks it against
// the streams this source has (known) and the sync modes it reads
// (syncModes, the first its usual one). A stream configured in another
// sync mode of the protocol is accepted, to be read in syncModes[0], as
// Airbyte's Python CDK reads an incremental stream that has no cursor in
// full: clients such as PyAirbyte configure every stream incremental
// unless told otherwise. Its SyncMode stays as configured, so that the
// caller can say how it reads it. A sync mode outside the protocol is an
// error.
func ParseCatalog(data []byte, known func(stream string) bool, syncModes ...string) (*ConfiguredCatalog, error) {
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
		switch {
		case name == "":
			return nil, bad(field+".stream.name", "missing")
		case !known(name):
			return nil, bad(field+".stream.name", "unknown stream %q", name)
		}
		if j, dup := seen[name]; dup {
			return nil, bad(field+".stream.name", "stream %q is configured twice (also streams[%d])", name, j)
		}
		seen[name] = i
		ok := slices.Contains(syncModes, cs.SyncMode) || slices.Contains(protocolSyncModes, cs.SyncMode) && len(syncModes) > 0
		if cs.SyncMode == "" {
			return nil, bad(field+".sync_mode", "missing; use %s", strings.Join(syncModes, " or "))
		}
		if !ok {
			return nil, bad(field+".sync_mode", "%q is not supported for %s; use %s", cs.SyncMode, name, strings.Join(syncModes, " or "))
		}
		cat.Streams = append(cat.Streams, cs)
	}
	if len(cat.Streams) == 0 {
		return nil, bad("streams", "empty: configure at least one stream")
	}
	return &cat, nil
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
