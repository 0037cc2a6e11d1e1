// Command asana-export exports an Asana account with asana-beam's pipeline
// to Parquet files or BigQuery tables, on Beam's Prism runner in this
// process by default:
//
//	asana-export --demo --output export        # a simulated account
//	ASANA_TOKEN=... asana-export --output export
//	asana-export --config config.json --output gs://bucket/asana --streams tasks,stories
//	asana-export --sink bigquery --bq_project P --bq_dataset D
//
// Beam's flags (--runner and the runner's own) are accepted as well. The
// export is finished when DIR/_manifest.json exists; each stream is in
// DIR/<stream>/part-<run>-NNNNN.parquet. With --sink bigquery, each stream is
// the table D.<stream>, replaced atomically, and the run is finished when
// its rows are in D.asana_beam_runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for images without a system store

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
)

// options are the command's own flags; Beam's are on flag.CommandLine too.
type options struct {
	config, sink, streams string
	demo                  bool
	demoSize              string
	rateWindow            time.Duration
	quiet                 bool
	// credentialsSecret and secretManagerEndpoint: see runner.go.
	credentialsSecret, secretManagerEndpoint string
	// newSink describes a run of each kind of sink, with its flags.
	newSink map[string]func(context.Context, sinks.Run) (sinks.Sink, error)
}

// opts are the flags of this process, registered as the package starts
// (after Beam's: see beamFlags).
var opts = newOptions(flag.CommandLine)

func newOptions(fs *flag.FlagSet) *options {
	o := &options{newSink: map[string]func(context.Context, sinks.Run) (sinks.Sink, error){}}
	var kinds []string
	for _, k := range sinks.Kinds() {
		o.newSink[k.Name] = k.Flags(fs)
		kinds = append(kinds, k.Name)
	}
	fs.StringVar(&o.config, "config", "", "connector configuration (JSON, as for Airbyte's source-asana); without it a personal access token is read from $"+cli.TokenEnv)
	fs.BoolVar(&o.demo, "demo", false, "export a simulated Asana account served in this process")
	fs.StringVar(&o.demoSize, "demo-size", "small", "size of the simulated account: tiny, small, medium or large")
	fs.StringVar(&o.sink, "sink", "parquet", "where to write: "+strings.Join(kinds, " or "))
	fs.StringVar(&o.streams, "streams", "", "comma-separated streams to export (default: all 20)")
	fs.DurationVar(&o.rateWindow, "rate-window", time.Minute, "length of the rate-limit window (for simulators with scaled time)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&o.credentialsSecret, "credentials_secret", "", "Secret Manager secret version holding the Asana credentials (projects/P/secrets/S/versions/V): "+
		"the workers read it with their service account; the job holds only its name. Holds a personal access token, or the credentials object of the config as JSON")
	fs.StringVar(&o.secretManagerEndpoint, "secret_manager_endpoint", "", "Secret Manager's address, for tests and private endpoints (sent without Google auth)")
	return o
}

func main() {
	parseFlags(os.Args[1:])
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli.Logging(ctx)
	removeTemp := cli.PrivateTemp()
	code, err := run(ctx)
	removeTemp()
	if err != nil {
		fmt.Fprintln(os.Stderr, "asana-export:", asana.Redact(err.Error()))
	}
	os.Exit(code)
}

// Exit codes.
const (
	exitOK         = 0
	exitFailed     = 1 // the export failed; nothing new was published
	exitUsage      = 2 // bad flags, config or credentials
	exitIncomplete = 3 // published, but some stream lost data (see the manifest)
)

func run(ctx context.Context) (int, error) {
	newSink, ok := opts.newSink[opts.sink]
	if !ok {
		return exitUsage, fmt.Errorf("--sink: want %s, got %q", strings.Join(slices.Sorted(maps.Keys(opts.newSink)), " or "), opts.sink)
	}
	streams, err := selectStreams(opts.streams)
	if err != nil {
		return exitUsage, err
	}
	plan, err := planRun()
	if err != nil {
		return exitUsage, err
	}
	schemas := map[string]string{}
	for _, s := range streams {
		st, _ := asana.StreamByName(s)
		schemas[s] = string(st.Schema)
	}
	// The sink's flags, before anything starts (its destination is
	// checked below, once the run is described).
	if _, err := newSink(ctx, sinks.Run{Schemas: schemas, DryRun: true, Elsewhere: plan.elsewhere}); err != nil {
		return exitUsage, err
	}
	var cfg *asana.Config
	window := opts.rateWindow
	if opts.demo {
		d, err := cli.NewDemo(opts.demoSize)
		if err != nil {
			return exitUsage, err
		}
		defer d.Close()
		cfg, window = d.Config(), d.Window
	} else if cfg, err = loadCredentials(ctx); err != nil {
		return exitUsage, err
	}
	if err := plan.checkWorkers(cfg); err != nil {
		return exitUsage, err
	}
	me, err := cli.Connect(ctx, cfg, window)
	if err != nil {
		var ae *asana.Error
		if errors.As(err, &ae) && ae.Kind == asana.KindConfig {
			return exitUsage, err // rejected credentials or config
		}
		return exitFailed, err // Asana unreachable or failing
	}

	start := time.Now().UTC()
	// The sink checks its flags and its destination before anything is
	// read: a symbolic link in the export directory, a missing dataset.
	sink, err := newSink(ctx, sinks.Run{StartedAt: start, Schemas: schemas, Elsewhere: plan.elsewhere, DryRun: plan.dryRun,
		Source: map[string]string{"base_url": cfg.BaseURL, "user_gid": me.GID, "user_name": me.Name, "user_email": me.Email}})
	if err != nil {
		return exitUsage, err
	}

	if !plan.remote {
		// The DoFns run in this process and read the credentials here.
		// Remote workers read their own variable or the secret.
		os.Setenv(pipeline.CredentialsEnv, cfg.Credentials.EnvValue())
	}
	p, s := beam.NewPipelineWithRoot()
	out, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: streams, Window: window, Workers: plan.workers,
		CredentialsSecret: opts.credentialsSecret, SecretManagerEndpoint: opts.secretManagerEndpoint})
	if err != nil {
		return exitFailed, err
	}
	if err := sinks.Write(s, sink, out.Records, out.Reports); err != nil {
		return exitFailed, err
	}

	fmt.Fprintf(os.Stderr, "asana-export: %d streams of %s's Asana (%s) to %s, run %s\n", len(streams), me.Name, cfg.BaseURL, sink.Target(), sink.ID())
	if plan.dryRun {
		jp := &jobPrinter{out: os.Stdout, next: &beamlog.Structural{}}
		beamlog.SetLogger(jp)
		if _, err := beamx.RunWithMetrics(dryRunContext(ctx), p); err != nil {
			return exitFailed, fmt.Errorf("dry run: %s", firstLine(out.Run, err))
		}
		if jp.jobs == 0 {
			return exitFailed, errors.New("dry run: the runner printed no job")
		}
		fmt.Fprintln(os.Stderr, "asana-export: dry run: the job is on stdout; nothing was submitted")
		return exitOK, nil
	}
	done := make(chan struct{})
	if !opts.quiet && !plan.remote {
		go showProgress(done, cfg.RequestsPerMinute, window)
	}
	_, err = beamx.RunWithMetrics(ctx, p)
	close(done)
	if err != nil {
		left := "nothing of this run was published"
		if !plan.remote {
			// What the failed run wrote goes now, not at the next run's
			// start; a run that failed after it was published is
			// published. (Remote workers may still be writing: the
			// next run cleans up after them.)
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			a, aerr := sink.Abandon(actx)
			cancel()
			if aerr != nil {
				fmt.Fprintln(os.Stderr, "asana-export:", aerr)
			}
			if a.Published {
				fmt.Fprintf(os.Stderr, "asana-export: %s: %s\n", a.Left, firstLine(out.Run, err))
				return summary(context.WithoutCancel(ctx), sink, time.Since(start), plan.remote)
			}
			left = a.Left
		}
		if ctx.Err() != nil {
			return exitFailed, fmt.Errorf("interrupted: %s", left)
		}
		return exitFailed, fmt.Errorf("the export failed; %s: %s", left, firstLine(out.Run, err))
	}
	return summary(ctx, sink, time.Since(start), plan.remote)
}

// selectStreams parses --streams.
func selectStreams(list string) ([]string, error) {
	var out []string
	if list == "" {
		for _, s := range asana.Streams() {
			out = append(out, s.Name)
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if _, ok := asana.StreamByName(s); !ok {
			var names []string
			for _, st := range asana.Streams() {
				names = append(names, st.Name)
			}
			return nil, fmt.Errorf("--streams: unknown stream %q; the streams are %s", s, strings.Join(names, ", "))
		}
		if !seen[s] {
			out = append(out, s)
		}
		seen[s] = true
	}
	return out, nil
}

// firstLine says what stopped the failed job of run, in a line. When the
// DoFns ran in this process (Prism, the default), the error that stopped
// them is kept typed (pipeline.Stopped): a configuration error (Asana
// rejected the credentials mid-run), said in Asana's words. When the
// workers are other processes (Dataflow, a Prism job server), nothing is
// recorded here: the line of the runner's text that says what failed
// (pipeline.JobMessage) is all there is, reported as the runner's failure.
func firstLine(run string, err error) string {
	if stopped := pipeline.Stopped(run); stopped != nil {
		msg, _, _ := strings.Cut(stopped.Error(), "\n")
		return strings.TrimSpace(msg)
	}
	return pipeline.JobMessage(err)
}

// showProgress prints what has been read: a live line on a terminal,
// plain lines every ten seconds otherwise.
func showProgress(done <-chan struct{}, rpm int, window time.Duration) {
	fi, _ := os.Stderr.Stat()
	live := fi != nil && fi.Mode()&os.ModeCharDevice != 0
	every := 10 * time.Second
	if live {
		every = time.Second
	}
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var lastReq int64
	lastAt := start
	for {
		select {
		case <-done:
			if live {
				fmt.Fprint(os.Stderr, "\r\033[K")
			}
			return
		case now := <-tick.C:
			streams, lim := pipeline.Progress()
			var records, pages int64
			for _, sp := range streams {
				records += sp.Records
				pages += sp.Pages
			}
			perWindow := float64(lim.Requests-lastReq) / now.Sub(lastAt).Seconds() * window.Seconds()
			lastReq, lastAt = lim.Requests, now
			line := fmt.Sprintf("%s  records %d  pages %d  requests %d (%.0f per window of %d)  waited on the limiter %s  429s %d",
				time.Since(start).Round(time.Second), records, pages, lim.Requests, perWindow, rpm, lim.Waited.Round(time.Second), lim.Throttled)
			if live {
				fmt.Fprint(os.Stderr, "\r\033[K"+line)
			} else {
				fmt.Fprintln(os.Stderr, line)
			}
		}
	}
}

// summary prints the table of the finished run, read back from its
// destination. On a remote runner the requests and pages were counted by
// the workers, not here: the job's counters have them.
func summary(ctx context.Context, sink sinks.Sink, took time.Duration, remote bool) (int, error) {
	sum, err := sink.Summary(ctx)
	if err != nil {
		return exitFailed, err
	}
	progress, lim := pipeline.Progress()
	pages := map[string]int64{}
	for _, sp := range progress {
		pages[sp.Stream] = sp.Pages
	}
	fmt.Fprintf(os.Stderr, "\n%-24s %10s %8s  %s\n", "stream", "records", "pages", "status")
	var total, warnings int64
	var firstWarning string
	for _, st := range sum.Streams {
		status := "complete"
		if !st.Complete {
			status = "INCOMPLETE"
		}
		if len(st.Problems) > 0 {
			status += fmt.Sprintf(" (%s skipped or lost; see %s)", plural(len(st.Problems), "part"), sum.Where)
		}
		p := fmt.Sprint(pages[st.Stream])
		if remote {
			p = "-"
		}
		fmt.Fprintf(os.Stderr, "%-24s %10d %8s  %s\n", st.Stream, st.Records, p, status)
		total += st.Records
		warnings += st.WarningCount
		if firstWarning == "" && len(st.Warnings) > 0 {
			firstWarning = st.Stream + " " + st.Warnings[0]
		}
	}
	if remote {
		fmt.Fprintf(os.Stderr, "%-24s %10d\n\nin %s (requests, pages and rate-limiter waits are in the job's counters); %s\n",
			"total", total, took.Round(time.Millisecond), sum.Where)
	} else {
		fmt.Fprintf(os.Stderr, "%-24s %10d\n\n%d requests in %s (%s); %s\n",
			"total", total, lim.Requests, took.Round(time.Millisecond), limiterNote(lim), sum.Where)
	}
	if !sum.Complete() {
		return exitIncomplete, fmt.Errorf("some streams are incomplete: data was lost to errors that retries did not cure (%s)", sum.Incomplete)
	}
	printWarnings(warnings, firstWarning, sum.Where)
	return exitOK, nil
}

// plural counts n things: "1 part", "2 parts".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// limiterNote says what the rate limiter did: the time requests spent
// waiting for it, summed over the requests in flight (so it can exceed the
// run's time), and the 429s Asana answered.
func limiterNote(lim asana.LimiterStats) string {
	return fmt.Sprintf("requests waited %s in all for the rate limiter, summed over the requests in flight; %s from Asana",
		lim.Waited.Round(time.Millisecond), plural(int(lim.Throttled), "429"))
}

// printWarnings ends the summary with the values written as null, naming
// the first: its stream, record, field and value.
func printWarnings(count int64, first, where string) {
	if count == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "asana-export: %d values did not fit their columns and were written as null (see %s); the first: %s\n", count, where, first)
}
