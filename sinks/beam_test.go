package sinks_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/internal/toy" // the one line that adds the toy sink
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// TestWriteToy runs the generic transform on Prism with the toy sink:
// every record of several PCollections reaches Publish once, in the parts
// of its stream, with every report; and with no record at all, Publish
// still runs.
func TestWriteToy(t *testing.T) {
	for _, n := range []int{0, 1, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var a, b []sinks.Record
			want := map[string][]string{}
			for i := range n {
				r := sinks.Record{Stream: []string{"tasks", "users"}[i%2], Key: fmt.Sprint(i), Data: fmt.Appendf(nil, `{"gid":"%d"}`, i)}
				if i%3 == 0 {
					a = append(a, r)
				} else {
					b = append(b, r)
				}
				want[r.Stream] = append(want[r.Stream], string(r.Data))
			}
			reports := []sinks.Report{{Stream: "tasks", Lost: true, Message: "lost a page"}}
			p, s := beam.NewPipelineWithRoot()
			run := fmt.Sprintf("%s-%d", t.Name(), n)
			recs := []beam.PCollection{beam.CreateList(s, a), beam.CreateList(s, b)}
			if err := sinks.Write(s, toy.Sink{Run: run}, recs, beam.CreateList(s, reports)); err != nil {
				t.Fatal(err)
			}
			ptest.RunAndValidate(t, p)
			got, ok := toy.Of(run)
			if !ok {
				t.Fatal("the run was not published")
			}
			for _, rows := range got.Rows {
				slices.Sort(rows)
			}
			for _, rows := range want {
				slices.Sort(rows)
			}
			if diff := cmp.Diff(want, got.Rows, cmp.Comparer(func(x, y []string) bool { return slices.Equal(x, y) })); n > 0 && diff != "" {
				t.Errorf("published rows (-want +got):\n%s", diff)
			}
			if n == 0 && len(got.Rows) != 0 {
				t.Errorf("published %v, want nothing", got.Rows)
			}
			if diff := cmp.Diff(reports, got.Reports); diff != "" {
				t.Errorf("reports (-want +got):\n%s", diff)
			}
		})
	}
}

// TestToyIsOneFolder: adding a sink is one folder and one line. Outside
// sinks/internal/toy, only one line of Go imports the toy sink, which
// registers it: this file's (which also reads what it published).
func TestToyIsOneFolder(t *testing.T) {
	root := filepath.Join("..")
	var mentions []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && d.Name() != ".." || p == filepath.Join(root, "sinks", "internal", "toy")) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(strings.TrimLeft(l, "_ toy"), `"github.com/asana-beam/asana-beam/sinks/internal/toy"`) {
				mentions = append(mentions, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(p), i+1, strings.TrimSpace(line)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`../sinks/beam_test.go:17: "github.com/asana-beam/asana-beam/sinks/internal/toy" // the one line that adds the toy sink`}
	if diff := cmp.Diff(want, mentions); diff != "" {
		t.Errorf("the toy sink is named outside its folder (-want +got):\n%s", diff)
	}
}
