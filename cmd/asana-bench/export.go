package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// exportCmd exports a simulated account with asana-export and reads the
// result back with DuckDB.
func exportCmd(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	o := addSimFlags(fs)
	bin := fs.String("export", "bin/asana-export", "the asana-export binary (go build -o bin/asana-export ./cmd/asana-export)")
	duck := fs.String("duckdb", "sinks/parquet/testdata/duckdb", "folder of DuckDB's check.mjs with its node_modules (npm ci --prefix there)")
	fs.Parse(args)
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("--export: %w (build it with: go build -o bin/asana-export ./cmd/asana-export)", err)
	}
	r, err := o.start()
	if err != nil {
		return err
	}
	defer r.close()
	r.describe("export")
	out := filepath.Join(r.dir, "export")
	cmd := exec.Command(*bin, "--config", r.config, "--output", out, "--rate-window", r.window.String())
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("asana-export: %w", err)
	}
	floor := vmHWM("self")
	stop := make(chan struct{})
	sampled := make(chan []cpuSample)
	go func() { sampled <- sampleCPU(cmd.Process.Pid, start, stop) }()
	err = cmd.Wait()
	close(stop)
	samples := <-sampled
	if err != nil {
		return fmt.Errorf("asana-export: %w", err)
	}
	wall := time.Since(start)
	peak := childPeak(cmd.ProcessState.SysUsage().(*syscall.Rusage), floor, samples)

	check := exec.Command("node", "check.mjs", out)
	check.Dir = *duck
	check.Stderr = os.Stderr
	b, err := check.Output()
	if err != nil {
		return fmt.Errorf("DuckDB: %w", err)
	}
	var duckdb struct {
		Streams map[string]struct {
			Rows int `json:"rows"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(b, &duckdb); err != nil {
		return err
	}
	want := r.acct.Expected(r.exports)
	var names []string
	for n := range duckdb.Streams {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Printf("\n| stream | DuckDB rows | expected | Parquet bytes |\n|---|---:|---:|---:|\n")
	var rows, bytes int64
	for _, n := range names {
		files, _ := filepath.Glob(filepath.Join(out, n, "*.parquet"))
		var size int64
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				size += st.Size()
			}
		}
		rows += int64(duckdb.Streams[n].Rows)
		bytes += size
		fmt.Printf("| %s | %d | %d | %d |\n", n, duckdb.Streams[n].Rows, len(want[n]), size)
	}
	printFloor(r, r.srv.Requests(), wall)
	fmt.Printf("rows %d in %d bytes of Parquet; asana-export peak RSS %.0f MiB (%s)\n", rows, bytes, mib(peak.Bytes), peak.how())
	return nil
}
