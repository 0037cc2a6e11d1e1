package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		in       string
		min, max time.Duration
		err      bool
	}{
		{"0", 0, 0, false},
		{"100ms", 100 * time.Millisecond, 100 * time.Millisecond, false},
		{"100ms-300ms", 100 * time.Millisecond, 300 * time.Millisecond, false},
		{" 1s - 2s ", time.Second, 2 * time.Second, false},
		{"300ms-100ms", 0, 0, true},
		{"fast", 0, 0, true},
		{"100ms-", 0, 0, true},
	}
	for _, tt := range tests {
		lo, hi, err := parseLatency(tt.in)
		if (err != nil) != tt.err || lo != tt.min || hi != tt.max {
			t.Errorf("parseLatency(%q) = %v, %v, %v", tt.in, lo, hi, err)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(strings.Fields("--seed 7 --size small --rpm 150 --latency 10ms-20ms --fault-5xx 0.1 --service-account"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Seed != 7 || o.Size != "small" || o.RPM != 150 || o.LatencyMax != 20*time.Millisecond || o.Faults.Rate5xx != 0.1 || !o.ServiceAccount || c.addr != "127.0.0.1:8089" {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []string{"--size huge", "--fault-drop 2", "--rpm -1", "--latency x", "extra", "--max-in-flight 0"} {
		if _, err := parseFlags(strings.Fields(bad), io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestRunReportsListenErrors(t *testing.T) {
	err := run([]string{"--addr", "256.0.0.1:1"}, io.Discard)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("run with a bad address: %v", err)
	}
}
