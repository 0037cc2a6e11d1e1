package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the report run this test binary as asana-bench (its sinks
// benchmark runs in a process of its own).
func TestMain(m *testing.M) {
	if os.Getenv("ASANA_BENCH_AS_COMMAND") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestFloorTimes(t *testing.T) {
	const w = time.Minute
	for _, c := range []struct {
		n, rpm     int
		want       time.Duration
		whyThisOne string
	}{
		{100, 1500, 2 * time.Second, "within a window: 100 requests × 200 ms / 10 in flight"},
		{1500, 1500, 30 * time.Second, "a window's budget at once, in flight"},
		{1501, 1500, w + 20*time.Millisecond, "one more waits a window"},
		{3000, 1500, w + 30*time.Second, ""},
		{22078, 1500, 14*w + 21560*time.Millisecond, "the medium account's floor: 14 windows, then 1,078 requests"},
		{22078, 150, 147*w + 560*time.Millisecond, "at 150/min: 147 windows, then 28 requests"},
	} {
		if got := floorTimesOf(c.n, c.rpm, w, 10, 200*time.Millisecond).floor(); got != c.want {
			t.Errorf("%d requests at %d/min: floor time %s, want %s (%s)", c.n, c.rpm, got, c.want, c.whyThisOne)
		}
	}
}

func TestRoundScale(t *testing.T) {
	for in, want := range map[float64]float64{1: 1, 1.9: 1.5, 2.9: 2.5, 28.8: 25, 160: 150, 294: 250, 799: 600, 800: 800} {
		if got := roundScale(in); got != want {
			t.Errorf("roundScale(%g) = %g, want %g", in, got, want)
		}
	}
}

// TestReportSmoke runs the report on the tiny account with time scaled a
// thousandfold and checks what it wrote, never how fast: a smoke test for
// CI.
func TestReportSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds source-asana and runs it twice")
	}
	dir := t.TempDir()
	source := filepath.Join(dir, "source-asana")
	build := exec.Command("go", "build", "-o", source, "github.com/asana-beam/asana-beam/cmd/source-asana")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building source-asana: %v\n%s", err, out)
	}
	t.Setenv("ASANA_BENCH_AS_COMMAND", "1")
	err := reportCmd([]string{"--out", dir, "--sizes", "tiny", "--caps", "1500,150", "--scales", "tiny/1500=100,tiny/150=1000",
		"--sink-size", "tiny", "--chart-size", "tiny", "--source", source})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| requests ≤ 1.05 × floor, every run |",
		"| tiny | 1,500 | 182 |", "| tiny | 150 | 182 |", // requests: the tiny account's floor
		"| tiny | 1,500 | 100 |", "| tiny | 150 | 1000 |", // time, with the scales
		"| Airbyte stdout | 874 |", "| Parquet | 874 |",
		"![requests per second against the cap](benchmarks.svg)",
		"## Why",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md has no %q:\n%s", want, md)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "benchmarks.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(svg); !strings.HasPrefix(s, "<svg ") || !strings.HasSuffix(s, "</svg>\n") || strings.Count(s, "<polyline") != 2 {
		t.Errorf("benchmarks.svg is not two panels of SVG:\n%.500s", s)
	}
}

// TestChildPeak: a child's ru_maxrss is its own peak only when it exceeds
// the parent's peak at the child's start; otherwise it is the parent's,
// and the sampled VmHWM is the child's.
func TestChildPeak(t *testing.T) {
	const mb = 1 << 20
	samples := []cpuSample{{hwm: 90 * mb}, {hwm: 170 * mb}, {hwm: 0}}
	for _, c := range []struct {
		name         string
		maxrssKiB    int64
		floor        int64
		want         int64
		wantSampled  bool
		samplesGiven bool
	}{
		{"the child grew past the parent: rusage", 300 * 1024, 200 * mb, 300 * mb, false, true},
		{"the parent's peak: the samples", 1600 * 1024, 1600 * mb, 170 * mb, true, true},
		{"no parent peak known and no samples: rusage", 200 * 1024, 0, 200 * mb, false, false},
	} {
		var s []cpuSample
		if c.samplesGiven {
			s = samples
		}
		got := childPeak(&syscall.Rusage{Maxrss: c.maxrssKiB}, c.floor, s)
		if got.Bytes != c.want || got.Sampled != c.wantSampled {
			t.Errorf("%s: got %d MiB (sampled %v), want %d MiB (sampled %v)", c.name, got.Bytes/mb, got.Sampled, c.want/mb, c.wantSampled)
		}
	}
}

// TestVMHWM reads this process's own peak resident set.
func TestVMHWM(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if got := vmHWM("self"); got <= 0 {
		t.Errorf("vmHWM(self) = %d, want > 0", got)
	}
}
