package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

func readCmd(args []string) error {
	fs := flag.NewFlagSet("read", flag.ExitOnError)
	o := addSimFlags(fs)
	source := fs.String("source", "bin/source-asana", "the source-asana binary (go build -o bin/source-asana ./cmd/source-asana)")
	timeline := fs.Bool("timeline", false, "print requests and their mean concurrency per twentieth of the run")
	fs.Parse(args)
	if _, err := os.Stat(*source); err != nil {
		return fmt.Errorf("--source: %w (build it with: go build -o bin/source-asana ./cmd/source-asana)", err)
	}
	r, err := o.start()
	if err != nil {
		return err
	}
	defer r.close()
	catalog := filepath.Join(r.dir, "catalog.json")
	var streams []any
	for _, s := range asana.Streams() {
		streams = append(streams, map[string]any{"stream": map[string]any{"name": s.Name, "json_schema": map[string]any{},
			"supported_sync_modes": []string{"full_refresh"}}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"})
	}
	writeJSON(catalog, map[string]any{"streams": streams})

	r.describe("read")
	cmd := exec.Command(*source, "read", "--config", r.config, "--catalog", catalog, "--rate-window", r.window.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	got := map[string]map[string]int{}
	jsonBytes := map[string]int64{} // the records as JSON lines
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m struct {
			Type   string `json:"type"`
			Record *struct {
				Stream string          `json:"stream"`
				Data   json.RawMessage `json:"data"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("a stdout line is not JSON: %.200s", sc.Bytes())
		}
		if m.Type != "RECORD" {
			continue
		}
		key := asana.EventKey(m.Record.Data)
		if m.Record.Stream != "events" {
			var r struct {
				GID string `json:"gid"`
			}
			json.Unmarshal(m.Record.Data, &r)
			key = r.GID
		}
		if got[m.Record.Stream] == nil {
			got[m.Record.Stream] = map[string]int{}
		}
		got[m.Record.Stream][key]++
		jsonBytes[m.Record.Stream] += int64(len(m.Record.Data)) + 1
	}
	waitErr := cmd.Wait()
	wall := time.Since(start)
	if waitErr != nil {
		return fmt.Errorf("source-asana read: %w", waitErr)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux

	want := r.acct.Expected(r.exports)
	var names []string
	for _, s := range asana.Streams() {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	fmt.Printf("\n| stream | expected | emitted | duplicates | missing | extra | JSON lines bytes |\n|---|---:|---:|---:|---:|---:|---:|\n")
	total := 0
	for _, n := range names {
		emitted, dups := 0, 0
		for _, c := range got[n] {
			emitted += c
			dups += c - 1
		}
		total += emitted
		wantSet := map[string]bool{}
		missing := 0
		for _, g := range want[n] {
			wantSet[g] = true
			if got[n][g] == 0 {
				missing++
			}
		}
		extra := 0
		for g := range got[n] {
			if !wantSet[g] && n != "events" {
				extra++
			}
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %d |\n", n, len(want[n]), emitted, dups, missing, extra, jsonBytes[n])
	}
	reqs := r.srv.Requests()
	printFloor(r, reqs, wall)
	fmt.Printf("records %d; source-asana peak RSS %.0f MiB\n", total, float64(rss)/1024)
	if *timeline {
		printTimeline(reqs, start, wall)
	}
	return nil
}

func writeJSON(path string, v any) {
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		panic(err)
	}
}

// printTimeline shows, per tenth of the run, the requests that arrived and
// how many were in flight on average (the time they took, summed, over the
// length of the tenth).
func printTimeline(reqs []asanatest.Request, start time.Time, wall time.Duration) {
	const n = 20
	step := wall / n
	count := make([]int, n)
	busy := make([]time.Duration, n)
	paths := make([]map[string]int, n)
	for _, r := range reqs {
		i := min(n-1, max(0, int(r.Time.Sub(start)/step)))
		count[i]++
		busy[i] += r.Duration
		if paths[i] == nil {
			paths[i] = map[string]int{}
		}
		p := r.Path
		for _, seg := range []string{"/stories", "/subtasks", "/sections", "/items", "/team_memberships", "/custom_fields", "/teams"} {
			if strings.HasSuffix(p, seg) {
				p = seg
			}
		}
		paths[i][strings.TrimPrefix(p, "/api/1.0")]++
	}
	for i := range n {
		var top []string
		for p, c := range paths[i] {
			top = append(top, fmt.Sprintf("%s:%d", p, c))
		}
		sort.Strings(top)
		if len(top) > 4 {
			top = top[:4]
		}
		fmt.Printf("  %6s %5d requests, %5.1f in flight  %s\n", (time.Duration(i) * step).Round(10*time.Millisecond), count[i],
			busy[i].Seconds()/step.Seconds(), strings.Join(top, " "))
	}
}
