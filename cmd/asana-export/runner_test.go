package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestDataflowDryRun builds the Dataflow job offline (made-up project and
// bucket) and checks that it is a batch job, that it carries the rule of
// shared budget and the secret's name, and that no secret is in it.
func TestDataflowDryRun(t *testing.T) {
	d, err := cli.NewDemo("tiny") // the same seed as --demo: the same token
	if err != nil {
		t.Fatal(err)
	}
	pat := d.PAT()
	d.Close()
	const secretName = "projects/my-project/secrets/asana-token/versions/latest"
	cmd := exec.Command(binary, "--demo", "--demo-size", "tiny", "--output", "gs://my-bucket/asana",
		"--runner=dataflow", "--dry_run", "--project", "my-project", "--region", "europe-west1",
		"--staging_location", "gs://my-bucket/staging", "--temp_location", "gs://my-bucket/tmp",
		"--max_num_workers", "4", "--worker_binary", binary, "--credentials_secret", secretName)
	cmd.Env = append(os.Environ(), "GOOGLE_APPLICATION_CREDENTIALS=/nonexistent")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dry run: %v\nstderr:\n%s", err, stderr.String())
	}
	var job struct {
		Type        string `json:"type"`
		ProjectID   string `json:"projectId"`
		Environment struct {
			WorkerPools []struct {
				MaxNumWorkers int64 `json:"maxNumWorkers"`
			} `json:"workerPools"`
		} `json:"environment"`
		Steps []json.RawMessage `json:"steps"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &job); err != nil {
		t.Fatalf("stdout is not the job as JSON: %v\n%.2000s", err, stdout.String())
	}
	t.Logf("job: type %s, project %s, %d steps, %d bytes of JSON", job.Type, job.ProjectID, len(job.Steps), stdout.Len())
	if job.Type != "JOB_TYPE_BATCH" {
		t.Errorf("job type %q; want JOB_TYPE_BATCH (a streaming job would run forever)", job.Type)
	}
	if job.ProjectID != "my-project" {
		t.Errorf("project %q; want my-project", job.ProjectID)
	}
	// The job holds the pipeline options: the secret's name is there, the
	// secret is not. (The DoFns' configuration is in the pipeline model,
	// which the job only points to; pipeline.s TestNoSecretInTheGraph checks
	// it.)
	if !strings.Contains(stdout.String(), secretName) {
		t.Errorf("the job's options do not name the credentials secret")
	}
	all := stdout.String() + stderr.String()
	if strings.Contains(all, pat) {
		t.Errorf("the job or the command's output holds the token")
	}
	if i := strings.Index(pat, ":"); i > 0 && strings.Contains(all, pat[i+1:]) {
		t.Errorf("the job or the command's output holds the token's secret part")
	}
}

// TestRunnerFlagsRefused: what a Dataflow run needs is asked for by name
// before anything starts.
func TestRunnerFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no max_num_workers", []string{"--runner=dataflow", "--output", "gs://b/p"}, "--max_num_workers: required with --runner=dataflow"},
		{"local output", []string{"--runner=dataflow", "--max_num_workers", "2", "--credentials_secret", "projects/p/secrets/s/versions/1", "--output", "out"},
			"--output: workers on other machines write to Cloud Storage"},
		{"no secret", []string{"--runner=dataflow", "--max_num_workers", "2", "--output", "gs://b/p"}, "--credentials_secret: required"},
		{"bad secret name", []string{"--credentials_secret", "asana-token"}, `--credentials_secret: "asana-token" is not a secret version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(os.Environ(), cli.TokenEnv+"=x")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != exitUsage {
				t.Errorf("exit code %d (%v); want %d", code, err, exitUsage)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q; want it to say %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestPrismJobServerSeparateWorkers runs the export on a Prism job server
// in its own process, whose SDK workers are yet other processes (Beam's Go
// boot loader starting the staged worker binary): every DoFn is shipped,
// registered and rebuilt as on a remote runner. The credentials are only in
// the job server's environment, as on workers, so the export succeeds only
// if the DoFns ran there.
func TestPrismJobServerSeparateWorkers(t *testing.T) {
	dir := t.TempDir()
	prism, boot := filepath.Join(dir, "prism"), filepath.Join(dir, "boot")
	for bin, pkg := range map[string]string{prism: "github.com/apache/beam/sdks/v2/go/cmd/prism", boot: "github.com/apache/beam/sdks/v2/go/container"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	// Prism 2.77 starts a PROCESS environment's command with
	// --id='<id>', quotes included (no shell removes them), and the boot
	// loader then asks for a worker id that is not registered. This wrapper
	// drops the quotes.
	wrapper := filepath.Join(dir, "boot.sh")
	os.WriteFile(wrapper, []byte("#!/bin/sh\nid=$(printf %s \"$1\" | tr -d \"'\"); shift\nexec "+boot+" \"$id\" \"$@\"\n"), 0o755)

	srv := asanatest.NewServer(asanatest.Options{Seed: 11, Size: "tiny", ServiceAccount: true})
	defer srv.Close()
	creds := asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())}

	port := freePort(t)
	server := exec.Command(prism, "--job_port", fmt.Sprint(port), "--serve_http=false", "--log_level=warn")
	server.Env = append(os.Environ(), pipeline.CredentialsEnv+"="+creds.EnvValue())
	server.Dir = dir // the boot loader writes pipeline_options.json in its working directory
	var serverLog bytes.Buffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	// The job server and the workers it starts are one process group, all
	// stopped at the end; the workers hold the log's pipe open.
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	server.WaitDelay = 2 * time.Second
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
		server.Wait()
		if t.Failed() {
			t.Logf("job server log:\n%s", serverLog.String())
		}
	}()
	waitForPort(t, port)

	exports := srv.Account().OrganizationExports()
	cfgPath := filepath.Join(dir, "config.json")
	cfgJSON, _ := json.Marshal(map[string]any{"base_url": srv.URL, "organization_export_ids": exports,
		"credentials": map[string]string{"option_title": asana.PATCredentials, "personal_access_token": srv.PAT()}})
	os.WriteFile(cfgPath, cfgJSON, 0o600)
	out := filepath.Join(dir, "export")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--config", cfgPath, "--output", out, "--quiet",
		"--runner=universal", "--endpoint", fmt.Sprintf("localhost:%d", port), "--max_num_workers", "1",
		"--environment_type=PROCESS", `--environment_config={"command":"`+wrapper+`"}`, "--worker_binary", binary)
	cmd.Env = withoutEnv(os.Environ(), pipeline.CredentialsEnv)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("export through the job server: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("export through a Prism job server with separate workers took %s", time.Since(start).Round(time.Millisecond))

	m, err := parquet.ReadManifest(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	got, want := map[string]int64{}, map[string]int64{}
	for name, s := range m.Streams {
		if s.Records > 0 { // the simulator's truth leaves out empty streams
			got[name] = s.Records
		}
	}
	for name, keys := range srv.Account().Expected(exports) {
		want[name] = int64(len(keys))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records per stream in the manifest (-simulator +export):\n%s", diff)
	}
	if !m.Complete {
		t.Errorf("the manifest says the export is incomplete")
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("streams: %d, e.g. %s=%d", len(names), names[0], got[names[0]])
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitForPort(t *testing.T, port int) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}
