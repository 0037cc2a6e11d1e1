package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// Bad input, through the binary: each case is one mistake in the config,
// the catalog, the state or the command line, and must end with one clear
// message naming what is wrong, the exit code the protocol expects, and no
// panic or stack trace. (TestReadFailsClearly has the first few: no
// config, config not JSON, no catalog, an unknown stream, a bad sync mode,
// a stream twice, state not JSON, a missing config file, a bad token.)

// inputCase is one bad input.
type inputCase struct {
	name string
	// cmd is the command; args are built from the files of inputFiles.
	cmd  string
	args func(f inputFiles) []string
	// want is in the message: the error trace's (read, discover), the
	// connection status's (check), or stderr (usage errors).
	want string
	// code is the exit code: 1 for read and discover, 0 for check (its
	// answer is a FAILED status), 2 for usage errors.
	code int
	// secret must not appear in any output.
	secret string
}

// inputFiles are good files to combine with a bad one.
type inputFiles struct {
	t       *testing.T
	config  string // a good config
	catalog string // a good configured catalog
	srv     *asanatest.Server
}

// raw writes s to a file and returns its path.
func (f inputFiles) raw(s string) string { return writeRaw(f.t, s) }

// cfg writes the good config with fields replaced.
func (f inputFiles) cfg(fields map[string]any) string { return simConfig(f.t, f.srv, fields) }

func inputCases() []inputCase {
	read := func(config, catalog string, more ...string) []string {
		return append([]string{"--config", config, "--catalog", catalog}, more...)
	}
	badConfig := func(name string, fields map[string]any, want string) inputCase {
		return inputCase{name: "config: " + name, cmd: "read", want: want, code: 1,
			args: func(f inputFiles) []string { return read(f.cfg(fields), f.catalog) }}
	}
	rawConfig := func(name, content, want string) inputCase {
		return inputCase{name: "config: " + name, cmd: "read", want: want, code: 1,
			args: func(f inputFiles) []string { return read(f.raw(content), f.catalog) }}
	}
	badCatalog := func(name, content, want string) inputCase {
		return inputCase{name: "catalog: " + name, cmd: "read", want: want, code: 1,
			args: func(f inputFiles) []string { return read(f.config, f.raw(content)) }}
	}
	badState := func(name, content, want string) inputCase {
		return inputCase{name: "state: " + name, cmd: "read", want: want, code: 1,
			args: func(f inputFiles) []string { return read(f.config, f.catalog, "--state", f.raw(content)) }}
	}
	pat := func(tok any) map[string]any {
		return map[string]any{"credentials": map[string]any{"option_title": "PAT Credentials", "personal_access_token": tok}}
	}
	users := `{"stream":{"name":"users"},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}`
	return []inputCase{
		rawConfig("empty file", "", "config: the file is empty; it must be a JSON object"),
		rawConfig("a JSON array", `[1,2]`, "config: not a JSON object: found array"),
		rawConfig("null", `null`, "credentials: required: give personal_access_token, or client_id, client_secret and refresh_token"),
		rawConfig("cut short after a secret", `{"credentials":{"personal_access_token":"2/9/9:cut-s3cr3t`, "config: not a JSON object: invalid JSON at byte"),
		{name: "config: a directory", cmd: "read", code: 1, want: "reading the config: ",
			args: func(f inputFiles) []string { return read(f.t.TempDir(), f.catalog) }},
		badConfig("credentials a string", map[string]any{"credentials": "2/9/9:str-s3cr3t"}, "credentials: must be an object, got string"),
		badConfig("token a number", pat(12345), "credentials.personal_access_token: must be a string, got number"),
		badConfig("token empty", pat(""), `credentials.personal_access_token: required for "PAT Credentials"`),
		badConfig("unknown option_title", map[string]any{"credentials": map[string]any{"option_title": "API Key", "personal_access_token": "x"}},
			`credentials.option_title: must be "PAT Credentials" or "OAuth Credentials", got "API Key"`),
		badConfig("OAuth without refresh_token", map[string]any{"credentials": map[string]any{"option_title": "OAuth Credentials",
			"client_id": "1", "client_secret": "cs-s3cr3t"}}, `credentials.refresh_token: required for "OAuth Credentials"`),
		badConfig("num_workers a string", map[string]any{"num_workers": "ten"}, "num_workers: must be an integer, got string"),
		badConfig("num_workers a fraction", map[string]any{"num_workers": 2.5}, "num_workers: must be an integer, got number 2.5"),
		badConfig("num_workers 51", map[string]any{"num_workers": 51}, "num_workers: must be between 1 and 50, got 51"),
		badConfig("num_workers -1", map[string]any{"num_workers": -1}, "num_workers: must be between 1 and 50, got -1"),
		badConfig("requests_per_minute -5", map[string]any{"requests_per_minute": -5}, "requests_per_minute: must be at least 1, got -5"),
		badConfig("requests_per_minute 1e400", map[string]any{"requests_per_minute": json1e400{}}, "requests_per_minute: must be an integer, got number"),
		badConfig("base_url ftp", map[string]any{"base_url": "ftp://app.asana.com"}, `base_url: must be an http or https URL such as https://app.asana.com, got "ftp://app.asana.com"`),
		badConfig("base_url without a scheme", map[string]any{"base_url": "app.asana.com"}, "base_url: must be an http or https URL"),
		badConfig("base_url a number", map[string]any{"base_url": 443}, "base_url: must be a string, got number"),
		{name: "config: base_url with a password", cmd: "read", code: 1, want: "base_url: must not carry credentials", secret: "hunter2-s3cr3t",
			args: func(f inputFiles) []string {
				return read(f.cfg(map[string]any{"base_url": "https://me:hunter2-s3cr3t@app.asana.com"}), f.catalog)
			}},
		badConfig("workspaces not gids", map[string]any{"workspaces": []any{"my workspace"}}, `workspaces[0]: must be an Asana gid (digits), got "my workspace"`),
		badConfig("projects twice", map[string]any{"projects": []any{"12", "12"}}, "projects[1]: duplicate gid 12"),
		badConfig("organization_export_ids a string", map[string]any{"organization_export_ids": "123"}, "organization_export_ids: must be an array of strings, got string"),
		badConfig("include_archived_projects a string", map[string]any{"include_archived_projects": "yes"}, "include_archived_projects: must be a boolean, got string"),

		badCatalog("empty file", "", `invalid catalog: the file is empty; it must be a JSON object with "streams"`),
		badCatalog("a JSON array", `[]`, "invalid catalog: not a JSON object: found array"),
		badCatalog("cut short", `{"streams":[`+users, "invalid catalog: not a JSON object: invalid JSON at byte"),
		badCatalog("no streams", `{}`, "invalid catalog: streams: missing"),
		badCatalog("streams empty", `{"streams":[]}`, "invalid catalog: streams: empty: configure at least one stream"),
		badCatalog("streams an object", `{"streams":{"users":{}}}`, "invalid catalog: streams: must be an array, got object"),
		badCatalog("stream a string", `{"streams":[{"stream":"users","sync_mode":"full_refresh"}]}`, "invalid catalog: streams[0].stream: must be an object, got string"),
		badCatalog("stream without a name", `{"streams":[{"stream":{},"sync_mode":"full_refresh"}]}`, "invalid catalog: streams[0].stream.name: missing"),
		badCatalog("stream name a number", `{"streams":[{"stream":{"name":7},"sync_mode":"full_refresh"}]}`, "invalid catalog: streams[0].stream.name: must be a string, got number"),
		badCatalog("unknown stream", `{"streams":[`+users+`,{"stream":{"name":"usres"},"sync_mode":"full_refresh"}]}`, `invalid catalog: streams[1].stream.name: unknown stream "usres"`),
		badCatalog("no sync_mode", `{"streams":[{"stream":{"name":"users"}}]}`, "invalid catalog: streams[0].sync_mode: missing; use full_refresh"),
		badCatalog("sync_mode outside the protocol", `{"streams":[{"stream":{"name":"users"},"sync_mode":"append"}]}`, `invalid catalog: streams[0].sync_mode: "append" is not supported for users; use full_refresh`),
		{name: "catalog: missing file", cmd: "read", code: 1, want: "reading the catalog: /nonexistent/catalog.json: no such file or directory",
			args: func(f inputFiles) []string { return read(f.config, "/nonexistent/catalog.json") }},

		badState("a string", `"state"`, "invalid state: must be a JSON array of state messages or an object"),
		badState("an array of numbers", `[1]`, "invalid state: [0]: not a state message: found number"),
		badState("a null message", `[null]`, "invalid state: [0]: not a state message: found null"),
		badState("an unknown type", `[{"type":"STREAMS"}]`, `invalid state: [0].type: must be STREAM, GLOBAL or LEGACY, got "STREAMS"`),
		badState("type a number", `[{"type":1}]`, "invalid state: [0].type: must be a string, got number"),
		{name: "state: missing file", cmd: "read", code: 1, want: "reading the state: /nonexistent/state.json: no such file or directory",
			args: func(f inputFiles) []string { return read(f.config, f.catalog, "--state", "/nonexistent/state.json") }},

		{name: "discover: bad config", cmd: "discover", code: 1, want: "num_workers: must be between 1 and 50, got 99",
			args: func(f inputFiles) []string { return []string{"--config", f.cfg(map[string]any{"num_workers": 99})} }},
		{name: "discover: no config", cmd: "discover", code: 1, want: "missing --config",
			args: func(f inputFiles) []string { return nil }},
		{name: "check: config not JSON", cmd: "check", code: 0, want: "config: not a JSON object", secret: "chk-s3cr3t",
			args: func(f inputFiles) []string {
				return []string{"--config", f.raw(`{"credentials":{"personal_access_token":"chk-s3cr3t"`)}
			}},
		{name: "check: missing config file", cmd: "check", code: 0, want: "reading the config: /nonexistent/config.json: no such file or directory",
			args: func(f inputFiles) []string { return []string{"--config", "/nonexistent/config.json"} }},
		{name: "check: base_url not http(s)", cmd: "check", code: 0, want: "base_url: must be an http or https URL",
			args: func(f inputFiles) []string {
				return []string{"--config", f.cfg(map[string]any{"base_url": "file:///etc/passwd"})}
			}},
		{name: "command line: unknown command", cmd: "sync", code: 2, want: `source-asana: unknown command "sync"`,
			args: func(f inputFiles) []string { return nil }},
		{name: "command line: no command", cmd: "", code: 2, want: "usage:",
			args: func(f inputFiles) []string { return nil }},
		{name: "command line: unknown flag", cmd: "read", code: 2, want: "flag provided but not defined: -catalogue",
			args: func(f inputFiles) []string { return []string{"--config", f.config, "--catalogue", f.catalog} }},
		{name: "command line: --demo-size unknown", cmd: "read", code: 1, want: `--demo-size: want one of [tiny small medium large], got "huge"`,
			args: func(f inputFiles) []string { return []string{"--demo", "--demo-size", "huge"} }},
	}
}

// json1e400 marshals as a number no integer holds.
type json1e400 struct{}

func (json1e400) MarshalJSON() ([]byte, error) { return []byte("1e400"), nil }

// inputRow is one line of the bad-input table.
type inputRow struct {
	name, cmd, ftype, msg string
	code                  int
	ok                    bool
}

func logInputTable(t *testing.T, rows []inputRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nbad input: source-asana\n| %-44s | %-8s | %4s | %-14s | %s\n", "bad input", "command", "exit", "failure type", "message")
	fmt.Fprintf(&b, "|%s|%s|%s|%s|---\n", strings.Repeat("-", 46), strings.Repeat("-", 10), strings.Repeat("-", 6), strings.Repeat("-", 16))
	for _, r := range rows {
		name := r.name
		if !r.ok {
			name = "FAILED: " + name
		}
		fmt.Fprintf(&b, "| %-44s | %-8s | %4d | %-14s | %s\n", name, r.cmd, r.code, r.ftype, r.msg)
	}
	t.Log(b.String())
}

// testBadInput runs every bad input and returns the table's rows.
func testBadInput(t *testing.T) []inputRow {
	srv := asanatest.NewServer(asanatest.Options{Seed: 1})
	defer srv.Close()
	f := inputFiles{t: t, srv: srv, config: simConfig(t, srv, nil)}
	f.catalog = configured(t, catalogOnce(t), "users", "tasks")
	var rows []inputRow
	for _, tc := range inputCases() {
		row := inputRow{name: tc.name, cmd: tc.cmd}
		row.ok = t.Run(tc.name, func(t *testing.T) {
			f.t = t
			var args []string
			if tc.cmd != "" {
				args = append(args, tc.cmd)
			}
			args = append(args, tc.args(f)...)
			r := runCmd(t, binary, nil, time.Minute, args...)
			row.code = r.code
			o := parseRead(t, r.stdout)
			all := string(r.stdout) + string(r.stderr)
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
				t.Errorf("a panic or stack trace:\n%s", all)
			}
			if tc.secret != "" && strings.Contains(all, tc.secret) {
				t.Errorf("the output shows %q:\n%s", tc.secret, all)
			}
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			var msgs []string
			switch {
			case tc.code == 2:
				row.msg = firstLineOf(string(r.stderr))
				msgs = []string{string(r.stderr)}
				if len(r.stdout) > 0 {
					t.Errorf("a usage error wrote to stdout: %s", r.stdout)
				}
			case tc.cmd == "check":
				status := checkStatus(t, r.stdout)
				row.ftype, row.msg = status["status"], status["message"]
				msgs = []string{status["message"]}
				if status["status"] != "FAILED" {
					t.Errorf("check answered %v, want FAILED", status)
				}
			default:
				if len(o.errors) != 1 {
					t.Errorf("%d error traces, want 1: %q\nstderr: %s", len(o.errors), o.errors, r.stderr)
				}
				if len(o.errors) > 0 {
					row.ftype, row.msg = o.ftypes[0], o.errors[0]
					if o.ftypes[0] != "config_error" {
						t.Errorf("failure type %s, want config_error", o.ftypes[0])
					}
				}
				msgs = o.errors
				if n := len(o.records); n > 0 {
					t.Errorf("records of %d streams were read despite the bad input", n)
				}
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Errorf("messages %q, want one containing %q", msgs, tc.want)
			}
		})
		rows = append(rows, row)
	}
	return rows
}

// checkStatus returns check's one CONNECTION_STATUS.
func checkStatus(t *testing.T, stdout []byte) map[string]string {
	t.Helper()
	r := result{}
	for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
		if line != "" {
			r.lines = append(r.lines, []byte(line))
		}
	}
	validateLines(t, protocolOnce(t), r)
	if len(r.lines) != 1 {
		t.Fatalf("check wrote %d lines, want 1: %s", len(r.lines), stdout)
	}
	var m struct {
		Type             string            `json:"type"`
		ConnectionStatus map[string]string `json:"connectionStatus"`
	}
	if err := json.Unmarshal(r.lines[0], &m); err != nil || m.Type != "CONNECTION_STATUS" {
		t.Fatalf("check wrote %s", r.lines[0])
	}
	return m.ConnectionStatus
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
