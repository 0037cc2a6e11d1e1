package asanatest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
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
