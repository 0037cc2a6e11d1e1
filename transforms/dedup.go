// Package transforms holds the generic Beam transforms of the pipeline:
// deduplication and fusion breaks that know nothing of Asana or of sinks.
package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x0[string, func(*beam.T) bool, func(beam.T)](&firstFn{})
}

// Dedup keeps one value of each key of a PCollection<KV<string, T>> and
// returns the PCollection<T> of those. The values of a key are taken to be
// the same record seen twice (a task in two projects, a user in two
// workspaces), so which one is kept does not matter. The GroupByKey also
// breaks fusion: what follows is spread over the runner's workers anew.
func Dedup(s beam.Scope, keyed beam.PCollection) beam.PCollection {
	s = s.Scope("Dedup")
	return beam.ParDo(s, &firstFn{}, beam.GroupByKey(s, keyed))
}

// firstFn emits the first value of each group.
type firstFn struct{}

func (*firstFn) ProcessElement(_ string, values func(*beam.T) bool, emit func(beam.T)) {
	var v beam.T
	if values(&v) {
		emit(v)
	}
}
