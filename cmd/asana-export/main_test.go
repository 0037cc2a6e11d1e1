package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "asana-export-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "asana-export")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building asana-export: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const duckdbDir = "../../sinks/parquet/testdata/duckdb"

// duckdb reads an export with DuckDB (an independent Parquet reader).
type duckStream struct {
	Rows    int               `json:"rows"`
	Keys    []string          `json:"keys"`
	Names   []string          `json:"names"`
	Columns map[string]string `json:"columns"`
}

type duckResult struct {
	Streams map[string]duckStream `json:"streams"`
	Nested  struct {
		MembershipProjectGIDs []string `json:"membership_project_gids"`
	} `json:"nested"`
}

func duckdb(t *testing.T, dir string) duckResult {
	t.Helper()
	if _, err := os.Stat(filepath.Join(duckdbDir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("DuckDB is not installed: run npm ci --prefix sinks/parquet/testdata/duckdb (the test command does): %v", err)
	}
	cmd := exec.Command("node", "check.mjs", dir)
	cmd.Dir = duckdbDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB: %v\n%s", err, stderr.String())
	}
	var r duckResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("DuckDB's answer: %v", err)
	}
	return r
}

func writeConfig(t *testing.T, srv *asanatest.Server, extra map[string]any) string {
	t.Helper()
	cfg := map[string]any{"credentials": map[string]any{"personal_access_token": srv.PAT()}, "base_url": srv.URL, "requests_per_minute": 100000}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func export(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append(args, "--quiet")...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// duckType is the DuckDB type a field of the mapping must read as.
func duckType(f tabular.Field) string {
	var t string
	switch f.Type {
	case tabular.String:
		t = "VARCHAR"
	case tabular.JSON: // Parquet's JSON logical type
		t = "JSON"
	case tabular.Int64:
		t = "BIGINT"
	case tabular.Double:
		t = "DOUBLE"
	case tabular.Bool:
		t = "BOOLEAN"
	case tabular.Timestamp:
		t = "TIMESTAMP WITH TIME ZONE"
	case tabular.Date:
		t = "DATE"
	case tabular.Record:
		var parts []string
		for _, c := range f.Fields {
			name := c.Name
			if duckReserved[name] {
				name = `"` + name + `"`
			}
			parts = append(parts, name+" "+duckType(c))
		}
		t = "STRUCT(" + strings.Join(parts, ", ") + ")"
	}
	if f.Repeated {
		t += "[]"
	}
	return t
}

// duckReserved are the field names DuckDB quotes in a STRUCT type.
var duckReserved = map[string]bool{"name": true, "data": true, "user": true, "type": true, "text": true, "value": true,
	"date": true, "action": true, "parent": true, "source": true, "color": true, "format": true, "field": true,
	"enabled": true, "resource": true, "target": true, "new_value": false, "html_text": false}

// TestExportReadByDuckDB exports a simulated account and reads it back
// with DuckDB: per stream the gids are the simulator's, the column types
// are the mapped ones, nested fields are queryable, and row counts match
// the manifest.
func TestExportReadByDuckDB(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 8, Size: "small", ServiceAccount: true})
	defer srv.Close()
	acct := srv.Account()
	exports := acct.OrganizationExports()
	dir := filepath.Join(t.TempDir(), "export")
	out, code := export(t, "--config", writeConfig(t, srv, map[string]any{"organization_export_ids": exports}), "--output", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	m, err := parquet.ReadManifest(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := duckdb(t, dir)
	want := acct.Expected(exports)
	for _, st := range asana.Streams() {
		ds, ok := got.Streams[st.Name]
		if !ok {
			t.Errorf("%s: no files DuckDB could read", st.Name)
			continue
		}
		if ds.Rows != int(m.Streams[st.Name].Records) {
			t.Errorf("%s: DuckDB reads %d rows, the manifest says %d", st.Name, ds.Rows, m.Streams[st.Name].Records)
		}
		if st.Name != "events" {
			w := append([]string{}, want[st.Name]...)
			sort.Strings(w)
			if diff := cmp.Diff(w, ds.Keys, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" && !(len(w) == 0 && len(ds.Keys) == 0) {
				t.Errorf("%s gids (-simulator +DuckDB):\n%s", st.Name, diff)
			}
		}
		fields, err := tabular.FromJSONSchema(st.Schema)
		if err != nil {
			t.Fatal(err)
		}
		wantCols := map[string]string{}
		for _, f := range fields {
			wantCols[f.Name] = duckType(f)
		}
		for name, typ := range wantCols {
			if norm(ds.Columns[name]) != norm(typ) {
				t.Errorf("%s.%s reads as %s, want %s", st.Name, name, ds.Columns[name], typ)
			}
		}
		t.Logf("%-24s DuckDB rows %6d  manifest %6d  simulator %6d", st.Name, ds.Rows, m.Streams[st.Name].Records, len(want[st.Name]))
	}
	var memberships []string
	for _, task := range acct.GIDs("task") {
		if ms, ok := acct.Object(task)["memberships"].([]any); ok && want != nil {
			for _, x := range ms {
				memberships = append(memberships, x.(map[string]any)["project"].(map[string]any)["gid"].(string))
			}
		}
	}
	sort.Strings(memberships)
	if diff := cmp.Diff(memberships, got.Nested.MembershipProjectGIDs); diff != "" {
		t.Errorf("tasks.memberships[].project.gid (-simulator +DuckDB):\n%s", diff)
	}
}

// norm drops the quotes DuckDB puts around some STRUCT field names.
func norm(t string) string { return strings.ReplaceAll(t, `"`, "") }

// TestStoppedExportPublishesNothing: a run stopped by SIGINT or SIGTERM
// leaves the previous export as it was, manifest included, and says so.
func TestStoppedExportPublishesNothing(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := asanatest.NewServer(asanatest.Options{Seed: 8, Size: "small", LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
			defer srv.Close()
			config := writeConfig(t, srv, nil)
			dir := filepath.Join(t.TempDir(), "export")
			if out, code := export(t, "--config", config, "--output", dir, "--streams", "workspaces,users"); code != 0 {
				t.Fatalf("first export: exit %d\n%s", code, out)
			}
			before, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, "--config", config, "--output", dir, "--quiet")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			cmd.Process.Signal(sig)
			start := time.Now()
			err = cmd.Wait()
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v to stop after %v", d, sig)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() <= 0 {
				t.Fatalf("stopped export: %v, want a non-zero exit (not death by the signal)\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "nothing of this run was published") {
				t.Errorf("the output does not say nothing was published:\n%s", out.String())
			}
			if strings.Contains(out.String(), "goroutine ") || strings.Contains(out.String(), "level=ERROR") {
				t.Errorf("the runner's teardown reached the output:\n%s", out.String())
			}
			after, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the previous manifest changed or went away: %v", err)
			}
			for _, p := range parts(t, dir) {
				if s := filepath.Base(filepath.Dir(p)); s != "workspaces" && s != "users" {
					t.Errorf("%s appeared though the run was stopped", p)
				}
			}
		})
	}
}

func TestNoCredentialsSaysHow(t *testing.T) {
	cmd := exec.Command(binary, "--output", t.TempDir())
	cmd.Env = append(os.Environ(), "ASANA_TOKEN=")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "ASANA_TOKEN") || strings.Contains(string(out), "goroutine") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestNoTempFilesLeft: an export leaves nothing in the temporary
// directory, though Beam's Prism leaves a file in it per run.
func TestNoTempFilesLeft(t *testing.T) {
	tmp := t.TempDir()
	r := runExport(t, []string{"TMPDIR=" + tmp}, 3*time.Minute, "--demo", "--demo-size", "tiny", "--output", t.TempDir(), "--quiet")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the export left %d files in TMPDIR, the first %s", len(left), left[0].Name())
	}
}
