package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	out, err := exec.Command(binary, "--help").Output()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	help := string(out)
	if !strings.HasPrefix(help, "asana-export copies an Asana account") {
		t.Errorf("--help does not start by saying what the command does:\n%.300s", help)
	}
	own, beam := strings.Index(help, "\nFlags:\n"), strings.Index(help, "\nApache Beam's flags")
	if own < 0 || beam < own {
		t.Fatalf("--help does not list our flags, then Beam's:\n%s", help)
	}
	for _, f := range []string{"--demo", "--output", "--sink", "--streams", "--config", "--bq_dataset"} {
		if i := strings.Index(help, "\n  "+f+" "); i < own || i > beam {
			if j := strings.Index(help, "\n  "+f+"\n"); j < own || j > beam {
				t.Errorf("%s is not among our flags", f)
			}
		}
	}
	if i := strings.Index(help, "\n  --runner "); i < beam {
		t.Errorf("--runner is not among Beam's flags")
	}

	cmd := exec.Command(binary, "--no-such-flag")
	msg, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage {
		t.Errorf("an unknown flag: %v, want exit %d", err, exitUsage)
	}
	if lines := strings.Split(strings.TrimSpace(string(msg)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "-no-such-flag") || !strings.Contains(lines[0], "--help") {
		t.Errorf("an unknown flag printed %q, want one line naming it with a hint", msg)
	}
}
