package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// configuredIncremental makes a configured catalog of every stream:
// incremental (append_dedup) where the stream offers it, else full
// refresh.
func configuredIncremental(t *testing.T, cat map[string]any) string {
	t.Helper()
	var out []any
	for _, s := range cat["streams"].([]any) {
		st := s.(map[string]any)
		mode, dest := "full_refresh", "overwrite"
		if slices.Contains(st["supported_sync_modes"].([]any), any("incremental")) {
			mode, dest = "incremental", "append_dedup"
		}
		out = append(out, map[string]any{"stream": st, "sync_mode": mode, "destination_sync_mode": dest})
	}
	return writeJSON(t, map[string]any{"streams": out})
}

// syncResult is a read's records by stream and key (the last of each),
// and its states.
type syncResult struct {
	records map[string]map[string][]byte
	times   map[string]map[string]int
	states  []any
}

func collect(t *testing.T, r result, schemas map[string]*jsonschema.Schema) syncResult {
	t.Helper()
	s := syncResult{records: map[string]map[string][]byte{}, times: map[string]map[string]int{}}
	for _, m := range r.msgs {
		switch m["type"] {
		case "RECORD":
			rec := m["record"].(map[string]any)
			stream := rec["stream"].(string)
			data := rec["data"].(map[string]any)
			if err := schemas[stream].Validate(data); err != nil {
				t.Errorf("a %s record does not validate against its discovered schema: %v", stream, err)
			}
			if s.records[stream] == nil {
				s.records[stream], s.times[stream] = map[string][]byte{}, map[string]int{}
			}
			k := recordKey(stream, data)
			b, _ := json.Marshal(data)
			s.records[stream][k] = b
			s.times[stream][k]++
		case "STATE":
			s.states = append(s.states, m["state"])
		}
	}
	s.states = lastStates(s.states)
	return s
}

// lastStates keeps the last of the STATE messages of each stream, as
// Airbyte passes them to the next sync, in the order of the streams.
func lastStates(states []any) []any {
	last := map[string]any{}
	for _, st := range states {
		name := st.(map[string]any)["stream"].(map[string]any)["stream_descriptor"].(map[string]any)["name"].(string)
		last[name] = st
	}
	var out []any
	for _, name := range slices.Sorted(maps.Keys(last)) {
		out = append(out, last[name])
	}
	return out
}

// TestIncrementalRead: a first read of every incremental stream keeps a
// state per stream; after a batch of every kind of change, a second read
// from that state emits every new and changed record with its new values,
// a tombstone for every deleted record and no live record of it, and at
// most 5% of the unchanged records of each stream, in a tenth of the
// first read's requests; its messages and records validate against the
// protocol and the discovered schemas, and a third read takes its state.
func TestIncrementalRead(t *testing.T) {
	srv, config, cat, catalog, schemas := incrementalAccount(t, asanatest.Options{Seed: 7, Size: "small", ServiceAccount: true})
	proto := protocol(t)

	srv.ResetRequests()
	r1 := runBinary(t, "read", "--config", config, "--catalog", catalog)
	validateLines(t, proto, r1)
	if r1.code != 0 {
		t.Fatalf("first read: exit %d\nstderr: %s", r1.code, r1.stderr)
	}
	first := collect(t, r1, schemas)
	firstRequests := len(srv.Requests())
	if len(first.states) != 20 {
		t.Fatalf("the first read wrote %d states, want one per stream", len(first.states))
	}

	log, err := srv.ApplyChanges(asanatest.ChangeBatch{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	r2 := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, first.states))
	validateLines(t, proto, r2)
	if r2.code != 0 {
		t.Fatalf("second read: exit %d\nstderr: %s", r2.code, r2.stderr)
	}
	second := collect(t, r2, schemas)
	secondRequests := len(srv.Requests())
	t.Logf("requests: first read %d, second %d (%.1f%%)", firstRequests, secondRequests, 100*float64(secondRequests)/float64(firstRequests))
	if secondRequests*10 > firstRequests {
		t.Errorf("the second read made %d requests, more than a tenth of the first's %d", secondRequests, firstRequests)
	}

	// The truth after the batch: a full read now.
	r3 := runBinary(t, "read", "--config", config, "--catalog", configured(t, cat, allStreams()...))
	if r3.code != 0 {
		t.Fatalf("full read: exit %d\nstderr: %s", r3.code, r3.stderr)
	}
	full := collect(t, r3, schemas)

	isTombstone := func(b []byte) bool { return bytes.Contains(b, []byte(`"`+asana.DeletedAtField+`"`)) }
	for _, stream := range []string{"tasks", "sections", "projects", "tags", "stories", "attachments"} {
		sc := log.Stream(stream)
		for _, g := range slices.Concat(sc.Created, sc.Changed, sc.Undeleted) {
			got, ok := second.records[stream][g]
			if !ok || isTombstone(got) {
				t.Errorf("%s %s was created or changed: the second read emits %s", stream, g, got)
			} else if want := full.records[stream][g]; !bytes.Equal(got, want) {
				t.Errorf("%s %s: the second read emits\n%s\nwant, as a full read has it now,\n%s", stream, g, got, want)
			}
		}
		for _, g := range sc.Deleted {
			if got := second.records[stream][g]; !isTombstone(got) {
				t.Errorf("%s %s was deleted: the second read emits %s, want a tombstone", stream, g, got)
			}
		}
		for _, g := range sc.Cascaded {
			if got, ok := second.records[stream][g]; ok && !isTombstone(got) {
				t.Errorf("%s %s went with its task: the second read emits it live", stream, g)
			}
		}
	}
	for stream, recs := range second.records {
		again := 0
		for g, b := range recs {
			if old, ok := first.records[stream][g]; ok && bytes.Equal(old, b) {
				again++
			}
			if n := second.times[stream][g]; n > 1 {
				t.Errorf("%s %s emitted %d times", stream, g, n)
			}
		}
		st, _ := asana.StreamByName(stream)
		if n := len(first.records[stream]); st.Cursor != "" && again*20 > n {
			t.Errorf("%s: %d of %d unchanged records emitted again, more than 5%%", stream, again, n)
		}
		t.Logf("%-22s second read: %5d records, %5d of them unchanged; first read %5d", stream, len(recs), again, len(first.records[stream]))
	}

	// The second read's state is taken as it is by the next read, which
	// finds nothing new.
	r4 := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, second.states))
	if r4.code != 0 {
		t.Fatalf("third read: exit %d\nstderr: %s", r4.code, r4.stderr)
	}
	third := collect(t, r4, schemas)
	for stream, recs := range third.records {
		st, _ := asana.StreamByName(stream)
		for g := range recs {
			if _, ok := second.records[stream][g]; st.Cursor != "" && !ok {
				t.Errorf("a read right after the second emits %s %s, which nothing changed", stream, g)
			}
		}
	}
}

// incrementalAccount serves a simulated account and returns the
// connector's config for it, the discovered catalog and schemas, and a
// configured catalog that reads every stream incrementally where it can.
func incrementalAccount(t *testing.T, opts asanatest.Options) (srv *asanatest.Server, config string, cat map[string]any, catalog string, schemas map[string]*jsonschema.Schema) {
	t.Helper()
	srv = asanatest.NewServer(opts)
	t.Cleanup(srv.Close)
	config = simConfig(t, srv, nil)
	cat, schemas = discover(t, config)
	return srv, config, cat, configuredIncremental(t, cat), schemas
}

// incrementalSetup makes a simulated account, reads it once incrementally,
// applies a batch of every kind of change, and returns what a second read
// needs.
func incrementalSetup(t *testing.T, opts asanatest.Options) (srv *asanatest.Server, config, catalog string, first syncResult, log *asanatest.ChangeLog, schemas map[string]*jsonschema.Schema) {
	t.Helper()
	srv, config, _, catalog, schemas = incrementalAccount(t, opts)
	r1 := runBinary(t, "read", "--config", config, "--catalog", catalog)
	if r1.code != 0 {
		t.Fatalf("first read: exit %d\nstderr: %s", r1.code, r1.stderr)
	}
	first = collect(t, r1, schemas)
	log, err := srv.ApplyChanges(asanatest.ChangeBatch{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return srv, config, catalog, first, log, schemas
}

// TestIncrementalExpiredToken: a project whose stored token expired (412)
// is read again alone, its tasks by modified_since: its changed tasks
// arrive, a warning names it and says deletions in it cannot be seen, and
// the sync costs far less than a full one.
func TestIncrementalExpiredToken(t *testing.T) {
	srv, config, catalog, first, log, schemas := incrementalSetup(t, asanatest.Options{Seed: 7, Size: "small", ServiceAccount: true})
	// The project with the most changed tasks.
	project, most := "", 0
	for _, p := range log.Projects {
		n := 0
		for _, g := range log.Stream("tasks").Changed {
			if slices.Contains(srv.Account().ProjectTasks(p), g) {
				n++
			}
		}
		if n > most {
			project, most = p, n
		}
	}
	if most == 0 {
		t.Fatal("no project has a changed task")
	}
	srv.ExpireSyncTokens(project)
	srv.ResetRequests()
	r := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, first.states))
	if r.code != 0 {
		t.Fatalf("read: exit %d\nstderr: %s", r.code, r.stderr)
	}
	second := collect(t, r, schemas)
	for _, g := range log.Stream("tasks").Changed {
		if slices.Contains(srv.Account().ProjectTasks(project), g) {
			if _, ok := second.records["tasks"][g]; !ok {
				t.Errorf("task %s of project %s (expired token) changed, but was not read", g, project)
			}
		}
	}
	warned := false
	for _, m := range r.msgs {
		if l, ok := m["log"].(map[string]any); ok && strings.Contains(fmt.Sprint(l["message"]), "sync token of project "+project+" had expired") &&
			strings.Contains(fmt.Sprint(l["message"]), "deleted") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no LOG names project %s's expired token and what it cannot see", project)
	}
	if n := len(srv.Requests()); n*5 > len(first.records["tasks"])+len(first.records["stories"]) {
		t.Errorf("%d requests: a whole re-crawl?", n)
	}
}

// TestIncrementalResumed: a second sync interrupted after its first
// checkpoint (written as its last level begins) resumes from the last
// state of each stream, as Airbyte passes them: the checkpoints over the
// first read's states. What the interrupted read committed and what the
// resumed one emits hold every change of the batch.
func TestIncrementalResumed(t *testing.T) {
	srv, config, catalog, first, log, schemas := incrementalSetup(t, asanatest.Options{Seed: 7, Size: "small", ServiceAccount: true,
		LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	cut := interruptedRead(t, []string{"read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, first.states)},
		func(string, map[string]any) bool { return true })
	if cut.checkpoints == 0 {
		t.Fatalf("the interrupted read wrote no checkpoint\nstderr: %s", cut.stderr)
	}
	_ = srv
	r := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, lastStates(append(first.states, cut.states...))))
	if r.code != 0 {
		t.Fatalf("resumed read: exit %d\nstderr: %s", r.code, r.stderr)
	}
	second := collect(t, r, schemas)
	for _, stream := range []string{"tasks", "sections", "projects", "tags", "stories", "attachments"} {
		sc := log.Stream(stream)
		for _, g := range slices.Concat(sc.Created, sc.Changed, sc.Undeleted, sc.Deleted) {
			if _, ok := second.records[stream][g]; !ok && !cut.committed[stream][g] {
				t.Errorf("%s %s changed, but neither the interrupted read committed it nor the resumed one emits it", stream, g)
			}
		}
	}
}

// cutRead is what a read interrupted after a checkpoint wrote.
type cutRead struct {
	result
	// committed are, per stream, the records before its last STATE, as
	// Airbyte commits them; states every STATE message.
	committed   map[string]map[string]bool
	states      []any
	checkpoints int // STATE messages with pending parents
	stopped     bool
}

// interruptedRead runs the connector with args and interrupts it (SIGINT)
// at the first checkpoint (a STATE with pending parents) for which stop
// says so. Every STATE's record count is checked.
func interruptedRead(t *testing.T, args []string, stop func(stream string, state map[string]any) bool) cutRead {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cut := cutRead{committed: map[string]map[string]bool{}}
	uncommitted := map[string][]string{}
	scanMessages(t, stdout, func(line []byte, m map[string]any) {
		cut.lines, cut.msgs = append(cut.lines, line), append(cut.msgs, m)
		switch m["type"] {
		case "RECORD":
			rec := m["record"].(map[string]any)
			stream := rec["stream"].(string)
			uncommitted[stream] = append(uncommitted[stream], recordKey(stream, rec["data"].(map[string]any)))
		case "STATE":
			st := m["state"].(map[string]any)["stream"].(map[string]any)
			stream := st["stream_descriptor"].(map[string]any)["name"].(string)
			cut.states = append(cut.states, m["state"])
			if n, _ := m["state"].(map[string]any)["sourceStats"].(map[string]any)["recordCount"].(float64); int(n) != len(uncommitted[stream]) {
				t.Errorf("a STATE of %s counts %v records since the last, want %d", stream, n, len(uncommitted[stream]))
			}
			if cut.committed[stream] == nil {
				cut.committed[stream] = map[string]bool{}
			}
			for _, k := range uncommitted[stream] {
				cut.committed[stream][k] = true
			}
			uncommitted[stream] = nil
			state := st["stream_state"].(map[string]any)
			if _, ok := state["pending"]; !ok || cut.stopped {
				return
			}
			cut.checkpoints++
			if stop(stream, state) {
				cmd.Process.Signal(os.Interrupt)
				cut.stopped = true
			}
		}
	})
	err = cmd.Wait()
	cut.stderr = stderr.String()
	if ee, ok := err.(*exec.ExitError); ok {
		cut.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	validateLines(t, protocol(t), cut.result)
	return cut
}

// TestIncrementalBadState: a state of another version, or malformed, is
// one config_error naming the stream and the field; nothing is read.
func TestIncrementalBadState(t *testing.T) {
	_, config, _, catalog, _ := incrementalAccount(t, asanatest.Options{Seed: 7, Size: "tiny", ServiceAccount: true})
	state := func(s string) string {
		return writeJSON(t, []any{map[string]any{"type": "STREAM", "stream": map[string]any{
			"stream_descriptor": map[string]any{"name": "tasks"}, "stream_state": json.RawMessage(s)}}})
	}
	for _, tc := range []struct{ state, want string }{
		{`{"version":99,"synced_at":"2026-01-01T00:00:00Z"}`, "state.tasks.version"},
		{`{"version":1,"synced_at":"yesterday"}`, "state.tasks.synced_at"},
		{`{"version":1,"synced_at":"2026-01-01T00:00:00Z","projects":{"12":{"sync":""}}}`, "state.tasks.projects.12.sync"},
	} {
		r := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", state(tc.state))
		validateLines(t, protocol(t), r)
		var errs []string
		records := 0
		for _, m := range r.msgs {
			if tr, ok := m["trace"].(map[string]any); ok && tr["type"] == "ERROR" {
				e := tr["error"].(map[string]any)
				errs = append(errs, fmt.Sprint(e["failure_type"], ": ", e["message"]))
			}
			if m["type"] == "RECORD" {
				records++
			}
		}
		if r.code != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0], "config_error: ") || !strings.Contains(errs[0], tc.want) || records > 0 {
			t.Errorf("state %s: exit %d, %d records, errors %q; want exit 1, no record, one config_error naming %s", tc.state, r.code, records, errs, tc.want)
		}
	}
}

// TestIncrementalCheckpoint: a first sync writes checkpoints while it
// reads the stories and attachments of every task; interrupted after one,
// it resumes from the last state of each stream. What the two reads
// commit (each stream's records before its last STATE in the first, as
// Airbyte commits them, and all of the second) holds every record of
// every incremental stream, and the second read costs well under a whole
// first sync.
func TestIncrementalCheckpoint(t *testing.T) {
	srv, config, _, catalog, schemas := incrementalAccount(t, asanatest.Options{Seed: 7, Size: "small", ServiceAccount: true,
		LatencyMin: 2 * time.Millisecond, LatencyMax: 4 * time.Millisecond})
	proto := protocol(t)

	srv.ResetRequests()
	whole := runBinary(t, "read", "--config", config, "--catalog", catalog, "--checkpoint-windows", "0")
	if whole.code != 0 {
		t.Fatalf("whole read: exit %d\nstderr: %s", whole.code, whole.stderr)
	}
	truth := collect(t, whole, schemas)
	wholeRequests := len(srv.Requests())

	// Checkpoints every 60 ms; the read is interrupted at the first whose
	// stories have at most half of the tasks pending that the first had.
	srv.ResetRequests()
	firstPending := -1
	cut := interruptedRead(t, []string{"read", "--config", config, "--catalog", catalog, "--checkpoint-windows", "0.001"},
		func(stream string, state map[string]any) bool {
			if stream != "stories" {
				return false
			}
			n := len(state["pending"].(map[string]any)["task"].([]any))
			if firstPending < 0 {
				firstPending = n
			}
			return n*2 <= firstPending
		})
	if !cut.stopped {
		t.Fatalf("the first read wrote %d checkpoints, none of stories with half the pending tasks of the first (%d); exit %d\nstderr: %s",
			cut.checkpoints, firstPending, cut.code, cut.stderr)
	}
	if cut.code == 0 {
		t.Log("the read ended before the interrupt; the resumption is checked all the same")
	}
	firstRequests := len(srv.Requests())

	srv.ResetRequests()
	r := runBinary(t, "read", "--config", config, "--catalog", catalog, "--state", writeJSON(t, lastStates(cut.states)))
	validateLines(t, proto, r)
	if r.code != 0 {
		t.Fatalf("resumed read: exit %d\nstderr: %s", r.code, r.stderr)
	}
	second := collect(t, r, schemas)
	secondRequests := len(srv.Requests())
	t.Logf("requests: a whole first read %d; interrupted after %d checkpoints (stories: at most %d of %d tasks pending) at %d; resumed %d (%.0f%% of a whole read)",
		wholeRequests, cut.checkpoints, firstPending/2, firstPending, firstRequests, secondRequests, 100*float64(secondRequests)/float64(wholeRequests))
	for _, stream := range slices.Sorted(maps.Keys(truth.records)) {
		if st, _ := asana.StreamByName(stream); st.Cursor == "" {
			continue
		}
		missing := 0
		for k := range truth.records[stream] {
			if _, ok := second.records[stream][k]; !ok && !cut.committed[stream][k] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d records neither committed by the interrupted read nor emitted by the resumed one", stream, missing, len(truth.records[stream]))
		}
	}
	if secondRequests*4 > wholeRequests*3 {
		t.Errorf("the resumed read made %d requests, more than three quarters of a whole first read's %d", secondRequests, wholeRequests)
	}
}
