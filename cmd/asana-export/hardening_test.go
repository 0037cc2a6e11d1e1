package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// The hardening tests of issue 11 that concern what asana-export writes:
// the same look-alike Asana that misbehaves on purpose as source-asana's
// (asanatest.NewTamperedServer), and the Parquet export it leaves.

func tamperedExport(t *testing.T, rewrite asanatest.Rewrite) *asanatest.Server {
	t.Helper()
	sim := asanatest.New(asanatest.Options{Seed: 1, ServiceAccount: true})
	srv := asanatest.NewTamperedServer(sim, rewrite)
	t.Cleanup(srv.Close)
	return srv
}

func exportTampered(t *testing.T, srv *asanatest.Server, dir string, streams string) exportRun {
	t.Helper()
	r := runExport(t, nil, 3*time.Minute, "--config", writeConfig(t, srv, nil), "--output", dir,
		"--streams", streams, "--rate-window", faultWindow.String(), "--quiet")
	for _, bad := range []string{"goroutine ", "panic:"} {
		if bytes.Contains(r.stderr, []byte(bad)) {
			t.Errorf("stderr holds %q:\n%s", bad, r.stderr)
		}
	}
	return r
}

func readManifest(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// problems returns a stream's problems in the manifest.
func problems(m map[string]any, stream string) []string {
	var out []string
	st, _ := m["streams"].(map[string]any)[stream].(map[string]any)
	ps, _ := st["problems"].([]any)
	for _, p := range ps {
		out = append(out, p.(string))
	}
	return out
}

// Item 2: an error body that echoes the bearer token leaves it in no file
// and no output.
func TestHardening02EchoedSecretsNotInTheExport(t *testing.T) {
	srv := tamperedExport(t, func(r *http.Request, a *asanatest.Answer) {
		auth := r.Header.Get("Authorization")
		if r.Method == http.MethodGet && (r.URL.Path == "/api/1.0/tags" || r.URL.Path == "/api/1.0/projects") {
			a.Status = 403
			if r.URL.Path == "/api/1.0/projects" {
				a.Status = 500
			}
			b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"message": "you sent " + auth + " (" + url.QueryEscape(auth) + ")"}}})
			a.Body = b
		}
	})
	dir := t.TempDir()
	r := exportTampered(t, srv, dir, "tags,projects,users")
	if r.code != 3 {
		t.Errorf("exit %d, want 3 (published, projects lost)\n%s", r.code, r.stderr)
	}
	m := readManifest(t, dir)
	if ps := problems(m, "tags"); len(ps) == 0 || !strings.Contains(ps[0], "you sent Bearer [redacted]") {
		t.Errorf("tags problems %q, want Asana's message with the token redacted", ps)
	}
	pat := srv.PAT()
	for name, b := range map[string][]byte{"stdout": r.stdout, "stderr": r.stderr} {
		if bytes.Contains(b, []byte(pat)) || bytes.Contains(b, []byte(url.QueryEscape(pat))) {
			t.Errorf("the token appears in %s", name)
		}
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(pat)) || bytes.Contains(b, []byte(url.QueryEscape(pat))) {
			t.Errorf("the token appears in %s", p)
		}
		return nil
	})
}

// Item 8: a task whose copies in two projects each claim only their own
// project is in the Parquet export once.
func TestHardening08InconsistentCopiesOnceInParquet(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 1, ServiceAccount: true})
	task, p1, p2 := sim.Account().LoneTask()
	if task == "" {
		t.Fatal("no unassigned task without parent in one project, and no second project")
	}
	srv := asanatest.NewTamperedServer(sim, asanatest.DisagreeingCopies(sim, task, p1, p2))
	defer srv.Close()
	acct := srv.Account()
	dir := t.TempDir()
	if r := exportTampered(t, srv, dir, "tasks"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	keys := duckdb(t, dir).Streams["tasks"].Keys
	if n := len(slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k != task })); n != 1 {
		t.Errorf("task %s is in the export %d times, want once", task, n)
	}
	if got, want := len(keys), len(acct.GIDs("task")); got != want {
		t.Errorf("%d task rows, want %d", got, want)
	}
}

// Item 11: invalid UTF-8 is U+FFFD in Parquet, as in the Airbyte output,
// and the manifest counts it.
func TestHardening11InvalidUTF8InParquet(t *testing.T) {
	srv := tamperedExport(t, func(r *http.Request, a *asanatest.Answer) {
		if r.URL.Path != "/api/1.0/users" || r.URL.Query().Has("offset") {
			return
		}
		if i := bytes.Index(a.Body, []byte(`"name":"`)); i >= 0 {
			i += len(`"name":"`)
			a.Body = append(a.Body[:i:i], append([]byte("\xff\xfe bad "), a.Body[i:]...)...)
		}
	})
	dir := t.TempDir()
	if r := exportTampered(t, srv, dir, "users"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	names := duckdb(t, dir).Streams["users"].Names
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "\uFFFD bad ") }) {
		t.Errorf("no user name starts with U+FFFD: %q", names)
	}
	if ps := problems(readManifest(t, dir), "users"); !slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(p, "1 records held text that is not UTF-8") }) {
		t.Errorf("users problems %q, want the repaired record counted", ps)
	}
}
