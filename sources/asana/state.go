package asana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// StateVersion is the version of the stream state this connector writes,
// and the only one it reads: a state of another version is an error
// naming the stream and its version, never read as something else.
const StateVersion = 1

// Bounds of a stream state, so that a corrupt or hostile state file
// cannot make a sync read forever or hold gigabytes.
const (
	MaxStreamStateBytes = 16 << 20 // the JSON of one stream's state
	MaxStateProjects    = 100_000  // projects with a sync token, per stream
	MaxSyncTokenLength  = 1024     // Asana's tokens are 32 characters
	MaxStateHashes      = 500_000  // records of a diffed stream
	MaxStatePending     = 500_000  // parents of a checkpoint still to expand
)

// StreamState is what one incremental stream carries from a sync to the
// next, as the stream_state of an Airbyte STREAM state message. Its JSON
// (see EncodeStreamState) is:
//
//	{"version":1,
//	 "synced_at":"2026-05-04T09:00:00.123Z",
//	 "modified_since":"2026-05-04T09:00:00.123Z",
//	 "projects":{"1204567890123457":{"sync":"de4774f6915eae04714ca93bb2f5ee81","taken_at":"2026-05-04T09:00:01.5Z"}},
//	 "hashes":{"1204567890123460":"1204567890123456:3lbkf0f1xq2mo"},
//	 "pending":{"task":["1204567890123470"],"task_since":["1204567890123471"]}}
//
// A state with pending is a checkpoint, written while the sync still ran:
// the tasks whose stories, attachments or records it had yet to read when
// it wrote the state, which the next sync reads in full (see Pending).
//
// Every time is Asana's clock, never the machine's: the Date header of
// Asana's responses, or the records' own created_at and modified_at. A
// bound taken from a local clock ahead of Asana's would skip the changes
// made in between. Times are written in UTC, RFC 3339 with the fraction
// of a second Asana gave.
type StreamState struct {
	// SyncedAt is when the sync that wrote the state began reading, on
	// Asana's clock: what the next sync reads changes since, where it has
	// no finer bound (a project whose sync token expired falls back to
	// the time its token was taken, or to SyncedAt). Required.
	SyncedAt time.Time
	// ModifiedSince is the modified_since bound for the tasks in no
	// project (GET /tasks?assignee=&workspace=&modified_since=): the next
	// sync passes it to Asana as is. Zero when the stream does not read
	// them.
	ModifiedSince time.Time
	// Projects holds, by project gid, the events sync token of each
	// project the stream follows and when it was taken.
	Projects map[string]ProjectState
	// Hashes holds, for a stream diffed whole at each sync (its listing
	// is read in full and compared with the previous one: tags,
	// projects), each record's gid and "<workspace gid>:<hash>" (see
	// RecordHash): a record whose hash changed is emitted, one gone from
	// its workspace's listing gets a tombstone.
	Hashes map[string]string
	// Pending, in a checkpoint, are the parents the sync had still to
	// expand when it wrote the state, by kind: ParentTask (the stories and
	// attachments of a task; also of a task whose stories created since
	// the previous sync were to be read, which the next sync, from a later
	// time, reads in full) and ParentTaskFetch (a task to fetch).
	// Everything else the sync read is behind the state, and what changed
	// since comes from the projects' change feeds. The next sync expands
	// them. Empty in the state of a sync that ended.
	Pending map[ParentKind][]string
}

// PendingKinds are the kinds of parents a checkpoint may leave pending:
// those of the last level, expanded after every project was read.
var PendingKinds = []ParentKind{ParentTask, ParentTaskFetch}

// ProjectState is one project's place in its change feed.
type ProjectState struct {
	// Sync is the events sync token Asana last handed out for the
	// project (GET /events?resource=<gid>&sync=<token>).
	Sync string
	// TakenAt is when the token was taken, on Asana's clock: the
	// modified_since of the project's fallback read should the token
	// have expired (Asana keeps events for about a day).
	TakenAt time.Time
}

// stateJSON is the JSON form of StreamState; the field order is the
// order EncodeStreamState writes.
type stateJSON struct {
	Version       int                    `json:"version"`
	SyncedAt      string                 `json:"synced_at,omitempty"` // never empty but in a state Encode refuses
	ModifiedSince string                 `json:"modified_since,omitempty"`
	Projects      map[string]projectJSON `json:"projects,omitempty"` // keys sorted
	Hashes        map[string]string      `json:"hashes,omitempty"`   // keys sorted
	Pending       map[string][]string    `json:"pending,omitempty"`  // keys and gids sorted
}

type projectJSON struct {
	Sync    string `json:"sync"`
	TakenAt string `json:"taken_at,omitempty"` // idem
}

// noCursorMarkers are the states Airbyte's CDK writes for full-refresh
// streams, {"__ab_no_cursor_state_message": true} (the one asana-beam
// writes for them too) and {"__ab_full_refresh_sync_complete": true}.
// They say that the stream was read in full, not where a change feed
// stands, so a stream switched from full refresh to incremental reads
// them as no state: its first incremental sync reads it in full, which
// is what it needs.
var noCursorMarkers = []string{"__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"}

// EncodeStreamState returns the JSON of s (StateVersion, UTC times, the
// projects sorted by gid): the same state always gives the same bytes.
// It refuses a state that ParseStreamState would refuse, with the same
// *ConfigError naming stream, so that what a sync writes the next sync
// reads unchanged.
func EncodeStreamState(stream string, s *StreamState) (json.RawMessage, error) {
	if s == nil {
		return nil, fmt.Errorf("encoding the state of %s: no state", stream)
	}
	js := stateJSON{Version: StateVersion, SyncedAt: formatTime(s.SyncedAt)}
	if !s.ModifiedSince.IsZero() {
		js.ModifiedSince = formatTime(s.ModifiedSince)
	}
	if len(s.Projects) > 0 {
		js.Projects = make(map[string]projectJSON, len(s.Projects))
		for gid, p := range s.Projects {
			js.Projects[gid] = projectJSON{Sync: p.Sync, TakenAt: formatTime(p.TakenAt)}
		}
	}
	if len(s.Hashes) > 0 {
		js.Hashes = s.Hashes
	}
	for kind, gids := range s.Pending {
		if len(gids) == 0 {
			continue
		}
		if js.Pending == nil {
			js.Pending = map[string][]string{}
		}
		js.Pending[string(kind)] = slices.Compact(slices.Sorted(slices.Values(gids)))
	}
	// encoding/json writes struct fields in order and map keys sorted,
	// and escapes the same way every time.
	b, err := json.Marshal(js)
	if err != nil {
		return nil, fmt.Errorf("encoding the state of %s: %w", stream, err)
	}
	if _, err := ParseStreamState(stream, b); err != nil {
		return nil, err
	}
	return b, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// maxStateProblems caps the problems one state reports.
const maxStateProblems = 20

// ParseStreamState reads the stream_state of stream, as a STREAM state
// message of the state file carries it. No state (raw empty or null), or
// the state a full-refresh stream leaves ({"__ab_no_cursor_state_message":
// true}), returns nil and no error: the stream's next sync is a first
// sync. Anything else must be a state EncodeStreamState wrote, of
// StateVersion: otherwise the error is a *ConfigError whose problems
// name the stream and the field, such as
// state.tasks.projects.1204567890123457.sync, or state.tasks.version
// for a state of an older or newer version (and then that problem only).
// It never panics, and never reads a state it does not fully understand.
func ParseStreamState(stream string, raw json.RawMessage) (*StreamState, error) {
	root := "state." + stream
	ce := &ConfigError{}
	fail := func(field, format string, args ...any) (*StreamState, error) {
		ce.add(field, format, args...)
		return nil, ce
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > MaxStreamStateBytes {
		return fail(root, "is %d bytes, more than the %d a stream's state may have", len(raw), MaxStreamStateBytes)
	}
	if field, msg := checkJSON(root, raw); msg != "" {
		return fail(field, "%s", msg)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return fail(root, "must be an object, %s", jsonProblem(err))
	}
	if len(top) == 1 {
		for _, m := range noCursorMarkers {
			if v, ok := top[m]; ok {
				if string(v) != "true" {
					return fail(root+"."+m, "must be true, got %s", clipJSON(v))
				}
				return nil, nil
			}
		}
	}

	// The version first: a state of another version is not read further.
	var version int
	switch v, ok := top["version"]; {
	case !ok || string(v) == "null":
		return fail(root+".version", "missing: not a state this connector wrote (it writes version %d); clear the stream's data in Airbyte to sync it in full", StateVersion)
	case json.Unmarshal(v, &version) != nil:
		return fail(root+".version", "must be an integer, got %s", clipJSON(v))
	case version < StateVersion:
		return fail(root+".version", "the state is from an older version of the connector (state version %d; this connector reads version %d): clear the stream's data in Airbyte to sync it in full", version, StateVersion)
	case version > StateVersion:
		return fail(root+".version", "the state is from a newer version of the connector (state version %d; this connector reads version %d): run that version or a newer one, or clear the stream's data in Airbyte to sync it in full", version, StateVersion)
	}

	s := &StreamState{}
	for _, name := range slices.Sorted(maps.Keys(top)) {
		v := top[name]
		switch name {
		case "version":
		case "synced_at":
			s.SyncedAt = stateTime(ce, root+".synced_at", v, true)
		case "modified_since":
			s.ModifiedSince = stateTime(ce, root+".modified_since", v, false)
		case "projects":
			s.Projects = stateProjects(ce, root+".projects", v)
		case "hashes":
			s.Hashes = stateHashes(ce, root+".hashes", v)
		case "pending":
			s.Pending = statePending(ce, root+".pending", v)
		default:
			addUnknown(ce, root, name)
		}
		if len(ce.Problems) >= maxStateProblems {
			break
		}
	}
	if _, ok := top["synced_at"]; !ok {
		ce.add(root+".synced_at", "missing: the time of the sync that wrote the state")
	}
	if len(ce.Problems) > 0 {
		if len(ce.Problems) > maxStateProblems {
			ce.Problems = ce.Problems[:maxStateProblems]
		}
		ce.sort()
		return nil, ce
	}
	return s, nil
}

// checkJSON checks that raw is one JSON value with no duplicate names and
// valid UTF-8, which encoding/json lets pass; it returns the field at
// fault and the problem, or "" if there is none.
func checkJSON(root string, raw []byte) (field, msg string) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	_, err := dec.ReadValue()
	if err == nil {
		if _, err = dec.ReadToken(); err == nil {
			return root, "more than one JSON value"
		}
		if err == io.EOF {
			return "", ""
		}
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		if errors.Is(se.Err, jsontext.ErrDuplicateName) {
			return pointerField(root, se.JSONPointer.Parent()), "duplicate name " + quoteClip(se.JSONPointer.LastToken())
		}
		return root, fmt.Sprintf("not valid JSON at byte %d", se.ByteOffset)
	}
	return root, "not valid JSON"
}

// fieldName is a name that a field path may show as is; others are
// quoted in the message instead.
var fieldName = regexp.MustCompile(`^[a-z_]{1,64}$|^[0-9]{1,32}$`)

// pointerField turns a JSON pointer into a dotted field below root,
// stopping at the first name that is not fit to show as is.
func pointerField(root string, p jsontext.Pointer) string {
	field := root
	for tok := range p.Tokens() {
		if !fieldName.MatchString(tok) {
			break
		}
		field += "." + tok
	}
	return field
}

// addUnknown reports an unknown field name of the object at field.
func addUnknown(ce *ConfigError, field, name string) {
	if fieldName.MatchString(name) {
		ce.add(field+"."+name, "unknown field: not part of a state this connector writes")
		return
	}
	ce.add(field, "unknown field %s", quoteClip(name))
}

// clipJSON shows a JSON value in a message, cut short.
func clipJSON(v json.RawMessage) string {
	const max = 64
	s := string(v)
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// stateTime reads an RFC 3339 date-time; a missing one is reported by
// the caller, a null one only if required.
func stateTime(ce *ConfigError, field string, v json.RawMessage, required bool) time.Time {
	if string(v) == "null" {
		if required {
			ce.add(field, "must be an RFC 3339 date-time, got null")
		}
		return time.Time{}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		ce.add(field, "must be an RFC 3339 date-time string, got %s", clipJSON(v))
		return time.Time{}
	}
	t, ok := parseDateTime(s)
	if !ok {
		ce.add(field, "must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got %s", quoteClip(s))
	}
	return t
}

// gidObject decodes an object of values by gid, of at most max
// members: what its values are and kind (project, record) word the
// messages. It returns the keys that are gids, sorted, and the members;
// nil members if the value is null or not such an object.
func gidObject(ce *ConfigError, field string, v json.RawMessage, what, kind string, max int) ([]string, map[string]json.RawMessage) {
	if string(v) == "null" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		ce.add(field, "must be an object of %s, got %s", what, clipJSON(v))
		return nil, nil
	}
	if len(raw) > max {
		ce.add(field, "holds %d %ss, more than the %d a state may have", len(raw), kind, max)
		return nil, nil
	}
	var gids []string
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		switch {
		case gidPattern.MatchString(key):
			gids = append(gids, key)
		case len(ce.Problems) < maxStateProblems:
			ce.add(field, "key %s is not a %s gid (digits)", quoteClip(key), kind)
		}
	}
	return gids, raw
}

// stateProjects reads the projects' sync tokens.
func stateProjects(ce *ConfigError, field string, v json.RawMessage) map[string]ProjectState {
	gids, raw := gidObject(ce, field, v, "sync tokens by project gid", "project", MaxStateProjects)
	if raw == nil {
		return nil
	}
	out := make(map[string]ProjectState, len(gids))
	for _, gid := range gids {
		if len(ce.Problems) >= maxStateProblems {
			break
		}
		pf := field + "." + gid
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw[gid], &members); err != nil || members == nil {
			ce.add(pf, "must be an object with sync and taken_at, got %s", clipJSON(raw[gid]))
			continue
		}
		var p ProjectState
		for _, name := range slices.Sorted(maps.Keys(members)) {
			switch m := members[name]; name {
			case "sync":
				p.Sync = syncToken(ce, pf+".sync", m)
			case "taken_at":
				p.TakenAt = stateTime(ce, pf+".taken_at", m, true)
			default:
				addUnknown(ce, pf, name)
			}
		}
		for _, name := range []string{"sync", "taken_at"} {
			if _, ok := members[name]; !ok {
				ce.add(pf+"."+name, "missing")
			}
		}
		out[gid] = p
	}
	return out
}

// hashValue is the form of a diffed record's hash: its workspace's gid
// and the hash (base 36).
var hashValue = regexp.MustCompile(`^[0-9]{1,32}:[0-9a-z]{1,64}$`)

// stateHashes reads the hashes of a diffed stream's records.
func stateHashes(ce *ConfigError, field string, v json.RawMessage) map[string]string {
	gids, raw := gidObject(ce, field, v, "record hashes by gid", "record", MaxStateHashes)
	if raw == nil {
		return nil
	}
	out := make(map[string]string, len(gids))
	for _, gid := range gids {
		if len(ce.Problems) >= maxStateProblems {
			break
		}
		var h string
		if err := json.Unmarshal(raw[gid], &h); err != nil {
			ce.add(field+"."+gid, "must be a string, got %s", clipJSON(raw[gid]))
			continue
		}
		if !hashValue.MatchString(h) {
			ce.add(field+"."+gid, "must be \"<workspace gid>:<hash>\", got %s", quoteClip(h))
			continue
		}
		out[gid] = h
	}
	return out
}

// statePending reads the parents a checkpoint left pending: gids by kind,
// of PendingKinds, at most MaxStatePending in all; sorted and each once,
// as EncodeStreamState writes them.
func statePending(ce *ConfigError, field string, v json.RawMessage) map[ParentKind][]string {
	if string(v) == "null" {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		ce.add(field, "must be an object of task gids by kind, got %s", clipJSON(v))
		return nil
	}
	out := map[ParentKind][]string{}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		kind := ParentKind(name)
		if !slices.Contains(PendingKinds, kind) {
			addUnknown(ce, field, name)
			continue
		}
		var gids []string
		if err := json.Unmarshal(raw[name], &gids); err != nil {
			ce.add(field+"."+name, "must be an array of task gids, got %s", clipJSON(raw[name]))
			continue
		}
		if total += len(gids); total > MaxStatePending {
			ce.add(field, "holds more than the %d pending parents a state may have", MaxStatePending)
			return nil
		}
		for i, g := range gids {
			if !gidPattern.MatchString(g) {
				ce.add(fmt.Sprintf("%s.%s.%d", field, name, i), "must be a task gid (digits), got %s", quoteClip(g))
				break
			}
		}
		if gids = slices.Compact(slices.Sorted(slices.Values(gids))); len(gids) > 0 {
			out[kind] = gids
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// syncToken reads an events sync token: 1 to MaxSyncTokenLength visible
// ASCII characters, fit for a query string and a log line.
func syncToken(ce *ConfigError, field string, v json.RawMessage) string {
	var tok string
	if err := json.Unmarshal(v, &tok); err != nil {
		ce.add(field, "must be a string, got %s", clipJSON(v))
		return ""
	}
	switch {
	case tok == "":
		ce.add(field, "empty: a sync token is 1 to %d characters", MaxSyncTokenLength)
	case len(tok) > MaxSyncTokenLength:
		ce.add(field, "is %d bytes long, more than the %d a sync token may have", len(tok), MaxSyncTokenLength)
	default:
		for i := range len(tok) {
			if c := tok[i]; c <= ' ' || c > '~' {
				ce.add(field, "byte %d is not a visible ASCII character: a sync token is letters, digits and punctuation", i)
				break
			}
		}
	}
	return tok
}
