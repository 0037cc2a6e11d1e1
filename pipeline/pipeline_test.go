package pipeline

import (
	"encoding/json"
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
