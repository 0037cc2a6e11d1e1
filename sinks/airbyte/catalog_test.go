package airbyte

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func known(s string) bool { return s == "users" || s == "tasks" }

func TestParseCatalog(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the error, "" for none
	}{
		{`{"streams":[{"stream":{"name":"users"},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`, ""},
		{``, `invalid catalog: the file is empty; it must be a JSON object with "streams"`},
		{`[]`, `invalid catalog: not a JSON object: found array`},
		{`{}`, `invalid catalog: streams: missing`},
		{`{"streams":[]}`, `invalid catalog: streams: empty: configure at least one stream`},
		{`{"streams":[{"stream":{},"sync_mode":"full_refresh"}]}`, `invalid catalog: streams[0].stream.name: missing`},
		{`{"streams":[{"stream":{"name":5},"sync_mode":"full_refresh"}]}`, `invalid catalog: streams[0].stream.name: must be a string, got number`},
		{`{"streams":[{"stream":{"name":"x"},"sync_mode":"full_refresh"}]}`, `invalid catalog: streams[0].stream.name: unknown stream "x"`},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"incremental"}]}`, ""},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"bogus"}]}`, `invalid catalog: streams[0].sync_mode: "bogus" is not supported for tasks; use full_refresh`},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"Incremental"}]}`, `invalid catalog: streams[0].sync_mode: "Incremental" is not supported for tasks; use full_refresh`},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"full_refresh_overwrite"}]}`, `invalid catalog: streams[0].sync_mode: "full_refresh_overwrite" is not supported for tasks; use full_refresh`},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":5}]}`, `invalid catalog: streams[0].sync_mode: must be a string, got number`},
		{`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"full_refresh"},{"stream":{"name":"tasks"},"sync_mode":"full_refresh"}]}`,
			`invalid catalog: streams[1].stream.name: stream "tasks" is configured twice (also streams[0])`},
		{`{"streams":{"users":{}}}`, `invalid catalog: streams: must be an array, got object`},
		{`{"streams":[{"stream":"users","sync_mode":"full_refresh"}]}`, `invalid catalog: streams[0].stream: must be an object, got string`},
		{`{"streams":[{"stream":{"name":"users"}}]}`, `invalid catalog: streams[0].sync_mode: missing; use full_refresh`},
		{`{"streams":[null]}`, `invalid catalog: streams[0].stream.name: missing`},
	} {
		_, err := ParseCatalog([]byte(tc.in), known, "full_refresh")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("ParseCatalog(%s)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestParseCatalogIncremental: a catalog as PyAirbyte writes it (every
// stream incremental, unset fields null) is accepted, each stream keeping
// the sync mode it was configured in, for the source to read it in full.
func TestParseCatalogIncremental(t *testing.T) {
	const pyAirbyte = `{"streams":[` +
		`{"stream":{"name":"users","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"],"source_defined_cursor":null,` +
		`"default_cursor_field":null,"source_defined_primary_key":[["gid"]],"namespace":null,"is_resumable":null},` +
		`"sync_mode":"incremental","cursor_field":null,"destination_sync_mode":"overwrite","primary_key":[["gid"]],` +
		`"generation_id":null,"minimum_generation_id":null,"sync_id":null},` +
		`{"stream":{"name":"tasks","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"]},` +
		`"sync_mode":"full_refresh","destination_sync_mode":"append_dedup"}]}`
	cat, err := ParseCatalog([]byte(pyAirbyte), known, "full_refresh")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range cat.Streams {
		got = append(got, s.Stream.Name+" "+s.SyncMode+" "+s.DestinationSyncMode)
	}
	want := []string{"users incremental overwrite", "tasks full_refresh append_dedup"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("configured streams (-want +got):\n%s", diff)
	}
	// A source that reads incremental streams gets them as such; one
	// that reads no mode at all accepts none.
	if _, err := ParseCatalog([]byte(pyAirbyte), known, "full_refresh", "incremental"); err != nil {
		t.Errorf("with incremental supported: %v", err)
	}
	if _, err := ParseCatalog([]byte(pyAirbyte), known); err == nil {
		t.Errorf("a source with no sync mode accepted the catalog")
	}
}

func TestParseState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{``, 0, ""},
		{`null`, 0, ""},
		{`[]`, 0, ""},
		{`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"}}}]`, 1, ""},
		{`{"legacy":1}`, 1, ""},
		{`[{"type":"BOGUS"}]`, 0, `invalid state: [0].type: must be STREAM, GLOBAL or LEGACY, got "BOGUS"`},
		{`[1]`, 0, `invalid state: [0]: not a state message: found number`},
		{`"x"`, 0, `invalid state: must be a JSON array of state messages or an object`},
		{`{"a":`, 0, `invalid state: not valid JSON`},
		{`[null]`, 0, `invalid state: [0]: not a state message: found null`},
		{`[{"type":1}]`, 0, `invalid state: [0].type: must be a string, got number`},
	} {
		msgs, err := ParseState([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want || len(msgs) != tc.n {
			t.Errorf("ParseState(%s) = %d messages, %q; want %d, %q", tc.in, len(msgs), got, tc.n, tc.want)
		}
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"streams":[{"stream":{"name":"users"},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`))
	f.Add([]byte(`{"streams":[{"stream":{"name":"tasks"},"sync_mode":"incremental"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseConfiguredCatalog(data, discovered); err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Message == "" {
				t.Fatalf("ParseConfiguredCatalog: error %v is not an *InputError with a message", err)
			}
		}
		cat, err := ParseCatalog(data, known, "full_refresh")
		var ie *InputError
		switch {
		case err != nil && (!errors.As(err, &ie) || ie.Message == ""):
			t.Fatalf("error %v is not an *InputError with a message", err)
		case err == nil && len(cat.Streams) == 0:
			t.Fatal("accepted a catalog without streams")
		}
		if err != nil {
			return
		}
		for _, s := range cat.Streams {
			if s.SyncMode != "full_refresh" && s.SyncMode != "incremental" {
				t.Fatalf("accepted sync mode %q, outside the protocol", s.SyncMode)
			}
		}
	})
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"}}}]`))
	f.Add([]byte(`{"x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseState(data); err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Message == "" {
				t.Fatalf("error %v is not an *InputError with a message", err)
			}
		}
	})
}

// discovered is a catalog as discover lists it: users in full refresh
// only, tasks incremental too.
var discovered = &Catalog{Streams: []Stream{
	{Name: "users", JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{FullRefresh}},
	Stream{Name: "tasks", JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{FullRefresh}}.WithIncremental("modified_at"),
}}

func TestParseConfiguredCatalog(t *testing.T) {
	configured := func(name, mode, rest string) string {
		return `{"streams":[{"stream":{"name":"` + name + `"},"sync_mode":"` + mode + `"` + rest + `}]}`
	}
	for _, tc := range []struct {
		in, want string // want: the error, "" for none
	}{
		{configured("tasks", "incremental", `,"destination_sync_mode":"append_dedup"`), ""},
		{configured("tasks", "incremental", `,"cursor_field":null,"destination_sync_mode":"append"`), ""},
		{configured("tasks", "incremental", `,"cursor_field":[],"destination_sync_mode":"overwrite"`), ""},
		{configured("tasks", "incremental", `,"cursor_field":["modified_at"]`), ""},
		{configured("tasks", "full_refresh", `,"cursor_field":["anything"],"destination_sync_mode":"overwrite"`), ""},
		{configured("tasks", "incremental", `,"cursor_field":["created_at"]`),
			`invalid catalog: streams[0].cursor_field: ["created_at"] is not the cursor of tasks: the source defines it as ["modified_at"]; leave cursor_field empty or set it to that`},
		{configured("tasks", "incremental", `,"cursor_field":["modified_at","x"]`),
			`invalid catalog: streams[0].cursor_field: ["modified_at","x"] is not the cursor of tasks: the source defines it as ["modified_at"]; leave cursor_field empty or set it to that`},
		{configured("tasks", "incremental", `,"cursor_field":"modified_at"`),
			`invalid catalog: streams[0].cursor_field: must be an array, got string`},
		{configured("tasks", "incremental", `,"destination_sync_mode":"merge"`),
			`invalid catalog: streams[0].destination_sync_mode: "merge" is not a destination sync mode of the Airbyte protocol; use append, overwrite, append_dedup, update, soft_delete`},
		{configured("users", "full_refresh", `,"destination_sync_mode":"Overwrite"`),
			`invalid catalog: streams[0].destination_sync_mode: "Overwrite" is not a destination sync mode of the Airbyte protocol; use append, overwrite, append_dedup, update, soft_delete`},
		// A full-refresh stream configured incremental (as PyAirbyte does)
		// is read in full: its cursor is not looked at.
		{configured("users", "incremental", `,"cursor_field":["updated_at"],"destination_sync_mode":"overwrite"`), ""},
		{configured("users", "append", ``), `invalid catalog: streams[0].sync_mode: "append" is not supported for users; use full_refresh`},
		{configured("tasks", "append", ``), `invalid catalog: streams[0].sync_mode: "append" is not supported for tasks; use full_refresh or incremental`},
		{configured("tasks", "", ``), `invalid catalog: streams[0].sync_mode: missing; use full_refresh or incremental`},
		{configured("projects", "full_refresh", ``), `invalid catalog: streams[0].stream.name: unknown stream "projects"`},
	} {
		_, err := ParseConfiguredCatalog([]byte(tc.in), discovered)
		got := ""
		if err != nil {
			got = err.Error()
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("ParseConfiguredCatalog(%s): %v is not an *InputError", tc.in, err)
			}
		}
		if got != tc.want {
			t.Errorf("ParseConfiguredCatalog(%s)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if _, err := ParseConfiguredCatalog([]byte(configured("users", "full_refresh", "")), nil); err == nil {
		t.Error("a catalog was accepted against no discovered catalog")
	}
}

// TestStreamWithIncremental: an incremental stream is listed as Airbyte's
// acceptance tests want it; a full-refresh one as before.
func TestStreamWithIncremental(t *testing.T) {
	fr := Stream{Name: "users", JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{FullRefresh}, SourceDefinedPrimaryKey: [][]string{{"gid"}}}
	for _, tc := range []struct {
		s    Stream
		want string
	}{
		{fr, `{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"],"source_defined_primary_key":[["gid"]],"is_resumable":false}`},
		{fr.WithIncremental("modified_at"), `{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh","incremental"],` +
			`"source_defined_cursor":true,"default_cursor_field":["modified_at"],"source_defined_primary_key":[["gid"]],"is_resumable":true}`},
		{fr.WithIncremental("modified_at").WithIncremental("created_at"), `{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh","incremental"],` +
			`"source_defined_cursor":true,"default_cursor_field":["created_at"],"source_defined_primary_key":[["gid"]],"is_resumable":true}`},
		{Stream{Name: "x", JSONSchema: json.RawMessage(`{}`)}.WithIncremental("a"), `{"name":"x","json_schema":{},"supported_sync_modes":["full_refresh","incremental"],` +
			`"source_defined_cursor":true,"default_cursor_field":["a"],"is_resumable":true}`},
	} {
		b, err := json.Marshal(tc.s)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("stream\n got %s\nwant %s", b, tc.want)
		}
	}
	if len(fr.SupportedSyncModes) != 1 {
		t.Errorf("WithIncremental changed the stream it was called on: %v", fr.SupportedSyncModes)
	}
}

func TestWithDeletedAt(t *testing.T) {
	const prop = `"_ab_cdc_deleted_at":` + deletedAtSchema
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: `{"type":"object",
			"properties": {"gid": {"type": "string"}, "name": {"type": ["null", "string"]}},
			"required": ["gid"]}`,
			want: `{"type":"object","properties":{"gid":{"type":"string"},"name":{"type":["null","string"]},` + prop + `},"required":["gid"]}`},
		{in: `{"type":"object","properties":{}}`, want: `{"type":"object","properties":{` + prop + `}}`},
		{in: `{"type":"object"}`, want: `{"type":"object","properties":{` + prop + `}}`},
		{in: `{"properties":{"_ab_cdc_deleted_at":{}}}`, err: "adding _ab_cdc_deleted_at to a schema: it has that property already"},
		{in: `[]`, err: "adding _ab_cdc_deleted_at to a schema: must be a JSON object, got array"},
		{in: `{"properties":[]}`, err: "adding _ab_cdc_deleted_at to a schema: properties: must be a JSON object, got array"},
		{in: `{"a":1,"a":2}`, err: "adding _ab_cdc_deleted_at to a schema: not valid JSON"},
		{in: `{} {}`, err: "adding _ab_cdc_deleted_at to a schema: more than one JSON value"},
		{in: ``, err: "adding _ab_cdc_deleted_at to a schema: not valid JSON"},
	} {
		got, err := WithDeletedAt(json.RawMessage(tc.in))
		switch {
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("WithDeletedAt(%s) = %s, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || string(got) != tc.want):
			t.Errorf("WithDeletedAt(%s)\n got %s, %v\nwant %s", tc.in, got, err, tc.want)
		}
	}
	var s struct {
		Type   []string `json:"type"`
		Format string   `json:"format"`
	}
	if err := json.Unmarshal([]byte(deletedAtSchema), &s); err != nil || !cmp.Equal(s.Type, []string{"null", "string"}) || s.Format != "date-time" {
		t.Errorf("the property's schema is %s, want a nullable date-time string (%v)", deletedAtSchema, err)
	}
}

func TestParseStreamStates(t *testing.T) {
	const tasks = `{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"},"stream_state":{"version":1}},"sourceStats":{"recordCount":3.0}}`
	const users = `{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{"__ab_no_cursor_state_message":true}}}`
	for _, tc := range []struct {
		in   string
		want map[string]json.RawMessage
		err  string
	}{
		{in: ``, want: map[string]json.RawMessage{}},
		{in: `null`, want: map[string]json.RawMessage{}},
		{in: `[]`, want: map[string]json.RawMessage{}},
		{in: ` {} `, want: map[string]json.RawMessage{}},
		{in: `[` + tasks + `,` + users + `]`, want: map[string]json.RawMessage{
			"tasks": json.RawMessage(`{"version":1}`), "users": json.RawMessage(`{"__ab_no_cursor_state_message":true}`)}},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"},"stream_state":null}}]`, want: map[string]json.RawMessage{}},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"}}}]`, want: map[string]json.RawMessage{}},

		{in: `{"cursor":"2020"}`, err: `invalid state: a LEGACY state (one object for the whole connection) is not supported: this source keeps a STREAM state per stream; clear the connection's state to sync in full`},
		{in: `[` + users + `,{"type":"LEGACY","data":{}}]`, err: `invalid state: [1].type: LEGACY state is not supported: this source keeps a STREAM state per stream; clear the connection's state to sync in full`},
		{in: `[{"data":{}}]`, err: `invalid state: [0].type: missing, which makes it a LEGACY state: this source keeps a STREAM state per stream; clear the connection's state to sync in full`},
		{in: `[{"type":"GLOBAL","global":{"stream_states":[]}}]`, err: `invalid state: [0].type: GLOBAL state is not supported: this source keeps a STREAM state per stream; clear the connection's state to sync in full`},
		{in: `[` + tasks + `,` + users + `,` + tasks + `]`, err: `invalid state: [2].stream.stream_descriptor.name: stream "tasks" has two states (also [0])`},
		{in: `[{"type":"STREAM"}]`, err: `invalid state: [0].stream: missing: a STREAM state message carries its stream's state`},
		{in: `[{"type":"STREAM","stream":[]}]`, err: `invalid state: [0].stream: must be an object: found array`},
		{in: `[{"type":"STREAM","stream":{}}]`, err: `invalid state: [0].stream.stream_descriptor: missing`},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":""}}}]`, err: `invalid state: [0].stream.stream_descriptor.name: missing`},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":5}}}]`, err: `invalid state: [0].stream.stream_descriptor.name: must be a string, got number`},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks","namespace":"asana"}}}]`,
			err: `invalid state: [0].stream.stream_descriptor.namespace: must be empty: this source's streams have no namespace, got "asana"`},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"},"stream_state":"x"}}]`,
			err: `invalid state: [0].stream.stream_state: must be an object or null, got string`},
		{in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"},"stream_state":[1]}}]`,
			err: `invalid state: [0].stream.stream_state: must be an object or null, got array`},
		{in: `[{"type":"BOGUS"}]`, err: `invalid state: [0].type: must be STREAM, GLOBAL or LEGACY, got "BOGUS"`},
	} {
		got, err := ParseStreamStates([]byte(tc.in))
		if tc.err != "" {
			var ie *InputError
			if !errors.As(err, &ie) || err.Error() != tc.err {
				t.Errorf("ParseStreamStates(%s) = %v\nwant the *InputError %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStreamStates(%s): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseStreamStates(%s) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzParseStreamStates(f *testing.F) {
	f.Add([]byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"tasks"},"stream_state":{"version":1}}}]`))
	f.Add([]byte(`[{"type":"GLOBAL"},{"type":"STREAM","stream":{"stream_descriptor":{"name":"a","namespace":null},"stream_state":null}}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		states, err := ParseStreamStates(data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Message == "" {
				t.Fatalf("error %v is not an *InputError with a message", err)
			}
			return
		}
		for name, s := range states {
			if name == "" || len(s) == 0 || s[0] != '{' || !json.Valid(s) {
				t.Fatalf("stream %q: state %s is not an object", name, s)
			}
		}
	})
}
