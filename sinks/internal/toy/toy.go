// Package toy is the smallest sink there is: a run's records kept in this
// process's memory, published as a whole. It shows what adding a sink
// takes (this folder, and one line that imports it) and tests the
// generic transform, sinks.Write, on a runner.
package toy

import (
	"context"
	"fmt"
	"sync"

	"github.com/asana-beam/asana-beam/sinks"
)

func init() {
	sinks.Register(sinks.Kind{Name: "toy", Decode: sinks.DecodeJSON[Sink]})
}

// Sink keeps a run's records in memory.
type Sink struct {
	Run string `json:"run"`
}

var (
	mu        sync.Mutex
	parts     = map[string][][]byte{}  // part name → rows, written
	published = map[string]Published{} // run → what Publish got
)

// Published is what a run published.
type Published struct {
	Rows    map[string][]string // stream → rows
	Reports []sinks.Report
}

func (Sink) Kind() string                { return "toy" }
func (Sink) Target() string              { return "memory" }
func (s Sink) ID() string                { return s.Run }
func (Sink) Begin(context.Context) error { return nil }

func (s Sink) Open(_ context.Context, stream string) (sinks.PartWriter, error) {
	mu.Lock()
	defer mu.Unlock()
	name := fmt.Sprintf("%s/%s/%d", s.Run, stream, len(parts))
	parts[name] = nil
	return &writer{name: name}, nil
}

type writer struct{ name string }

func (w *writer) Write(_ context.Context, rows [][]byte) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	parts[w.name] = append(parts[w.name], rows...)
	return len(rows), nil
}
func (*writer) Warnings() []string { return nil }
func (w *writer) Close(context.Context) (string, int64, error) {
	mu.Lock()
	defer mu.Unlock()
	return w.name, int64(len(parts[w.name])), nil
}
func (w *writer) Discard() {
	mu.Lock()
	defer mu.Unlock()
	delete(parts, w.name)
}

func (s Sink) Publish(_ context.Context, ps []sinks.Part, reports []sinks.Report) error {
	mu.Lock()
	defer mu.Unlock()
	p := Published{Rows: map[string][]string{}, Reports: reports}
	for _, part := range ps {
		for _, r := range parts[part.Name] {
			p.Rows[part.Stream] = append(p.Rows[part.Stream], string(r))
		}
	}
	published[s.Run] = p
	return nil
}

func (s Sink) Abandon(context.Context) (sinks.Abandoned, error) {
	return sinks.Abandoned{Left: "nothing"}, nil
}

func (s Sink) Summary(context.Context) (sinks.Summary, error) {
	return sinks.Summary{RunID: s.Run}, nil
}

// Of returns what run published.
func Of(run string) (Published, bool) {
	mu.Lock()
	defer mu.Unlock()
	p, ok := published[run]
	return p, ok
}
