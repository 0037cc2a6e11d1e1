package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestStoppedIsTyped: when Asana rejects the token during a run on Prism
// (in this process), the job fails, and the error the DoFn stopped on is
// found by the run's id, typed: an *asana.Error of Kind config, not the
// runner's text.
func TestStoppedIsTyped(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, Size: "tiny"})
	defer srv.Close()
	cfg := &asana.Config{BaseURL: srv.URL, RequestsPerMinute: 100000,
		Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())}}
	cfg.SetDefaults()
	t.Setenv(CredentialsEnv, cfg.Credentials.EnvValue())
	srv.RevokePAT() // every request of the run is a 401

	p, s := beam.NewPipelineWithRoot()
	out, err := Build(s, Options{Config: cfg, Streams: []string{"workspaces", "users"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Run == "" {
		t.Fatal("Build gave the run no id")
	}
	if err := Stopped(out.Run); err != nil {
		t.Fatalf("Stopped before the run: %v", err)
	}
	err = ptest.Run(p)
	if err == nil {
		t.Fatal("the run succeeded with a revoked token")
	}
	stopped := Stopped(out.Run)
	var ae *asana.Error
	if !errors.As(stopped, &ae) || ae.Kind != asana.KindConfig || ae.Status != 401 {
		t.Fatalf("Stopped(run) = %#v, want an *asana.Error of Kind config, status 401\njob error: %v", stopped, err)
	}
	// The runner's text, where workers are other processes, is all there
	// is: the DoFn's message is read from it for people.
	if got := JobMessage(err); got != stopped.Error() {
		t.Errorf("JobMessage = %q, want the DoFn's %q\njob error: %v", got, stopped.Error(), err)
	}
	if got := Stopped("another run"); got != nil {
		t.Errorf("Stopped of a run that never ran = %v, want nil", got)
	}
}

// TestStopKeepsTheFirst: the first error of a run is kept; a cancellation
// (a bundle ended by another's failure) is not an error that stopped it.
func TestStopKeepsTheFirst(t *testing.T) {
	run := newRunID()
	first := &asana.Error{Kind: asana.KindConfig, Status: 401, Request: "GET /users/me", Message: "Not Authorized"}
	canceled := stop(run, context.Canceled)
	if !errors.Is(canceled, context.Canceled) || Stopped(run) != nil {
		t.Errorf("a cancellation was recorded: %v", Stopped(run))
	}
	stop(run, first)
	stop(run, errors.New("a later failure"))
	if got := Stopped(run); got != error(first) {
		t.Errorf("Stopped = %v, want the first error %v", got, first)
	}
}

// TestJobMessage: the DoFn's error out of a universal runner's text, or
// the first line that is not a heading.
func TestJobMessage(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"job job-001 failed:\nbundle inst002 stage-002 failed:process bundle failed for instruction inst002 using plan stage-002 : while executing Process for Plan[stage-002]:\n" +
			"1: DataSource[S[stage-002_source@localhost:1], i0] Out:18\n\tcaused by:\nsource failed processing data\n\tcaused by:\n" +
			"DoFn[UID:18, PID:ee3_processandsplit, Name: github.com/asana-beam/asana-beam/pipeline.ExpandFn] failed:\n" +
			"listing workspaces of account me: GET /workspaces: 401 Unauthorized: Not Authorized\nerror may be due to Apache Beam Go's migration",
			"listing workspaces of account me: GET /workspaces: 401 Unauthorized: Not Authorized"},
		{"job job-002 failed:\nworker exited: signal: killed", "worker exited: signal: killed"},
		{"Job 2026-12-03_01 failed", "Job 2026-12-03_01 failed"},
		{"job j failed:", "job j failed:"},
	} {
		if got := JobMessage(errors.New(tc.text)); got != tc.want {
			t.Errorf("JobMessage(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
