package airbyte

import (
	"errors"
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
