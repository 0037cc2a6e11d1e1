package pipeline

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func init() {
	register.Function1x1[sinks.Record, string](recordID)
	register.Function1x1[sinks.Report, string](reportText)
}

func recordID(r sinks.Record) string   { return r.Stream + " " + r.Key }
func reportText(r sinks.Report) string { return r.Message }

// TestBuild runs the pipeline on Prism against a simulated account and
// checks that every stream holds the simulator's records exactly once, and
// that the free workspace's 402s are reported, not lost.
func TestBuild(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, Size: "tiny", ServiceAccount: true})
	defer srv.Close()
	acct := srv.Account()
	exports := acct.OrganizationExports()
	cfg := &asana.Config{BaseURL: srv.URL, RequestsPerMinute: 100000, OrganizationExportIDs: exports,
		Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())}}
	cfg.SetDefaults()
	t.Setenv(CredentialsEnv, cfg.Credentials.EnvValue())

	var streams, want []string
	for _, s := range asana.Streams() {
		streams = append(streams, s.Name)
	}
	for stream, keys := range acct.Expected(exports) {
		for _, k := range keys {
			want = append(want, stream+" "+k)
		}
	}
	sort.Strings(want)

	p, s := beam.NewPipelineWithRoot()
	out, err := Build(s, Options{Config: cfg, Streams: streams, Batch: 5, Piece: 2})
	if err != nil {
		t.Fatal(err)
	}
	ids := beam.ParDo(s, recordID, beam.Flatten(s, out.Records...))
	passert.Equals(s, ids, beam.CreateList(s, want))
	reports := beam.ParDo(s, reportText, out.Reports)
	free := acct.PersonalWorkspace()
	passert.Equals(s, reports, beam.CreateList(s, []string{
		"skipped custom_fields of workspace " + free + ": 402 Custom Fields are not available for free users or guests.",
		"skipped portfolios of workspace " + free + ": 402 Portfolios are only available to premium organizations and workspaces.",
	}))
	ptest.RunAndValidate(t, p)
}

// TestNoSecretInTheGraph: the credentials travel in the environment, never
// in a DoFn field or option of the job graph.
func TestNoSecretInTheGraph(t *testing.T) {
	const pat = "2/1111/2222:graph-s3cr3t"
	cfg := &asana.Config{Credentials: asana.Credentials{PersonalAccessToken: pat}}
	cfg.SetDefaults()
	p, s := beam.NewPipelineWithRoot()
	if _, err := Build(s, Options{Config: cfg, Streams: []string{"tasks", "stories"}}); err != nil {
		t.Fatal(err)
	}
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	// DoFns travel as the JSON of their fields.
	var graph strings.Builder
	for _, e := range edges {
		graph.WriteString(e.String())
		if e.DoFn != nil {
			b, err := json.Marshal(e.DoFn.Recv)
			if err != nil {
				t.Fatal(err)
			}
			graph.Write(b)
		}
	}
	if strings.Contains(graph.String(), "s3cr3t") {
		t.Errorf("the token is in the pipeline graph")
	}
	if !strings.Contains(graph.String(), "[redacted]") {
		t.Errorf("the config is not in the graph at all: the check above proves nothing")
	}
}

// TestGIDSet: a gid is new once, numeric or not; gids that differ as
// strings but not as numbers ("012", "12") are different gids.
func TestGIDSet(t *testing.T) {
	var s gidSet
	for _, c := range []struct {
		gid  string
		want bool
	}{
		{"1208345678901234", true}, {"1208345678901234", false},
		{"12", true}, {"012", true}, {"012", false}, {"12", false},
		{"0", true}, {"0", false}, {"00", true},
		{"x-1", true}, {"x-1", false},
		{"99999999999999999999999", true}, {"99999999999999999999999", false}, // beyond uint64
	} {
		if got := s.add(c.gid); got != c.want {
			t.Errorf("add(%q) = %v, want %v", c.gid, got, c.want)
		}
	}
}

// TestSightingsMerge: however the sightings of a shard are split into
// accumulators and merged, each parent comes out once, with the claims of
// all its sightings, as a map by key would have it; tasks with numeric
// gids are kept as numbers, the others by key.
func TestSightingsMerge(t *testing.T) {
	task := func(gid string) Sighting { return Sighting{Parent: asana.Parent{Kind: asana.ParentTask, GID: gid}} }
	claim := func(gid string, owned bool) Sighting {
		return Sighting{Parent: asana.Parent{GID: gid}, Claimed: true, Owned: owned}
	}
	in := []Sighting{
		task("1201"), claim("1201", false), claim("1201", true), // found twice, owned once
		claim("1202", false),           // claimed, owner lost: fetched
		task("1203"),                   // stories only
		task("x7"), claim("x7", false), // not a number
		task("012"), claim("12", true), // two tasks, not one
		{Parent: asana.Parent{Kind: asana.ParentTask, GID: "1204", Workspace: "w"}}, claim("1204", true), // a task parent with more than a gid
		{Parent: asana.Parent{Kind: asana.ParentProject, GID: "1201"}}, // a project of the same gid as a task
		{Parent: asana.Parent{Kind: asana.ParentAssignee, GID: "9", Workspace: "1"}},
		{Parent: asana.Parent{Kind: asana.ParentAssignee, GID: "9", Workspace: "2"}},
	}
	want := map[string]Sighting{}
	for _, s := range in {
		if t, ok := want[s.key()]; ok {
			s = t.merge(s)
		}
		want[s.key()] = s
	}
	wantParents := func() []string {
		var out []string
		for _, s := range want {
			for _, p := range s.parents() {
				out = append(out, p.String()+"/"+p.Workspace)
			}
		}
		sort.Strings(out)
		return out
	}()
	for split := 1; split <= len(in); split++ {
		for _, order := range [][]Sighting{in, reversed(in)} {
			// Accumulators of split sightings each, merged in turn.
			var fn mergeSightingsFn
			var acc Sightings
			for i := 0; i < len(order); i += split {
				var part Sightings
				for _, s := range order[i:min(i+split, len(order))] {
					var one Sightings
					one.add(s)
					part = fn.MergeAccumulators(part, one)
				}
				acc = fn.MergeAccumulators(acc, part)
			}
			var got []string
			for _, s := range acc.sorted() {
				for _, p := range s.parents() {
					got = append(got, p.String()+"/"+p.Workspace)
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(wantParents, " ") {
				t.Errorf("parts of %d: got %v, want %v", split, got, wantParents)
			}
			if _, ok := acc.Tasks[1201]; !ok || len(acc.Tasks) != 4 {
				t.Errorf("parts of %d: numeric tasks %v, want 1201, 1202, 1203 and 12", split, acc.Tasks)
			}
		}
	}
}

func reversed(in []Sighting) []Sighting {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}
