package airbyte

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/asana-beam/asana-beam/sinks"
)

// Stdout is the process's protocol channel. The Airbyte sink runs where
// the command runs (Prism in the same process): stdout belongs to the
// process, so all bundles share this one writer.
var Stdout = sync.OnceValue(func() *Writer { return NewWriter(os.Stdout) })

// Kind is the Airbyte sink. It has no flags: source-asana is its command.
var Kind = sinks.Kind{
	Name:   "airbyte",
	Decode: sinks.DecodeJSON[Sync],
}

func init() { sinks.Register(Kind) }

// Sync is the Airbyte sink: one sync of Streams, whose records go to
// Stdout as RECORD messages as they are read, with the checkpoints of
// incremental streams as STATE messages among them. Publish then says what each
// stream's records amount to: the reports as LOG messages (WARN for a
// part the token may not read, ERROR for data lost), then each stream's
// STATE and its final status, COMPLETE or INCOMPLETE with an error TRACE.
// An incremental stream's STATE is the one the pipeline reports; an
// incomplete incremental stream gets none, so that Airbyte keeps the
// state it started from and the next sync reads the lost changes again.
//
// Records, once written, cannot be taken back: a bundle retried would
// write its records again. Prism, the runner of source-asana, fails the
// job instead of retrying a bundle; the job's failure is then reported by
// Abandon, every stream INCOMPLETE.
type Sync struct {
	Run     string   `json:"run"`
	Streams []string `json:"streams"`
}

// Kind is "airbyte".
func (Sync) Kind() string { return Kind.Name }

// Target is stdout.
func (Sync) Target() string { return "stdout" }

// ID names the sync.
func (s Sync) ID() string { return s.Run }

// Begin does nothing: stdout is open.
func (Sync) Begin(context.Context) error { return nil }

// Open returns the writer of records of stream.
func (Sync) Open(_ context.Context, stream string) (sinks.PartWriter, error) {
	return &recordWriter{stream: stream}, nil
}

type recordWriter struct {
	stream string
	rows   int64
}

func (w *recordWriter) Write(_ context.Context, rows [][]byte) (int, error) {
	for i, r := range rows {
		if err := Stdout().Record(w.stream, r); err != nil {
			return i, err
		}
		w.rows++
	}
	return len(rows), nil
}

func (*recordWriter) Warnings() []string { return nil }

// Close flushes, so a bundle's records are out before it ends.
func (w *recordWriter) Close(context.Context) (string, int64, error) {
	return "stdout", w.rows, Stdout().Flush()
}

func (*recordWriter) Discard() {}

// Checkpoint writes a STATE of stream while the sync goes on: the records
// written before it, by every bundle (all write to Stdout), are flushed
// ahead of it.
func (Sync) Checkpoint(_ context.Context, stream string, state json.RawMessage) error {
	return Stdout().State(stream, state)
}

// The syncs published in this process, by run: what Summary reads.
var published sync.Map // run → sinks.Summary

// Publish ends the sync's streams: reports, then states and statuses.
func (s Sync) Publish(_ context.Context, parts []sinks.Part, reports []sinks.Report) error {
	out := Stdout()
	sort.SliceStable(reports, func(i, j int) bool { return reports[i].Stream < reports[j].Stream })
	lost := map[string]int{}
	problems := map[string][]string{}
	states := map[string]json.RawMessage{}
	for _, r := range reports {
		if r.State != nil {
			states[r.Stream] = r.State
			continue
		}
		level := "WARN"
		if r.Lost {
			level = "ERROR"
			lost[r.Stream]++
		}
		problems[r.Stream] = append(problems[r.Stream], r.Message)
		if err := out.Log(level, "stream %s: %s", r.Stream, r.Message); err != nil {
			return err
		}
	}
	records := map[string]int64{}
	for _, p := range parts {
		records[p.Stream] += p.Rows
	}
	sum := sinks.Summary{RunID: s.Run, Where: "the ERROR logs above", Incomplete: "their status is INCOMPLETE"}
	for _, st := range s.Streams {
		state, ok := states[st]
		switch {
		case !ok:
			state = []byte(`{"__ab_no_cursor_state_message":true}`)
		case lost[st] > 0:
			// The changes lost must be read again: the stream keeps the
			// state it started from.
			state = nil
		}
		if state != nil {
			if err := out.State(st, state); err != nil {
				return err
			}
		}
		if lost[st] > 0 {
			out.Status(st, Incomplete)
			out.Error(TransientError, fmt.Sprintf("stream %s is incomplete: %d listings of it, or of the parents its records hang below, failed after retries (see the ERROR logs above)", st, lost[st]), "", st)
		} else {
			out.Status(st, Complete)
		}
		sum.Streams = append(sum.Streams, sinks.StreamSummary{Stream: st, Records: records[st], Parts: 1, Complete: lost[st] == 0, Problems: problems[st]})
	}
	published.Store(s.Run, sum)
	return out.Flush()
}

// Abandon ends the streams of a sync that failed: each INCOMPLETE, unless
// Publish had ended them.
func (s Sync) Abandon(context.Context) (sinks.Abandoned, error) {
	if _, ok := published.Load(s.Run); ok {
		return sinks.Abandoned{Published: true, Left: "every stream was ended before the sync failed"}, nil
	}
	for _, st := range s.Streams {
		Stdout().Status(st, Incomplete)
	}
	return sinks.Abandoned{Left: "the streams are incomplete"}, Stdout().Flush()
}

// Summary returns what Publish said of the sync.
func (s Sync) Summary(context.Context) (sinks.Summary, error) {
	v, ok := published.Load(s.Run)
	if !ok {
		return sinks.Summary{}, fmt.Errorf("airbyte: sync %s was not published in this process", s.Run)
	}
	return v.(sinks.Summary), nil
}
