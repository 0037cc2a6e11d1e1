package main

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/asana-beam/asana-beam/pipeline"
	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sinks/airbyte"
	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// secretScan looks for credentials in what a binary left behind: as they
// are, URL-encoded, and base64-encoded (an Authorization header, an OAuth
// client's Basic credentials).
type secretScan struct {
	mu      sync.Mutex
	secrets map[string]string // needle → what it is
}

func newSecretScan() *secretScan { return &secretScan{secrets: map[string]string{}} }

// add registers a secret; short or empty values are refused, since they
// would match by chance.
func (s *secretScan) add(t *testing.T, what, v string) {
	t.Helper()
	if len(v) < 12 {
		t.Fatalf("secret %s %q is too short to look for", what, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v))} {
		s.secrets[n] = what
	}
	// The part after the colon is a token's secret part.
	if _, after, ok := strings.Cut(v, ":"); ok && len(after) >= 12 {
		s.secrets[after] = what + " (secret part)"
	}
}

// find returns what secrets b holds, with some context.
func (s *secretScan) find(b []byte) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for n, what := range s.secrets {
		if i := strings.Index(string(b), n); i >= 0 {
			lo, hi := max(0, i-80), min(len(b), i+len(n)+80)
			found = append(found, fmt.Sprintf("the %s: …%s…", what, b[lo:hi]))
		}
	}
	return found
}

// check reports every secret found in b.
func (s *secretScan) check(t *testing.T, where string, b []byte) {
	t.Helper()
	for _, f := range s.find(b) {
		t.Errorf("%s holds %s", where, f)
	}
}

// checkTree scans every file under dir.
func (s *secretScan) checkTree(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		n++
		t.Logf("scanning %s (%d bytes)", path, len(b))
		s.check(t, path, b)
		return nil
	})
	return n
}

// TestSecretsNeverLeak runs the binary through every command, and through
// the failures of the fault matrix, with the simulator's personal access
// token and OAuth client (and the access tokens it issues), and with
// distinctive wrong credentials; none may appear in stdout, stderr, or any
// file the runs write (TMPDIR points into the test's directory). The
// pipeline graph the command builds is checked too. cmd/asana-export's
// TestExportSecretsNeverLeak does the same for the export.
func TestSecretsNeverLeak(t *testing.T) {
	srv := asanatest.NewServer(asanatest.Options{Seed: 5, ServiceAccount: true, AccessTokenRequests: 15,
		Faults: asanatest.Faults{Rate5xx: 0.05, RateDrop: 0.05, RateTruncate: 0.05}})
	defer srv.Close()
	scan := newSecretScan()
	id, secret, refresh := srv.OAuthClient()
	scan.add(t, "personal access token", srv.PAT())
	scan.add(t, "OAuth client id", id)
	scan.add(t, "OAuth client secret", secret)
	scan.add(t, "OAuth refresh token", refresh)
	scan.add(t, "Basic credentials of the OAuth client", id+":"+secret)
	wrongPAT := "2/1204/1205:wrong-pat-s3cr3t-e1d9c0"
	scan.add(t, "a wrong personal access token", wrongPAT)
	wrongSecret := "wrong-client-s3cr3t-77aa10"
	scan.add(t, "a wrong client secret", wrongSecret)

	// The scan finds what it looks for: the config files hold the
	// secrets, in the clear.
	for _, c := range []string{simConfig(t, srv, map[string]any{"credentials": map[string]any{"option_title": "OAuth Credentials",
		"client_id": id, "client_secret": secret, "refresh_token": refresh}}), simConfig(t, srv, nil)} {
		b, _ := os.ReadFile(c)
		if len(scan.find(b)) == 0 {
			t.Fatalf("the scan finds no secret in the config %s", b)
		}
	}
	if len(scan.find([]byte("Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret))))) == 0 {
		t.Fatal("the scan misses Basic credentials")
	}

	tmp := t.TempDir() // the binary's TMPDIR
	env := []string{"TMPDIR=" + tmp}
	exports := srv.Account().OrganizationExports()
	oauth := func(secret, refresh string) map[string]any {
		return map[string]any{"option_title": "OAuth Credentials", "client_id": id, "client_secret": secret, "refresh_token": refresh}
	}
	patConfig := simConfig(t, srv, map[string]any{"organization_export_ids": exports})
	oauthConfig := simConfig(t, srv, map[string]any{"organization_export_ids": exports, "credentials": oauth(secret, refresh)})
	cat := configured(t, catalogOnce(t), allStreams()...)
	window := []string{"--rate-window", faultWindow.String()}
	runs := []struct {
		name string
		args []string
	}{
		{"spec", []string{"spec"}},
		{"check, PAT", []string{"check", "--config", patConfig}},
		{"check, OAuth", []string{"check", "--config", oauthConfig}},
		{"check, wrong PAT", []string{"check", "--config", simConfig(t, srv, map[string]any{"credentials": map[string]any{"personal_access_token": wrongPAT}})}},
		{"check, wrong client secret", []string{"check", "--config", simConfig(t, srv, map[string]any{"credentials": oauth(wrongSecret, refresh)})}},
		{"discover, PAT", []string{"discover", "--config", patConfig}},
		{"discover, OAuth", []string{"discover", "--config", oauthConfig}},
		{"discover, bad config with secrets", []string{"discover", "--config", simConfig(t, srv, map[string]any{"num_workers": 0.5, "credentials": oauth(secret, refresh)})}},
		{"read, PAT, 5xx, drops, truncation", append([]string{"read", "--config", patConfig, "--catalog", cat}, window...)},
		{"read, OAuth, tokens of 15 requests, 5xx, drops, truncation", append([]string{"read", "--config", oauthConfig, "--catalog", cat}, window...)},
		{"read, wrong PAT", []string{"read", "--config", simConfig(t, srv, map[string]any{"credentials": map[string]any{"personal_access_token": wrongPAT}}), "--catalog", cat}},
		{"read, wrong client secret", []string{"read", "--config", simConfig(t, srv, map[string]any{"credentials": oauth(wrongSecret, refresh)}), "--catalog", cat}},
		{"read, bad catalog", []string{"read", "--config", oauthConfig, "--catalog", writeRaw(t, `{"streams":[{"stream":{"name":"users"}}]}`)}},
		{"read, config cut short after the secret", []string{"read", "--config", writeRaw(t, `{"credentials":{"personal_access_token":"`+srv.PAT()), "--catalog", cat}},
	}
	for _, r := range runs {
		out := runCmd(t, binary, env, 2*time.Minute, r.args...)
		scan.check(t, r.name+": stdout", out.stdout)
		scan.check(t, r.name+": stderr", out.stderr)
		t.Logf("%-60s exit %d, %7d bytes of stdout, %6d of stderr", r.name, out.code, len(out.stdout), len(out.stderr))
	}

	// Failures mid-run: the refresh token revoked, then the PAT revoked,
	// then a terminated read.
	srv.RevokeRefreshToken()
	out := runCmd(t, binary, env, 2*time.Minute, append([]string{"read", "--config", oauthConfig, "--catalog", cat}, window...)...)
	scan.check(t, "read, refresh token revoked: stdout", out.stdout)
	scan.check(t, "read, refresh token revoked: stderr", out.stderr)
	if out.code == 0 {
		t.Errorf("read with a revoked refresh token: exit 0")
	}
	cmd := exec.Command(binary, "read", "--config", patConfig, "--catalog", cat)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	scan.check(t, "read, SIGTERM: stdout", []byte(stdout.String()))
	scan.check(t, "read, SIGTERM: stderr", []byte(stderr.String()))
	srv.RevokePAT()
	out = runCmd(t, binary, env, 2*time.Minute, "read", "--config", patConfig, "--catalog", cat)
	scan.check(t, "read, PAT revoked: stdout", out.stdout)
	scan.check(t, "read, PAT revoked: stderr", out.stderr)

	// The access tokens the simulator issued, found in nothing either.
	tokens := srv.AccessTokens()
	if len(tokens) < 5 {
		t.Errorf("only %d access tokens were issued; the OAuth reads did not refresh as planned", len(tokens))
	}
	for i, tok := range tokens {
		scan.add(t, fmt.Sprintf("OAuth access token %d", i), tok)
	}
	files := scan.checkTree(t, tmp)
	t.Logf("%d access tokens issued; %d files written under TMPDIR scanned", len(tokens), files)
	checkPipelineGraph(t, scan, srv)
}

// checkPipelineGraph builds the read's pipeline as the command does, with
// the OAuth client's credentials in the config, and scans the graph a
// runner is given (the pipeline proto: every DoFn's fields, every
// transform's payload).
func checkPipelineGraph(t *testing.T, scan *secretScan, srv *asanatest.Server) {
	t.Helper()
	id, secret, refresh := srv.OAuthClient()
	cfg := &asana.Config{BaseURL: srv.URL, Credentials: asana.Credentials{OptionTitle: asana.OAuthCredentials,
		ClientID: asana.Secret(id), ClientSecret: asana.Secret(secret), RefreshToken: asana.Secret(refresh)}}
	cfg.SetDefaults()
	p, s := beam.NewPipelineWithRoot()
	o, err := pipeline.Build(s, pipeline.Options{Config: cfg, Streams: allStreams(), Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := sinks.Write(s, airbyte.Sync{Run: "1", Streams: allStreams()}, o.Records, o.Reports); err != nil {
		t.Fatal(err)
	}
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := graphx.Marshal(edges, &graphx.Options{Environment: &pipepb.Environment{Urn: "beam:env:default:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	// The Go SDK puts each DoFn (its fields as JSON) into a transform's
	// payload as a base64-encoded proto: decode every base64 run, nested.
	b = withBase64Decoded(append(b, prototext.Format(pb)...), 3)
	scan.check(t, "the pipeline proto", b)
	if !strings.Contains(string(b), srv.URL) {
		t.Errorf("the pipeline proto does not hold the config's base_url: are the DoFns' fields decoded?")
	}
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{16,}={0,2}`)

// withBase64Decoded appends to b the decoding of every run of base64 in it,
// depth levels deep.
func withBase64Decoded(b []byte, depth int) []byte {
	if depth == 0 {
		return b
	}
	var more []byte
	for _, run := range base64Run.FindAll(b, -1) {
		if d, err := base64.StdEncoding.DecodeString(string(run)); err == nil {
			more = append(more, '\n')
			more = append(more, d...)
		}
	}
	if len(more) == 0 {
		return b
	}
	return append(b, withBase64Decoded(more, depth-1)...)
}
