package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// The export's side of the fault matrix (cmd/source-asana has the whole
// matrix): a few representative faults, each run through the binary into
// a directory that already holds a finished export, checking that nothing
// half-written is marked complete. A run either publishes a manifest of
// its own whose streams are complete only if they hold every record
// (exit 0, or 3 with the incomplete streams marked), or publishes nothing
// and leaves the previous export as it was (exit 1 or 2).

// faultWindow is the scaled rate-limit window of these runs: the client's
// timeout is 1 s and its backoff starts at 16 ms.
const faultWindow = time.Second

// exportRun is one run of the binary.
type exportRun struct {
	stdout, stderr []byte
	code           int
	took           time.Duration
}

func runExport(t *testing.T, env []string, limit time.Duration, args ...string) exportRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := exportRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("asana-export %s did not end within %v\nstderr: %s", strings.Join(args, " "), limit, r.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// lastLine is the last non-empty line of b.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

type exportCase struct {
	name   string
	opts   asanatest.Options
	oauth  bool
	window time.Duration
	// setup runs once the server is up (revocations through hooks).
	setup func(srv *asanatest.Server, h *exportHooks)
	// code is the exit code wanted: 0 (published, complete), 3
	// (published, some streams incomplete), 1 or 2 (nothing published).
	code int
	// want is in the output.
	want string
}

type exportHooks struct {
	mu sync.Mutex
	fn func(asanatest.Request)
	n  atomic.Int64
}

func (h *exportHooks) after(r asanatest.Request) {
	h.n.Add(1)
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(r)
	}
}

// revokeAfter calls revoke once the simulator has served n requests.
func revokeAfter(n int64, revoke func(*asanatest.Server)) func(*asanatest.Server, *exportHooks) {
	return func(srv *asanatest.Server, h *exportHooks) {
		var once sync.Once
		h.mu.Lock()
		h.fn = func(asanatest.Request) {
			if h.n.Load() >= n {
				once.Do(func() { revoke(srv) })
			}
		}
		h.mu.Unlock()
	}
}

func exportCases() []exportCase {
	slow := faultWindow / 10
	return []exportCase{
		{name: "5xx burst, connections dropped, truncated JSON",
			opts: asanatest.Options{Faults: asanatest.Faults{Rate5xx: 0.05, RateDrop: 0.1, RateTruncate: 0.1},
				FaultWindows: []asanatest.FaultWindow{{Until: time.Second, Faults: asanatest.Faults{Rate5xx: 0.5}}}}},
		{name: "429 storm: half of all requests for 2 s",
			opts: asanatest.Options{FaultWindows: []asanatest.FaultWindow{{Until: 2 * time.Second, Faults: asanatest.Faults{Rate429: 0.5}}}}},
		{name: "OAuth access tokens expire every 10 requests", oauth: true,
			opts: asanatest.Options{AccessTokenRequests: 10}},
		{name: "402/403/404/451 on parts of the tree (Deny)", code: 0, want: "skipped or lost; see the manifest"},
		{name: "offset tokens always expire before the next page", code: 3, want: "some streams are incomplete",
			opts: asanatest.Options{OffsetTTL: time.Nanosecond, LatencyMin: 2 * time.Millisecond, LatencyMax: 3 * time.Millisecond}},
		{name: "every response slower than the timeout, after the check", code: 3, window: slow, want: "some streams are incomplete",
			opts: asanatest.Options{FaultWindows: []asanatest.FaultWindow{{From: time.Millisecond, Until: time.Hour,
				Faults: asanatest.Faults{SlowRate: 1, Slow: 3 * slow}}}}},
		{name: "every response slower than the timeout, from the start", code: 1, window: slow, want: "asana could not be reached",
			opts: asanatest.Options{Faults: asanatest.Faults{SlowRate: 1, Slow: 3 * slow}}},
		{name: "OAuth refresh token revoked mid-run", oauth: true, code: 1, want: "nothing of this run was published",
			opts:  asanatest.Options{AccessTokenRequests: 20},
			setup: revokeAfter(40, func(s *asanatest.Server) { s.RevokeRefreshToken() })},
		{name: "personal access token revoked mid-run", code: 1, want: "nothing of this run was published",
			setup: revokeAfter(40, func(s *asanatest.Server) { s.RevokePAT() })},
	}
}

// exportRow is one line of the export's table.
type exportRow struct {
	name, outcome, manifest, msg string
	expected, written, code      int
	took                         time.Duration
}

// TestExportFaultMatrix runs each case into a directory holding a
// finished export of two streams, and logs the table of outcomes:
// go test -v -run TestExportFaultMatrix ./cmd/asana-export/
func TestExportFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the export ten times")
	}
	var rows []exportRow
	defer func() {
		var b strings.Builder
		fmt.Fprintf(&b, "\nfault matrix: asana-export (Parquet)\n| %-56s | %-66s | %8s | %7s | %4s | %-44s | %6s | %s\n", "fault", "outcome", "expected", "written", "exit", "manifest", "time", "message")
		fmt.Fprintf(&b, "|%s|%s|%s|%s|%s|%s|%s|---\n", strings.Repeat("-", 58), strings.Repeat("-", 68), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 6), strings.Repeat("-", 46), strings.Repeat("-", 8))
		for _, r := range rows {
			msg := r.msg
			if len(msg) > 150 {
				msg = msg[:147] + "..."
			}
			fmt.Fprintf(&b, "| %-56s | %-66s | %8d | %7d | %4d | %-44s | %5.1fs | %s\n", r.name, r.outcome, r.expected, r.written, r.code, r.manifest, r.took.Seconds(), msg)
		}
		t.Log(b.String())
	}()
	for _, tc := range exportCases() {
		var row exportRow
		ok := t.Run(tc.name, func(t *testing.T) { row = runExportCase(t, tc) })
		if !ok {
			row.outcome = "FAILED: " + row.outcome
		}
		rows = append(rows, row)
	}
}

func runExportCase(t *testing.T, tc exportCase) exportRow {
	row := exportRow{name: tc.name, outcome: "?"}
	opts := tc.opts
	opts.Seed, opts.ServiceAccount = 42, true
	if strings.Contains(tc.name, "Deny") {
		a := asanatest.New(opts).Account()
		ws := a.Organization()
		opts.Deny = map[string]int{a.Projects(ws)[1]: 403, a.Teams(ws)[0]: 451, a.Portfolios(ws, "")[0]: 402}
	}
	h := &exportHooks{}
	opts.AfterRequest = h.after
	srv := asanatest.NewServer(opts)
	defer srv.Close()
	acct := srv.Account()
	exports := acct.OrganizationExports()
	cfg := map[string]any{"organization_export_ids": exports}
	if tc.oauth {
		id, secret, refresh := srv.OAuthClient()
		cfg["credentials"] = map[string]any{"option_title": "OAuth Credentials", "client_id": id, "client_secret": secret, "refresh_token": refresh}
	}
	config := writeConfig(t, srv, cfg)

	// A finished export to keep or replace: two streams, before the faults
	// begin (the token check is the simulator's first request only if
	// nothing came before, so this export uses a simulator of its own).
	dir := filepath.Join(t.TempDir(), "export")
	{
		clean := asanatest.NewServer(asanatest.Options{Seed: 42, ServiceAccount: true})
		out, code := export(t, "--config", writeConfig(t, clean, nil), "--output", dir, "--streams", "workspaces,users")
		clean.Close()
		if code != 0 {
			t.Fatalf("the first export: exit %d\n%s", code, out)
		}
	}
	before, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if tc.setup != nil {
		tc.setup(srv, h)
	}
	window := tc.window
	if window == 0 {
		window = faultWindow
	}
	r := runExport(t, nil, 3*time.Minute, "--config", config, "--output", dir, "--quiet", "--rate-window", window.String())
	row.code, row.took = r.code, r.took
	row.msg = lastLine(r.stderr)
	all := string(r.stdout) + string(r.stderr)
	if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
		t.Errorf("a panic or stack trace in the output:\n%s", all)
	}
	if tc.want != "" && !strings.Contains(all, tc.want) {
		t.Errorf("the output does not say %q:\n%s", tc.want, all)
	}
	if r.code != tc.code {
		t.Errorf("exit %d, want %d\n%s", r.code, tc.code, all)
	}
	want := acct.ExpectedUnderDeny(exports)
	for _, s := range asana.Streams() {
		if s.Name != "events" {
			row.expected += len(want[s.Name])
		}
	}
	after, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
	if err != nil {
		t.Fatalf("the export directory lost its manifest: %v", err)
	}
	if r.code == 1 || r.code == 2 {
		row.outcome, row.manifest = "nothing published", "the previous one, unchanged"
		if _, err := os.Stat(filepath.Join(dir, "_tmp")); err == nil {
			row.manifest += "; _tmp/ left"
		}
		if !bytes.Equal(before, after) {
			row.manifest = "CHANGED"
			t.Errorf("a failed run changed the manifest")
		}
		for _, p := range parts(t, dir) {
			if s := filepath.Base(filepath.Dir(p)); s != "workspaces" && s != "users" {
				t.Errorf("%s appeared though the run failed", p)
			}
		}
		return row
	}
	m, err := parquet.ReadManifest(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatalf("exit %d but the manifest is the previous run's", r.code)
	}
	var incomplete []string
	missing := 0
	for _, s := range asana.Streams() {
		ms, ok := m.Streams[s.Name]
		if !ok {
			t.Errorf("the manifest has no %s", s.Name)
			continue
		}
		row.written += int(ms.Records)
		if s.Name == "events" {
			row.written -= int(ms.Records)
			continue
		}
		if !ms.Complete {
			incomplete = append(incomplete, s.Name)
		}
		short := len(want[s.Name]) - int(ms.Records)
		switch {
		case short < 0:
			t.Errorf("%s: %d records written, %d in the account: duplicates", s.Name, ms.Records, len(want[s.Name]))
		case short > 0 && ms.Complete:
			missing++
			t.Errorf("%s is marked complete but misses %d of %d records", s.Name, short, len(want[s.Name]))
		}
	}
	sort.Strings(incomplete)
	row.manifest = "this run's, complete"
	if !m.Complete {
		row.manifest = fmt.Sprintf("this run's, %d streams incomplete", len(incomplete))
	}
	row.outcome = "published, complete"
	if r.code == 3 {
		row.outcome = "published, incomplete marked"
		if m.Complete || len(incomplete) == 0 {
			t.Errorf("exit 3 but the manifest says the export is complete")
		}
	}
	if r.code == 0 && (!m.Complete || len(incomplete) > 0) {
		t.Errorf("exit 0 but streams %v are incomplete", incomplete)
	}
	if missing > 0 {
		row.outcome += fmt.Sprintf("; %d COMPLETE streams short", missing)
	}
	if opts.Deny != nil {
		problems := 0
		for _, ms := range m.Streams {
			problems += len(ms.Problems)
		}
		if problems == 0 {
			t.Errorf("the manifest names no skipped part although parts were denied")
		}
		row.outcome += fmt.Sprintf(", %d skips listed", problems)
	}
	return row
}

// parts lists the published part files of dir.
func parts(t *testing.T, dir string) []string {
	t.Helper()
	p, _ := filepath.Glob(filepath.Join(dir, "*", "part-*.parquet"))
	return p
}

// TestExportBadInput: bad flags and configs exit 2 with one line naming
// what is wrong, before anything is read or written.
func TestExportBadInput(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 1})
	defer srv.Close()
	good := writeConfig(t, srv, nil)
	raw := func(s string) string {
		p := filepath.Join(t.TempDir(), "config.json")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	var rows []string
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown stream", []string{"--config", good, "--streams", "users,usres"}, `--streams: unknown stream "usres"; the streams are attachments, `},
		{"empty stream name", []string{"--config", good, "--streams", "users,"}, `--streams: unknown stream ""`},
		{"unknown sink", []string{"--config", good, "--sink", "csv"}, `--sink: want bigquery or parquet, got "csv"`},
		{"bigquery without a dataset", []string{"--config", good, "--sink", "bigquery", "--bq_project", "p"}, "--sink bigquery needs --bq_project and --bq_dataset"},
		{"unknown flag", []string{"--config", good, "--stream", "users"}, "flag provided but not defined: -stream"},
		{"demo size", []string{"--demo", "--demo-size", "huge"}, `--demo-size: want one of [tiny small medium large], got "huge"`},
		{"config missing", []string{"--config", "/nonexistent/config.json"}, "reading the config: /nonexistent/config.json: no such file or directory"},
		{"config empty", []string{"--config", raw("")}, "config: the file is empty"},
		{"config not JSON", []string{"--config", raw(`{"credentials":{"personal_access_token":"exp-s3cr3t-91`)}, "config: not a JSON object: invalid JSON at byte"},
		{"num_workers out of range", []string{"--config", writeConfig(t, srv, map[string]any{"num_workers": 500})}, "num_workers: must be between 1 and 50, got 500"},
		{"base_url not http(s)", []string{"--config", writeConfig(t, srv, map[string]any{"base_url": "ftp://example.com"})}, "base_url: must be an http or https URL"},
		{"token rejected", []string{"--config", writeConfig(t, srv, map[string]any{"credentials": map[string]any{"personal_access_token": "2/1/2:exp-s3cr3t-92"}})},
			"asana rejected the credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			r := runExport(t, []string{"ASANA_TOKEN="}, time.Minute, append(tc.args, "--output", dir, "--quiet")...)
			all := string(r.stdout) + string(r.stderr)
			first, _, _ := strings.Cut(strings.TrimSpace(string(r.stderr)), "\n")
			rows = append(rows, fmt.Sprintf("| %-28s | %4d | %s", tc.name, r.code, first))
			if r.code != 2 {
				t.Errorf("exit %d, want 2:\n%s", r.code, all)
			}
			if !strings.Contains(all, tc.want) {
				t.Errorf("the output does not say %q:\n%s", tc.want, all)
			}
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") || strings.Contains(all, "s3cr3t") {
				t.Errorf("a stack trace or a secret in the output:\n%s", all)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the output directory was created")
			}
		})
	}
	t.Log("\nbad input: asana-export\n| bad input                    | exit | message\n|------------------------------|------|---\n" + strings.Join(rows, "\n"))
}

// TestExportSecretsNeverLeak: the export with a personal access token, a
// wrong one, and with an OAuth client whose
// access tokens expire every few requests, through faults and failures:
// no credential appears in its output or in any file it writes (the
// Parquet files, the manifest, TMPDIR). cmd/source-asana's
// TestSecretsNeverLeak does the same for the Airbyte connector.
func TestExportSecretsNeverLeak(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, ServiceAccount: true, AccessTokenRequests: 15,
		Faults: asanatest.Faults{Rate5xx: 0.05, RateDrop: 0.05, RateTruncate: 0.05}})
	defer srv.Close()
	id, secret, refresh := srv.OAuthClient()
	secrets := map[string]string{"personal access token": srv.PAT(), "client id": id, "client secret": secret,
		"refresh token": refresh, "Basic credentials": id + ":" + secret, "a wrong token": "2/77/78:wrong-exp-s3cr3t-aa01"}
	needles := map[string]string{}
	for what, v := range secrets {
		for _, n := range []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v))} {
			needles[n] = what
		}
		if _, after, ok := strings.Cut(v, ":"); ok && len(after) >= 12 {
			needles[after] = what + " (secret part)"
		}
	}
	check := func(where string, b []byte) {
		t.Helper()
		for n, what := range needles {
			if strings.Contains(string(b), n) {
				t.Errorf("%s holds the %s", where, what)
			}
		}
	}
	tmp := t.TempDir()
	out := filepath.Join(t.TempDir(), "export")
	env := []string{"TMPDIR=" + tmp, "ASANA_TOKEN="}
	exports := srv.Account().OrganizationExports()
	oauth := func(secret string) map[string]any {
		return map[string]any{"option_title": "OAuth Credentials", "client_id": id, "client_secret": secret, "refresh_token": refresh}
	}
	oauthConfig := writeConfig(t, srv, map[string]any{"organization_export_ids": exports, "credentials": oauth(secret)})
	w := []string{"--rate-window", faultWindow.String(), "--output", out}
	runs := []struct {
		name string
		env  []string
		args []string
	}{
		{"PAT from a config file", nil, append([]string{"--config", writeConfig(t, srv, map[string]any{"organization_export_ids": exports})}, w...)},
		{"OAuth, tokens of 15 requests", nil, append([]string{"--config", oauthConfig}, w...)},
		{"wrong PAT", nil, append([]string{"--config", writeConfig(t, srv, map[string]any{"credentials": map[string]any{"personal_access_token": "2/77/78:wrong-exp-s3cr3t-aa01"}})}, w...)},
		{"wrong client secret", nil, append([]string{"--config", writeConfig(t, srv, map[string]any{"credentials": oauth("wrong-exp-s3cr3t-aa01")})}, w...)},
		{"bad config holding the secrets", nil, append([]string{"--config", writeConfig(t, srv, map[string]any{"num_workers": 0.5, "credentials": oauth(secret)})}, w...)},
	}
	for _, r := range runs {
		res := runExport(t, append(append([]string{}, env...), r.env...), 2*time.Minute, r.args...)
		check(r.name+": stdout", res.stdout)
		check(r.name+": stderr", res.stderr)
		t.Logf("%-32s exit %d", r.name, res.code)
	}
	srv.RevokeRefreshToken()
	res := runExport(t, env, 2*time.Minute, append([]string{"--config", oauthConfig}, w...)...)
	check("refresh token revoked: stderr", res.stderr)
	if res.code == 0 {
		t.Errorf("an export with a revoked refresh token: exit 0")
	}
	for i, tok := range srv.AccessTokens() {
		needles[tok] = fmt.Sprintf("access token %d", i)
		needles[base64.StdEncoding.EncodeToString([]byte(tok))] = fmt.Sprintf("access token %d", i)
	}
	n := 0
	for _, root := range []string{out, tmp} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err == nil {
				n++
				check(path, b)
			}
			return nil
		})
	}
	if n < 20 {
		t.Errorf("only %d files written to scan; did the exports run?", n)
	}
	t.Logf("%d access tokens issued; %d files scanned", len(srv.AccessTokens()), n)
}
