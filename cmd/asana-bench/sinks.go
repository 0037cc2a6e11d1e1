package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/asana-beam/asana-beam/sinks/airbyte"
	"github.com/asana-beam/asana-beam/sinks/parquet"
	"github.com/asana-beam/asana-beam/sinks/tabular"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// sinkResult is a sink's throughput on records generated without a source.
type sinkResult struct {
	Sink     string  `json:"sink"`
	Records  int     `json:"records"`
	InBytes  int64   `json:"in_bytes"`  // the records' JSON
	OutBytes int64   `json:"out_bytes"` // what the sink wrote
	CPU      float64 `json:"cpu_seconds"`
	Wall     float64 `json:"wall_seconds"`
}

// perCore is the records per second per core: per CPU second of the
// process, garbage collection included.
func (s sinkResult) perCore() float64 { return float64(s.Records) / s.CPU }

// sinksCmd measures the sinks alone, in this process: the records a full
// sync of a simulated account would emit, made up front from the
// simulator's ground truth, written into the Airbyte writer (to /dev/null)
// and the Parquet writer (one file per stream, counted, not stored).
func sinksCmd(args []string) error {
	fs := flag.NewFlagSet("sinks", flag.ExitOnError)
	size := fs.String("size", "medium", "simulated account whose records are written: tiny, small, medium, large")
	asJSON := fs.Bool("json", false, "print the results as JSON (for report)")
	fs.Parse(args)
	recs, err := sinkRecords(*size)
	if err != nil {
		return err
	}
	var results []sinkResult
	for _, bench := range []func([]streamRecord) (sinkResult, error){benchAirbyte, benchParquet} {
		res, err := bench(recs)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(results)
	}
	fmt.Printf("records of a %s account, %d records\n", *size, len(recs))
	for _, r := range results {
		fmt.Printf("%-8s %8.0f records/s/core (%.2f CPU s), %8.0f records/s wall; JSON %.0f B/record, output %.0f B/record\n",
			r.Sink, r.perCore(), r.CPU, float64(r.Records)/r.Wall, float64(r.InBytes)/float64(r.Records), float64(r.OutBytes)/float64(r.Records))
	}
	return nil
}

// streamRecord is one record of a stream, as the connector emits it.
type streamRecord struct {
	stream string
	data   []byte
}

// sinkRecords returns the records a full sync of a simulated account
// emits (events aside: a still account has none), stream by stream: each
// object's full record cut to the stream's top-level fields, which is what
// the connector's opt_fields ask for.
func sinkRecords(size string) ([]streamRecord, error) {
	acct := asanatest.New(asanatest.Options{Seed: 1, Size: size, ServiceAccount: true}).Account()
	want := acct.Expected(acct.OrganizationExports())
	var out []streamRecord
	for _, s := range asana.Streams() {
		gids := slices.Clone(want[s.Name])
		slices.SortFunc(gids, cmpGID)
		for _, g := range gids {
			full := acct.Object(g)
			if full == nil {
				return nil, fmt.Errorf("%s: no object %s", s.Name, g)
			}
			rec := make(map[string]any, len(s.Fields))
			for _, f := range s.Fields {
				if v, ok := full[f]; ok {
					rec[f] = v
				}
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, streamRecord{s.Name, b})
		}
	}
	return out, nil
}

// cmpGID orders gids as numbers.
func cmpGID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// measure runs f and returns the CPU seconds of this process (every
// thread, garbage collection included) and the wall time it took.
func measure(f func() error) (cpu, wall float64, err error) {
	runtime.GC()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	err = f()
	wall = time.Since(start).Seconds()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu = cpuSeconds(&after) - cpuSeconds(&before)
	return cpu, wall, err
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func inBytes(recs []streamRecord) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r.data))
	}
	return n
}

// benchAirbyte writes the records as Airbyte RECORD lines to /dev/null,
// one Record call each, as the pipeline's sink does.
func benchAirbyte(recs []streamRecord) (sinkResult, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return sinkResult{}, err
	}
	defer null.Close()
	out := &countingWriter{}
	w := airbyte.NewWriter(fileAndCount{null, out})
	res := sinkResult{Sink: "airbyte", Records: len(recs), InBytes: inBytes(recs)}
	res.CPU, res.Wall, err = measure(func() error {
		for _, r := range recs {
			if err := w.Record(r.stream, r.data); err != nil {
				return err
			}
		}
		return w.Flush()
	})
	res.OutBytes = out.n
	return res, err
}

// fileAndCount writes to a file and counts.
type fileAndCount struct {
	f *os.File
	c *countingWriter
}

func (w fileAndCount) Write(p []byte) (int, error) {
	w.c.Write(p)
	return w.f.Write(p)
}

// benchParquet writes the records into one Parquet file per stream, one
// record per Write, as the pipeline's sink does; the files are counted,
// not stored.
func benchParquet(recs []streamRecord) (sinkResult, error) {
	fields := map[string][]tabular.Field{}
	for _, s := range asana.Streams() {
		f, err := tabular.FromJSONSchema(s.Schema)
		if err != nil {
			return sinkResult{}, fmt.Errorf("schema of %s: %w", s.Name, err)
		}
		fields[s.Name] = f
	}
	out := &countingWriter{}
	res := sinkResult{Sink: "parquet", Records: len(recs), InBytes: inBytes(recs)}
	var err error
	res.CPU, res.Wall, err = measure(func() error {
		writers := map[string]*parquet.Writer{}
		for _, r := range recs {
			w := writers[r.stream]
			if w == nil {
				var err error
				if w, err = parquet.NewWriter(out, fields[r.stream], parquet.Options{}); err != nil {
					return err
				}
				writers[r.stream] = w
			}
			if _, err := w.Write([][]byte{r.data}); err != nil {
				return fmt.Errorf("%s: %w", r.stream, err)
			}
		}
		for _, w := range writers {
			if err := w.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	res.OutBytes = out.n
	return res, err
}
