package transforms

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// kv is one keyed value of a test.
type kv struct {
	K string
	V string
}

func init() {
	register.Function1x2[kv, string, []byte](splitKV)
	register.Function2x1[string, []byte, string](joinKV)
}

func splitKV(e kv) (string, []byte)    { return e.K, []byte(e.V) }
func joinKV(k string, v []byte) string { return k + "=" + string(v) }

func TestDedup(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []kv
		want []string // key=value, one per key
	}{
		{"empty", nil, nil},
		{"one", []kv{{"a", "x"}}, []string{"a=x"}},
		{"distinct keys", []kv{{"a", "x"}, {"b", "y"}, {"c", "z"}}, []string{"a=x", "b=y", "c=z"}},
		{"a key twice", []kv{{"a", "x"}, {"b", "y"}, {"a", "x"}}, []string{"a=x", "b=y"}},
		{"a key many times", []kv{{"a", "x"}, {"a", "x"}, {"a", "x"}, {"a", "x"}, {"b", "y"}}, []string{"a=x", "b=y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			in := beam.CreateList(s, tc.in)
			if len(tc.in) == 0 {
				in = beam.CreateList(s, []kv{})
			}
			out := beam.ParDo(s, joinKV, Dedup(s, beam.ParDo(s, splitKV, in)))
			passert.Equals(s, out, toAny(tc.want)...)
			passert.Count(s, out, "values", len(tc.want))
			ptest.RunAndValidate(t, p)
		})
	}
}

// TestDedupKeepsOnePerKey: whatever the values of a key, one survives.
func TestDedupKeepsOnePerKey(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	var in []kv
	var want []string
	for i := range 1000 {
		k := string(rune('a' + i%26))
		in = append(in, kv{K: k, V: k})
		if i < 26 {
			want = append(want, k+"="+k)
		}
	}
	out := beam.ParDo(s, joinKV, Dedup(s, beam.ParDo(s, splitKV, beam.CreateList(s, in))))
	passert.Equals(s, out, toAny(want)...)
	ptest.RunAndValidate(t, p)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
