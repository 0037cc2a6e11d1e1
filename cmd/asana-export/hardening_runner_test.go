package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestHardening17BigQueryDryRunOffline builds the Dataflow job of a
// BigQuery export with no Google credentials anywhere: no
// GOOGLE_APPLICATION_CREDENTIALS, an empty home and gcloud configuration,
// and a metadata server that cannot be reached (GCE_METADATA_HOST makes
// Google's libraries believe they run on Compute Engine and ask it for a
// token, which they retry). A dry run contacts nothing but Asana: it exits
// 0 and prints the batch job, and no output holds the token.
func TestHardening17BigQueryDryRunOffline(t *testing.T) {
	d, err := cli.NewDemo("tiny") // the same seed as --demo: the same token
	if err != nil {
		t.Fatal(err)
	}
	pat := d.PAT()
	d.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--demo", "--demo-size", "tiny",
		"--sink", "bigquery", "--bq_project", "my-project", "--bq_dataset", "asana",
		"--runner=dataflow", "--dry_run", "--project", "my-project", "--region", "europe-west1",
		"--staging_location", "gs://my-bucket/staging", "--temp_location", "gs://my-bucket/tmp",
		"--max_num_workers", "4", "--worker_binary", binary,
		"--credentials_secret", "projects/my-project/secrets/asana-token/versions/latest")
	cmd.Env = append(withoutGoogleEnv(os.Environ()), "HOME="+t.TempDir(), "CLOUDSDK_CONFIG="+t.TempDir(),
		"GCE_METADATA_HOST=127.0.0.1:1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the dry run did not end within %s (waiting on Google?)\nstderr:\n%s", time.Since(start).Round(time.Second), stderr.String())
	}
	if err != nil {
		t.Fatalf("dry run without Google credentials: %v\nstderr:\n%s", err, stderr.String())
	}
	var job struct {
		Type      string `json:"type"`
		ProjectID string `json:"projectId"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &job); err != nil {
		t.Fatalf("stdout is not the job as JSON: %v\n%.2000s", err, stdout.String())
	}
	t.Logf("job: type %s, project %s, %d bytes of JSON, in %s", job.Type, job.ProjectID, stdout.Len(), time.Since(start).Round(time.Millisecond))
	if job.Type != "JOB_TYPE_BATCH" {
		t.Errorf("job type %q; want JOB_TYPE_BATCH", job.Type)
	}
	if !strings.Contains(stdout.String(), `"bq_dataset": "asana"`) {
		t.Errorf("the job's options do not name the dataset")
	}
	all := stdout.String() + stderr.String()
	if strings.Contains(all, pat) {
		t.Errorf("the job or the command's output holds the token")
	}
	if i := strings.Index(pat, ":"); i > 0 && strings.Contains(all, pat[i+1:]) {
		t.Errorf("the job or the command's output holds the token's secret part")
	}
	for _, w := range []string{"credentials", "SoftDeletePolicy", "GCS"} {
		if strings.Contains(stderr.String(), w) {
			t.Errorf("stderr mentions %s: a dry run should not need Google\n%s", w, stderr.String())
		}
	}
}

// withoutGoogleEnv drops the variables that point Google's libraries at
// credentials or a project.
func withoutGoogleEnv(env []string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		switch {
		case name == "HOME", name == "GOOGLE_APPLICATION_CREDENTIALS", name == "GCE_METADATA_HOST",
			strings.HasPrefix(name, "CLOUDSDK_"), strings.HasPrefix(name, "GOOGLE_CLOUD_"):
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestHardening18CapAcrossWorkers: the token's cap holds across worker
// processes on any runner. A job whose worker processes outnumber the
// token's requests per minute or requests in flight (each process needs at
// least 1 of each) is refused with one line naming the flags, exit 2,
// before Asana is contacted; so is a job for a runner other than Prism or
// Dataflow that does not say how many worker processes may run at once.
func TestHardening18CapAcrossWorkers(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, Size: "tiny"})
	defer srv.Close()
	dataflow := []string{"--runner=dataflow", "--dry_run", "--project", "my-project", "--region", "europe-west1",
		"--staging_location", "gs://my-bucket/staging", "--temp_location", "gs://my-bucket/tmp",
		"--worker_binary", binary, "--output", "gs://my-bucket/asana"}
	for _, tc := range []struct {
		name   string
		config map[string]any
		args   []string
		want   string // the error; "" for a job on stdout
	}{
		{"more workers than requests per minute", map[string]any{"requests_per_minute": 150, "num_workers": 50},
			append([]string{"--max_num_workers", "200"}, dataflow...),
			"--max_num_workers: 200 worker processes cannot share the token's requests_per_minute of 150, as each needs at least 1: allow at most 150 processes"},
		{"more workers than requests in flight", map[string]any{"requests_per_minute": 1500, "num_workers": 10},
			append([]string{"--max_num_workers", "20"}, dataflow...),
			"--max_num_workers: 20 worker processes cannot share the token's num_workers of 10 requests in flight, as each needs at least 1: allow at most 10 processes, or raise num_workers in the config (at most 50)"},
		{"job server without max_num_workers", map[string]any{},
			[]string{"--runner=universal", "--endpoint", "127.0.0.1:1", "--worker_binary", binary, "--output", "out"},
			"--max_num_workers: required with --runner=universal: give the most SDK worker processes the runner may run at once, as they share the token's requests_per_minute"},
		{"flink without max_num_workers", map[string]any{},
			[]string{"--runner=flink", "--endpoint", "127.0.0.1:1", "--worker_binary", binary, "--output", "out"},
			"--max_num_workers: required with --runner=flink: give the most SDK worker processes the runner may run at once, as they share the token's requests_per_minute"},
		{"as many workers as requests in flight", map[string]any{"requests_per_minute": 150, "num_workers": 50},
			append([]string{"--max_num_workers", "50"}, dataflow...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetRequests()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			args := append([]string{"--config", writeConfig(t, srv, tc.config), "--quiet"}, tc.args...)
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Env = append(withoutEnv(os.Environ(), "GCE_METADATA_HOST"), "GOOGLE_APPLICATION_CREDENTIALS=/nonexistent")
			cmd.WaitDelay = 5 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("exit code %d (%v); want 0\nstderr:\n%s", code, err, stderr.String())
				}
				var job struct {
					Type        string `json:"type"`
					Environment struct {
						WorkerPools []struct {
							AutoscalingSettings struct {
								MaxNumWorkers int64 `json:"maxNumWorkers"`
							} `json:"autoscalingSettings"`
						} `json:"workerPools"`
					} `json:"environment"`
				}
				if err := json.Unmarshal(stdout.Bytes(), &job); err != nil {
					t.Fatalf("stdout is not the job as JSON: %v\n%.2000s", err, stdout.String())
				}
				if job.Type != "JOB_TYPE_BATCH" || len(job.Environment.WorkerPools) == 0 || job.Environment.WorkerPools[0].AutoscalingSettings.MaxNumWorkers != 50 {
					t.Errorf("job of type %q, worker pools %+v; want JOB_TYPE_BATCH with at most 50 workers", job.Type, job.Environment.WorkerPools)
				}
				return
			}
			if code != exitUsage {
				t.Errorf("exit code %d (%v); want %d\nstdout: %.500s\nstderr:\n%s", code, err, exitUsage, stdout.String(), stderr.String())
			}
			if got, want := strings.TrimSpace(stderr.String()), "asana-export: "+tc.want; got != want {
				t.Errorf("stderr:\n%s\nwant the one line:\n%s", got, want)
			}
			if stdout.Len() > 0 {
				t.Errorf("a refused job printed on stdout: %.500s", stdout.String())
			}
			if n := len(srv.Requests()); n > 0 {
				t.Errorf("the refused job made %d requests to Asana first", n)
			}
		})
	}
}
