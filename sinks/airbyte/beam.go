package airbyte

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/asana-beam/asana-beam/sinks"
)

func init() {
	register.DoFn2x1[context.Context, sinks.Record, error](&WriteRecordsFn{})
	register.DoFn2x1[context.Context, sinks.Report, error](&WriteReportsFn{})
}

// Stdout is the process's protocol channel. The Airbyte sink runs where
// the command runs (Prism in the same process): stdout belongs to the
// process, so all bundles share this one writer.
var Stdout = sync.OnceValue(func() *Writer { return NewWriter(os.Stdout) })

// Write writes the records of each PCollection as RECORD messages and
// reports as LOG messages to Stdout.
func Write(s beam.Scope, records []beam.PCollection, reports beam.PCollection) {
	s = s.Scope("Airbyte")
	for _, r := range records {
		beam.ParDo0(s, &WriteRecordsFn{}, r)
	}
	beam.ParDo0(s, &WriteReportsFn{}, reports)
}

// WriteRecordsFn writes each record to Stdout.
type WriteRecordsFn struct{}

// ProcessElement writes one record.
func (*WriteRecordsFn) ProcessElement(ctx context.Context, r sinks.Record) error {
	if err := Stdout().Record(r.Stream, r.Data); err != nil {
		return err
	}
	beam.NewCounter("airbyte", "records/"+r.Stream).Inc(ctx, 1)
	return nil
}

// FinishBundle flushes, so a bundle's records are out before it ends.
func (*WriteRecordsFn) FinishBundle() error { return Stdout().Flush() }

// WriteReportsFn writes each report as a LOG message.
type WriteReportsFn struct{}

// ProcessElement writes one report.
func (*WriteReportsFn) ProcessElement(ctx context.Context, r sinks.Report) error {
	level := "WARN"
	if r.Lost {
		level = "ERROR"
		beam.NewCounter("airbyte", "lost/"+r.Stream).Inc(ctx, 1)
	}
	return Stdout().Log(level, "%s", fmt.Sprintf("stream %s: %s", r.Stream, r.Message))
}
