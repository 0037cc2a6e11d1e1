package asana

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// exampleState is the state of the README and of testdata/state.json.
var exampleState = &StreamState{
	SyncedAt:      mustTime("2026-05-04T09:00:00.123Z"),
	ModifiedSince: mustTime("2026-05-04T08:59:00Z"),
	Projects: map[string]ProjectState{
		"1204567890123457": {Sync: "de4774f6915eae04714ca93bb2f5ee81", TakenAt: mustTime("2026-05-04T09:00:01.5Z")},
		"987":              {Sync: "0b1f3e", TakenAt: mustTime("2026-05-04T11:00:02+02:00")},
	},
	Hashes: map[string]string{"1204567890123460": "1204567890123456:3lbkf0f1xq2mo", "55": "1204567890123456:0"},
}

// TestStreamStateGolden pins the JSON of a state: what a sync writes is
// what every later version must read or refuse by its version.
func TestStreamStateGolden(t *testing.T) {
	b, err := EncodeStreamState("tasks", exampleState)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "state.json", append(b, '\n'))
	again, err := EncodeStreamState("tasks", exampleState)
	if err != nil || string(again) != string(b) {
		t.Errorf("encoding the same state twice gave %s and %s (%v)", b, again, err)
	}
	got, err := ParseStreamState("tasks", b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(exampleState, got); diff != "" {
		t.Errorf("state after a round trip (-want +got):\n%s", diff)
	}
}

func TestParseStreamState(t *testing.T) {
	const tok = `"de4774f6915eae04714ca93bb2f5ee81"`
	long := strings.Repeat("a", MaxSyncTokenLength+1)
	for _, tc := range []struct {
		name string
		in   string
		want *StreamState
		errs []Problem
	}{
		{name: "no state", in: ``},
		{name: "null", in: ` null `},
		{name: "full refresh's state", in: `{"__ab_no_cursor_state_message": true}`},
		{name: "resumable full refresh's state", in: `{"__ab_full_refresh_sync_complete":true}`},
		{name: "smallest", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z"}`,
			want: &StreamState{SyncedAt: mustTime("2026-05-04T09:00:00Z")}},
		{name: "offsets are read in UTC, nulls as absent", in: `{"version":1,"synced_at":"2026-05-04T11:00:00.5+02:00","modified_since":null,"projects":null}`,
			want: &StreamState{SyncedAt: mustTime("2026-05-04T09:00:00.5Z")}},
		{name: "far future (acceptance tests' future_state)", in: `{"version":1,"synced_at":"9999-12-31T23:59:59Z","projects":{"1":{"sync":` + tok + `,"taken_at":"9999-12-31T23:59:59Z"}}}`,
			want: &StreamState{SyncedAt: mustTime("9999-12-31T23:59:59Z"), Projects: map[string]ProjectState{
				"1": {Sync: "de4774f6915eae04714ca93bb2f5ee81", TakenAt: mustTime("9999-12-31T23:59:59Z")}}}},
		{name: "a checkpoint's pending parents, sorted, each once", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","pending":{"task":["3","12","3"],"task_fetch":[]}}`,
			want: &StreamState{SyncedAt: mustTime("2026-05-04T09:00:00Z"), Pending: map[ParentKind][]string{
				ParentTask: {"12", "3"}}}},

		{name: "marker not true", in: `{"__ab_no_cursor_state_message":false}`,
			errs: []Problem{{"state.tasks.__ab_no_cursor_state_message", "must be true, got false"}}},
		{name: "marker and more", in: `{"__ab_no_cursor_state_message":true,"version":1,"synced_at":"2026-05-04T09:00:00Z"}`,
			errs: []Problem{{"state.tasks.__ab_no_cursor_state_message", "unknown field: not part of a state this connector writes"}}},
		{name: "not an object", in: `[1]`, errs: []Problem{{"state.tasks", "must be an object, found array"}}},
		{name: "not JSON", in: `{"version":`, errs: []Problem{{"state.tasks", "not valid JSON at byte 11"}}},
		{name: "two values", in: `{} {}`, errs: []Problem{{"state.tasks", "more than one JSON value"}}},
		{name: "duplicate name", in: `{"version":1,"version":1}`, errs: []Problem{{"state.tasks", `duplicate name "version"`}}},
		{name: "duplicate project", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","projects":{"12":{},"12":{}}}`,
			errs: []Problem{{"state.tasks.projects", `duplicate name "12"`}}},
		{name: "invalid UTF-8", in: "{\"version\":1,\"synced_at\":\"\xff\"}", errs: []Problem{{"state.tasks", "not valid JSON at byte 26"}}},
		{name: "empty object", in: `{}`,
			errs: []Problem{{"state.tasks.version", "missing: not a state this connector wrote (it writes version 1); clear the stream's data in Airbyte to sync it in full"}}},
		{name: "older version", in: `{"version":0,"cursor":"2020-01-01"}`,
			errs: []Problem{{"state.tasks.version", "the state is from an older version of the connector (state version 0; this connector reads version 1): clear the stream's data in Airbyte to sync it in full"}}},
		{name: "newer version", in: `{"version":2,"synced_at":"2026-05-04T09:00:00Z","more":{}}`,
			errs: []Problem{{"state.tasks.version", "the state is from a newer version of the connector (state version 2; this connector reads version 1): run that version or a newer one, or clear the stream's data in Airbyte to sync it in full"}}},
		{name: "version not an integer", in: `{"version":"1"}`, errs: []Problem{{"state.tasks.version", `must be an integer, got "1"`}}},
		{name: "version a fraction", in: `{"version":1.5}`, errs: []Problem{{"state.tasks.version", `must be an integer, got 1.5`}}},
		{name: "no synced_at", in: `{"version":1}`, errs: []Problem{{"state.tasks.synced_at", "missing: the time of the sync that wrote the state"}}},
		{name: "every problem at once", in: `{"version":1,"synced_at":"2026-05-04","modified_since":5,"Cursor":1,"a b":2,"projects":{` +
			`"x1":{},"1":{"sync":"","taken_at":"2026-05-04T09:00:00Z"},"2":{"sync":"a b","taken_at":"yesterday","extra":1},` +
			`"3":{"sync":` + `"` + long + `"},"4":[],"5":{"sync":7,"taken_at":null}}}`,
			errs: []Problem{
				{"state.tasks", `unknown field "Cursor"`},
				{"state.tasks", `unknown field "a b"`},
				{"state.tasks.modified_since", "must be an RFC 3339 date-time string, got 5"},
				{"state.tasks.projects", `key "x1" is not a project gid (digits)`},
				{"state.tasks.projects.1.sync", "empty: a sync token is 1 to 1024 characters"},
				{"state.tasks.projects.2.extra", "unknown field: not part of a state this connector writes"},
				{"state.tasks.projects.2.sync", "byte 1 is not a visible ASCII character: a sync token is letters, digits and punctuation"},
				{"state.tasks.projects.2.taken_at", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "yesterday"`},
				{"state.tasks.projects.3.sync", "is 1025 bytes long, more than the 1024 a sync token may have"},
				{"state.tasks.projects.3.taken_at", "missing"},
				{"state.tasks.projects.4", "must be an object with sync and taken_at, got []"},
				{"state.tasks.projects.5.sync", "must be a string, got 7"},
				{"state.tasks.projects.5.taken_at", "must be an RFC 3339 date-time, got null"},
				{"state.tasks.synced_at", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "2026-05-04"`},
			}},
		{name: "times Go would take but RFC 3339 does not", in: `{"version":1,"synced_at":"2026-05-04t09:00:00z","modified_since":"2026-13-01T00:00:00Z"}`,
			errs: []Problem{
				{"state.tasks.modified_since", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "2026-13-01T00:00:00Z"`},
				{"state.tasks.synced_at", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "2026-05-04t09:00:00z"`},
			}},
		{name: "hashes", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","hashes":{"12":"1:abc","x":"1:a","13":"1:ABC","14":5,"15":":a"}}`,
			errs: []Problem{
				{"state.tasks.hashes", `key "x" is not a record gid (digits)`},
				{"state.tasks.hashes.13", `must be "<workspace gid>:<hash>", got "1:ABC"`},
				{"state.tasks.hashes.14", "must be a string, got 5"},
				{"state.tasks.hashes.15", `must be "<workspace gid>:<hash>", got ":a"`},
			}},
		{name: "hashes not an object", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","hashes":"x"}`,
			errs: []Problem{{"state.tasks.hashes", `must be an object of record hashes by gid, got "x"`}}},
		{name: "pending", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","pending":{"task":["1","x"],"project":["2"],"task_fetch":"3","task_since":["4"]}}`,
			errs: []Problem{
				{"state.tasks.pending.project", "unknown field: not part of a state this connector writes"},
				{"state.tasks.pending.task.1", `must be a task gid (digits), got "x"`},
				{"state.tasks.pending.task_fetch", `must be an array of task gids, got "3"`},
				{"state.tasks.pending.task_since", "unknown field: not part of a state this connector writes"},
			}},
		{name: "pending not an object", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","pending":[]}`,
			errs: []Problem{{"state.tasks.pending", "must be an object of task gids by kind, got []"}}},
		{name: "projects not an object", in: `{"version":1,"synced_at":"2026-05-04T09:00:00Z","projects":["1"]}`,
			errs: []Problem{{"state.tasks.projects", `must be an object of sync tokens by project gid, got ["1"]`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStreamState("tasks", json.RawMessage(tc.in))
			checkParsed(t, tc.want, got, tc.errs, err)
		})
	}
}

// checkParsed compares what a parser returned, want or the problems of a
// *ConfigError (errs, when not nil), with got and err.
func checkParsed[T any](t *testing.T, want, got T, errs []Problem, err error) {
	t.Helper()
	if errs != nil {
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, %v; want a *ConfigError", got, err)
		}
		if diff := cmp.Diff(errs, ce.Problems); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParseStreamStateBounds: states too big for their bounds are refused
// before they are decoded, and a long list of problems is cut short.
func TestParseStreamStateBounds(t *testing.T) {
	big := `{"version":1,"synced_at":"2026-05-04T09:00:00Z","pad":"` + strings.Repeat("x", MaxStreamStateBytes) + `"}`
	_, err := ParseStreamState("tasks", json.RawMessage(big))
	if want := fmt.Sprintf("invalid config: state.tasks: is %d bytes, more than the %d a stream's state may have", len(big), MaxStreamStateBytes); err == nil || err.Error() != want {
		t.Errorf("a state too big: %v, want %s", err, want)
	}

	var b strings.Builder
	b.WriteString(`{"version":1,"synced_at":"2026-05-04T09:00:00Z","projects":{`)
	for i := range MaxStateProjects + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%d":{"sync":"t","taken_at":"2026-05-04T09:00:00Z"}`, i+1)
	}
	b.WriteString("}}")
	_, err = ParseStreamState("tasks", json.RawMessage(b.String()))
	if want := "invalid config: state.tasks.projects: holds 100001 projects, more than the 100000 a state may have"; err == nil || err.Error() != want {
		t.Errorf("too many projects: %v, want %s", err, want)
	}

	b.Reset()
	b.WriteString(`{"version":1,"synced_at":"2026-05-04T09:00:00Z","projects":{`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%d":{"sync":""}`, i+1)
	}
	b.WriteString("}}")
	_, err = ParseStreamState("tasks", json.RawMessage(b.String()))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != maxStateProblems {
		t.Errorf("100 bad projects: %v, want %d problems", err, maxStateProblems)
	}
}

// TestEncodeStreamStateRefuses: a state the next sync would refuse is
// not written.
func TestEncodeStreamStateRefuses(t *testing.T) {
	at := mustTime("2026-05-04T09:00:00Z")
	for _, tc := range []struct {
		name string
		in   *StreamState
		want string
	}{
		{"nil", nil, "encoding the state of tasks: no state"},
		{"no synced_at", &StreamState{}, `invalid config: state.tasks.synced_at: missing: the time of the sync that wrote the state`},
		{"empty token", &StreamState{SyncedAt: at, Projects: map[string]ProjectState{"1": {TakenAt: at}}},
			"invalid config: state.tasks.projects.1.sync: empty: a sync token is 1 to 1024 characters"},
		{"no taken_at", &StreamState{SyncedAt: at, Projects: map[string]ProjectState{"1": {Sync: "t"}}},
			"invalid config: state.tasks.projects.1.taken_at: missing"},
		{"bad gid", &StreamState{SyncedAt: at, Projects: map[string]ProjectState{"p1": {Sync: "t", TakenAt: at}}},
			`invalid config: state.tasks.projects: key "p1" is not a project gid (digits)`},
		{"year 10000", &StreamState{SyncedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
			`invalid config: state.tasks.synced_at: must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "10000-01-01T00:00:00Z"`},
	} {
		_, err := EncodeStreamState("tasks", tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: EncodeStreamState = %v, want %s", tc.name, err, tc.want)
		}
	}
}

// FuzzParseStreamState: whatever the state file holds, ParseStreamState
// neither panics nor returns anything but a state or a *ConfigError whose
// every problem names the stream; a state it accepts encodes to bytes it
// accepts again unchanged.
func FuzzParseStreamState(f *testing.F) {
	example, err := EncodeStreamState("tasks", exampleState)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(example), ``, `null`, `{}`, `[]`, `{"__ab_no_cursor_state_message":true}`,
		`{"version":1,"synced_at":"2026-05-04T09:00:00Z"}`,
		`{"version":2,"synced_at":"2026-05-04T09:00:00Z"}`,
		`{"version":1,"synced_at":"2026-05-04T09:00:00.123456789-07:00","modified_since":"2026-05-04T09:00:00Z","projects":{"1":{"sync":"a","taken_at":"2026-05-04T09:00:00Z"}}}`,
		`{"version":1,"synced_at":"2026-05-04T09:00:00Z","projects":{"1":{"sync":"a","taken_at":"2026-05-04T09:00:00Z"},"1":{}}}`,
		`{"version":1,"synced_at":"2026-05-04T09:00:00Z","hashes":{"1":"2:z","3":"4:x1"}}`,
		`{"version":1,"synced_at":"2026-05-04T09:00:00Z","pending":{"task":["1","2"],"task_fetch":["3"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStreamState("tasks", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %v is not a *ConfigError with problems", err)
			}
			for _, p := range ce.Problems {
				if !within(p.Field, "state.tasks") || p.Message == "" {
					t.Fatalf("problem %+v does not name the stream, or says nothing", p)
				}
			}
			return
		}
		if s == nil {
			return
		}
		b, err := EncodeStreamState("tasks", s)
		if err != nil {
			t.Fatalf("an accepted state does not encode: %v", err)
		}
		s2, err := ParseStreamState("tasks", b)
		if err != nil {
			t.Fatalf("an encoded state is refused: %v\n%s", err, b)
		}
		if diff := cmp.Diff(s, s2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("state changed in a round trip (-first +second):\n%s", diff)
		}
		b2, err := EncodeStreamState("tasks", s2)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("encoding is not stable: %s then %s (%v)", b, b2, err)
		}
	})
}

// TestPendingRoundTrip: a checkpoint's pending parents are written sorted,
// empty kinds left out, and read back.
func TestPendingRoundTrip(t *testing.T) {
	at := mustTime("2026-05-04T09:00:00Z")
	in := &StreamState{SyncedAt: at, Pending: map[ParentKind][]string{ParentTask: {"3", "12"}, ParentTaskFetch: nil}}
	b, err := EncodeStreamState("stories", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":1,"synced_at":"2026-05-04T09:00:00Z","pending":{"task":["12","3"]}}`; string(b) != want {
		t.Errorf("encoded %s, want %s", b, want)
	}
	got, err := ParseStreamState("stories", b)
	if err != nil {
		t.Fatal(err)
	}
	want := &StreamState{SyncedAt: at, Pending: map[ParentKind][]string{ParentTask: {"12", "3"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
