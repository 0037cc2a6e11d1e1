package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
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
	incremental := fs.Int("incremental", 0, "read the incremental streams incrementally: a first read, then a batch of this many changes of each kind (the simulator's ApplyChanges), then a second read from the first's state; print the requests of both")
	timeline := fs.Bool("timeline", false, "print requests and their mean concurrency per twentieth of the run")
	requests := fs.String("requests", "", "write every request the simulator saw to this file: arrival since the start, duration, status, path and query")
	fs.Parse(args)
	if _, err := os.Stat(*source); err != nil {
		return fmt.Errorf("--source: %w (build it with: go build -o bin/source-asana ./cmd/source-asana)", err)
	}
	r, err := o.start()
	if err != nil {
		return err
	}
	defer r.close()
	r.describe("read")
	if *incremental > 0 {
		return secondSync(r, *source, *incremental)
	}
	res, err := r.read(*source, os.Stderr)
	if err != nil {
		return err
	}

	want := r.acct.Expected(r.exports)
	var names []string
	for _, s := range asana.Streams() {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	fmt.Printf("\n| stream | expected | emitted | duplicates | missing | extra | JSON lines bytes |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range names {
		got := res.got[n]
		emitted, dups := 0, 0
		for _, c := range got {
			emitted += c
			dups += c - 1
		}
		wantSet := map[string]bool{}
		missing := 0
		for _, g := range want[n] {
			wantSet[g] = true
			if got[g] == 0 {
				missing++
			}
		}
		extra := 0
		for g := range got {
			if !wantSet[g] && n != "events" {
				extra++
			}
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %d |\n", n, len(want[n]), emitted, dups, missing, extra, res.jsonBytes[n])
	}
	printFloor(r, res.reqs, res.wall)
	fmt.Printf("records %d; source-asana peak RSS %.0f MiB (%s), CPU %.2fs\n", res.records, mib(res.peak.Bytes), res.peak.how(), cpuSeconds(res.usage))
	if *timeline {
		printTimeline(res.reqs, res.start, res.wall)
	}
	if *requests != "" {
		var b strings.Builder
		for _, q := range res.reqs {
			fmt.Fprintf(&b, "%.4f %.4f %d %s?%s\n", q.Time.Sub(res.start).Seconds(), q.Duration.Seconds(), q.Status, q.Path, q.Query.Encode())
		}
		return os.WriteFile(*requests, []byte(b.String()), 0o644)
	}
	return nil
}

// readResult is what a read of a simulated account produced and cost.
type readResult struct {
	got       map[string]map[string]int // per stream, the records emitted per primary key
	jsonBytes map[string]int64          // per stream, the records as JSON lines
	records   int                       // emitted
	start     time.Time
	wall      time.Duration
	reqs      []asanatest.Request // what the simulator saw
	usage     *syscall.Rusage     // of the source-asana process
	cpu       []cpuSample         // its CPU time as the run went
	states    []json.RawMessage   // the last STATE message's state of each stream
	stateMsgs int                 // STATE messages, checkpoints included
	peak      peakRSS             // its peak resident set
}

// cpuSample is the CPU time a process had used at a time of the run, and
// its peak resident set until then (VmHWM, bytes; 0: not read).
type cpuSample struct {
	at, cpu time.Duration
	hwm     int64
}

// peakRSS is the peak resident set of a child process.
//
// On Linux the child's rusage cannot tell it alone: ru_maxrss is never
// lower than the peak of the process that started it. Go starts a child
// with vfork semantics (the child runs in the parent's address space until
// it execs), and exec folds the high-water mark of the address space it
// leaves into the process's ru_maxrss. asana-bench holds the simulator,
// which grows with the account and with every run a report makes, so a
// child of it could report asana-bench's peak (1.6 GB for a read of 200
// MB). VmHWM in /proc/PID/status is the peak of the child's own address
// space, but it can only be read while the child lives.
//
// So: when ru_maxrss exceeds what asana-bench's own peak was once the child
// had started (Floor), it is the child's, exact. Otherwise the child's
// peak is the highest VmHWM sampled (every 100 ms, so it misses at most
// what the child grew in its last 100 ms).
type peakRSS struct {
	Bytes int64
	// Sampled: Bytes is the sampled VmHWM, ru_maxrss being the parent's.
	Sampled bool
	// Floor is asana-bench's own peak when the child had started;
	// Rusage the child's ru_maxrss (bytes).
	Floor, Rusage int64
}

// childPeak tells the peak resident set of a child from its rusage, the
// parent's peak when it had started, and the samples of its VmHWM.
func childPeak(u *syscall.Rusage, floor int64, samples []cpuSample) peakRSS {
	p := peakRSS{Floor: floor, Rusage: u.Maxrss * 1024} // KiB on Linux
	if floor > 0 && p.Rusage > floor {
		p.Bytes = p.Rusage
		return p
	}
	for _, s := range samples {
		p.Bytes = max(p.Bytes, s.hwm)
	}
	if p.Bytes == 0 {
		p.Bytes = p.Rusage // no /proc: what rusage says
		return p
	}
	p.Sampled = true
	return p
}

// how says where the figure comes from.
func (p peakRSS) how() string {
	if p.Sampled {
		return fmt.Sprintf("VmHWM sampled; its rusage says %.0f MiB, asana-bench's own peak", mib(p.Rusage))
	}
	return "rusage"
}

// vmHWM is the peak resident set of process pid ("self" for this one),
// from /proc/PID/status, in bytes; 0 when unknown.
func vmHWM(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// sampleCPU reads the CPU time (user and system, every thread) and the
// peak resident set of process pid from /proc every 100 ms until stop is
// closed or the process is gone. It returns nothing where /proc is not
// Linux's.
func sampleCPU(pid int, start time.Time, stop <-chan struct{}) []cpuSample {
	var out []cpuSample
	path := fmt.Sprintf("/proc/%d/stat", pid)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return out
		}
		// Fields after the command (which may hold spaces) in parentheses:
		// state is field 3, utime 14, stime 15.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				ut, err1 := strconv.ParseInt(f[11], 10, 64)
				st, err2 := strconv.ParseInt(f[12], 10, 64)
				if err1 == nil && err2 == nil {
					out = append(out, cpuSample{at: time.Since(start), cpu: time.Duration(ut+st) * clockTick, hwm: vmHWM(strconv.Itoa(pid))})
				}
			}
		}
		select {
		case <-stop:
			return out
		case <-tick.C:
		}
	}
}

// cpuBetween is the CPU time the samples saw used between two times of
// the run, per second: the cores kept busy.
func cpuBetween(samples []cpuSample, from, to time.Duration) float64 {
	var a, b *cpuSample
	for i := range samples {
		s := &samples[i]
		if a == nil && s.at >= from {
			a = s
		}
		if s.at <= to {
			b = s
		}
	}
	if a == nil || b == nil || b.at <= a.at {
		return math.NaN()
	}
	return (b.cpu - a.cpu).Seconds() / (b.at - a.at).Seconds()
}

// read runs a full sync of the simulated account with the source-asana
// binary source in a process of its own, whose stderr goes to stderr.
func (r *simRun) read(source string, stderr io.Writer) (*readResult, error) {
	return r.readWith(source, stderr, false, nil)
}

// readWith reads every stream: in full refresh, or incremental where a
// stream offers it, from state (the STATE messages of a read before, nil
// for none).
func (r *simRun) readWith(source string, stderr io.Writer, incremental bool, state []json.RawMessage) (*readResult, error) {
	catalog := filepath.Join(r.dir, "catalog.json")
	var streams []any
	for _, s := range asana.Streams() {
		mode, dest, modes := "full_refresh", "overwrite", []string{"full_refresh"}
		if incremental && s.Cursor != "" {
			mode, dest, modes = "incremental", "append_dedup", []string{"full_refresh", "incremental"}
		}
		streams = append(streams, map[string]any{"stream": map[string]any{"name": s.Name, "json_schema": map[string]any{},
			"supported_sync_modes": modes}, "sync_mode": mode, "destination_sync_mode": dest})
	}
	writeJSON(catalog, map[string]any{"streams": streams})
	args := []string{"read", "--config", r.config, "--catalog", catalog, "--rate-window", r.window.String()}
	if state != nil {
		p := filepath.Join(r.dir, "state.json")
		writeJSON(p, state)
		args = append(args, "--state", p)
	}
	r.srv.ResetRequests()
	cmd := exec.Command(source, args...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	res := &readResult{got: map[string]map[string]int{}, jsonBytes: map[string]int64{}, start: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	floor := vmHWM("self") // at least what the child's ru_maxrss starts from
	stopSampling := make(chan struct{})
	sampled := make(chan []cpuSample)
	go func() { sampled <- sampleCPU(cmd.Process.Pid, res.start, stopSampling) }()
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 64<<20)
	var parseErr error
	for sc.Scan() {
		var m struct {
			Type   string `json:"type"`
			Record *struct {
				Stream string          `json:"stream"`
				Data   json.RawMessage `json:"data"`
			} `json:"record"`
			State json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			parseErr = fmt.Errorf("a stdout line is not JSON: %.200s", sc.Bytes())
			break
		}
		if m.Type == "STATE" {
			res.states = lastState(res.states, m.State)
			res.stateMsgs++
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
		if res.got[m.Record.Stream] == nil {
			res.got[m.Record.Stream] = map[string]int{}
		}
		res.got[m.Record.Stream][key]++
		res.jsonBytes[m.Record.Stream] += int64(len(m.Record.Data)) + 1
		res.records++
	}
	if parseErr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		close(stopSampling)
		<-sampled
		return nil, parseErr
	}
	waitErr := cmd.Wait()
	res.wall = time.Since(res.start)
	close(stopSampling)
	res.cpu = <-sampled
	if waitErr != nil {
		return nil, fmt.Errorf("source-asana read: %w", waitErr)
	}
	res.usage = cmd.ProcessState.SysUsage().(*syscall.Rusage)
	res.peak = childPeak(res.usage, floor, res.cpu)
	res.reqs = r.srv.Requests()
	return res, nil
}

// cpuSeconds is the user and system time of a rusage.
func cpuSeconds(u *syscall.Rusage) float64 {
	return time.Duration(syscall.TimevalToNsec(u.Utime) + syscall.TimevalToNsec(u.Stime)).Seconds()
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

// secondSync reads the account twice, incrementally, with a batch of
// changes between, and prints the requests of both reads by kind.
func secondSync(r *simRun, source string, perKind int) error {
	first, err := r.readWith(source, os.Stderr, true, nil)
	if err != nil {
		return err
	}
	log, err := r.srv.ApplyChanges(asanatest.ChangeBatch{Seed: 1, PerKind: perKind})
	if err != nil {
		return err
	}
	second, err := r.readWith(source, os.Stderr, true, first.states)
	if err != nil {
		return err
	}
	kinds := map[string][2]int{}
	for i, res := range []*readResult{first, second} {
		for _, q := range res.reqs {
			k := requestKind(q)
			n := kinds[k]
			n[i]++
			kinds[k] = n
		}
	}
	fmt.Printf("\nchanges applied: %d (%d events); projects %d\n\n| requests | first read | second read |\n|---|---:|---:|\n",
		len(log.Changes), log.Events, len(r.acct.GIDs("project")))
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Printf("| %s | %d | %d |\n", k, kinds[k][0], kinds[k][1])
	}
	fmt.Printf("| all | %d | %d (%.1f%%) |\n", len(first.reqs), len(second.reqs), 100*float64(len(second.reqs))/float64(len(first.reqs)))
	fmt.Printf("records: first read %d, second read %d; wall %s, %s\n", first.records, second.records, first.wall.Round(time.Millisecond), second.wall.Round(time.Millisecond))
	fmt.Printf("STATE messages: first read %d (%d streams; the rest are checkpoints), second read %d\n", first.stateMsgs, len(first.states), second.stateMsgs)
	return nil
}

// lastState puts st among states, in place of the state of its stream
// written before (a checkpoint): the next sync takes the last of each.
func lastState(states []json.RawMessage, st json.RawMessage) []json.RawMessage {
	name := func(s json.RawMessage) string {
		var m struct {
			Stream struct {
				StreamDescriptor struct {
					Name string `json:"name"`
				} `json:"stream_descriptor"`
			} `json:"stream"`
		}
		json.Unmarshal(s, &m)
		return m.Stream.StreamDescriptor.Name
	}
	for i, s := range states {
		if name(s) == name(st) {
			states[i] = st
			return states
		}
	}
	return append(states, st)
}

// requestKind names what a request is for, by its path.
func requestKind(q asanatest.Request) string {
	p := strings.TrimPrefix(q.Path, "/api/1.0")
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, part := range parts {
		if part != "" && strings.Trim(part, "0123456789") == "" {
			parts[i] = "{gid}"
		}
	}
	k := "GET /" + strings.Join(parts, "/")
	for _, param := range []string{"project", "assignee", "parent", "workspace", "modified_since"} {
		if q.Query.Has(param) {
			k += " " + param + "="
		}
	}
	return k
}
