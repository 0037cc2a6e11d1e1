package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// pyAirbyteCatalog writes the configured catalog PyAirbyte writes for
// every discovered stream (Source.get_configured_catalog, dumped by
// pydantic): each stream incremental, destination overwrite, the source's
// primary key, and the fields it leaves unset as null. syncMode overrides
// the sync mode of the stream named in it ("users=append").
func pyAirbyteCatalog(t *testing.T, cat map[string]any, syncMode ...string) string {
	t.Helper()
	modes := map[string]string{}
	for _, m := range syncMode {
		name, mode, _ := strings.Cut(m, "=")
		modes[name] = mode
	}
	var streams []any
	for _, s := range cat["streams"].([]any) {
		st := map[string]any{}
		for k, v := range s.(map[string]any) {
			st[k] = v
		}
		for _, k := range []string{"source_defined_cursor", "default_cursor_field", "source_defined_primary_key", "namespace", "is_resumable", "is_file_based"} {
			if _, ok := st[k]; !ok {
				st[k] = nil
			}
		}
		mode := "incremental"
		if m, ok := modes[st["name"].(string)]; ok {
			mode = m
		}
		streams = append(streams, map[string]any{"stream": st, "sync_mode": mode, "cursor_field": nil,
			"destination_sync_mode": "overwrite", "primary_key": st["source_defined_primary_key"],
			"generation_id": nil, "minimum_generation_id": nil, "sync_id": nil})
	}
	return writeJSON(t, map[string]any{"streams": streams})
}

// readOutput is what a test compares between two reads: each stream's
// records by key, the statuses in order, and the LOG messages.
type readOutput struct {
	records map[string]map[string]string // stream, key: the record's data as JSON
	order   []string
	logs    []map[string]any
	errors  []string
}

func parseReadOutput(t *testing.T, r result) readOutput {
	t.Helper()
	out := readOutput{records: map[string]map[string]string{}}
	for _, m := range r.msgs {
		switch m["type"] {
		case "RECORD":
			rec := m["record"].(map[string]any)
			stream := rec["stream"].(string)
			data := rec["data"].(map[string]any)
			if out.records[stream] == nil {
				out.records[stream] = map[string]string{}
			}
			key := recordKey(stream, data)
			if _, dup := out.records[stream][key]; dup {
				t.Errorf("%s %s emitted twice", stream, key)
			}
			b, _ := json.Marshal(data)
			out.records[stream][key] = string(b)
		case "LOG":
			out.logs = append(out.logs, m["log"].(map[string]any))
		case "TRACE":
			tr := m["trace"].(map[string]any)
			if ss, ok := tr["stream_status"].(map[string]any); ok {
				name := ss["stream_descriptor"].(map[string]any)["name"].(string)
				out.order = append(out.order, name+" "+ss["status"].(string))
			}
			if tr["type"] == "ERROR" {
				out.errors = append(out.errors, tr["error"].(map[string]any)["message"].(string))
			}
		}
	}
	return out
}

// TestHardening16IncrementalCatalogReadAsFullRefresh reads every stream
// with the catalog PyAirbyte writes (every stream incremental), as PyAirbyte
// runs the connector (with --state holding []): the read succeeds, every
// stream is COMPLETE, the records are those of a full-refresh read (a
// first incremental sync reads everything), and one WARN LOG per stream
// that has no incremental mode says that it is read in full. A sync mode
// outside the protocol is still refused.
func TestHardening16IncrementalCatalogReadAsFullRefresh(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 42, Size: "tiny", ServiceAccount: true})
	defer srv.Close()
	exports := srv.Account().OrganizationExports()
	config := simConfig(t, srv, map[string]any{"organization_export_ids": exports})
	cat, _ := discover(t, config)
	proto := protocol(t)

	fullRun := runBinary(t, "read", "--config", config, "--catalog", configured(t, cat, allStreams()...))
	if fullRun.code != 0 {
		t.Fatalf("full-refresh read: exit %d\nstderr: %s", fullRun.code, fullRun.stderr)
	}
	full := parseReadOutput(t, fullRun)

	pyRun := runBinary(t, "read", "--config", config, "--catalog", pyAirbyteCatalog(t, cat), "--state", writeRaw(t, "[]"))
	validateLines(t, proto, pyRun)
	py := parseReadOutput(t, pyRun)
	if pyRun.code != 0 {
		t.Fatalf("read with PyAirbyte's catalog: exit %d, errors %q\nstderr: %s", pyRun.code, py.errors, pyRun.stderr)
	}
	if len(py.errors) > 0 {
		t.Errorf("error traces: %q", py.errors)
	}
	checkStatuses(t, py.order)

	total := 0
	for _, s := range allStreams() {
		total += len(py.records[s])
		if diff := cmp.Diff(full.records[s], py.records[s]); diff != "" {
			t.Errorf("%s: records of the incremental catalog differ from a full-refresh read (-full +incremental):\n%s", s, diff)
		}
	}
	t.Logf("%d records in %d streams, as in the full-refresh read", total, len(py.records))

	warned := map[string]int{}
	for _, l := range py.logs {
		msg, _ := l["message"].(string)
		name, rest, ok := strings.Cut(strings.TrimPrefix(msg, "stream "), ":")
		if !ok || !strings.Contains(rest, "read in full") {
			continue
		}
		if l["level"] != "WARN" {
			t.Errorf("LOG %q is at level %v; want WARN", msg, l["level"])
		}
		warned[name]++
	}
	for _, s := range allStreams() {
		want := 1 // a stream without a cursor
		if st, _ := asana.StreamByName(s); st.Cursor != "" {
			want = 0 // read incremental: in full, as a first sync
		}
		if warned[s] != want {
			t.Errorf("stream %s: %d WARN LOG messages saying it is read in full; want %d", s, warned[s], want)
		}
	}
	if len(warned) > len(allStreams()) {
		t.Errorf("read-in-full warnings name streams not in the catalog: %v", warned)
	}
	for _, l := range full.logs {
		if strings.Contains(l["message"].(string), "read in full") {
			t.Errorf("the full-refresh read warns: %v", l["message"])
		}
	}

	// A sync mode outside the protocol is refused as before.
	bad := runBinary(t, "read", "--config", config, "--catalog", pyAirbyteCatalog(t, cat, "users=append"), "--state", writeRaw(t, "[]"))
	validateLines(t, proto, bad)
	badOut := parseReadOutput(t, bad)
	want := `"append" is not supported for users; use full_refresh`
	if bad.code != 1 || len(badOut.errors) != 1 || !strings.Contains(badOut.errors[0], want) {
		t.Errorf("catalog with sync_mode append: exit %d, errors %q; want exit 1 and one error saying %s", bad.code, badOut.errors, want)
	}
	if len(badOut.records) > 0 {
		t.Errorf("a refused catalog read records")
	}
}
