package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks/airbyte"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// run executes one command and returns the exit code.
func run(ctx context.Context, cmd string) int {
	out := airbyte.Stdout()
	defer out.Flush()
	switch cmd {
	case "spec":
		out.Message(airbyte.Message{Type: "SPEC", Spec: asana.Spec()})
		return 0
	case "check":
		return check(ctx, out)
	case "discover":
		if _, err := loadConfig(); err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		out.Message(airbyte.Message{Type: "CATALOG", Catalog: catalog()})
		return 0
	case "read":
		return read(ctx, out)
	case "":
		usage()
		return 2
	}
	fmt.Fprintf(os.Stderr, "source-asana: unknown command %q\n", cmd)
	usage()
	return 2
}

// fail reports a failure as an error TRACE and returns the exit code.
func fail(out *airbyte.Writer, failureType string, err error) int {
	out.Error(failureType, err.Error(), "", "")
	return 1
}

// demoServer is the simulated account of --demo, served in this process.
var demoServer *asanatest.Server

// loadConfig reads --config, or makes the demo's.
func loadConfig() (*asana.Config, error) {
	if *demo {
		if demoServer == nil {
			demoServer = asanatest.NewServer(asanatest.Options{Seed: 1, Size: *demoSize, ServiceAccount: true})
		}
		cfg := &asana.Config{BaseURL: demoServer.URL, Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(demoServer.PAT())},
			OrganizationExportIDs: demoServer.Account().OrganizationExports()}
		cfg.SetDefaults()
		return cfg, cfg.Validate()
	}
	if *configPath == "" {
		return nil, errors.New("missing --config: give the path of the connector configuration (JSON)")
	}
	data, err := os.ReadFile(*configPath)
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", unwrapPath(err))
	}
	return asana.ParseConfig(data)
}

// unwrapPath keeps the cause of a file error; the path is the user's own.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

func catalog() *airbyte.Catalog {
	var c airbyte.Catalog
	for _, s := range asana.Streams() {
		c.Streams = append(c.Streams, airbyte.Stream{Name: s.Name, JSONSchema: s.Schema,
			SupportedSyncModes: []string{"full_refresh"}, SourceDefinedPrimaryKey: [][]string{s.PrimaryKey}})
	}
	return &c
}

// connect checks the credentials with the cheapest requests there are.
func connect(ctx context.Context, cfg *asana.Config) error {
	c, err := asana.New(cfg, asana.Options{MaxRetries: 3, Window: *rateWindow})
	if err != nil {
		return err
	}
	var me struct {
		GID string `json:"gid"`
	}
	if err := c.Get(ctx, "/users/me", url.Values{"opt_fields": {"gid"}}, &me); err != nil {
		return err
	}
	return nil
}

func check(ctx context.Context, out *airbyte.Writer) int {
	status := func(err error) int {
		if err == nil {
			out.Message(airbyte.Message{Type: "CONNECTION_STATUS", ConnectionStatus: &airbyte.ConnectionStatus{Status: "SUCCEEDED"}})
			return 0
		}
		out.Message(airbyte.Message{Type: "CONNECTION_STATUS", ConnectionStatus: &airbyte.ConnectionStatus{Status: "FAILED", Message: err.Error()}})
		return 0
	}
	cfg, err := loadConfig()
	if err != nil {
		return status(err)
	}
	if err := connect(ctx, cfg); err != nil {
		return status(explain(err))
	}
	return status(nil)
}

// explain turns a client error into a message a user can act on.
func explain(err error) error {
	var ae *asana.Error
	if errors.As(err, &ae) {
		switch {
		case ae.Status == 401:
			return fmt.Errorf("asana rejected the credentials (%s): check the personal access token, or reconnect the OAuth app", ae.Message)
		case ae.Kind == asana.KindTransient:
			return fmt.Errorf("asana could not be reached: %w", err)
		}
	}
	return err
}

func failureType(err error) string {
	var ae *asana.Error
	var ce *asana.ConfigError
	var ie *airbyte.InputError
	switch {
	case errors.As(err, &ce), errors.As(err, &ie):
		return airbyte.ConfigError
	case errors.As(err, &ae) && ae.Kind == asana.KindTransient:
		return airbyte.TransientError
	case errors.As(err, &ae):
		return airbyte.ConfigError
	}
	return airbyte.SystemError
}

func read(ctx context.Context, out *airbyte.Writer) int {
	cfg, err := loadConfig()
	if err != nil {
		return fail(out, airbyte.ConfigError, err)
	}
	var streams []string
	if *demo && *catalogPath == "" {
		for _, s := range asana.Streams() {
			streams = append(streams, s.Name)
		}
	} else {
		if *catalogPath == "" {
			return fail(out, airbyte.ConfigError, errors.New("missing --catalog: give the path of the configured catalog (JSON)"))
		}
		data, err := os.ReadFile(*catalogPath)
		if err != nil {
			return fail(out, airbyte.ConfigError, fmt.Errorf("reading the catalog: %w", unwrapPath(err)))
		}
		cat, err := airbyte.ParseCatalog(data, func(s string) bool { _, ok := asana.StreamByName(s); return ok }, "full_refresh")
		if err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		for _, s := range cat.Streams {
			streams = append(streams, s.Stream.Name)
		}
	}
	if *statePath != "" {
		data, err := os.ReadFile(*statePath)
		if err != nil {
			return fail(out, airbyte.ConfigError, fmt.Errorf("reading the state: %w", unwrapPath(err)))
		}
		if _, err := airbyte.ParseState(data); err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
	}
	if err := connect(ctx, cfg); err != nil {
		return fail(out, failureType(err), explain(err))
	}
	for _, s := range streams {
		out.Status(s, airbyte.Started)
	}
	if contains(streams, "events") {
		out.Log("INFO", "events: a first sync has no events yet, since Asana reports only what happens after its sync token is issued; this sync subscribes to every project")
	}
	for _, s := range streams {
		out.Status(s, airbyte.Running)
	}

	// The workers (this process, on Prism) read the credentials from the
	// environment, never from the pipeline.
	os.Setenv(pipeline.CredentialsEnv, cfg.Credentials.EnvValue())
	p, s := beam.NewPipelineWithRoot()
	o, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: streams, Window: *rateWindow})
	if err != nil {
		return fail(out, airbyte.SystemError, err)
	}
	airbyte.Write(s, o.Records, o.Reports)
	start := time.Now()
	res, err := prism.Execute(ctx, p)
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "source-asana:", err)
		return 1
	}
	if err != nil {
		for _, s := range streams {
			out.Status(s, airbyte.Incomplete)
		}
		msg, ft := jobError(ctx, err)
		out.Error(ft, msg, "", "")
		return 1
	}
	lost := lostCounts(res)
	code := 0
	for _, s := range streams {
		out.State(s, []byte(`{"__ab_no_cursor_state_message":true}`))
		if lost[s] > 0 {
			out.Status(s, airbyte.Incomplete)
			out.Error(airbyte.TransientError, fmt.Sprintf("stream %s is incomplete: %d listings failed after retries (see the ERROR logs above)", s, lost[s]), "", s)
			code = 1
			continue
		}
		out.Status(s, airbyte.Complete)
	}
	fmt.Fprintf(os.Stderr, "source-asana: read %d streams in %s\n", len(streams), time.Since(start).Round(time.Millisecond))
	return code
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// lostCounts reads the sink's per-stream counts of lost listings.
func lostCounts(res beam.PipelineResult) map[string]int64 {
	lost := map[string]int64{}
	if res == nil {
		return lost
	}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if name, ok := strings.CutPrefix(c.Key.Name, "lost/"); ok && c.Key.Namespace == "airbyte" {
			lost[name] += c.Result()
		}
	}
	return lost
}

var _ = metrics.Results{}

// jobError turns a failed job into a message and a failure type. The
// runner hands back the DoFn's error as text, so the kind is read from the
// marker pipeline.ConfigErrorMarker.
func jobError(ctx context.Context, err error) (string, string) {
	if ctx.Err() != nil {
		return "the sync was interrupted; the streams are incomplete", airbyte.TransientError
	}
	msg := err.Error()
	if i := strings.Index(msg, pipeline.ConfigErrorMarker); i >= 0 {
		m := msg[i+len(pipeline.ConfigErrorMarker):]
		if j := strings.IndexByte(m, '\n'); j >= 0 {
			m = m[:j]
		}
		return strings.TrimSpace(m), airbyte.ConfigError
	}
	return "the sync failed: " + msg, airbyte.SystemError
}
