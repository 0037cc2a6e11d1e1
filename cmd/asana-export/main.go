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
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for images without a system store

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks/bigquery"
	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sources/asana"
)

var (
	configPath = flag.String("config", "", "connector configuration (JSON, as for Airbyte's source-asana); without it a personal access token is read from $"+cli.TokenEnv)
	demo       = flag.Bool("demo", false, "export a simulated Asana account served in this process")
	demoSize   = flag.String("demo-size", "small", "size of the simulated account: tiny, small, medium or large")
	sink       = flag.String("sink", "parquet", "where to write: parquet or bigquery")
	output     = flag.String("output", "asana-export", "output directory of the parquet sink: a local path or gs://bucket/prefix")
	streamList = flag.String("streams", "", "comma-separated streams to export (default: all 20)")
	rateWindow = flag.Duration("rate-window", time.Minute, "length of the rate-limit window (for simulators with scaled time)")
	quiet      = flag.Bool("quiet", false, "no progress on stderr")

	bqProject  = flag.String("bq_project", "", "--sink bigquery: the project of the dataset, billed for the jobs")
	bqDataset  = flag.String("bq_dataset", "", "--sink bigquery: the dataset (it must exist) that gets a table per stream")
	bqLocation = flag.String("bq_location", "", "--sink bigquery: the location of the jobs, such as EU (default: the dataset's)")
	bqEndpoint = flag.String("bq_endpoint", "", "--sink bigquery: the address of a BigQuery emulator, used without authentication; tables are then replaced by DML, as emulators have no copy jobs")
)

func main() {
	parseFlags(os.Args[1:])
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli.Logging(ctx)
	code, err := run(ctx)
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
	if *sink != "parquet" && *sink != "bigquery" {
		return exitUsage, fmt.Errorf("--sink: want parquet or bigquery, got %q", *sink)
	}
	if *sink == "bigquery" && (*bqProject == "" || *bqDataset == "") {
		return exitUsage, errors.New("--sink bigquery needs --bq_project and --bq_dataset")
	}
	streams, err := selectStreams(*streamList)
	if err != nil {
		return exitUsage, err
	}
	plan, err := planRun(*output)
	if err != nil {
		return exitUsage, err
	}
	var cfg *asana.Config
	window := *rateWindow
	if *demo {
		d, err := cli.NewDemo(*demoSize)
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
	schemas := map[string]string{}
	for _, s := range streams {
		st, _ := asana.StreamByName(s)
		schemas[s] = string(st.Schema)
	}
	export := parquet.Export{Dir: *output, RunID: parquet.NewRunID(start), Schemas: schemas, StartedAt: start,
		Source: map[string]string{"base_url": cfg.BaseURL, "user_gid": me.GID, "user_name": me.Name, "user_email": me.Email}}
	if *sink == "parquet" {
		// Before anything is read: no symbolic link inside the directory.
		if err := export.Check(); err != nil {
			return exitUsage, fmt.Errorf("--output: %w", err)
		}
	}
	var load bigquery.Load
	if *sink == "bigquery" {
		if load, err = bigQueryLoad(ctx, export, plan.dryRun); err != nil {
			return exitUsage, err
		}
	}

	if !plan.remote {
		// The DoFns run in this process and read the credentials here.
		// Remote workers read their own variable or the secret.
		os.Setenv(pipeline.CredentialsEnv, cfg.Credentials.EnvValue())
	}
	p, s := beam.NewPipelineWithRoot()
	out, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: streams, Window: window, Workers: plan.workers,
		CredentialsSecret: *credentialsSecret, SecretManagerEndpoint: *secretManagerEndpoint})
	if err != nil {
		return exitFailed, err
	}
	dest, runID := *output, export.RunID
	if *sink == "bigquery" {
		bigquery.Write(s, load, out.Records, out.Reports)
		dest, runID = "BigQuery dataset "+load.Project+"."+load.Dataset, load.RunID
	} else {
		parquet.Write(s, export, out.Records, out.Reports)
	}

	fmt.Fprintf(os.Stderr, "asana-export: %d streams of %s's Asana (%s) to %s, run %s\n", len(streams), me.Name, cfg.BaseURL, dest, runID)
	if plan.dryRun {
		jp := &jobPrinter{out: os.Stdout, next: &beamlog.Structural{}}
		beamlog.SetLogger(jp)
		if _, err := beamx.RunWithMetrics(dryRunContext(ctx), p); err != nil {
			return exitFailed, fmt.Errorf("dry run: %s", firstLine(err))
		}
		if jp.jobs == 0 {
			return exitFailed, errors.New("dry run: the runner printed no job")
		}
		fmt.Fprintln(os.Stderr, "asana-export: dry run: the job is on stdout; nothing was submitted")
		return exitOK, nil
	}
	done := make(chan struct{})
	if !*quiet && !plan.remote {
		go showProgress(done, cfg.RequestsPerMinute, window)
	}
	_, err = beamx.RunWithMetrics(ctx, p)
	close(done)
	if err != nil && *sink == "parquet" && !plan.remote {
		// What the failed run wrote goes now, not at the next run's start;
		// a run that failed after its manifest switched is published.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		published, aerr := parquet.Abandon(actx, export)
		cancel()
		if aerr != nil {
			fmt.Fprintln(os.Stderr, "asana-export:", aerr)
		}
		if published {
			fmt.Fprintf(os.Stderr, "asana-export: run %s was published to %s before the run failed: %s\n", export.RunID, *output, firstLine(err))
			return summary(context.WithoutCancel(ctx), export, time.Since(start), plan.remote)
		}
	}
	if err != nil && *sink == "bigquery" {
		if ctx.Err() != nil {
			return exitFailed, fmt.Errorf("interrupted: the tables of %s.%s keep their previous rows, unless labeled %s=%s", load.Project, load.Dataset, bigquery.LabelRun, load.RunID)
		}
		return exitFailed, fmt.Errorf("the export failed; the tables of %s.%s keep their previous rows, unless labeled %s=%s: %s", load.Project, load.Dataset, bigquery.LabelRun, load.RunID, firstLine(err))
	}
	if err != nil {
		if ctx.Err() != nil {
			return exitFailed, fmt.Errorf("interrupted: nothing of this run was published (%s still holds the previous export, if any)", *output)
		}
		return exitFailed, fmt.Errorf("the export failed; nothing of this run was published: %s", firstLine(err))
	}
	if *sink == "bigquery" {
		return bigQuerySummary(ctx, load, time.Since(start))
	}
	return summary(ctx, export, time.Since(start), plan.remote)
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

func firstLine(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, pipeline.ConfigErrorMarker); i >= 0 {
		msg = msg[i+len(pipeline.ConfigErrorMarker):]
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
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

// summary prints the table of the finished export from its manifest.
// On a remote runner the requests and pages were counted by the workers,
// not here: the job's counters have them.
func summary(ctx context.Context, e parquet.Export, took time.Duration, remote bool) (int, error) {
	m, err := parquet.ReadManifest(ctx, e.Dir)
	if err != nil {
		return exitFailed, err
	}
	if m.RunID != e.RunID {
		return exitFailed, fmt.Errorf("the manifest in %s is of run %s, not this run %s", e.Dir, m.RunID, e.RunID)
	}
	progress, lim := pipeline.Progress()
	pages := map[string]int64{}
	for _, sp := range progress {
		pages[sp.Stream] = sp.Pages
	}
	var names []string
	for s := range m.Streams {
		names = append(names, s)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "\n%-24s %10s %8s %6s  %s\n", "stream", "records", "pages", "files", "status")
	var total int64
	for _, n := range names {
		ms := m.Streams[n]
		status := "complete"
		if !ms.Complete {
			status = "INCOMPLETE"
		}
		if len(ms.Problems) > 0 {
			status += fmt.Sprintf(" (%s skipped or lost; see the manifest)", plural(len(ms.Problems), "part"))
		}
		p := fmt.Sprint(pages[n])
		if remote {
			p = "-"
		}
		fmt.Fprintf(os.Stderr, "%-24s %10d %8s %6d  %s\n", n, ms.Records, p, len(ms.Files), status)
		total += ms.Records
	}
	if remote {
		fmt.Fprintf(os.Stderr, "%-24s %10d\n\nin %s (requests, pages and rate-limiter waits are in the job's counters); manifest %s\n",
			"total", total, took.Round(time.Millisecond), parquet.ManifestPath(e.Dir))
	} else {
		fmt.Fprintf(os.Stderr, "%-24s %10d\n\n%d requests in %s (%s); manifest %s\n",
			"total", total, lim.Requests, took.Round(time.Millisecond), limiterNote(lim), parquet.ManifestPath(e.Dir))
	}
	if !m.Complete {
		return exitIncomplete, errors.New("some streams are incomplete: data was lost to errors that retries did not cure (see the manifest)")
	}
	var firstWarning string
	for _, n := range names {
		if ws := m.Streams[n].Warnings; firstWarning == "" && len(ws) > 0 {
			firstWarning = n + " " + ws[0]
		}
	}
	printWarnings(m.WarningCount, firstWarning, "the manifest")
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

// bigQueryLoad describes the run for --sink bigquery, after checking that
// the dataset exists (which also checks the credentials). A dry run only
// prints the job, offline: it checks neither, and needs no Google
// credentials.
func bigQueryLoad(ctx context.Context, e parquet.Export, dryRun bool) (bigquery.Load, error) {
	l := bigquery.Load{Project: *bqProject, Dataset: *bqDataset, Location: *bqLocation, Endpoint: *bqEndpoint,
		RunID: bigquery.NewRunID(e.StartedAt), Schemas: e.Schemas, Source: e.Source, StartedAt: e.StartedAt}
	if *bqEndpoint != "" {
		l.Replace = bigquery.ReplaceDML
	}
	if err := l.Check(); err != nil {
		return l, err
	}
	if dryRun {
		return l, nil
	}
	c, err := l.NewClient(ctx)
	if err != nil {
		return l, err
	}
	defer c.Close()
	if _, err := c.Dataset(l.Dataset).Metadata(ctx); err != nil {
		return l, fmt.Errorf("--bq_dataset: reading dataset %s.%s: %w (create it first, for example with bq mk --dataset %s:%s)", l.Project, l.Dataset, err, l.Project, l.Dataset)
	}
	return l, nil
}

// bigQuerySummary prints the table of the finished export from its rows
// of the runs table.
func bigQuerySummary(ctx context.Context, l bigquery.Load, took time.Duration) (int, error) {
	c, err := l.NewClient(ctx)
	if err != nil {
		return exitFailed, err
	}
	defer c.Close()
	run, err := bigquery.ReadRun(ctx, c, l.Dataset, l.RunID)
	if err != nil {
		return exitFailed, err
	}
	if len(run) != len(l.Schemas) {
		return exitFailed, fmt.Errorf("%s.%s.%s has %d rows of run %s, want one per stream (%d)", l.Project, l.Dataset, bigquery.RunsTable, len(run), l.RunID, len(l.Schemas))
	}
	progress, lim := pipeline.Progress()
	pages := map[string]int64{}
	for _, sp := range progress {
		pages[sp.Stream] = sp.Pages
	}
	fmt.Fprintf(os.Stderr, "\n%-24s %10s %8s  %s\n", "table", "records", "pages", "status")
	var total int64
	complete := true
	for _, r := range run {
		status := "complete"
		if !r.Complete {
			status = "INCOMPLETE"
			complete = false
		}
		if len(r.Problems) > 0 {
			status += fmt.Sprintf(" (%s skipped or lost; see %s)", plural(len(r.Problems), "part"), bigquery.RunsTable)
		}
		fmt.Fprintf(os.Stderr, "%-24s %10d %8d  %s\n", r.Stream, r.Records, pages[r.Stream], status)
		total += r.Records
	}
	fmt.Fprintf(os.Stderr, "%-24s %10d\n\n%d requests in %s (%s); dataset %s.%s, run %s in %s\n",
		"total", total, lim.Requests, took.Round(time.Millisecond), limiterNote(lim), l.Project, l.Dataset, l.RunID, bigquery.RunsTable)
	if !complete {
		return exitIncomplete, fmt.Errorf("some streams are incomplete: data was lost to errors that retries did not cure (their tables are labeled %s=false; see %s)", bigquery.LabelComplete, bigquery.RunsTable)
	}
	var warnings int64
	var firstWarning string
	for _, r := range run {
		warnings += r.WarningCount
		if firstWarning == "" && len(r.Warnings) > 0 {
			firstWarning = r.Stream + " " + r.Warnings[0]
		}
	}
	printWarnings(warnings, firstWarning, l.Dataset+"."+bigquery.RunsTable)
	return exitOK, nil
}
