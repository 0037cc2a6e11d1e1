package parquet

import (
	"fmt"
	"testing"

	"github.com/asana-beam/asana-beam/sinks/tabular"
)

// countingWriter counts the bytes of the file.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// benchTasks returns n distinct typical task records, about 2 KB each.
func benchTasks(fields []tabular.Field, n int) [][]byte {
	g := newSynth(1)
	g.nullRate = 0.45
	g.maxList = 2
	g.noteLen = 100
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = g.record(fields)
	}
	return recs
}

// BenchmarkWriteTasks writes typical task records, 500 a call of Write and
// one a call (as the Beam transform does), and reports records/s and the
// bytes per record of the JSON input and of the Parquet output.
func BenchmarkWriteTasks(b *testing.B) {
	fields := streamFields(b, "tasks")
	recs := benchTasks(fields, 20000)
	var in int64
	for _, r := range recs {
		in += int64(len(r))
	}
	for _, batch := range []int{500, 1} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			out := &countingWriter{}
			w, err := NewWriter(out, fields, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(in / int64(len(recs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += len(recs) {
				pass := recs[:min(len(recs), b.N-i)]
				for len(pass) > 0 {
					k := min(len(pass), batch)
					if _, err := w.Write(pass[:k]); err != nil {
						b.Fatal(err)
					}
					pass = pass[k:]
				}
				// A row group per pass over the records: the same records
				// twice in a column chunk would flatter the compression.
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(w.Rows())/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(in)/float64(len(recs)), "json-B/record")
			b.ReportMetric(float64(out.n)/float64(w.Rows()), "parquet-B/record")
		})
	}
}
