package pipeline

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// TestSplitRestrictionRunsPieces: on Prism, one Batch of parents is cut by
// ExpandFn's SplitRestriction into pieces that run as restrictions of
// their own (the counter restrictions-expanded counts ProcessElement
// calls), and every parent of the batch is expanded once, whichever piece
// holds it.
func TestSplitRestrictionRunsPieces(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, Size: "tiny", ServiceAccount: true})
	defer srv.Close()
	exports := srv.Account().OrganizationExports()
	cfg := &asana.Config{BaseURL: srv.URL, RequestsPerMinute: 100000, OrganizationExportIDs: exports,
		Credentials: asana.Credentials{PersonalAccessToken: asana.Secret(srv.PAT())}}
	cfg.SetDefaults()
	t.Setenv(CredentialsEnv, cfg.Credentials.EnvValue())
	streams := []string{"workspaces", "organization_exports"}
	x, err := asana.NewExpander(nil, cfg, streams, nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x.Roots() // the account, and an export per configured id
	if len(roots) < 3 {
		t.Fatalf("%d roots: the test needs at least 3 parents in its batch", len(roots))
	}
	var want []string
	for _, id := range exports {
		want = append(want, "organization_exports "+id)
	}
	for _, w := range srv.Account().Expected(exports)["workspaces"] {
		want = append(want, "workspaces "+w)
	}
	sort.Strings(want)
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}

	p, s := beam.NewPipelineWithRoot()
	fn := &ExpandFn{Credentials: CredentialSource{Env: CredentialsEnv}, Config: string(b), Streams: streams, Piece: 1}
	records, _, _ := beam.ParDo3(s, fn, beam.Create(s, Batch{Parents: roots}))
	passert.Equals(s, beam.ParDo(s, recordID, records), beam.CreateList(s, want))
	res := ptest.RunAndValidate(t, p)

	var pieces int64
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == "asana-beam" && c.Key.Name == "restrictions-expanded" {
			pieces += c.Result()
		}
	}
	if pieces != int64(len(roots)) {
		t.Errorf("one batch of %d parents in pieces of 1 ran as %d restrictions, want %d", len(roots), pieces, len(roots))
	}
}
