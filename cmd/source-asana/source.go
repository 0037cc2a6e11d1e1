package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/airbyte"
	"github.com/asana-beam/asana-beam/sources/asana"
)

// run executes one command and returns the exit code.
func run(ctx context.Context, cmd string) int {
	out := airbyte.Stdout()
	// Every message but records (which the source redacts) passes through
	// the redaction of the secrets this process knows: a config's, and the
	// access tokens issued during the run.
	out.SetRedact(asana.RedactBytes)
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
		c, err := catalog()
		if err != nil {
			return fail(out, airbyte.SystemError, err)
		}
		out.Message(airbyte.Message{Type: "CATALOG", Catalog: c})
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
var demoServer *cli.Demo

// window is the rate-limit window: the demo's, or --rate-window.
func window() time.Duration {
	if demoServer != nil {
		return demoServer.Window
	}
	return opts.rateWindow
}

// loadConfig reads --config, or makes the demo's.
func loadConfig() (*asana.Config, error) {
	if opts.demo {
		if demoServer == nil {
			d, err := cli.NewDemo(opts.demoSize)
			if err != nil {
				return nil, err
			}
			demoServer = d
		}
		return demoServer.Config(), nil
	}
	if opts.config == "" {
		return nil, errors.New("missing --config: give the path of the connector configuration (JSON)")
	}
	return cli.LoadConfig(opts.config)
}

// catalog is what discover offers: every stream in full refresh, and the
// streams with a cursor incremental too, with _ab_cdc_deleted_at in the
// schemas of those whose deletions an incremental sync emits.
func catalog() (*airbyte.Catalog, error) {
	var c airbyte.Catalog
	for _, s := range asana.Streams() {
		st := airbyte.Stream{Name: s.Name, JSONSchema: s.Schema,
			SupportedSyncModes: []string{airbyte.FullRefresh}, SourceDefinedPrimaryKey: [][]string{s.PrimaryKey}}
		if s.Cursor != "" {
			st = st.WithIncremental(s.Cursor)
		}
		if s.Deletes {
			schema, err := airbyte.WithDeletedAt(s.Schema)
			if err != nil {
				return nil, fmt.Errorf("the schema of %s: %w", s.Name, err)
			}
			st.JSONSchema = schema
		}
		c.Streams = append(c.Streams, st)
	}
	return &c, nil
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
	if _, err := cli.Connect(ctx, cfg, window()); err != nil {
		return status(err)
	}
	return status(nil)
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
	discovered, err := catalog()
	if err != nil {
		return fail(out, airbyte.SystemError, err)
	}
	var streams, incremental []string
	if opts.demo && opts.catalog == "" {
		for _, s := range asana.Streams() {
			streams = append(streams, s.Name)
		}
	} else {
		if opts.catalog == "" {
			return fail(out, airbyte.ConfigError, errors.New("missing --catalog: give the path of the configured catalog (JSON)"))
		}
		data, err := cli.ReadFile("catalog", opts.catalog)
		if err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		cat, err := airbyte.ParseConfiguredCatalog(data, discovered)
		if err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		for _, s := range cat.Streams {
			streams = append(streams, s.Stream.Name)
			switch st, _ := asana.StreamByName(s.Stream.Name); {
			case s.SyncMode == airbyte.Incremental && st.Cursor != "":
				incremental = append(incremental, s.Stream.Name)
			case s.SyncMode != airbyte.FullRefresh:
				// PyAirbyte configures every stream incremental; like
				// Airbyte's Python CDK, read it in full.
				out.Log("WARN", "stream %s: %s is not supported, so it is read in full (as full_refresh): every record, at every sync", s.Stream.Name, s.SyncMode)
			}
		}
	}
	states := map[string]*asana.StreamState{}
	if opts.state != "" {
		data, err := cli.ReadFile("state", opts.state)
		if err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		raw, err := airbyte.ParseStreamStates(data)
		if err != nil {
			return fail(out, airbyte.ConfigError, err)
		}
		for _, name := range incremental {
			st, err := asana.ParseStreamState(name, raw[name])
			if err != nil {
				return fail(out, airbyte.ConfigError, fmt.Errorf("invalid state: %w", err))
			}
			states[name] = st
		}
	}
	me, err := cli.Connect(ctx, cfg, window())
	if err != nil {
		return fail(out, failureType(err), err)
	}
	state := syncState(out, streams, incremental, states)
	for _, s := range streams {
		out.Status(s, airbyte.Started)
	}
	for _, name := range streams {
		if st, _ := asana.StreamByName(name); st.Note != "" {
			out.Log("INFO", "%s: %s", name, st.Note)
		}
	}
	for _, s := range streams {
		out.Status(s, airbyte.Running)
	}

	// The workers (this process, on Prism) read the credentials from the
	// environment, never from the pipeline.
	os.Setenv(pipeline.CredentialsEnv, cfg.Credentials.EnvValue())
	p, s := beam.NewPipelineWithRoot()
	syncedAt := me.Clock
	if syncedAt.IsZero() {
		syncedAt = time.Now() // Asana sent no Date
	}
	o, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: streams, Window: window(),
		State: state, Incremental: incremental, SyncedAt: syncedAt.UTC(),
		CheckpointEvery: time.Duration(opts.checkpointWindows * float64(window()))})
	if err != nil {
		return fail(out, airbyte.SystemError, err)
	}
	sync := airbyte.Sync{Run: fmt.Sprintf("%d", time.Now().UnixNano()), Streams: streams}
	if err := sinks.Write(s, sync, o.Records, o.Reports); err != nil {
		return fail(out, airbyte.SystemError, err)
	}
	start := time.Now()
	_, err = prism.Execute(ctx, p)
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "source-asana:", err)
		return 1
	}
	if err != nil {
		if _, aerr := sync.Abandon(ctx); aerr != nil {
			fmt.Fprintln(os.Stderr, "source-asana:", aerr)
		}
		msg, internal, ft := jobError(ctx, o.Run, err)
		out.Error(ft, msg, internal, "")
		return 1
	}
	// The sink ended every stream: its state, and COMPLETE or INCOMPLETE
	// with an error naming the losses.
	sum, err := sync.Summary(ctx)
	if err != nil {
		return fail(out, airbyte.SystemError, err)
	}
	fmt.Fprintf(os.Stderr, "source-asana: read %d streams in %s\n", len(streams), time.Since(start).Round(time.Millisecond))
	if !sum.Complete() {
		return 1
	}
	return 0
}

// jobError turns a failed job into a message, an internal message (the
// runner's text) and a failure type. The DoFns ran in this process
// (Prism), which keeps the error that stopped the run, typed
// (pipeline.Stopped): a configuration error (Asana rejected the
// credentials mid-run) is a config_error. When nothing was recorded, what
// failed was the runner or no DoFn of the expansion (a sink): a
// system_error with the line of the runner's text that says what failed.
// (Were the workers other processes, nothing would be recorded here and
// every failure would be reported that way.)
func jobError(ctx context.Context, run string, err error) (msg, internal, failure string) {
	if ctx.Err() != nil {
		return "the sync was interrupted; the streams are incomplete", "", airbyte.TransientError
	}
	internal = asana.Redact(err.Error())
	stopped := pipeline.Stopped(run)
	if stopped == nil {
		return "the sync failed: " + pipeline.JobMessage(err), internal, airbyte.SystemError
	}
	failure = failureType(stopped)
	if failure != airbyte.ConfigError {
		return "the sync failed: " + stopped.Error(), internal, failure
	}
	msg = stopped.Error()
	if ae := (*asana.Error)(nil); errors.As(stopped, &ae) && ae.Status == http.StatusUnauthorized {
		msg = "asana rejected the credentials during the sync (check the personal access token, or reconnect the OAuth app): " + msg
	}
	return msg, internal, failure
}

// syncState is the state an incremental sync starts from, or nil for a
// full read: when no stream is incremental, when one has no state yet
// (its first sync reads everything), or when a stream that the change
// feed would cut short is read in full refresh.
func syncState(out *airbyte.Writer, streams, incremental []string, states map[string]*asana.StreamState) *asana.SyncState {
	if len(incremental) == 0 {
		return nil
	}
	for _, name := range streams {
		if st, _ := asana.StreamByName(name); st.Cursor != "" && !slices.Contains(incremental, name) {
			out.Log("INFO", "stream %s is read in full refresh, so every stream is read in full at this sync; the incremental streams keep a state for the next", name)
			return nil
		}
	}
	st := asana.StateOf(states, incremental)
	if st == nil {
		out.Log("INFO", "a first incremental sync (some stream has no state yet): every record is read, and each project's change feed is subscribed to for the next sync")
	}
	return st
}
