package asanatest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an http.RoundTripper that serves requests by calling
// the Sim's handler directly, without sockets. Use it with any base URL
// (e.g. http://asana.test/api/1.0); the host is echoed in next_page.uri.
//
// Bodies are streamed through a pipe, so a response can be read while the
// handler writes it. A "drop" fault makes the body read fail with
// io.ErrUnexpectedEOF after part of the body. Cancelling the request's
// context ends the handler's context and fails pending reads.
//
// It runs nothing in the background between requests, so it works inside
// testing/synctest bubbles.
func (s *Sim) Transport() http.RoundTripper { return memTransport{h: s} }

// HandlerTransport serves any handler in memory like Transport, for tests
// that wrap the Sim in a handler of their own (to break one endpoint, say).
func HandlerTransport(h http.Handler) http.RoundTripper { return memTransport{h: h} }

type memTransport struct{ h http.Handler }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.1:1234"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if req.Body == nil || req.Body == http.NoBody {
		sreq.Body = http.NoBody
	} else {
		// Read the request body up front: the handler must not race the
		// client's own writer, and request bodies here are small.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			cancel()
			return nil, err
		}
		sreq.Body = io.NopCloser(bytes.NewReader(b))
		sreq.ContentLength = int64(len(b))
	}
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1

	body := &bodyBuf{notify: make(chan struct{})}
	rw := &memWriter{header: http.Header{}, body: body, ready: make(chan struct{})}
	go func() {
		defer func() {
			p := recover()
			switch {
			case p == nil:
				rw.signal()
				body.closeWith(io.EOF)
			case p == http.ErrAbortHandler:
				rw.abort()
			default:
				body.closeWith(errors.New("asanatest: handler panic"))
				rw.signal()
				panic(p)
			}
		}()
		t.h.ServeHTTP(rw, sreq)
	}()
	select {
	case <-rw.ready:
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.snapshot,
		ContentLength: -1,
		Body:          &memBody{b: body, ctx: ctx, cancel: cancel},
		Request:       req,
	}
	if cl, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = cl
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
		cancel()
	}
	return resp, nil
}

// memWriter is the handler side of the in-memory transport.
type memWriter struct {
	header   http.Header
	snapshot http.Header
	body     *bodyBuf
	status   int
	once     sync.Once
	ready    chan struct{}
}

func (w *memWriter) Header() http.Header { return w.header }

func (w *memWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	w.signal()
}

// signal publishes the status and headers to RoundTrip.
func (w *memWriter) signal() {
	w.once.Do(func() {
		if w.status == 0 {
			w.status = 200
		}
		w.snapshot = w.header.Clone()
		close(w.ready)
	})
}

func (w *memWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	return w.body.write(p)
}

func (w *memWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(200)
	}
}

// abort drops the "connection": the reader gets io.ErrUnexpectedEOF after
// the bytes written so far.
func (w *memWriter) abort() {
	w.signal()
	w.body.closeWith(io.ErrUnexpectedEOF)
}

// bodyBuf is an unbounded pipe: writes never block (so a handler always
// finishes, even if the client never reads), reads block until data or
// the end arrives.
type bodyBuf struct {
	mu     sync.Mutex
	buf    []byte
	off    int
	err    error         // set once the writer is done
	closed bool          // the reader closed the body
	notify chan struct{} // closed and replaced on every change
}

func (b *bodyBuf) wake() {
	close(b.notify)
	b.notify = make(chan struct{})
}

func (b *bodyBuf) write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("asanatest: response body closed by client")
	}
	if b.err != nil {
		return 0, errors.New("asanatest: write after end of body")
	}
	b.buf = append(b.buf, p...)
	b.wake()
	return len(p), nil
}

func (b *bodyBuf) closeWith(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
		b.wake()
	}
}

// memBody is the client side of the response body.
type memBody struct {
	b      *bodyBuf
	ctx    context.Context
	cancel context.CancelFunc
}

func (r *memBody) Read(p []byte) (int, error) {
	b := r.b
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return 0, errors.New("asanatest: read on closed response body")
		}
		if b.off < len(b.buf) {
			n := copy(p, b.buf[b.off:])
			b.off += n
			b.mu.Unlock()
			return n, nil
		}
		if b.err != nil {
			err := b.err
			b.mu.Unlock()
			return 0, err
		}
		ch := b.notify
		b.mu.Unlock()
		select {
		case <-ch:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *memBody) Close() error {
	r.b.mu.Lock()
	r.b.closed = true
	r.b.buf = nil
	r.b.mu.Unlock()
	r.cancel()
	return nil
}
