package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sources/asana"
)

// runPlan is what the runner flags ask for.
type runPlan struct {
	runner    string
	remote    bool // the workers are other processes: credentials must reach them
	elsewhere bool // they are on other machines (Dataflow): they cannot write to this one's disk
	dryRun    bool // Dataflow's --dry_run: print the job, run nothing
	workers   int  // the most worker processes at once, sharing the token (see pipeline.CheckWorkers)
}

// flagValue returns the value of a flag that Beam or its runners define.
func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// planRun reads the runner flags.
func planRun() (runPlan, error) {
	p := runPlan{runner: strings.ToLower(flagValue("runner")), workers: 1}
	switch p.runner {
	case "", "prism", "direct":
		if flagValue("endpoint") != "" && p.runner == "prism" {
			p.remote = true // a Prism job server elsewhere
		}
	case "dataflow", "dataflowrunner":
		p.remote, p.elsewhere = true, true
		p.dryRun, _ = strconv.ParseBool(flagValue("dry_run"))
		n, _ := strconv.Atoi(flagValue("max_num_workers"))
		if n < 1 {
			return p, fmt.Errorf("--max_num_workers: required with --runner=dataflow: the token's %s is shared among the workers, so the job must say how many may run at once", "requests_per_minute")
		}
		p.workers = n
		if opts.credentialsSecret == "" && !p.dryRun {
			return p, fmt.Errorf("--credentials_secret: required with --runner=dataflow: Dataflow workers read the Asana credentials from Secret Manager (see the README)")
		}
	default:
		// A job server (--runner=universal, flink, spark, ...) may run any
		// number of SDK worker processes, each with its own limiter: the
		// job must say how many, as on Dataflow. (A Prism job server,
		// --runner=prism --endpoint, runs one per job.)
		p.remote = true
		n, _ := strconv.Atoi(flagValue("max_num_workers"))
		if n < 1 {
			return p, fmt.Errorf("--max_num_workers: required with --runner=%s: give the most SDK worker processes the runner may run at once, as they share the token's %s", p.runner, "requests_per_minute")
		}
		p.workers = n
	}
	if opts.credentialsSecret != "" {
		if err := pipeline.ValidateSecretName(opts.credentialsSecret); err != nil {
			return p, fmt.Errorf("--credentials_secret: %w", err)
		}
	}
	return p, nil
}

// checkWorkers checks that cfg's token can be shared among the worker
// processes of the plan (see pipeline.CheckWorkers).
func (p runPlan) checkWorkers(cfg *asana.Config) error {
	if err := pipeline.CheckWorkers(*cfg, p.workers); err != nil {
		return fmt.Errorf("--max_num_workers: %w", err)
	}
	return nil
}

// loadCredentials replaces the config's credentials with the secret's,
// when --credentials_secret names one: the command checks them before it
// submits the job, as the workers will read them.
func loadCredentials(ctx context.Context) (*asana.Config, error) {
	if opts.credentialsSecret == "" {
		return cli.LoadConfig(opts.config)
	}
	creds, err := pipeline.CredentialSource{Secret: opts.credentialsSecret, SecretManagerEndpoint: opts.secretManagerEndpoint}.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("--credentials_secret: %w", err)
	}
	if opts.config == "" {
		cfg := asana.NewConfig(creds)
		return cfg, cfg.Validate()
	}
	data, err := cli.ReadFile("config", opts.config)
	if err != nil {
		return nil, err
	}
	cfg, err := asana.ParseConfig(data)
	if err != nil {
		return nil, err
	}
	cfg.Credentials = creds
	return cfg, cfg.Validate()
}

// dryRunContext is the context a dry run is built in: already cancelled.
// Building and printing the job needs no network, but the Dataflow runner
// reads the soft-delete policy of the staging and temp buckets from Cloud
// Storage before it builds the job, even in a dry run: with a cancelled
// context that check fails at once, instead of needing Google credentials
// or waiting on an unreachable metadata server. (jobPrinter drops its
// warnings.)
func dryRunContext(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx
}

// bucketCheckWarnings start the warnings of the Dataflow runner's bucket
// check, which a dry run skips (see dryRunContext).
var bucketCheckWarnings = []string{"Error creating GCS client", "Error checking SoftDeletePolicy"}

// jobPrinter catches the job that Dataflow's --dry_run logs through Beam's
// logger and prints it to out; other messages go on to the next logger if
// they are warnings or errors, but for those of the skipped bucket check.
// (The runner logs the pipeline model too, megabytes of text: dropped.)
type jobPrinter struct {
	out  io.Writer
	next beamlog.Logger
	mu   sync.Mutex
	jobs int
}

func (p *jobPrinter) Log(ctx context.Context, sev beamlog.Severity, depth int, msg string) {
	var job struct {
		Type string `json:"type"`
	}
	switch {
	case strings.HasPrefix(msg, "{") && json.Unmarshal([]byte(msg), &job) == nil && strings.HasPrefix(job.Type, "JOB_TYPE_"):
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintln(p.out, msg)
		p.jobs++
	case sev >= beamlog.SevWarn && !slices.ContainsFunc(bucketCheckWarnings, func(w string) bool { return strings.HasPrefix(msg, w) }):
		p.next.Log(ctx, sev, depth+1, msg)
	}
}
