package sinks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn2x1[context.Context, []byte, error](&BeginFn{})
	register.DoFn3x1[context.Context, Record, func(Part), error](&WriteFn{})
	register.Emitter1[Part]()
	register.DoFn2x0[[]byte, func(Part)](&markerFn{})
	register.DoFn2x0[Part, func(string, Part)](&keyPartFn{})
	register.Emitter2[string, Part]()
	register.DoFn2x0[Report, func(string, Report)](&keyReportFn{})
	register.Emitter2[string, Report]()
	register.DoFn4x1[context.Context, string, func(*Part) bool, func(*Report) bool, error](&PublishFn{})
}

// Write is the one Beam transform of every sink: it begins the run as the
// pipeline starts, writes each PCollection of Record into parts (a part
// per stream and bundle, in the stage that produced the records), and,
// when every bundle is written, publishes the run's parts with the
// reports (PCollection of Report). A bundle that fails and is retried
// hands on no part; its retry writes new ones.
func Write(s beam.Scope, sink Sink, records []beam.PCollection, reports beam.PCollection) error {
	d, err := Describe(sink)
	if err != nil {
		return err
	}
	s = s.Scope("Sink." + sink.Kind())
	beam.ParDo0(s, &BeginFn{Desc: d}, beam.Impulse(s))
	// The marker makes PublishFn run when there is no part and no report
	// at all: every stream is published empty then.
	parts := []beam.PCollection{beam.ParDo(s, &markerFn{}, beam.Impulse(s))}
	for _, r := range records {
		parts = append(parts, beam.ParDo(s, &WriteFn{Desc: d}, r))
	}
	keyed := beam.ParDo(s, &keyPartFn{}, beam.Flatten(s, parts...))
	beam.ParDo0(s, &PublishFn{Desc: d}, beam.CoGroupByKey(s, keyed, beam.ParDo(s, &keyReportFn{}, reports)))
	return nil
}

// Desc is a Sink as the DoFns carry it: its kind and its JSON.
type Desc struct {
	Kind string `json:"kind"`
	Sink string `json:"sink"`
}

// Describe encodes sink for the DoFns.
func Describe(sink Sink) (Desc, error) {
	if _, ok := Lookup(sink.Kind()); !ok {
		return Desc{}, fmt.Errorf("sinks: kind %q is not registered (sinks.Register)", sink.Kind())
	}
	b, err := json.Marshal(sink)
	if err != nil {
		return Desc{}, fmt.Errorf("sinks: encoding the %s sink: %w", sink.Kind(), err)
	}
	return Desc{Kind: sink.Kind(), Sink: string(b)}, nil
}

// BeginFn begins the run as the pipeline starts, so that a destination the
// sink refuses stops the run before anything is read.
type BeginFn struct {
	Desc Desc `json:"desc"`
}

// ProcessElement begins the run.
func (fn *BeginFn) ProcessElement(ctx context.Context, _ []byte) error {
	sink, err := decode(fn.Desc.Kind, fn.Desc.Sink)
	if err != nil {
		return err
	}
	return sink.Begin(ctx)
}

// WriteFn writes the records of a bundle, one part per stream.
type WriteFn struct {
	Desc Desc `json:"desc"`

	sink Sink
	open map[string]*openPart
}

type openPart struct {
	w    PartWriter
	part Part
}

// Setup rebuilds the sink and begins the run in this process.
func (fn *WriteFn) Setup(ctx context.Context) error {
	sink, err := decode(fn.Desc.Kind, fn.Desc.Sink)
	if err != nil {
		return err
	}
	fn.sink = sink
	return sink.Begin(ctx)
}

// StartBundle drops the parts of a bundle that failed, and starts with
// none.
func (fn *WriteFn) StartBundle(context.Context, func(Part)) {
	fn.discard()
	fn.open = map[string]*openPart{}
}

func (fn *WriteFn) discard() {
	for _, op := range fn.open {
		op.w.Discard()
	}
	fn.open = nil
}

// ProcessElement writes one record into its stream's part, or passes a
// checkpoint to the sink (see Checkpointer).
func (fn *WriteFn) ProcessElement(ctx context.Context, r Record, _ func(Part)) error {
	if r.State != nil {
		if c, ok := fn.sink.(Checkpointer); ok {
			if err := c.Checkpoint(ctx, r.Stream, r.State); err != nil {
				return fmt.Errorf("%s: a checkpoint of %s: %w", fn.Desc.Kind, r.Stream, err)
			}
		}
		return nil
	}
	op, ok := fn.open[r.Stream]
	if !ok {
		w, err := fn.sink.Open(ctx, r.Stream)
		if err != nil {
			return fmt.Errorf("%s: opening a part of %s: %w", fn.Desc.Kind, r.Stream, err)
		}
		op = &openPart{w: w, part: Part{Stream: r.Stream}}
		fn.open[r.Stream] = op
	}
	n, err := op.w.Write(ctx, [][]byte{r.Data})
	for _, w := range op.w.Warnings() {
		op.part.Warnings = KeepWarnings(op.part.Warnings, w)
		op.part.WarningCount++
	}
	if err != nil {
		return fmt.Errorf("%s: %s record %s: %w", fn.Desc.Kind, r.Stream, r.Key, err)
	}
	if n != 1 {
		return fmt.Errorf("%s: writing %s record %s: %d rows written, want 1", fn.Desc.Kind, r.Stream, r.Key, n)
	}
	op.part.Rows++
	return nil
}

// FinishBundle completes the bundle's parts and hands them on.
func (fn *WriteFn) FinishBundle(ctx context.Context, emit func(Part)) error {
	for stream, op := range fn.open {
		name, rows, err := op.w.Close(ctx)
		delete(fn.open, stream)
		if err != nil {
			fn.discard()
			return fmt.Errorf("%s: completing a part of %s: %w", fn.Desc.Kind, stream, err)
		}
		if rows != op.part.Rows {
			fn.discard()
			return fmt.Errorf("%s: %s holds %d rows, want %d", fn.Desc.Kind, name, rows, op.part.Rows)
		}
		op.part.Name = name
		if op.part.WarningCount > 0 {
			slog.Warn(fn.Desc.Kind+": values that did not fit their columns were written as null", "stream", stream,
				"values", op.part.WarningCount, "first", stream+" "+op.part.Warnings[0])
		}
		emit(op.part)
	}
	fn.open = nil
	return nil
}

// Teardown drops what a failed bundle left open.
func (fn *WriteFn) Teardown() { fn.discard() }

// markerFn emits an empty Part, which PublishFn drops.
type markerFn struct{}

func (*markerFn) ProcessElement(_ []byte, emit func(Part)) { emit(Part{}) }

type keyPartFn struct{}

func (*keyPartFn) ProcessElement(p Part, emit func(string, Part)) { emit("", p) }

type keyReportFn struct{}

func (*keyReportFn) ProcessElement(r Report, emit func(string, Report)) { emit("", r) }

// PublishFn runs once, after every bundle has written its parts: it
// publishes the run.
type PublishFn struct {
	Desc Desc `json:"desc"`
}

// ProcessElement publishes the run.
func (fn *PublishFn) ProcessElement(ctx context.Context, _ string, parts func(*Part) bool, reports func(*Report) bool) error {
	sink, err := decode(fn.Desc.Kind, fn.Desc.Sink)
	if err != nil {
		return err
	}
	if err := sink.Begin(ctx); err != nil {
		return err
	}
	var all []Part
	var p Part
	for parts(&p) {
		if p.Stream != "" {
			all = append(all, p)
		}
	}
	var rs []Report
	var r Report
	for reports(&r) {
		rs = append(rs, r)
	}
	return sink.Publish(ctx, all, rs)
}
