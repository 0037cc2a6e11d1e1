package asanatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const apiPrefix = "/api/1.0"

const helpText = "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"

// call is one API request being served.
type call struct {
	s      *Sim
	r      *http.Request
	q      url.Values
	route  *route
	params []string
	label  string
	now    time.Time // simulated clock
	rc     rctx

	status int
	body   []byte
	header http.Header
	buf    *jw
}

var jwPool = sync.Pool{New: func() any { return &jw{b: make([]byte, 0, 16<<10)} }}

func (c *call) writer() *jw {
	if c.buf == nil {
		c.buf = jwPool.Get().(*jw)
		c.buf.b = c.buf.b[:0]
		c.buf.c = &c.rc
	}
	return c.buf
}

func (c *call) release() {
	if c.buf != nil && cap(c.buf.b) <= 4<<20 {
		c.buf.c = nil
		jwPool.Put(c.buf)
	}
	c.buf = nil
	c.body = nil
}

// done sets a successful JSON response from w.
func (c *call) done(status int, w *jw) {
	c.status = status
	c.body = w.b
	if v, ok := c.q["opt_pretty"]; ok && (len(v) == 0 || v[0] != "false") {
		var out bytes.Buffer
		if json.Indent(&out, w.b, "", "  ") == nil {
			c.body = out.Bytes()
		}
	}
}

// fail sets an Asana error response.
func (c *call) fail(status int, msg string) {
	c.status = status
	c.body = errorBody(msg, "")
}

func errorBody(msg, phrase string) []byte {
	b := append([]byte(nil), `{"errors":[{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"help":`...)
	b = appendJSONString(b, helpText)
	if phrase != "" {
		b = append(b, `,"phrase":`...)
		b = appendJSONString(b, phrase)
	}
	return append(b, "}]}"...)
}

func (c *call) setHeader(k, v string) {
	if c.header == nil {
		c.header = http.Header{}
	}
	c.header.Set(k, v)
}

// projection returns the opt_fields projection, or the default one.
func (c *call) projection(full bool) (*proj, error) {
	if vs, ok := c.q["opt_fields"]; ok {
		p, err := parseOptFields(strings.Join(vs, ","))
		if err != nil {
			return nil, err
		}
		if p != nil {
			return p, nil
		}
	}
	if full {
		return projFull, nil
	}
	return projCompact, nil
}

// one answers a single object, full by default.
func (c *call) one(k *kind, o any) {
	c.oneWith(k, o, 200)
}

func (c *call) oneWith(k *kind, o any, status int) {
	p, err := c.projection(true)
	if err != nil {
		c.fail(400, err.Error())
		return
	}
	w := c.writer()
	w.b = append(w.b, `{"data":`...)
	w.object(k, o, p)
	w.b = append(w.b, '}')
	c.done(status, w)
}

// ServeHTTP serves the API under /api/1.0 and the OAuth token endpoint at
// /-/oauth_token. Anything else is 404 "No matching route for request".
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrival := time.Now()
	// Asana's clock, as every HTTP server gives it: the simulated one,
	// which the records' timestamps and modified_since follow.
	w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
	path := r.URL.Path
	switch {
	case path == "/-/oauth_token":
		st := s.serveOAuth(w, r)
		s.record(Request{Time: arrival, Method: r.Method, Path: path, Query: r.URL.Query(), Status: st, Duration: time.Since(arrival)})
		return
	case path != apiPrefix && !strings.HasPrefix(path, apiPrefix+"/"):
		writeJSON(w, 404, errorBody("No matching route for request", ""), nil)
		s.record(Request{Time: arrival, Method: r.Method, Path: path, Query: r.URL.Query(), Status: 404, Duration: time.Since(arrival)})
		return
	}
	c := &call{s: s, r: r, q: r.URL.Query()}
	defer c.release()
	status := 0
	defer func() {
		// Also runs when a dropped connection aborts the handler.
		s.record(Request{Time: arrival, Token: c.label, Method: r.Method, Path: path, Query: c.q, Status: status, Duration: time.Since(arrival)})
	}()
	status = s.serveAPI(w, c, arrival)
}

// serveAPI runs the request pipeline: authentication, rate limits,
// latency, faults, deny list, routing, and the (possibly faulty) write.
func (s *Sim) serveAPI(w http.ResponseWriter, c *call, arrival time.Time) int {
	r := c.r
	tok, ok := bearer(r)
	if !ok {
		return writeJSON(w, 401, errorBody("Not Authorized", ""), nil)
	}
	label, msg := s.authenticate(tok)
	if label == "" {
		return writeJSON(w, 401, errorBody(msg, ""), nil)
	}
	c.label = label

	if wait, ok := s.limiter.arrive(tok, arrival); !ok {
		return writeJSON(w, 429, rateLimitBody, retryAfter(wait))
	}
	if r.Method == http.MethodGet {
		if !s.limiter.enter(tok) {
			return writeJSON(w, 429, rateLimitBody, retryAfter(time.Second))
		}
		defer s.limiter.leave(tok)
	}

	f := s.draw()
	if d := f.latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 499
		}
	}
	switch {
	case f.status5xx != 0:
		phrase := ""
		if f.status5xx == 500 {
			phrase = f.phrase
		}
		msg := map[int]string{500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[f.status5xx]
		return writeJSON(w, f.status5xx, errorBody(msg, phrase), nil)
	case f.extra429:
		return writeJSON(w, 429, rateLimitBody, retryAfter(time.Second))
	}

	s.catchUpActivity()
	c.now = s.Now()
	c.rc = rctx{s: s, me: s.d.me, now: c.now.UnixMilli()}
	s.route(c)
	if c.status == 0 {
		c.fail(500, "Server Error")
	}
	switch {
	case f.drop:
		return writeDropped(w, c.status, c.body, c.header, f.cut)
	case f.truncate && c.status == 200:
		n := int(float64(len(c.body)) * f.cut)
		return writeJSON(w, c.status, c.body[:n], c.header)
	}
	return writeJSON(w, c.status, c.body, c.header)
}

var rateLimitBody = errorBody("You've made too many requests and hit a rate limit. Please retry after the given amount of time.", "")

// retryAfter renders a Retry-After header: whole seconds, rounded up, at
// least 1.
func retryAfter(d time.Duration) http.Header {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

func writeJSON(w http.ResponseWriter, status int, body []byte, extra http.Header) int {
	h := w.Header()
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return status
}

// aborter is implemented by the in-memory transport's response writer.
type aborter interface{ abort() }

// writeDropped writes the headers (announcing the full body) and part of
// the body, then drops the connection.
func writeDropped(w http.ResponseWriter, status int, body []byte, extra http.Header, cut float64) int {
	h := w.Header()
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body[:int(float64(len(body))*cut)])
	if a, ok := w.(aborter); ok {
		a.abort()
		return status
	}
	rc := http.NewResponseController(w)
	rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		conn.Close()
		return status
	}
	panic(http.ErrAbortHandler)
}
