package asanatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
)

// Answer is one response of a tampered server, as the simulator wrote it
// and as a Rewrite may change it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Stream, if set, is sent as the body instead of Body, without a
	// Content-Length: for bodies too large to hold (a hostile server's
	// gigabytes).
	Stream io.Reader
}

// Rewrite changes an answer of the simulator before it is sent. It runs
// after the simulator served the request (so the account saw it) and
// may change anything, or leave the answer as it is.
type Rewrite func(r *http.Request, a *Answer)

// NewTamperedServer serves sim through rewrite: a look-alike Asana that
// misbehaves on purpose, for tests of what a client does with a broken or
// hostile server (echoed secrets, endless pages, huge bodies, redirects
// elsewhere). Everything rewrite leaves alone is the simulator's answer.
func NewTamperedServer(sim *Sim, rewrite Rewrite) *Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		a := &Answer{Status: rec.Code, Header: rec.Header().Clone(), Body: rec.Body.Bytes()}
		rewrite(r, a)
		h := w.Header()
		for k, v := range a.Header {
			h[k] = v
		}
		if a.Stream != nil {
			h.Del("Content-Length")
			w.WriteHeader(a.Status)
			io.Copy(w, a.Stream)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(a.Body)))
		w.WriteHeader(a.Status)
		w.Write(a.Body)
	})
	ts := httptest.NewServer(h)
	return &Server{Sim: sim, URL: ts.URL, srv: ts}
}

// RepeatReader returns a reader of prefix, then n copies of unit, then
// suffix: a large body made without holding it.
func RepeatReader(prefix, unit []byte, n int64, suffix []byte) io.Reader {
	return io.MultiReader(bytes.NewReader(prefix), &repeater{unit: unit, left: n}, bytes.NewReader(suffix))
}

type repeater struct {
	unit []byte
	left int64
	off  int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:], r.unit[r.off:])
		n += c
		r.off += c
		if r.off == len(r.unit) {
			r.off = 0
			r.left--
		}
	}
	if n == 0 && r.left == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// DisagreeingCopies is a Rewrite under which the first pages of the
// tasks of projects p1 and p2 each hold a copy of task that claims that
// project alone (its projects and memberships): a task in two projects
// whose copies disagree. p2's copy is the simulator's record of task, as
// the request would get it (its token and opt_fields).
func DisagreeingCopies(sim *Sim, task, p1, p2 string) Rewrite {
	return func(r *http.Request, a *Answer) {
		p := r.URL.Query().Get("project")
		if r.URL.Path != apiPrefix+"/tasks" || (p != p1 && p != p2) || r.URL.Query().Has("offset") {
			return
		}
		var page map[string]any
		if json.Unmarshal(a.Body, &page) != nil {
			return
		}
		recs, _ := page["data"].([]any)
		if p == p2 {
			var rec map[string]any
			if data, err := sim.DataAs(r, "/tasks/"+task); err == nil && json.Unmarshal(data, &rec) == nil {
				recs = append(recs, rec)
			}
		}
		for _, rec := range recs {
			if m, _ := rec.(map[string]any); m["gid"] == task {
				m["projects"] = []map[string]string{{"gid": p, "resource_type": "project"}}
				m["memberships"] = []map[string]any{{"project": map[string]string{"gid": p, "resource_type": "project"}}}
			}
		}
		page["data"] = recs
		if b, err := json.Marshal(page); err == nil {
			a.Body = b
		}
	}
}

// DataAs asks the simulator for GET path (under /api/1.0) as the request
// r would (r's token and opt_fields) and returns the "data" of a 200.
func (s *Sim) DataAs(r *http.Request, path string) (json.RawMessage, error) {
	q := url.Values{"opt_fields": {r.URL.Query().Get("opt_fields")}}
	req := httptest.NewRequest(http.MethodGet, apiPrefix+path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return env.Data, nil
}
