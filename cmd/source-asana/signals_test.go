package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestReadTerminated: SIGTERM (what Airbyte and Docker send to stop a
// container) stops a read within seconds as SIGINT does: every stream left
// INCOMPLETE, one error trace saying so, a non-zero exit, no stack trace.
func TestReadTerminated(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 3, Size: "small", LatencyMin: 20 * time.Millisecond, LatencyMax: 40 * time.Millisecond})
	defer srv.Close()
	config := simConfig(t, srv, nil)
	cmd := exec.Command(binary, "read", "--config", config, "--catalog", configured(t, catalogOnce(t), "tasks", "stories"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	err := cmd.Wait()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to stop after SIGTERM", d)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() <= 0 {
		t.Fatalf("terminated read: %v, want a non-zero exit (not death by the signal)", err)
	}
	o := parseRead(t, stdout.Bytes())
	if diff := cmp.Diff(map[string]string{"tasks": "INCOMPLETE", "stories": "INCOMPLETE"}, o.status); diff != "" {
		t.Errorf("last statuses (-want +got):\n%s", diff)
	}
	if len(o.errors) != 1 || !strings.Contains(o.errors[0], "interrupted") {
		t.Errorf("error traces %q, want one saying the sync was interrupted", o.errors)
	}
	if s := stderr.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic:") {
		t.Errorf("a stack trace on stderr:\n%s", s)
	}
}
