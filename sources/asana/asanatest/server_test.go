package asanatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServerAndLog(t *testing.T) {
	var log syncBuffer
	srv := NewServer(Options{Seed: 1, Log: &log})
	defer srv.Close()
	get := func(path, token string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
			t.Errorf("Content-Type %q", ct)
		}
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, v
	}
	if st, v := get("/api/1.0/users/me", srv.PAT()); st != 200 || v["data"].(map[string]any)["gid"] != srv.Account().Me() {
		t.Errorf("users/me: %d %v", st, v)
	}
	st, v := get("/api/1.0/workspaces?limit=1", srv.PAT())
	if uri := v["next_page"].(map[string]any)["uri"].(string); st != 200 || !strings.HasPrefix(uri, srv.URL+"/api/1.0/workspaces?limit=1&offset=") {
		t.Errorf("next_page.uri %q does not use the server's address", uri)
	}
	if st, _ := get("/api/1.0/users/me", ""); st != 401 {
		t.Errorf("no token: %d", st)
	}

	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), log.String())
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (pat|-) GET /api/1\.0/\S+ \d{3} \S+$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("log line %q does not match %v", l, re)
		}
		if strings.Contains(l, srv.PAT()) {
			t.Errorf("log line leaks the token: %q", l)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[1].Query.Get("limit") != "1" || reqs[2].Status != 401 || reqs[0].Token != "pat" {
		t.Errorf("Requests() = %+v", reqs)
	}
	srv.ResetRequests()
	if len(srv.Requests()) != 0 {
		t.Errorf("ResetRequests did not reset")
	}
}
