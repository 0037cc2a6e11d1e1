package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// node is the subset of JSON Schema used by the stream schemas, with the
// order of "properties" kept.
type node struct {
	Schema               string   `json:"$schema"`
	Title                string   `json:"title"`
	Description          *string  `json:"description"`
	Type                 typeSet  `json:"type"`
	Format               string   `json:"format"`
	Items                *node    `json:"items"`
	Properties           *props   `json:"properties"`
	Required             []string `json:"required"`
	AdditionalProperties any      `json:"additionalProperties"`
}

// typeSet is the "type" keyword: a string or an array of strings.
type typeSet []string

func (t *typeSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = typeSet{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	*t = many
	return nil
}

func (t typeSet) has(s string) bool { return slices.Contains(t, s) }

// nonNull returns the types other than "null".
func (t typeSet) nonNull() []string {
	var out []string
	for _, s := range t {
		if s != "null" {
			out = append(out, s)
		}
	}
	return out
}

// covers reports whether every type of o is accepted by t ("integer" is
// accepted by "number").
func (t typeSet) covers(o typeSet) bool {
	for _, s := range o {
		if !t.has(s) && (s != "integer" || !t.has("number")) {
			return false
		}
	}
	return true
}

// props is the "properties" keyword with its keys in file order.
type props struct {
	keys []string
	m    map[string]*node
}

func (p *props) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("properties: want an object, got %v (%v)", tok, err)
	}
	p.m = map[string]*node{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var n node
		if err := dec.Decode(&n); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if _, dup := p.m[key]; dup {
			return fmt.Errorf("duplicate property %q", key)
		}
		p.keys = append(p.keys, key)
		p.m[key] = &n
	}
	_, err := dec.Token()
	return err
}

func (p *props) get(k string) *node {
	if p == nil {
		return nil
	}
	return p.m[k]
}

func (p *props) names() []string {
	if p == nil {
		return nil
	}
	return p.keys
}

// freeForm reports whether n is an object schema without fixed properties.
func (n *node) freeForm() bool { return n.Type.has("object") && n.Properties == nil }

func (n *node) desc() string {
	if n.Description == nil {
		return ""
	}
	return *n.Description
}

// walk calls f for n and every schema below it; path is like
// "custom_fields[].enum_value.gid" (empty for the root).
func (n *node) walk(path string, f func(path string, n *node)) {
	f(path, n)
	if n.Items != nil {
		n.Items.walk(path+"[]", f)
	}
	for _, k := range n.Properties.names() {
		n.Properties.m[k].walk(join(path, k), f)
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// ours parses the embedded schema of a stream.
func ours(t *testing.T, stream string) *node {
	t.Helper()
	b, ok := Raw(stream)
	if !ok {
		t.Fatalf("Raw(%q): not found", stream)
	}
	return parse(t, stream, b)
}

// airbyte parses Airbyte's schema of a stream (testdata/airbyte).
func airbyte(t *testing.T, stream string) *node {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "airbyte", stream+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, "airbyte "+stream, b)
}

func parse(t *testing.T, what string, b []byte) *node {
	t.Helper()
	var n node
	if err := json.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return &n
}

// streams lists the 20 streams and the Asana resource schema (in
// testdata/asana_oas_extract.yaml) whose records each one holds.
var streams = []struct {
	name     string
	resource string
	full     string // for compact twins, the full stream cut from the same responses
}{
	{"attachments", "AttachmentResponse", ""},
	{"attachments_compact", "AttachmentCompact", "attachments"},
	{"custom_fields", "CustomFieldResponse", ""},
	{"events", "EventResponse", ""},
	{"organization_exports", "OrganizationExportResponse", ""},
	{"portfolio_items", "ProjectCompact", ""},
	{"portfolios", "PortfolioResponse", ""},
	{"portfolios_compact", "PortfolioCompact", "portfolios"},
	// GET /portfolio_memberships returns the deprecated membership shape.
	{"portfolios_memberships", "DeprecatedPortfolioMembershipResponse", ""},
	{"projects", "ProjectResponse", ""},
	{"sections", "SectionResponse", ""},
	{"sections_compact", "SectionCompact", "sections"},
	{"stories", "StoryResponse", ""},
	{"stories_compact", "StoryCompact", "stories"},
	{"tags", "TagResponse", ""},
	{"tasks", "TaskResponse", ""},
	{"team_memberships", "TeamMembershipResponse", ""},
	{"teams", "TeamResponse", ""},
	{"users", "UserResponse", ""},
	{"workspaces", "WorkspaceResponse", ""},
}
