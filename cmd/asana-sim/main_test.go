package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
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

func TestHooks(t *testing.T) {
	sim := asanatest.New(asanatest.Options{Seed: 3, Size: "small"})
	srv := httptest.NewServer(withHooks(sim))
	defer srv.Close()
	post := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post("/_sim/changes?seed=4&kinds=task_created,tag_deleted")
	var l asanatest.ChangeLog
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /_sim/changes: %d %v", resp.StatusCode, err)
	}
	if len(l.Changes) != 2 || len(l.Stream("tasks").Created) != 1 || len(l.Stream("tags").Deleted) != 1 {
		t.Errorf("change log: %+v", l)
	}
	for _, bad := range []string{"/_sim/changes?seed=x", "/_sim/changes?kinds=nope", "/_sim/changes?per_kind=0",
		"/_sim/expire_sync_tokens?older_than=soon"} {
		if r := post(bad); r.StatusCode != 400 {
			t.Errorf("POST %s: %d", bad, r.StatusCode)
		}
	}
	for _, ok := range []string{"/_sim/expire_sync_tokens", "/_sim/expire_sync_tokens?resource=" + l.Projects[0],
		"/_sim/expire_sync_tokens?older_than=1h"} {
		if r := post(ok); r.StatusCode != 204 {
			t.Errorf("POST %s: %d", ok, r.StatusCode)
		}
	}
	// The API is still served, and a GET on a hook is not one.
	req, _ := http.NewRequest("GET", srv.URL+"/api/1.0/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+sim.PAT())
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf("GET /users/me through the hooks: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	if r, err := http.Get(srv.URL + "/_sim/changes"); err != nil || r.StatusCode == 200 {
		t.Errorf("GET /_sim/changes: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}
