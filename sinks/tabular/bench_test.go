package tabular

import (
	"encoding/json"
	"testing"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// simRecords returns the records of stream in a simulated account of the
// given size: each object of resourceType, cut to the stream's top-level
// fields, as the connector's opt_fields ask and as asana-bench sinks
// measures them.
func simRecords(tb testing.TB, size, stream, resourceType string) ([]Field, [][]byte) {
	tb.Helper()
	fields := streamFields(tb, stream)
	acct := asanatest.New(asanatest.Options{Seed: 1, Size: size, ServiceAccount: true}).Account()
	var recs [][]byte
	for _, full := range acct.Objects(resourceType) {
		rec := make(map[string]any, len(fields))
		for _, f := range fields {
			if v, ok := full[f.Name]; ok {
				rec[f.Name] = v
			}
		}
		b, err := json.Marshal(rec)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, b)
	}
	if len(recs) == 0 {
		tb.Fatalf("no %s in a %s account", resourceType, size)
	}
	return fields, recs
}

// BenchmarkDecodeSim decodes the tasks and stories of a simulated account
// (their records as Asana returns them) and reports records/s: with
// -cpu 1, records per second per core, garbage collection included. The
// target of the Parquet sink is 50,000 records/s/core end to end (see
// BENCHMARKS.md); decoding is part of it.
//
//	go test -run '^$' -bench DecodeSim -cpu 1 ./sinks/tabular/
//
// Decode reports to a Handler that keeps nothing (the decoder alone),
// DecodeLenient is what the Parquet sink calls, Row builds the maps.
func BenchmarkDecodeSim(b *testing.B) {
	for _, s := range []struct{ stream, kind string }{{"tasks", "task"}, {"stories", "story"}} {
		fields, recs := simRecords(b, "small", s.stream, s.kind)
		d := NewDecoder(fields)
		var in int64
		for _, r := range recs {
			in += int64(len(r))
		}
		run := func(name string, decode func(rec []byte) error) {
			b.Run(s.stream+"/"+name, func(b *testing.B) {
				b.SetBytes(in / int64(len(recs)))
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if err := decode(recs[n%len(recs)]); err != nil {
						b.Fatal(err)
					}
					n++
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(in)/float64(len(recs)), "json-B/record")
			})
		}
		run("Decode", func(rec []byte) error { return d.Decode(rec, discard{}) })
		var warnings []Warning
		run("DecodeLenient", func(rec []byte) error {
			var err error
			warnings, err = d.DecodeLenient(rec, discard{}, warnings[:0])
			return err
		})
		run("Row", func(rec []byte) error {
			_, err := d.Row(rec)
			return err
		})
	}
}
