package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// The fault matrix: the source-asana binary reads a simulated account
// while the simulator misbehaves in one way, and each run must end either
// with every reachable record exactly once, or with a clean failure: a
// non-zero exit, an error trace that says what went wrong, no record the
// account does not hold, no record twice, and no stack trace.
//
// Time is scaled: the rate-limit window is a second (--rate-window), which
// scales the client's backoff and per-attempt timeout alike (a 1 s timeout,
// backoff from 16 ms to 0.5 s), so a response the simulator delays by 3 s
// is a response slower than the client's timeout.

// faultWindow is the scaled rate-limit window of the fault tests.
const faultWindow = time.Second

// runOut is one run of a binary: every byte it wrote, its exit code and how
// long it took.
type runOut struct {
	stdout, stderr []byte
	code           int
	took           time.Duration
}

// runCmd runs the binary with args and extra environment, killing it after
// limit.
func runCmd(t *testing.T, bin string, env []string, limit time.Duration, args ...string) runOut {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := runOut{stdout: stdout.Bytes(), stderr: stderr.Bytes(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not end within %v\nstderr: %s", bin, strings.Join(args, " "), limit, tail(r.stderr))
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func tail(b []byte) string {
	const n = 3000
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// readOutcome is what a read's output says.
type readOutcome struct {
	records  map[string][]string // stream → primary keys, in order
	status   map[string]string   // stream → last status
	errors   []string            // error trace messages
	ftypes   []string            // their failure types
	logs     []string            // LOG messages
	badLines []string
}

func parseRead(t *testing.T, out []byte) readOutcome {
	t.Helper()
	o := readOutcome{records: map[string][]string{}, status: map[string]string{}}
	proto := protocolOnce(t)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			o.badLines = append(o.badLines, string(line))
			continue
		}
		validateLines(t, proto, result{lines: [][]byte{line}})
		switch m["type"] {
		case "RECORD":
			rec := m["record"].(map[string]any)
			stream := rec["stream"].(string)
			o.records[stream] = append(o.records[stream], recordKey(stream, rec["data"].(map[string]any)))
		case "LOG":
			o.logs = append(o.logs, m["log"].(map[string]any)["message"].(string))
		case "TRACE":
			tr := m["trace"].(map[string]any)
			if ss, ok := tr["stream_status"].(map[string]any); ok {
				o.status[ss["stream_descriptor"].(map[string]any)["name"].(string)] = ss["status"].(string)
			}
			if e, ok := tr["error"].(map[string]any); ok {
				o.errors = append(o.errors, e["message"].(string))
				o.ftypes = append(o.ftypes, e["failure_type"].(string))
			}
		}
	}
	return o
}

var protoCached struct {
	sync.Once
	v *jsonschema.Schema
}

// protocolOnce compiles the protocol schema once per test binary.
func protocolOnce(t *testing.T) *jsonschema.Schema {
	protoCached.Do(func() { protoCached.v = protocol(t) })
	return protoCached.v
}

// tally compares one stream's keys with the keys expected.
type tally struct {
	expected, emitted, dups, missing, extra int
}

// compare counts got against want; keys in maybe may be there or not.
func compare(want, got, maybe []string) tally {
	w, m := map[string]bool{}, map[string]bool{}
	for _, k := range want {
		w[k] = true
	}
	for _, k := range maybe {
		m[k] = true
	}
	seen := map[string]bool{}
	tl := tally{expected: len(w), emitted: len(got)}
	for _, k := range got {
		if seen[k] {
			tl.dups++
			continue
		}
		seen[k] = true
		if !w[k] && !m[k] {
			tl.extra++
		}
	}
	for k := range w {
		if !seen[k] {
			tl.missing++
		}
	}
	return tl
}

func (a *tally) add(b tally) {
	a.expected += b.expected
	a.emitted += b.emitted
	a.dups += b.dups
	a.missing += b.missing
	a.extra += b.extra
}

// matrixRow is one line of the table the matrix logs.
type matrixRow struct {
	name, outcome string
	tl            tally
	code          int
	took          time.Duration
	msg           string
}

func logTable(t *testing.T, title string, rows []matrixRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", title)
	fmt.Fprintf(&b, "| %-62s | %-34s | %8s | %7s | %4s | %7s | %5s | %4s | %6s | %s\n", "fault or bad input", "outcome", "expected", "emitted", "dups", "missing", "extra", "exit", "time", "message")
	fmt.Fprintf(&b, "|%s|%s|%s|%s|%s|%s|%s|%s|%s|---\n", strings.Repeat("-", 64), strings.Repeat("-", 36), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 6), strings.Repeat("-", 9), strings.Repeat("-", 7), strings.Repeat("-", 6), strings.Repeat("-", 8))
	for _, r := range rows {
		msg := r.msg
		if len(msg) > 160 {
			msg = msg[:157] + "..."
		}
		fmt.Fprintf(&b, "| %-62s | %-34s | %8d | %7d | %4d | %7d | %5d | %4d | %5.1fs | %s\n", r.name, r.outcome,
			r.tl.expected, r.tl.emitted, r.tl.dups, r.tl.missing, r.tl.extra, r.code, r.took.Seconds(), msg)
	}
	t.Log(b.String())
}

// faultCase is one row of the matrix.
type faultCase struct {
	name string
	opts asanatest.Options
	// oauth reads with the simulator's OAuth client instead of its PAT.
	oauth bool
	// deny picks the objects the simulator answers an error about
	// (Options.Deny); the expectation leaves out what hangs below them.
	deny func(t *testing.T, a *asanatest.Account) map[string]int
	// setup runs once the server is up: it revokes a token, or hooks the
	// simulator's requests (and names in h.deleted what it deletes after
	// it was listed).
	setup func(t *testing.T, srv *asanatest.Server, h *hooks)
	// window is the rate-limit window, faultWindow by default.
	window time.Duration
	// config changes the connector's configuration.
	config map[string]any
	// fail is empty when every record must arrive exactly once; otherwise
	// the run must fail cleanly with an error trace containing fail.
	fail string
	// incomplete are the streams a failing run must leave INCOMPLETE
	// (nil: every stream).
	incomplete []string
	// stderr must contain each of these.
	stderr []string
}

// hooks lets a case act on the simulator's requests (Options.AfterRequest
// is fixed before the server exists).
type hooks struct {
	mu      sync.Mutex
	fn      func(asanatest.Request)
	deleted map[string]string // gid → stream, listed and then deleted
	n       atomic.Int64
}

func (h *hooks) after(r asanatest.Request) {
	h.n.Add(1)
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(r)
	}
}

func (h *hooks) set(fn func(asanatest.Request)) {
	h.mu.Lock()
	h.fn = fn
	h.mu.Unlock()
}

// TestFaultMatrix runs every fault through the read binary on the tiny
// account (small where a fault needs listings of several pages) and logs
// the table of outcomes: go test -v -run TestFaultMatrix ./cmd/source-asana/
func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault matrix runs the binary some seventy times")
	}
	var rows []matrixRow
	var inputs []inputRow
	defer func() {
		logTable(t, "fault matrix: source-asana read", rows)
		logInputTable(t, inputs)
	}()
	t.Run("fault", func(t *testing.T) {
		for _, tc := range faultCases() {
			var row matrixRow
			ok := t.Run(tc.name, func(t *testing.T) { row = runFaultCase(t, tc) })
			if !ok {
				row.outcome = "FAILED: " + row.outcome
			}
			rows = append(rows, row)
		}
	})
	t.Run("bad input", func(t *testing.T) { inputs = testBadInput(t) })
}

func faultCases() []faultCase {
	// The slow cases scale time four times further, so that a response
	// slower than the client's timeout (250 ms) costs little.
	const slowWindow = faultWindow / 4
	slow := 3 * slowWindow // three times the client's timeout
	return []faultCase{
		{name: "429 storm: half of all requests for 2 s",
			opts: asanatest.Options{FaultWindows: []asanatest.FaultWindow{{Until: 2 * time.Second, Faults: asanatest.Faults{Rate429: 0.5}}}}},
		{name: "5xx burst: 60% for 1 s, 5% after",
			opts: asanatest.Options{Faults: asanatest.Faults{Rate5xx: 0.05},
				FaultWindows: []asanatest.FaultWindow{{Until: time.Second, Faults: asanatest.Faults{Rate5xx: 0.6}}}}},
		{name: "connections dropped mid-body (20%)",
			opts: asanatest.Options{Faults: asanatest.Faults{RateDrop: 0.2}}},
		{name: "truncated JSON bodies (20%)",
			opts: asanatest.Options{Faults: asanatest.Faults{RateTruncate: 0.2}}},
		{name: "responses slower than the client timeout (5%)", window: slowWindow,
			opts: asanatest.Options{Faults: asanatest.Faults{SlowRate: 0.05, Slow: slow}}},
		{name: "every response slower than the timeout, from the start", window: slowWindow,
			opts: asanatest.Options{Faults: asanatest.Faults{SlowRate: 1, Slow: slow}},
			fail: "asana could not be reached"},
		{name: "every response slower than the timeout, after the check", window: faultWindow / 10,
			opts: asanatest.Options{FaultWindows: []asanatest.FaultWindow{{From: time.Millisecond, Until: time.Hour,
				Faults: asanatest.Faults{SlowRate: 1, Slow: slow}}}},
			fail: "incomplete"},
		{name: "offset tokens expire mid-listing (first 3, small account)",
			opts: asanatest.Options{Size: "small", StaleOffsets: 3}},
		{name: "offset tokens always expire before the next page",
			opts: asanatest.Options{OffsetTTL: time.Nanosecond, LatencyMin: 2 * time.Millisecond, LatencyMax: 3 * time.Millisecond},
			fail: "incomplete", incomplete: []string{"stories", "stories_compact"}},
		{name: "OAuth access tokens expire every 10 requests", oauth: true,
			opts: asanatest.Options{AccessTokenRequests: 10}},
		{name: "OAuth refresh token revoked before the run", oauth: true,
			setup: func(t *testing.T, srv *asanatest.Server, h *hooks) {
				srv.RevokeRefreshToken()
			},
			fail: "the refresh token, client id or client secret was rejected"},
		{name: "OAuth refresh token revoked mid-run (tokens of 20 requests)", oauth: true,
			opts: asanatest.Options{AccessTokenRequests: 20},
			setup: func(t *testing.T, srv *asanatest.Server, h *hooks) {
				var once sync.Once
				h.set(func(r asanatest.Request) {
					if h.n.Load() >= 30 {
						once.Do(srv.RevokeRefreshToken)
					}
				})
			},
			fail: "the refresh token, client id or client secret was rejected"},
		{name: "401 on a personal access token (a wrong one)",
			config: map[string]any{"credentials": map[string]any{"personal_access_token": "2/1/2:not-a-token"}},
			fail:   "asana rejected the credentials"},
		{name: "401 on a personal access token revoked mid-run",
			setup: func(t *testing.T, srv *asanatest.Server, h *hooks) {
				var once sync.Once
				h.set(func(r asanatest.Request) {
					if h.n.Load() >= 30 {
						once.Do(srv.RevokePAT)
					}
				})
			},
			fail: "401"},
		{name: "402/403/404/451 on parts of the tree (Deny)",
			deny: denyTargets},
		{name: "404 on a task whose assigned subtask has subtasks",
			deny: func(t *testing.T, a *asanatest.Account) map[string]int {
				return map[string]int{coveringTask(t, a): 404}
			}},
		{name: "a project deleted between listing it and its children",
			setup: func(t *testing.T, srv *asanatest.Server, h *hooks) {
				a := srv.Account()
				ws := a.Organization()
				p := a.Projects(ws)[0]
				h.deleted = map[string]string{p: "projects"}
				var once sync.Once
				h.set(func(r asanatest.Request) {
					if r.Path == "/api/1.0/projects" && r.Query.Get("workspace") == ws && r.Status == 200 {
						once.Do(func() { srv.Delete(p) })
					}
				})
			}},
		{name: "a task deleted between listing it and its subtasks",
			setup: func(t *testing.T, srv *asanatest.Server, h *hooks) {
				a := srv.Account()
				p, task := taskWithSubtasks(t, a)
				h.deleted = map[string]string{task: "tasks"}
				var once sync.Once
				h.set(func(r asanatest.Request) {
					if r.Path == "/api/1.0/tasks" && r.Query.Get("project") == p && r.Status == 200 {
						once.Do(func() { srv.Delete(task) })
					}
				})
			}},
	}
}

// denyTargets picks one object of each kind to deny: a project (403), a
// task with subtasks and stories (404), a team (451), a portfolio (402).
func denyTargets(t *testing.T, a *asanatest.Account) map[string]int {
	t.Helper()
	ws := a.Organization()
	projects := a.Projects(ws)
	_, task := taskWithSubtasks(t, a)
	teams, portfolios := a.Teams(ws), a.Portfolios(ws, "")
	if len(projects) < 2 || len(teams) == 0 || len(portfolios) == 0 {
		t.Fatalf("the account is too small to deny parts of it")
	}
	return map[string]int{projects[1]: 403, task: 404, teams[0]: 451, portfolios[0]: 402}
}

// coveringTask returns a task with a subtask that is assigned (so the
// assignee listings find it on its own) and has subtasks of its own: the
// walk below the subtask must not depend on the walk below the task.
func coveringTask(t *testing.T, a *asanatest.Account) string {
	t.Helper()
	assigned := map[string]bool{}
	for _, ws := range a.GIDs("workspace") {
		for _, u := range a.WorkspaceUsers(ws) {
			for _, tk := range a.AssignedTasks(u, ws) {
				assigned[tk] = true
			}
		}
	}
	for _, tk := range a.GIDs("task") {
		for _, sub := range a.Subtasks(tk) {
			if assigned[sub] && len(a.Subtasks(sub)) > 0 {
				return tk
			}
		}
	}
	t.Fatal("no task with an assigned subtask that has subtasks")
	return ""
}

// taskWithSubtasks returns an organization project and a task of it with
// subtasks and stories.
func taskWithSubtasks(t *testing.T, a *asanatest.Account) (project, task string) {
	t.Helper()
	for _, p := range a.Projects(a.Organization()) {
		for _, tk := range a.ProjectTasks(p) {
			if len(a.Subtasks(tk)) > 0 && len(a.Stories(tk)) > 0 {
				return p, tk
			}
		}
	}
	t.Fatal("no task with subtasks and stories")
	return "", ""
}

// runFaultCase runs one case and checks its outcome.
func runFaultCase(t *testing.T, tc faultCase) matrixRow {
	row := matrixRow{name: tc.name, outcome: "?"}
	opts := tc.opts
	opts.Seed, opts.ServiceAccount = 42, true
	var deny map[string]int
	if tc.deny != nil {
		deny = tc.deny(t, asanatest.New(opts).Account()) // the same account
		opts.Deny = deny
	}
	h := &hooks{}
	opts.AfterRequest = h.after
	srv := asanatest.NewServer(opts)
	defer srv.Close()
	if tc.setup != nil {
		tc.setup(t, srv, h)
	}
	acct := srv.Account()
	exports := acct.OrganizationExports()
	cfg := map[string]any{"organization_export_ids": exports}
	if tc.oauth {
		id, secret, refresh := srv.OAuthClient()
		cfg["credentials"] = map[string]any{"option_title": "OAuth Credentials", "client_id": id, "client_secret": secret, "refresh_token": refresh}
	}
	for k, v := range tc.config {
		cfg[k] = v
	}
	config := simConfig(t, srv, cfg)
	catalog := configured(t, catalogOnce(t), allStreams()...)
	window := tc.window
	if window == 0 {
		window = faultWindow
	}
	before := map[string][]string{}
	if h.deleted != nil {
		before = acct.ExpectedUnderDeny(exports)
	}
	r := runCmd(t, binary, nil, 3*time.Minute, "read", "--config", config, "--catalog", catalog, "--rate-window", window.String())
	row.code, row.took = r.code, r.took
	if dir := os.Getenv("FAULT_DUMP"); dir != "" { // to read a case's output
		name := strings.NewReplacer("/", "_", " ", "_").Replace(tc.name)
		os.WriteFile(dir+"/"+name+".stdout", r.stdout, 0o644)
		os.WriteFile(dir+"/"+name+".stderr", r.stderr, 0o644)
	}
	o := parseRead(t, r.stdout)
	if len(o.errors) > 0 {
		row.msg = o.errors[0]
	}
	// The truth once the run is over, plus what was listed before it was
	// deleted; what the deletion took with it (a deleted task's subtasks
	// and stories) may have been read before it went, or not.
	want := acct.ExpectedUnderDeny(exports)
	for gid, stream := range h.deleted {
		if stream == "tasks" {
			// A task is delivered by its owning listing (its assignee's,
			// say), which may come before the deletion or after it: the
			// task may be read or not, like its subtree.
			continue
		}
		want[stream] = append(want[stream], gid)
		switch stream {
		case "sections", "stories", "attachments", "portfolios":
			want[stream+"_compact"] = append(want[stream+"_compact"], gid)
		}
	}
	per := map[string]tally{}
	for _, s := range allStreams() {
		if s == "events" {
			tl := compare(o.records[s], o.records[s], nil)
			per[s] = tl
			row.tl.dups += tl.dups
			continue
		}
		tl := compare(want[s], o.records[s], before[s])
		per[s] = tl
		row.tl.add(tl)
	}

	all := string(r.stdout) + string(r.stderr)
	if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
		t.Errorf("a panic or stack trace in the output:\n%s", tail([]byte(all)))
	}
	if len(o.badLines) > 0 {
		t.Errorf("%d stdout lines are not JSON, the first: %.200q", len(o.badLines), o.badLines[0])
	}
	if row.tl.dups > 0 || row.tl.extra > 0 {
		t.Errorf("%d duplicates and %d records the account does not hold", row.tl.dups, row.tl.extra)
	}
	for _, s := range tc.stderr {
		if !strings.Contains(string(r.stderr), s) {
			t.Errorf("stderr does not mention %q", s)
		}
	}
	if tc.fail == "" {
		row.outcome = "exactly once"
		if r.code != 0 {
			row.outcome = "FAILED"
			t.Errorf("exit %d, want 0; errors %q\nstderr: %s", r.code, o.errors, tail(r.stderr))
		}
		for _, s := range allStreams() {
			if tl := per[s]; tl.missing > 0 {
				row.outcome = "RECORDS MISSING"
				t.Errorf("%s: %d of %d records missing", s, tl.missing, tl.expected)
			}
			if o.status[s] != "COMPLETE" {
				t.Errorf("%s ends %s, want COMPLETE", s, o.status[s])
			}
		}
		if len(o.errors) > 0 {
			t.Errorf("error traces %q in a run that must succeed", o.errors)
		}
		for gid := range deny {
			if !strings.Contains(string(r.stderr), gid) {
				t.Errorf("no warning names the denied %s", gid)
			}
		}
		return row
	}
	row.outcome = "clean failure"
	if r.code == 0 {
		row.outcome = "EXIT 0"
		t.Errorf("exit 0, want a failure with %q", tc.fail)
	}
	found := false
	for _, e := range o.errors {
		found = found || strings.Contains(e, tc.fail)
	}
	if !found {
		t.Errorf("error traces %q, want one containing %q\nstderr: %s", o.errors, tc.fail, tail(r.stderr))
	}
	if len(o.status) > 0 {
		incomplete := tc.incomplete
		if incomplete == nil {
			incomplete = allStreams()
		}
		for _, s := range incomplete {
			if o.status[s] != "INCOMPLETE" {
				t.Errorf("%s ends %q, want INCOMPLETE", s, o.status[s])
			}
		}
		var gotIncomplete []string
		for s, st := range o.status {
			if st == "INCOMPLETE" {
				gotIncomplete = append(gotIncomplete, s)
			}
		}
		sort.Strings(gotIncomplete)
		row.outcome += fmt.Sprintf(", %d incomplete", len(gotIncomplete))
		// A stream that misses records must not say COMPLETE.
		for _, s := range allStreams() {
			if per[s].missing > 0 && o.status[s] == "COMPLETE" {
				t.Errorf("%s misses %d of %d records but ends COMPLETE", s, per[s].missing, per[s].expected)
			}
		}
	}
	return row
}

var catalogCache struct {
	sync.Once
	cat map[string]any
}

// catalogOnce discovers the catalog once per test binary.
func catalogOnce(t *testing.T) map[string]any {
	catalogCache.Do(func() {
		srv := asanatest.NewServer(asanatest.Options{Seed: 1})
		defer srv.Close()
		catalogCache.cat, _ = discover(t, simConfig(t, srv, nil))
	})
	return catalogCache.cat
}
