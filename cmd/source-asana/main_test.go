package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "source-asana-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "source-asana")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building source-asana: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	msgs   []map[string]any
	lines  [][]byte
	stderr string
	code   int
}

func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	scanMessages(t, &stdout, func(line []byte, m map[string]any) {
		r.lines = append(r.lines, line)
		r.msgs = append(r.msgs, m)
	})
	return r
}

// scanMessages calls each with every line of stdout and its message, as
// they come.
func scanMessages(t *testing.T, stdout io.Reader, each func(line []byte, m map[string]any)) {
	t.Helper()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		each(line, m)
	}
}

// protocol compiles airbyte_protocol.yaml's AirbyteMessage.
func protocol(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("testdata/airbyte_protocol.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("airbyte_protocol.json", v); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("airbyte_protocol.json#/definitions/AirbyteMessage")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateLines checks every stdout line against the protocol.
func validateLines(t *testing.T, proto *jsonschema.Schema, r result) {
	t.Helper()
	for i, line := range r.lines {
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err := proto.Validate(v); err != nil {
			t.Errorf("line %d is not an AirbyteMessage: %v\n%s", i+1, err, line)
		}
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

func simConfig(t *testing.T, srv *asanatest.Server, extra map[string]any) string {
	cfg := map[string]any{"credentials": map[string]any{"option_title": "PAT Credentials", "personal_access_token": srv.PAT()},
		"base_url": srv.URL, "requests_per_minute": 100000}
	for k, v := range extra {
		cfg[k] = v
	}
	return writeJSON(t, cfg)
}

func TestSpec(t *testing.T) {
	r := runBinary(t, "spec")
	validateLines(t, protocol(t), r)
	if r.code != 0 || len(r.msgs) != 1 || r.msgs[0]["type"] != "SPEC" {
		t.Fatalf("spec: exit %d, %d messages, stderr %s", r.code, len(r.msgs), r.stderr)
	}
}

func TestCheck(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 1})
	defer srv.Close()
	proto := protocol(t)
	for _, tc := range []struct {
		name   string
		config map[string]any
		status string
		want   string
	}{
		{"good token", nil, "SUCCEEDED", ""},
		{"bad token", map[string]any{"credentials": map[string]any{"personal_access_token": "2/123/456:nope"}}, "FAILED", "asana rejected the credentials"},
		{"bad num_workers", map[string]any{"num_workers": 99}, "FAILED", "num_workers: must be between 1 and 50, got 99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, "check", "--config", simConfig(t, srv, tc.config))
			validateLines(t, proto, r)
			if r.code != 0 || len(r.msgs) != 1 || r.msgs[0]["type"] != "CONNECTION_STATUS" {
				t.Fatalf("check: exit %d, messages %v, stderr %s", r.code, r.msgs, r.stderr)
			}
			cs := r.msgs[0]["connectionStatus"].(map[string]any)
			msg, _ := cs["message"].(string)
			if cs["status"] != tc.status || !strings.Contains(msg, tc.want) {
				t.Errorf("status %v %q, want %s containing %q", cs["status"], msg, tc.status, tc.want)
			}
			if strings.Contains(string(bytes.Join(r.lines, nil))+r.stderr, "nope") {
				t.Errorf("the token appears in the output")
			}
		})
	}
}

// discover runs discover and returns the catalog and each stream's schema.
func discover(t *testing.T, config string) (map[string]any, map[string]*jsonschema.Schema) {
	t.Helper()
	r := runBinary(t, "discover", "--config", config)
	validateLines(t, protocol(t), r)
	if r.code != 0 || len(r.msgs) != 1 {
		t.Fatalf("discover: exit %d, %d messages, stderr %s", r.code, len(r.msgs), r.stderr)
	}
	cat := r.msgs[0]["catalog"].(map[string]any)
	schemas := map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, s := range cat["streams"].([]any) {
		st := s.(map[string]any)
		name := st["name"].(string)
		b, _ := json.Marshal(st["json_schema"])
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := c.AddResource(name+".json", v); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(name + ".json")
		if err != nil {
			t.Fatalf("schema of %s: %v", name, err)
		}
		schemas[name] = sch
	}
	return cat, schemas
}

func TestDiscoverGolden(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 1})
	defer srv.Close()
	cat, schemas := discover(t, simConfig(t, srv, nil))
	if len(schemas) != 20 {
		t.Errorf("%d streams, want 20", len(schemas))
	}
	var names []string
	for _, s := range cat["streams"].([]any) {
		st := s.(map[string]any)
		names = append(names, fmt.Sprintf("%s %v %v", st["name"], st["source_defined_primary_key"], st["supported_sync_modes"]))
	}
	golden(t, "catalog.txt", []byte(strings.Join(names, "\n")+"\n"))
}

// configured makes a configured catalog of streams.
func configured(t *testing.T, cat map[string]any, streams ...string) string {
	var out []any
	for _, s := range cat["streams"].([]any) {
		st := s.(map[string]any)
		for _, name := range streams {
			if st["name"] == name {
				out = append(out, map[string]any{"stream": st, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"})
			}
		}
	}
	return writeJSON(t, map[string]any{"streams": out})
}

func allStreams() []string {
	var names []string
	for _, s := range asana.Streams() {
		names = append(names, s.Name)
	}
	return names
}

// TestReadEveryStream reads the whole simulated account and compares each
// stream with the simulator's truth: every record the token can see,
// exactly once, with Asana's values, valid under the discovered schema.
func TestReadEveryStream(t *testing.T) {
	for _, tc := range []struct {
		size           string
		serviceAccount bool
	}{{"tiny", true}, {"small", true}, {"tiny", false}} {
		t.Run(fmt.Sprintf("%s, service account %v", tc.size, tc.serviceAccount), func(t *testing.T) {
			srv := asanatest.NewServer(asanatest.Options{Seed: 42, Size: tc.size, ServiceAccount: tc.serviceAccount})
			defer srv.Close()
			acct := srv.Account()
			exports := acct.OrganizationExports()
			config := simConfig(t, srv, map[string]any{"organization_export_ids": exports})
			cat, schemas := discover(t, config)
			srv.ResetRequests()
			r := runBinary(t, "read", "--config", config, "--catalog", configured(t, cat, allStreams()...))
			if r.code != 0 {
				t.Fatalf("read: exit %d\nstderr: %s", r.code, r.stderr)
			}
			validateLines(t, protocol(t), r)
			got := map[string][]map[string]any{}
			var order []string
			for i, m := range r.msgs {
				switch m["type"] {
				case "RECORD":
					rec := m["record"].(map[string]any)
					stream := rec["stream"].(string)
					if err := schemas[stream].Validate(rec["data"]); err != nil {
						t.Errorf("%s record is invalid under its schema: %v", stream, err)
					}
					got[stream] = append(got[stream], rec["data"].(map[string]any))
				case "TRACE":
					tr := m["trace"].(map[string]any)
					if ss, ok := tr["stream_status"].(map[string]any); ok {
						name := ss["stream_descriptor"].(map[string]any)["name"].(string)
						order = append(order, name+" "+ss["status"].(string))
					}
					if tr["type"] == "ERROR" {
						t.Errorf("error trace at line %d: %v", i+1, tr["error"])
					}
				}
			}
			checkStatuses(t, order)
			want := acct.Expected(exports)
			for _, stream := range allStreams() {
				var gids []string
				dups := 0
				seen := map[string]bool{}
				for _, rec := range got[stream] {
					key := recordKey(stream, rec)
					if seen[key] {
						dups++
					}
					seen[key] = true
					gids = append(gids, key)
					if stream != "events" {
						if diff := projectionDiff(acct, acct.Object(key), rec); diff != "" {
							t.Errorf("%s %s differs from the simulator's record: %s", stream, key, diff)
						}
					}
				}
				if diff := cmp.Diff(sorted(want[stream]), sorted(gids)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", stream, diff)
				}
				t.Logf("%-24s expected %6d emitted %6d duplicates %d", stream, len(want[stream]), len(gids), dups)
				if dups > 0 {
					t.Errorf("%s: %d duplicates", stream, dups)
				}
			}
			floor := acct.RequestFloor(exports)
			ratio := float64(len(srv.Requests())) / float64(floor)
			t.Logf("requests %d, floor %d (%.3f×)", len(srv.Requests()), floor, ratio)
			if ratio > 1.05 {
				t.Errorf("%d requests for a floor of %d: more than 5%% over", len(srv.Requests()), floor)
			}
		})
	}
}

func recordKey(stream string, rec map[string]any) string {
	if stream == "events" {
		b, _ := json.Marshal(rec)
		return asana.EventKey(b)
	}
	return rec["gid"].(string)
}

// checkStatuses checks each stream's statuses: STARTED, RUNNING, COMPLETE.
func checkStatuses(t *testing.T, order []string) {
	t.Helper()
	per := map[string][]string{}
	for _, o := range order {
		name, status, _ := strings.Cut(o, " ")
		per[name] = append(per[name], status)
	}
	for _, s := range allStreams() {
		if diff := cmp.Diff([]string{"STARTED", "RUNNING", "COMPLETE"}, per[s]); diff != "" {
			t.Errorf("statuses of %s (-want +got):\n%s", s, diff)
		}
	}
}

// projectionDiff reports where got is not a projection of truth: every
// field of got must hold truth's value, nested objects projected alike. A
// reference (an object with a gid) shows only some fields of the object it
// names; a field asked for beyond those is compared with that object.
func projectionDiff(a *asanatest.Account, truth any, got any) string {
	switch g := got.(type) {
	case map[string]any:
		tm, ok := truth.(map[string]any)
		if !ok {
			return fmt.Sprintf(" is an object where the simulator has %v", truth)
		}
		var named map[string]any
		for k, v := range g {
			tv, ok := tm[k]
			if !ok && tm["resource_type"] == "custom_field" {
				// A custom field value on a task or project: the truth
				// renders it without the value fields nobody set, and the
				// definition it names holds no values to compare with.
				continue
			}
			if !ok {
				if gid, isRef := tm["gid"].(string); isRef && named == nil {
					named = a.Object(gid)
				}
				if tv, ok = named[k]; !ok {
					if v == nil {
						continue
					}
					return fmt.Sprintf("%s: not in the simulator's record", k)
				}
			}
			if d := projectionDiff(a, tv, v); d != "" {
				return k + "." + d
			}
		}
	case []any:
		ta, ok := truth.([]any)
		if !ok || len(ta) != len(g) {
			return fmt.Sprintf(" is an array of %d where the simulator has %v", len(g), truth)
		}
		for i := range g {
			if d := projectionDiff(a, ta[i], g[i]); d != "" {
				return fmt.Sprintf("[%d]%s", i, d)
			}
		}
	default:
		if !cmp.Equal(truth, got) {
			return fmt.Sprintf(" = %v, simulator %v", got, truth)
		}
	}
	return ""
}

func sorted(s []string) []string {
	s = append([]string{}, s...)
	sort.Strings(s)
	return s
}

// TestReadEventsDuringTheSync: the account changes while the sync runs;
// the events of every project since its subscription are read at the end,
// each once although a task in two projects reports through both.
func TestReadEventsDuringTheSync(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 9, Size: "small", ActivityInterval: 5 * time.Millisecond})
	defer srv.Close()
	config := simConfig(t, srv, nil)
	cat, schemas := discover(t, config)
	r := runBinary(t, "read", "--config", config, "--catalog", configured(t, cat, "events", "tasks"))
	if r.code != 0 {
		t.Fatalf("read: exit %d\nstderr: %s", r.code, r.stderr)
	}
	acct := srv.Account()
	truth := map[string]bool{}
	for _, ws := range acct.GIDs("workspace") {
		for _, p := range acct.Projects(ws) {
			for _, ev := range acct.Events(p) {
				b, _ := json.Marshal(ev)
				truth[asana.EventKey(b)] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, m := range r.msgs {
		if m["type"] != "RECORD" {
			continue
		}
		rec := m["record"].(map[string]any)
		if rec["stream"] != "events" {
			continue
		}
		if err := schemas["events"].Validate(rec["data"]); err != nil {
			t.Errorf("event invalid under its schema: %v", err)
		}
		key := recordKey("events", rec["data"].(map[string]any))
		if seen[key] {
			t.Errorf("event %s emitted twice", key)
		}
		seen[key] = true
		if !truth[key] {
			t.Errorf("event %s is not one the simulator reports", key)
		}
	}
	if len(seen) == 0 {
		t.Errorf("no events read although the account changed during the sync")
	}
	t.Logf("%d events read; the simulator's projects report %d in all", len(seen), len(truth))
}

// TestReadFailsClearly: bad config, catalog or state, or rejected
// credentials, end a read with one error TRACE naming the problem, a
// failure type, and a non-zero exit; no stack trace, no token.
func TestReadFailsClearly(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 1})
	defer srv.Close()
	good := simConfig(t, srv, nil)
	cat, _ := discover(t, good)
	catalog := configured(t, cat, "users", "tasks")
	stream := func(name, mode string) map[string]any {
		return map[string]any{"stream": map[string]any{"name": name}, "sync_mode": mode, "destination_sync_mode": "overwrite"}
	}
	proto := protocol(t)
	for _, tc := range []struct {
		name  string
		args  []string
		ftype string
		want  string
	}{
		{"bad token", []string{"--config", simConfig(t, srv, map[string]any{"credentials": map[string]any{"personal_access_token": "2/1/2:s3cr3t"}}), "--catalog", catalog},
			"config_error", "asana rejected the credentials (Not Authorized)"},
		{"no config", []string{"--catalog", catalog}, "config_error", "missing --config"},
		{"config not JSON", []string{"--config", writeRaw(t, `{"credentials":`), "--catalog", catalog}, "config_error", "invalid config: config: not a JSON object"},
		{"no catalog", []string{"--config", good}, "config_error", "missing --catalog"},
		{"unknown stream", []string{"--config", good, "--catalog", writeJSON(t, map[string]any{"streams": []any{stream("__AIRBYTE__stream_that_does_not_exist", "full_refresh")}})},
			"config_error", `invalid catalog: streams[0].stream.name: unknown stream "__AIRBYTE__stream_that_does_not_exist"`},
		{"bad sync mode", []string{"--config", good, "--catalog", writeJSON(t, map[string]any{"streams": []any{stream("users", "INVALID")}})},
			"config_error", `invalid catalog: streams[0].sync_mode: "INVALID" is not supported for users`},
		{"duplicate stream", []string{"--config", good, "--catalog", writeJSON(t, map[string]any{"streams": []any{stream("users", "full_refresh"), stream("users", "full_refresh")}})},
			"config_error", `invalid catalog: streams[1].stream.name: stream "users" is configured twice`},
		{"state not JSON", []string{"--config", good, "--catalog", catalog, "--state", writeRaw(t, `[{"type":`)}, "config_error", "invalid state"},
		{"missing file", []string{"--config", "/nonexistent/config.json", "--catalog", catalog}, "config_error", "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, append([]string{"read"}, tc.args...)...)
			validateLines(t, proto, r)
			if r.code == 0 {
				t.Errorf("exit 0, want non-zero")
			}
			var errs []map[string]any
			for _, m := range r.msgs {
				if tr, ok := m["trace"].(map[string]any); ok && tr["type"] == "ERROR" {
					errs = append(errs, tr["error"].(map[string]any))
				}
			}
			if len(errs) != 1 {
				t.Fatalf("%d error traces, want 1: %v\nstderr: %s", len(errs), r.msgs, r.stderr)
			}
			if msg := errs[0]["message"].(string); errs[0]["failure_type"] != tc.ftype || !strings.Contains(msg, tc.want) {
				t.Errorf("error %v %q, want %s containing %q", errs[0]["failure_type"], msg, tc.ftype, tc.want)
			}
			all := string(bytes.Join(r.lines, nil)) + r.stderr
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic") || strings.Contains(all, "s3cr3t") {
				t.Errorf("output has a stack trace or the token:\n%s", all)
			}
		})
	}
}

func writeRaw(t *testing.T, s string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file.json")
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReadInterrupted: SIGINT stops a read within seconds; every stream is
// left INCOMPLETE, one error trace says so, and the exit is non-zero.
func TestReadInterrupted(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 3, Size: "small", LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	defer srv.Close()
	config := simConfig(t, srv, nil)
	cat, _ := discover(t, config)
	cmd := exec.Command(binary, "read", "--config", config, "--catalog", configured(t, cat, "tasks", "stories"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	start := time.Now()
	err := cmd.Wait()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to stop after SIGINT", d)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("interrupted read: %v, want a non-zero exit", err)
	}
	last := map[string]string{}
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		if tr, ok := m["trace"].(map[string]any); ok {
			if ss, ok := tr["stream_status"].(map[string]any); ok {
				last[ss["stream_descriptor"].(map[string]any)["name"].(string)] = ss["status"].(string)
			}
			if e, ok := tr["error"].(map[string]any); ok {
				errs = append(errs, e["message"].(string))
			}
		}
	}
	if diff := cmp.Diff(map[string]string{"tasks": "INCOMPLETE", "stories": "INCOMPLETE"}, last); diff != "" {
		t.Errorf("last statuses (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "interrupted") {
		t.Errorf("error traces %q, want one saying the sync was interrupted", errs)
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("a stack trace on stderr:\n%s", stderr.String())
	}
}

// TestNoTempFilesLeft: a read leaves nothing in the temporary directory,
// though Beam's Prism leaves a file in it per run.
func TestNoTempFilesLeft(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(binary, "read", "--demo", "--demo-size", "tiny")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out[max(0, len(out)-2000):])
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the read left %d files in TMPDIR, the first %s", len(left), left[0].Name())
	}
}
