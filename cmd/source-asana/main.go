// Command source-asana is asana-beam as an Airbyte source connector: a
// drop-in for Airbyte's source-asana with the same streams, primary keys
// and config fields. It speaks the Airbyte protocol on stdout:
//
//	source-asana spec
//	source-asana check    --config config.json
//	source-asana discover --config config.json
//	source-asana read     --config config.json --catalog catalog.json [--state state.json]
//	source-asana read     --demo   (a full sync of a simulated account)
//
// read runs the asana-beam pipeline on Beam's Prism runner in this process.
//
// The garbage collector runs at GOGC=50 unless the GOGC environment
// variable says otherwise (see gcPercent).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/asana-beam/asana-beam/cmd/internal/cli"
	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for images without a system store
)

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  source-asana spec
  source-asana check    --config CONFIG
  source-asana discover --config CONFIG
  source-asana read     --config CONFIG --catalog CATALOG [--state STATE]
  source-asana read     --demo [--demo-size tiny|small|medium|large]
`)
}

// options are the command's flags.
type options struct {
	config, catalog, state string
	demo                   bool
	demoSize               string
	// rateWindow scales time against a simulator whose rate-limit window
	// is scaled alike (asana-bench); Asana's is one minute.
	rateWindow time.Duration
	// checkpointWindows is how many rate-limit windows pass at least
	// between two checkpoints of the incremental streams.
	checkpointWindows float64
}

var opts = newOptions(flag.CommandLine)

// gcPercent is the garbage collector's target when the GOGC environment
// variable sets none: the heap may grow by half its live size between
// collections, not by all of it (Go's default of 100). A read waits on
// Asana's rate limit most of the time (a large account at 1,500 requests a
// minute keeps a quarter of two cores busy) while it makes garbage fast
// (every page decoded), so the heap's headroom over its live data is most
// of what it costs in memory beyond the binary, and collecting twice as
// often is cheap: measured on a read of the simulator's large account, peak
// RSS 161 -> 138 MiB for 7% more CPU (34.6 -> 37.3 s), the medium
// account's 112 -> 99 MiB. Memory is what an Airbyte worker's pod is
// sized by. GOGC=100 (or off) in the environment restores Go's default.
const gcPercent = 50

func newOptions(fs *flag.FlagSet) *options {
	o := &options{}
	fs.StringVar(&o.config, "config", "", "path of the connector configuration (JSON)")
	fs.StringVar(&o.catalog, "catalog", "", "path of the configured catalog (JSON)")
	fs.StringVar(&o.state, "state", "", "path of the state (JSON), optional")
	fs.BoolVar(&o.demo, "demo", false, "read a simulated Asana account served in this process")
	fs.StringVar(&o.demoSize, "demo-size", "small", "size of the simulated account: tiny, small, medium or large")
	fs.DurationVar(&o.rateWindow, "rate-window", time.Minute, "length of the rate-limit window (for simulators with scaled time)")
	fs.Float64Var(&o.checkpointWindows, "checkpoint-windows", 5, "while a sync reads the stories and attachments of every task, write a checkpoint STATE of each incremental stream at most once per this many rate-limit windows (minutes against Asana); 0 writes none")
	return o
}

func main() {
	// Beam's workers re-run this binary with flags only; commands come first.
	cmd := ""
	if len(os.Args) > 1 && len(os.Args[1]) > 0 && os.Args[1][0] != '-' {
		cmd = os.Args[1]
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	flag.Usage = usage
	flag.Parse()
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli.Logging(ctx)
	removeTemp := cli.PrivateTemp()
	code := run(ctx, cmd)
	removeTemp()
	os.Exit(code)
}
