// Package transforms holds the generic Beam transforms of the pipeline:
// deduplication, which knows nothing of Asana or of sinks.
package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.Combiner1[[]byte](&firstFn{})
}

// Dedup keeps one value of each key of a PCollection<KV<string, []byte>>
// and returns the PCollection<KV<string, []byte>> of those. The values of
// a key are taken to be the same record seen twice (a user in two
// workspaces, an event seen by two projects), so which one is kept does
// not matter.
//
// It is a combiner, not a GroupByKey of every copy: a runner that lifts
// combiners (Dataflow, Prism) keeps one value per key and bundle before
// the shuffle, and one per key after it, never the list of the copies.
// (Beam's Go SDK infers no accumulator coder for a universal type, hence
// bytes: the caller encodes what it deduplicates.)
func Dedup(s beam.Scope, keyed beam.PCollection) beam.PCollection {
	s = s.Scope("Dedup")
	return beam.CombinePerKey(s, &firstFn{}, keyed)
}

// firstFn keeps the first of two values.
type firstFn struct{}

// MergeAccumulators keeps a.
func (*firstFn) MergeAccumulators(a, _ []byte) []byte { return a }
