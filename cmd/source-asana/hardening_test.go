package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// The hardening tests (issue 11): source-asana against a look-alike Asana
// that misbehaves on purpose (asanatest.NewTamperedServer), one test per
// item, each named after it. Every run must end by itself, with a clean
// outcome: no stack trace, no secret, no line that is not an
// AirbyteMessage, and each record at most once.

// tampered serves the tiny account through rewrite.
func tampered(t *testing.T, rewrite asanatest.Rewrite) *asanatest.Server {
	t.Helper()
	sim := asanatest.New(asanatest.Options{Seed: 1, ServiceAccount: true})
	srv := asanatest.NewTamperedServer(sim, rewrite)
	t.Cleanup(srv.Close)
	return srv
}

// hardRun is one run of the binary, with its peak memory.
type hardRun struct {
	runOut
	maxRSSMiB int64
}

// runHard runs the binary with args, failing the test if it does not end
// within limit.
func runHard(t *testing.T, limit time.Duration, args ...string) hardRun {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("source-asana %s did not end within %v\nstderr: %s", strings.Join(args, " "), limit, tail(stderr.Bytes()))
	}
	r := hardRun{runOut: runOut{stdout: stdout.Bytes(), stderr: stderr.Bytes(), took: time.Since(start)}}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSMiB = ru.Maxrss >> 10
	}
	for _, bad := range []string{"goroutine ", "panic:", "runtime error"} {
		if bytes.Contains(r.stderr, []byte(bad)) {
			t.Errorf("stderr holds %q:\n%s", bad, tail(r.stderr))
		}
	}
	return r
}

// hardRead reads streams of srv's account with a scaled window (backoff,
// timeouts and the longest wait scale with it) and parses the output.
func hardRead(t *testing.T, srv *asanatest.Server, cfg map[string]any, streams ...string) (hardRun, readOutcome) {
	t.Helper()
	r := runHard(t, 3*time.Minute, "read", "--config", simConfig(t, srv, cfg),
		"--catalog", configured(t, catalogOnce(t), streams...), "--rate-window", faultWindow.String())
	o := parseRead(t, r.stdout)
	if len(o.badLines) > 0 {
		t.Errorf("%d stdout lines are not JSON, the first: %.200q", len(o.badLines), o.badLines[0])
	}
	for s, keys := range o.records {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("%s record %s written twice", s, k)
			}
			seen[k] = true
		}
	}
	return r, o
}

// isList reports whether r is a GET of the collection path (no offset
// check), e.g. "/projects".
func isList(r *http.Request, path string) bool {
	return r.Method == http.MethodGet && r.URL.Path == "/api/1.0"+path
}

// simData asks the simulator itself for path, as r would.
func simData(t *testing.T, sim *asanatest.Sim, r *http.Request, path string) json.RawMessage {
	data, err := sim.DataAs(r, path)
	if err != nil {
		t.Errorf("simulator: %v", err)
	}
	return data
}

// pageOf decodes a page body into its records, as maps.
func pageOf(t *testing.T, body []byte) []map[string]any {
	var p struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("decoding a page of the simulator: %v", err)
	}
	return p.Data
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// anyContains reports which of texts hold s.
func holds(s string, texts map[string][]byte) []string {
	var where []string
	for name, b := range texts {
		if s != "" && bytes.Contains(b, []byte(s)) {
			where = append(where, name)
		}
	}
	slices.Sort(where)
	return where
}

func oauthConfig(sim *asanatest.Sim) map[string]any {
	id, secret, refresh := sim.OAuthClient()
	return map[string]any{"credentials": map[string]any{"option_title": "OAuth Credentials",
		"client_id": id, "client_secret": secret, "refresh_token": refresh}}
}

// Item 1: a redirect from the token endpoint to another host must not
// take the client secret and refresh token there.
func TestHardening01OAuthRedirectRefused(t *testing.T) {
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.WriteHeader(500)
	}))
	defer evil.Close()
	srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
		if r.URL.Path == "/-/oauth_token" {
			a.Status, a.Body = http.StatusTemporaryRedirect, nil
			a.Header.Set("Location", evil.URL+"/-/oauth_token")
		}
	})
	r := runHard(t, time.Minute, "check", "--config", simConfig(t, srv, oauthConfig(srv.Sim)))
	status := checkStatus(t, r.stdout)
	if status["status"] != "FAILED" || !strings.Contains(status["message"], "redirects to another origin") {
		t.Errorf("check status %v, want FAILED naming the refused redirect", status)
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
}

// Item 2: secrets echoed by Asana's error bodies, or by the token
// endpoint's "error", appear in no message of any run.
func TestHardening02EchoedSecretsRedacted(t *testing.T) {
	var mu sync.Mutex
	bearers := map[string]bool{} // every bearer token sent, access tokens included
	echo := func(r *http.Request, a *asanatest.Answer, status int) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		bearers[strings.TrimPrefix(auth, "Bearer ")] = true
		mu.Unlock()
		a.Status = status
		a.Body = mustJSON(map[string]any{"errors": []map[string]string{{
			"message": "token " + strings.TrimPrefix(auth, "Bearer ") + " may not do this (" + auth + ")",
			"help":    "sent: " + auth}}})
	}
	var outputs = map[string][]byte{}
	add := func(name string, r hardRun) {
		outputs[name+" stdout"], outputs[name+" stderr"] = r.stdout, r.stderr
	}

	t.Run("check with a PAT, 401", func(t *testing.T) {
		srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
			if isList(r, "/users/me") {
				echo(r, a, 401)
			}
		})
		r := runHard(t, time.Minute, "check", "--config", simConfig(t, srv, nil))
		if s := checkStatus(t, r.stdout); s["status"] != "FAILED" {
			t.Errorf("check status %v, want FAILED", s)
		}
		add("check", r)
		bearers[srv.PAT()] = true
	})
	t.Run("read with a PAT, 400, 403 and 500", func(t *testing.T) {
		srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
			switch {
			case isList(r, "/projects"):
				echo(r, a, 500)
			case isList(r, "/tags"):
				echo(r, a, 403)
			}
		})
		r, o := hardRead(t, srv, nil, "projects", "tags", "users")
		if r.code == 0 || o.status["projects"] != "INCOMPLETE" {
			t.Errorf("exit %d, projects %s; want a failed read with projects INCOMPLETE", r.code, o.status["projects"])
		}
		add("read", r)
	})
	t.Run("read with a PAT, 400", func(t *testing.T) {
		srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
			if isList(r, "/tags") {
				echo(r, a, 400)
			}
		})
		r, o := hardRead(t, srv, nil, "tags")
		if r.code == 0 || len(o.errors) == 0 {
			t.Errorf("exit %d, errors %q; want a failed read", r.code, o.errors)
		}
		add("read 400", r)
	})
	t.Run("check with OAuth, the token endpoint echoes the refresh token", func(t *testing.T) {
		srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
			if r.URL.Path == "/-/oauth_token" {
				r.ParseForm()
				a.Status = 400
				a.Body = mustJSON(map[string]string{"error": "invalid_grant " + r.PostForm.Get("refresh_token") + " " + r.PostForm.Get("client_secret"),
					"error_description": r.PostForm.Get("refresh_token")})
			}
		})
		r := runHard(t, time.Minute, "check", "--config", simConfig(t, srv, oauthConfig(srv.Sim)))
		if s := checkStatus(t, r.stdout); s["status"] != "FAILED" || !strings.Contains(s["message"], "invalid_grant [redacted]") {
			t.Errorf("check status %v, want FAILED with the error code, redacted", s)
		}
		add("oauth check", r)
		_, secret, refresh := srv.Sim.OAuthClient() // the client id is public
		bearers[secret], bearers[refresh] = true, true
	})
	t.Run("read with OAuth, a 500 echoes the access token", func(t *testing.T) {
		srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
			if isList(r, "/projects") {
				echo(r, a, 500)
			}
		})
		r, _ := hardRead(t, srv, oauthConfig(srv.Sim), "projects")
		add("oauth read", r)
		_, secret, refresh := srv.Sim.OAuthClient() // the client id is public
		bearers[secret], bearers[refresh] = true, true
	})
	for s := range bearers {
		if len(s) < 8 {
			continue
		}
		if where := holds(s, outputs); len(where) > 0 {
			t.Errorf("a secret (%d bytes, starting %.4s) appears in %v", len(s), s, where)
		}
	}
	if !bytes.Contains(outputs["read stdout"], []byte("[redacted]")) {
		t.Errorf("the read's messages do not show the redaction; they may not hold Asana's message at all")
	}
}

// Item 3: base_url over http to a host other than loopback is refused.
func TestHardening03ClearTextBaseURLRefused(t *testing.T) {
	cfg := writeJSON(t, map[string]any{"credentials": map[string]any{"option_title": "PAT Credentials", "personal_access_token": "0/123456789:abcdefghijkl"},
		"base_url": "http://asana.example.com"})
	r := runHard(t, time.Minute, "check", "--config", cfg)
	if s := checkStatus(t, r.stdout); s["status"] != "FAILED" || !strings.Contains(s["message"], "base_url: must be https") {
		t.Errorf("check status %v, want FAILED naming base_url", s)
	}
	r = runHard(t, time.Minute, "read", "--config", cfg, "--catalog", configured(t, catalogOnce(t), "users"))
	o := parseRead(t, r.stdout)
	if r.code == 0 || len(o.errors) != 1 || o.ftypes[0] != "config_error" || !strings.Contains(o.errors[0], "base_url: must be https") {
		t.Errorf("read: exit %d, errors %q %q; want one config_error naming base_url", r.code, o.errors, o.ftypes)
	}
	// Loopback stays allowed: every other test reads the simulator over it.
}

// Item 4: bodies over the limit (streamed, gzipped, or a page of too many
// records) lose their listing with a clear error, in bounded memory.
func TestHardening04ResponseLimits(t *testing.T) {
	huge := func(a *asanatest.Answer) {
		a.Status, a.Body = 200, nil
		a.Stream = asanatest.RepeatReader([]byte(`{"data":[{"gid":"1","name":"`), bytes.Repeat([]byte("a"), 1<<20), 2<<10, []byte(`"}],"next_page":null}`))
	}
	// A body over the limit is asked for again with half the records, down
	// to one: 7 requests (100, 50, 25, 12, 6, 3, 1) per workspace.
	for _, tc := range []struct {
		name     string
		rewrite  func(a *asanatest.Answer)
		want     string
		maxCalls int32
	}{
		{"a 2 GiB body", huge, "larger than the limit of 32 MiB", 14},
		{"a 10 GiB gzip bomb", func(a *asanatest.Answer) {
			pr, pw := io.Pipe()
			go func() {
				zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
				zw.Write([]byte(`{"data":[{"gid":"1","name":"`))
				chunk := bytes.Repeat([]byte("a"), 1<<20)
				for range 10 << 10 {
					if _, err := zw.Write(chunk); err != nil {
						break
					}
				}
				zw.Close()
				pw.Close()
			}()
			a.Status, a.Body, a.Stream = 200, nil, pr
			a.Header.Set("Content-Encoding", "gzip")
		}, "larger than the limit of 32 MiB", 14},
		{"a page of 10 million records", func(a *asanatest.Answer) {
			a.Status, a.Body = 200, nil
			a.Stream = asanatest.RepeatReader([]byte(`{"data":[`), []byte(`{"gid":"1"},`), 10_000_000, []byte(`{"gid":"2"}],"next_page":null}`))
		}, "larger than the limit of 32 MiB", 14},
		{"a page of 5,000 small records", func(a *asanatest.Answer) {
			var b bytes.Buffer
			b.WriteString(`{"data":[`)
			for i := range 5000 {
				fmt.Fprintf(&b, `{"gid":"%d"},`, 1000+i)
			}
			b.WriteString(`{"gid":"1"}],"next_page":null}`)
			a.Status, a.Body = 200, b.Bytes()
		}, fmt.Sprintf("more than %d records", asana.MaxPageItems), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
				if isList(r, "/tags") {
					calls.Add(1)
					tc.rewrite(a)
				}
			})
			r, o := hardRead(t, srv, nil, "tags", "users")
			if r.code != 1 || o.status["tags"] != "INCOMPLETE" || o.status["users"] != "COMPLETE" {
				t.Errorf("exit %d, tags %s, users %s; want exit 1, tags INCOMPLETE and users COMPLETE", r.code, o.status["tags"], o.status["users"])
			}
			if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, tc.want) }) {
				t.Errorf("no LOG says %q; logs: %q", tc.want, o.logs)
			}
			if n := calls.Load(); n > tc.maxCalls {
				t.Errorf("%d requests for tags, want at most %d", n, tc.maxCalls)
			}
			if r.maxRSSMiB > 1024 {
				t.Errorf("peak RSS %d MiB, want under 1 GiB", r.maxRSSMiB)
			}
			t.Logf("%s: exit %d in %v, peak RSS %d MiB", tc.name, r.code, r.took.Round(time.Millisecond), r.maxRSSMiB)
		})
	}
}

// Item 5: a Retry-After beyond the longest wait loses the request at once.
func TestHardening05HugeRetryAfter(t *testing.T) {
	srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
		if isList(r, "/tags") {
			a.Status, a.Body = 429, []byte(`{"errors":[{"message":"slow down"}]}`)
			a.Header.Set("Retry-After", "999999999")
		}
	})
	r, o := hardRead(t, srv, nil, "tags", "users")
	if r.code != 1 || o.status["tags"] != "INCOMPLETE" || o.status["users"] != "COMPLETE" {
		t.Errorf("exit %d, tags %s, users %s; want exit 1, tags INCOMPLETE, users COMPLETE", r.code, o.status["tags"], o.status["users"])
	}
	want := fmt.Sprintf("longer than the longest wait of %s", asana.MaxWaitWindows*faultWindow)
	if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, want) }) {
		t.Errorf("no LOG says %q; logs: %q", want, o.logs)
	}
}

// Item 6: pagination that would never end fails its listing.
func TestHardening06EndlessPagination(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func(n int32) string
		want string
	}{
		{"the same offset again", func(int32) string { return "same" }, "offset repeated"},
		{"new offsets, the same records", func(n int32) string { return fmt.Sprintf("o%d", n) }, "pages in a row hold no record that earlier pages did not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			first := map[string][]byte{} // project → its first page, rewritten
			var calls atomic.Int32
			srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
				p := r.URL.Query().Get("project")
				if !isList(r, "/tasks") || p == "" {
					return
				}
				n := calls.Add(1)
				mu.Lock()
				defer mu.Unlock()
				if !r.URL.Query().Has("offset") {
					var page map[string]any
					json.Unmarshal(a.Body, &page)
					page["next_page"] = map[string]string{"offset": "start"}
					first[p] = mustJSON(page)
				}
				var page map[string]any
				json.Unmarshal(first[p], &page)
				page["next_page"] = map[string]string{"offset": tc.next(n)}
				a.Status, a.Body = 200, mustJSON(page)
			})
			r, o := hardRead(t, srv, nil, "tasks", "users")
			if r.code != 1 || o.status["tasks"] != "INCOMPLETE" || o.status["users"] != "COMPLETE" {
				t.Errorf("exit %d, tasks %s, users %s; want exit 1, tasks INCOMPLETE, users COMPLETE", r.code, o.status["tasks"], o.status["users"])
			}
			if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, tc.want) && strings.Contains(l, "would never end") }) {
				t.Errorf("no LOG says %q; logs: %q", tc.want, o.logs)
			}
			projects := len(srv.Account().GIDs("project"))
			if n := calls.Load(); n > int32(14*projects) { // the first page, then at most 11 without a new record
				t.Errorf("%d requests for the tasks of %d projects: the listings did not stop", n, projects)
			}
		})
	}
}

// Item 7: a subtask cycle A→B→A is reported and each task written once.
func TestHardening07SubtaskCycle(t *testing.T) {
	var a, b string
	var sim *asanatest.Sim
	srv := tampered(t, func(r *http.Request, ans *asanatest.Answer) {
		switch r.URL.Path {
		case "/api/1.0/tasks/" + a + "/subtasks":
			recs := pageOf(t, ans.Body)
			for _, rec := range recs {
				if rec["gid"] == b {
					rec["num_subtasks"] = 1
				}
			}
			ans.Body = mustJSON(map[string]any{"data": recs, "next_page": nil})
		case "/api/1.0/tasks/" + b + "/subtasks":
			// A is listed as a subtask of its own subtask B.
			rec := simData(t, sim, r, "/tasks/"+a)
			ans.Status, ans.Body = 200, mustJSON(map[string]any{"data": []json.RawMessage{rec}, "next_page": nil})
		}
	})
	sim = srv.Sim
	_, a = taskWithSubtasks(t, srv.Account())
	b = srv.Account().Subtasks(a)[0]
	r, o := hardRead(t, srv, nil, "tasks")
	if r.code != 0 || o.status["tasks"] != "COMPLETE" {
		t.Errorf("exit %d, tasks %s; want exit 0 and COMPLETE", r.code, o.status["tasks"])
	}
	// Walked from A (or from B, when B is found on its own), the cycle
	// closes on the other.
	if !slices.ContainsFunc(o.logs, func(l string) bool {
		return strings.Contains(l, "subtask cycle: task ") && strings.Contains(l, a) && strings.Contains(l, b)
	}) {
		t.Errorf("no LOG reports the cycle through %s; logs: %q", a, o.logs)
	}
	if !slices.Contains(o.records["tasks"], a) || !slices.Contains(o.records["tasks"], b) {
		t.Errorf("tasks %s and %s of the cycle are not both delivered", a, b)
	}
}

// Item 8: a task whose copies in two projects each claim only their own
// project is written once.
func TestHardening08InconsistentCopiesWrittenOnce(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 1, ServiceAccount: true})
	// An unassigned task without parent, in one project; a second project
	// of the same workspace lists it too.
	task, p1, p2 := sim.Account().LoneTask()
	if task == "" {
		t.Fatal("no unassigned task without parent in one project, and no second project")
	}
	srv := asanatest.NewTamperedServer(sim, asanatest.DisagreeingCopies(sim, task, p1, p2))
	defer srv.Close()
	r, o := hardRead(t, srv, nil, "tasks")
	if r.code != 0 || o.status["tasks"] != "COMPLETE" {
		t.Errorf("exit %d, tasks %s; want exit 0 and COMPLETE", r.code, o.status["tasks"])
	}
	n := 0
	for _, k := range o.records["tasks"] {
		if k == task {
			n++
		}
	}
	if n != 1 {
		t.Errorf("task %s written %d times, want once", task, n)
	}
}

// Item 9: records without a usable gid are left out and named; the good
// records of the same page are kept.
func TestHardening09RecordsWithoutGID(t *testing.T) {
	srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
		if !isList(r, "/users") || r.URL.Query().Has("offset") {
			return
		}
		var page map[string]any
		json.Unmarshal(a.Body, &page)
		recs := page["data"].([]any)
		bad := []any{map[string]any{"name": "no gid"}, map[string]any{"gid": 12345}, map[string]any{"gid": nil}, map[string]any{"gid": map[string]any{"x": 1}}}
		page["data"] = append(append(recs[:1:1], bad...), recs[1:]...)
		a.Body = mustJSON(page)
	})
	r, o := hardRead(t, srv, nil, "users")
	if r.code != 1 || o.status["users"] != "INCOMPLETE" {
		t.Errorf("exit %d, users %s; want exit 1 and INCOMPLETE", r.code, o.status["users"])
	}
	want := srv.Account().GIDs("user")
	if tl := compare(want, o.records["users"], nil); tl.missing+tl.extra+tl.dups > 0 {
		t.Errorf("users: %+v; want every good user once", tl)
	}
	for _, w := range []string{"4 records without a usable gid", "page 1, record 2: no usable gid (it is missing)",
		"page 1, record 3: no usable gid (it is a number)", "page 1, record 4: no usable gid (it is null)", "page 1, record 5: no usable gid (it is an object)"} {
		if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, w) }) {
			t.Errorf("no LOG says %q; logs: %q", w, o.logs)
		}
	}
}

// Item 10: {"data": null} is a malformed answer: retried, then lost.
func TestHardening10DataNull(t *testing.T) {
	var calls atomic.Int32
	srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
		if isList(r, "/tags") {
			calls.Add(1)
			a.Status, a.Body = 200, []byte(`{"data": null}`)
		}
	})
	r, o := hardRead(t, srv, nil, "tags", "users")
	if r.code != 1 || o.status["tags"] != "INCOMPLETE" || o.status["users"] != "COMPLETE" {
		t.Errorf("exit %d, tags %s, users %s; want exit 1, tags INCOMPLETE, users COMPLETE", r.code, o.status["tags"], o.status["users"])
	}
	if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, `"data" is null, not an array`) }) {
		t.Errorf("no LOG names the malformed answer; logs: %q", o.logs)
	}
	if n := calls.Load(); n < 4 {
		t.Errorf("%d requests for tags: the malformed answers were not retried", n)
	}
}

// Item 11: invalid UTF-8 becomes U+FFFD, the same in every sink, and is
// counted in a LOG.
func TestHardening11InvalidUTF8(t *testing.T) {
	var victim atomic.Value
	srv := tampered(t, func(r *http.Request, a *asanatest.Answer) {
		if !isList(r, "/users") || r.URL.Query().Has("offset") {
			return
		}
		i := bytes.Index(a.Body, []byte(`"name":"`))
		if i < 0 {
			return
		}
		i += len(`"name":"`)
		a.Body = append(a.Body[:i:i], append([]byte("\xff\xfe bad "), a.Body[i:]...)...)
		victim.Store(true)
	})
	r, o := hardRead(t, srv, nil, "users")
	if r.code != 0 || o.status["users"] != "COMPLETE" || victim.Load() == nil {
		t.Errorf("exit %d, users %s; want exit 0 and COMPLETE", r.code, o.status["users"])
	}
	for i, line := range bytes.Split(r.stdout, []byte("\n")) {
		if !utf8.Valid(line) {
			t.Errorf("stdout line %d is not UTF-8: %.100q", i+1, line)
		}
	}
	if !bytes.Contains(r.stdout, []byte("\uFFFD bad ")) { // a run of invalid bytes is one U+FFFD
		t.Errorf("no record holds the invalid bytes as U+FFFD")
	}
	if !slices.ContainsFunc(o.logs, func(l string) bool { return strings.Contains(l, "1 records held text that is not UTF-8") }) {
		t.Errorf("no LOG counts the repaired record; logs: %q", o.logs)
	}
}
