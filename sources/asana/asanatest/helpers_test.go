package asanatest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const testBase = "http://asana.test"

// tclient calls a Sim through its in-memory transport.
type tclient struct {
	t     testing.TB
	s     *Sim
	hc    *http.Client
	token string
}

func newClient(t testing.TB, opts Options) *tclient {
	t.Helper()
	s := New(opts)
	return &tclient{t: t, s: s, hc: &http.Client{Transport: s.Transport()}, token: s.PAT()}
}

type tresp struct {
	status int
	header http.Header
	body   []byte
	v      map[string]any
}

// get requests path (relative to /api/1.0, with its query).
func (c *tclient) get(path string) *tresp {
	c.t.Helper()
	return c.do("GET", testBase+apiPrefix+path, c.token, nil)
}

func (c *tclient) do(method, u, token string, body io.Reader) *tresp {
	c.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	r := &tresp{status: resp.StatusCode, header: resp.Header, body: b}
	if err := json.Unmarshal(b, &r.v); err != nil {
		c.t.Fatalf("%s %s: invalid JSON (%v): %.200s", method, u, err, b)
	}
	return r
}

// must checks the status.
func (r *tresp) must(t testing.TB, status int) *tresp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %.500s", r.status, status, r.body)
	}
	return r
}

func (r *tresp) obj() map[string]any {
	m, _ := r.v["data"].(map[string]any)
	return m
}

func (r *tresp) list() []map[string]any {
	var out []map[string]any
	for _, x := range r.v["data"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (r *tresp) errMsg() string {
	es, _ := r.v["errors"].([]any)
	if len(es) == 0 {
		return ""
	}
	m, _ := es[0].(map[string]any)
	s, _ := m["message"].(string)
	return s
}

// walk follows next_page from path to the end and returns every record.
func (c *tclient) walk(path string) (recs []map[string]any, pages int) {
	c.t.Helper()
	for {
		r := c.get(path).must(c.t, 200)
		pages++
		recs = append(recs, r.list()...)
		np, present := r.v["next_page"]
		if !present {
			c.t.Fatalf("%s: next_page missing in a paginated response", path)
		}
		if np == nil {
			return recs, pages
		}
		m := np.(map[string]any)
		next := m["path"].(string)
		if want := testBase + apiPrefix + next; m["uri"] != want {
			c.t.Fatalf("next_page.uri = %v, want %v", m["uri"], want)
		}
		if !strings.Contains(next, "offset="+url.QueryEscape(m["offset"].(string))) {
			c.t.Fatalf("next_page.path %q does not carry the offset", next)
		}
		path = next
		if pages > 10000 {
			c.t.Fatal("pagination does not end")
		}
	}
}

func gidsOf(recs []map[string]any) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r["gid"].(string)
	}
	return out
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
