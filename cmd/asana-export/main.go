// Command asana-export exports an Asana account with asana-beam's pipeline
// to Parquet files, on Beam's Prism runner in this process by default:
//
//	asana-export --demo --output export        # a simulated account
//	ASANA_TOKEN=... asana-export --output export
//	asana-export --config config.json --output gs://bucket/asana --streams tasks,stories
//
// Beam's flags (--runner and the runner's own) are accepted as well. The
// export is finished when DIR/_manifest.json exists; each stream is in
// DIR/<stream>/part-NNNNN.parquet.
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
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for images without a system store

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sources/asana"
)

var (
	configPath = flag.String("config", "", "connector configuration (JSON, as for Airbyte's source-asana); without it a personal access token is read from $"+cli.TokenEnv)
	demo       = flag.Bool("demo", false, "export a simulated Asana account served in this process")
	demoSize   = flag.String("demo-size", "small", "size of the simulated account: tiny, small, medium or large")
	sink       = flag.String("sink", "parquet", "where to write: parquet")
	output     = flag.String("output", "asana-export", "output directory of the parquet sink: a local path or gs://bucket/prefix")
	streamList = flag.String("streams", "", "comma-separated streams to export (default: all 20)")
	rateWindow = flag.Duration("rate-window", time.Minute, "length of the rate-limit window (for simulators with scaled time)")
	quiet      = flag.Bool("quiet", false, "no progress on stderr")
)

func main() {
	flag.Parse()
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli.Logging(ctx)
	code, err := run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "asana-export:", err)
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
	if *sink != "parquet" {
		return exitUsage, fmt.Errorf("--sink: only parquet is available, got %q", *sink)
	}
	streams, err := selectStreams(*streamList)
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
	} else if cfg, err = cli.LoadConfig(*configPath); err != nil {
		return exitUsage, err
	}
	me, err := cli.Connect(ctx, cfg, window)
	if err != nil {
		return exitUsage, err
	}

	start := time.Now().UTC()
	schemas := map[string]string{}
	for _, s := range streams {
		st, _ := asana.StreamByName(s)
		schemas[s] = string(st.Schema)
	}
	export := parquet.Export{Dir: *output, RunID: parquet.NewRunID(start), Schemas: schemas, StartedAt: start,
		Source: map[string]string{"base_url": cfg.BaseURL, "user_gid": me.GID, "user_name": me.Name, "user_email": me.Email}}

	os.Setenv(pipeline.CredentialsEnv, cfg.Credentials.EnvValue())
	p, s := beam.NewPipelineWithRoot()
	out, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: streams, Window: window})
	if err != nil {
		return exitFailed, err
	}
	parquet.Write(s, export, out.Records, out.Reports)

	fmt.Fprintf(os.Stderr, "asana-export: %d streams of %s's Asana (%s) to %s, run %s\n", len(streams), me.Name, cfg.BaseURL, *output, export.RunID)
	done := make(chan struct{})
	if !*quiet {
		go showProgress(done, cfg.RequestsPerMinute, window)
	}
	_, err = beamx.RunWithMetrics(ctx, p)
	close(done)
	if err != nil {
		if ctx.Err() != nil {
			return exitFailed, fmt.Errorf("interrupted: nothing of this run was published (%s still holds the previous export, if any)", *output)
		}
		return exitFailed, fmt.Errorf("the export failed; nothing of this run was published: %s", firstLine(err))
	}
	return summary(ctx, export, time.Since(start))
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
func summary(ctx context.Context, e parquet.Export, took time.Duration) (int, error) {
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
			status += fmt.Sprintf(" (%d parts skipped or lost; see the manifest)", len(ms.Problems))
		}
		fmt.Fprintf(os.Stderr, "%-24s %10d %8d %6d  %s\n", n, ms.Records, pages[n], len(ms.Files), status)
		total += ms.Records
	}
	fmt.Fprintf(os.Stderr, "%-24s %10d\n\n%d requests in %s (limiter waits %s, 429s %d); manifest %s\n",
		"total", total, lim.Requests, took.Round(time.Millisecond), lim.Waited.Round(time.Millisecond), lim.Throttled, parquet.ManifestName)
	if !m.Complete {
		return exitIncomplete, errors.New("some streams are incomplete: data was lost to errors that retries did not cure (see the manifest)")
	}
	return exitOK, nil
}
