package asana

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files and the README's config table")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

func TestSpecGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, Spec(), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	golden(t, "spec.json", buf.Bytes())
}

// TestSpecMatchesConfig checks the spec against what Airbyte's acceptance
// tests demand and against the Config it describes.
func TestSpecMatchesConfig(t *testing.T) {
	cs := ConnectionSpecification()
	props := cs["properties"].(map[string]any)
	for _, f := range configStructFields() {
		if _, ok := props[f.name]; !ok {
			t.Errorf("config field %s is missing from the spec", f.name)
		}
	}
	variants := props["credentials"].(map[string]any)["oneOf"].([]any)
	first := variants[0].(map[string]any)["properties"].(map[string]any)["option_title"].(map[string]any)
	if first["const"] != OAuthCredentials {
		t.Errorf("first credentials variant is %v; Airbyte wants OAuth first", first["const"])
	}
	for _, v := range variants {
		for name, p := range v.(map[string]any)["properties"].(map[string]any) {
			isSecret, _ := p.(map[string]any)["airbyte_secret"].(bool)
			if want := name != "option_title"; isSecret != want {
				t.Errorf("credentials.%s: airbyte_secret = %v, want %v", name, isSecret, want)
			}
		}
	}
	// Every default in the spec is what SetDefaults fills in.
	var c Config
	c.SetDefaults()
	b, _ := json.Marshal(c)
	var defaults map[string]any
	json.Unmarshal(b, &defaults)
	for name, p := range props {
		if d, ok := p.(map[string]any)["default"]; ok {
			got := defaults[name]
			if n, isNum := got.(float64); isNum {
				got = int(n)
			}
			if !cmp.Equal(d, got) {
				t.Errorf("%s: spec default %v, SetDefaults gives %v", name, d, got)
			}
		}
	}
}

// TestREADMEConfigTable keeps the README's table generated from Config.
func TestREADMEConfigTable(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- config-table -->\n", "<!-- /config-table -->"
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	got := string(readme[i+len(begin) : j])
	want := ConfigTable()
	if got == want {
		return
	}
	if *update {
		out := string(readme[:i+len(begin)]) + want + string(readme[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's config table is stale (go test ./sources/asana -update rewrites it):\n%s", cmp.Diff(want, got))
}
