package schemas

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestNames(t *testing.T) {
	var want []string
	for _, s := range streams {
		want = append(want, s.name)
	}
	got := Names()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Names() not sorted: %v", got)
	}
	got[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names() returns a shared slice")
	}
}

func TestRaw(t *testing.T) {
	tests := []struct {
		stream string
		ok     bool
	}{
		{"tasks", true},
		{"events", true},
		{"portfolios_compact", true},
		{"", false},
		{"task", false},
		{"Tasks", false},
		{"tasks.json", false},
		{"../schemas/tasks", false},
		{"testdata/airbyte/tasks", false},
		{"*", false},
	}
	for _, tt := range tests {
		b, ok := Raw(tt.stream)
		if ok != tt.ok {
			t.Errorf("Raw(%q) ok = %v, want %v", tt.stream, ok, tt.ok)
		}
		if ok != (len(b) > 0) {
			t.Errorf("Raw(%q) = %d bytes, ok = %v", tt.stream, len(b), ok)
		}
	}
	b, _ := Raw("tasks")
	b[0] = 'X'
	if c, _ := Raw("tasks"); c[0] == 'X' {
		t.Error("Raw returns a shared slice")
	}
}

// compile compiles the schema of a stream, asserting formats.
func compile(t *testing.T, stream string) *jsonschema.Schema {
	t.Helper()
	b, _ := Raw(stream)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", stream, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	url := "mem:///" + stream + ".json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", stream, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: does not compile as draft-07: %v", stream, err)
	}
	return sch
}

func TestCompileDraft07(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			compile(t, name)
			if s := ours(t, name).Schema; s != "http://json-schema.org/draft-07/schema#" {
				t.Errorf("$schema = %q", s)
			}
		})
	}
}

// allowedKeywords are the only keywords the schemas use, so that the code
// deriving catalogs, opt_fields and table schemas has little to understand.
var allowedKeywords = map[string]bool{
	"$schema": true, "title": true, "description": true, "type": true, "format": true,
	"items": true, "properties": true, "required": true, "additionalProperties": true,
}

// keywords walks a generic JSON Schema and reports every keyword outside
// allowedKeywords (e.g. "enum") with its path.
func keywords(path string, v any, bad *[]string) {
	m, ok := v.(map[string]any)
	if !ok {
		*bad = append(*bad, path+": schema is not an object")
		return
	}
	for k, sub := range m {
		if !allowedKeywords[k] {
			*bad = append(*bad, join(path, k))
		}
		switch k {
		case "items":
			keywords(path+"[]", sub, bad)
		case "properties":
			ps, ok := sub.(map[string]any)
			if !ok {
				*bad = append(*bad, join(path, "properties")+": not an object")
				continue
			}
			for name, p := range ps {
				keywords(join(path, name), p, bad)
			}
		}
	}
}

func TestOnlySimpleKeywords(t *testing.T) {
	for _, name := range Names() {
		b, _ := Raw(name)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var bad []string
		keywords("", v, &bad)
		for _, k := range bad {
			t.Errorf("%s: unexpected keyword %s (no enum, oneOf, $ref, … allowed)", name, k)
		}
	}
}

func TestConventions(t *testing.T) {
	scalars := []string{"string", "integer", "number", "boolean"}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s := ours(t, name)
			if s.Title != name {
				t.Errorf("title = %q, want %q", s.Title, name)
			}
			if s.desc() == "" {
				t.Error("no description")
			}
			if !slices.Equal(s.Type, typeSet{"object"}) {
				t.Errorf("top-level type = %v, want object", s.Type)
			}
			if s.AdditionalProperties != true {
				t.Errorf("additionalProperties = %v, want true", s.AdditionalProperties)
			}
			if s.Properties == nil {
				t.Fatal("no properties")
			}
			gid := s.Properties.get("gid")
			if name == "events" {
				if gid != nil || len(s.Required) != 0 {
					t.Error("events have no gid and nothing required")
				}
			} else {
				if gid == nil || !slices.Equal(gid.Type, typeSet{"string"}) {
					t.Errorf("gid must be a non-null string, got %+v", gid)
				}
				if !slices.Equal(s.Required, []string{"gid"}) {
					t.Errorf("required = %v, want [gid]", s.Required)
				}
			}
			for _, k := range s.Properties.names() {
				s.Properties.m[k].walk(k, func(path string, n *node) {
					if path == "gid" {
						return
					}
					if !strings.HasSuffix(path, "[]") && strings.TrimSpace(n.desc()) == "" {
						t.Errorf("%s: no description", path)
					}
					if strings.ContainsAny(n.desc(), "<>*`") {
						t.Errorf("%s: description has markup: %q", path, n.desc())
					}
					nn := n.Type.nonNull()
					if len(n.Type) != 2 || n.Type[0] != "null" || len(nn) != 1 {
						t.Errorf("%s: type = %v, want [\"null\", T]", path, n.Type)
						return
					}
					switch typ := nn[0]; {
					case typ == "array":
						if n.Items == nil {
							t.Errorf("%s: array without items", path)
						}
					case typ == "object":
						if n.Items != nil {
							t.Errorf("%s: object with items", path)
						}
					case slices.Contains(scalars, typ):
						if n.Items != nil || n.Properties != nil {
							t.Errorf("%s: scalar with items or properties", path)
						}
					default:
						t.Errorf("%s: unknown type %q", path, typ)
					}
					if n.Format != "" && (n.Format != "date" && n.Format != "date-time" || !n.Type.has("string")) {
						t.Errorf("%s: format %q on %v (only date and date-time on strings)", path, n.Format, n.Type)
					}
					// References: gid, resource_type and name come first.
					if n.Properties.get("gid") != nil {
						checkLeadingKeys(t, path, n.Properties.names())
					}
				})
			}
			checkLeadingKeys(t, name, s.Properties.names())
		})
	}
}

// checkLeadingKeys checks that those of gid, resource_type, name which are
// present come first and in this order.
func checkLeadingKeys(t *testing.T, path string, keys []string) {
	t.Helper()
	var lead []string
	for _, k := range []string{"gid", "resource_type", "name"} {
		if slices.Contains(keys, k) {
			lead = append(lead, k)
		}
	}
	if len(keys) < len(lead) || !slices.Equal(keys[:len(lead)], lead) {
		t.Errorf("%s: properties start with %v, want %v first", path, keys[:min(len(keys), len(lead))], lead)
	}
}
