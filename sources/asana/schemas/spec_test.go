package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// specSchema is the subset of an OpenAPI schema kept in
// testdata/asana_oas_extract.yaml.
type specSchema struct {
	Ref        string        `yaml:"$ref"`
	AllOf      []*specSchema `yaml:"allOf"`
	Type       string        `yaml:"type"`
	Format     string        `yaml:"format"`
	Nullable   bool          `yaml:"nullable"`
	Items      *specSchema   `yaml:"items"`
	Properties specProps     `yaml:"properties"`
}

// specProps keeps the order of the properties.
type specProps struct {
	keys []string
	m    map[string]*specSchema
}

func (p *specProps) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: properties is not a mapping", n.Line)
	}
	p.m = map[string]*specSchema{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var s specSchema
		if err := n.Content[i+1].Decode(&s); err != nil {
			return err
		}
		k := n.Content[i].Value
		p.keys = append(p.keys, k)
		p.m[k] = &s
	}
	return nil
}

type spec struct {
	schemas map[string]*specSchema
}

func loadSpec(t *testing.T) *spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "asana_oas_extract.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]*specSchema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &spec{doc.Components.Schemas}
}

// resolved is a spec schema with $ref and allOf merged away.
type resolved struct {
	typ, format string
	items       *resolved
	props       specProps // values are unresolved
}

func (sp *spec) resolve(s *specSchema) *resolved {
	r := &resolved{props: specProps{m: map[string]*specSchema{}}}
	var merge func(s *specSchema, depth int)
	merge = func(s *specSchema, depth int) {
		if depth > 20 {
			panic("spec: $ref loop")
		}
		if s.Ref != "" {
			name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
			target, ok := sp.schemas[name]
			if !ok {
				panic("spec: missing schema " + name)
			}
			merge(target, depth+1)
		}
		for _, a := range s.AllOf {
			merge(a, depth+1)
		}
		if s.Type != "" {
			r.typ = s.Type
		}
		if s.Format != "" {
			r.format = s.Format
		}
		if s.Items != nil {
			r.items = sp.resolve(s.Items)
		}
		for _, k := range s.Properties.keys {
			if _, ok := r.props.m[k]; !ok {
				r.props.keys = append(r.props.keys, k)
			}
			r.props.m[k] = s.Properties.m[k]
		}
	}
	merge(s, 0)
	return r
}

func (sp *spec) props(name string) specProps {
	return sp.resolve(&specSchema{Ref: "#/components/schemas/" + name}).props
}

// dates lists the paths of every date and date-time string under s (arrays
// as "[]"), with their format.
func (sp *spec) dates(path string, s *specSchema, depth int, out map[string]string) {
	if depth > 6 {
		return
	}
	r := sp.resolve(s)
	if r.typ == "string" && (r.format == "date" || r.format == "date-time") {
		out[path] = r.format
	}
	for r.items != nil {
		path += "[]"
		if r.items.typ == "string" && (r.items.format == "date" || r.items.format == "date-time") {
			out[path] = r.items.format
		}
		r = r.items
	}
	for _, k := range r.props.keys {
		sp.dates(join(path, k), r.props.m[k], depth+1, out)
	}
}

// compacted are the spec date fields below references that our schemas
// reduce to compact objects (gid, resource_type, name), on purpose.
var compacted = map[string]bool{
	"stories:story.created_at": true, // story a story refers to: join on gid
}

// subsetStreams hold only some fields of the resource their endpoint
// returns; they are checked against that resource for consistency only.
var subsetStreams = map[string]string{
	"portfolio_items": "ProjectResponse", // light project fields; full projects are in the projects stream
}

func TestSpecDates(t *testing.T) {
	sp := loadSpec(t)
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			o := ours(t, s.name)
			want := map[string]string{}
			sp.dates("", &specSchema{Ref: "#/components/schemas/" + s.resource}, 0, want)
			if full, ok := subsetStreams[s.name]; ok {
				all := map[string]string{}
				sp.dates("", &specSchema{Ref: "#/components/schemas/" + full}, 0, all)
				for p, f := range all {
					if lookup(o, p) != nil {
						want[p] = f
					}
				}
			}
			for p, f := range want {
				n := lookup(o, p)
				switch {
				case n == nil && compacted[s.name+":"+p]:
				case n == nil:
					t.Errorf("%s (%s in %s): missing", p, f, s.resource)
				case n.Format != f:
					t.Errorf("%s: format %q, spec has %q", p, n.Format, f)
				}
			}
			// Conversely, every date/date-time field is one in the spec,
			// except custom field date values whose spec has no format.
			o.walk("", func(p string, n *node) {
				if n.Format == "" || want[p] == n.Format {
					return
				}
				if strings.HasSuffix(p, "date_value.date") || strings.HasSuffix(p, "date_value.date_time") {
					return
				}
				t.Errorf("%s: format %q not in the spec", p, n.Format)
			})
		})
	}
}

// TestSpecComplete checks that every field of the spec's resource is in our
// schema, and that ours has nothing that is neither in the spec nor in
// Airbyte's schema.
func TestSpecComplete(t *testing.T) {
	sp := loadSpec(t)
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			o := ours(t, s.name).Properties
			specKeys := sp.props(s.resource).keys
			for _, k := range specKeys {
				if o.get(k) == nil {
					t.Errorf("%s: field of %s missing", k, s.resource)
				}
			}
			known := slices.Concat(specKeys, airbyte(t, s.name).Properties.names())
			if full, ok := subsetStreams[s.name]; ok {
				known = append(known, sp.props(full).keys...)
			}
			for _, k := range o.names() {
				if !slices.Contains(known, k) {
					t.Errorf("%s: neither in %s nor in Airbyte's schema", k, s.resource)
				}
			}
		})
	}
}

// TestSpecOrder checks that properties come as in the spec (after gid,
// resource_type and name; Airbyte-only fields last).
func TestSpecOrder(t *testing.T) {
	sp := loadSpec(t)
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			res := s.resource
			if s.full != "" {
				return // compact twins follow their full stream (TestCompactTwins)
			}
			if full, ok := subsetStreams[s.name]; ok {
				res = full
			}
			specKeys := sp.props(res).keys
			var got []string
			for _, k := range ours(t, s.name).Properties.names() {
				if k != "gid" && k != "resource_type" && k != "name" {
					got = append(got, k)
				}
			}
			pos := func(k string) int {
				if i := slices.Index(specKeys, k); i >= 0 {
					return i
				}
				return len(specKeys)
			}
			if !slices.IsSortedFunc(got, func(a, b string) int { return pos(a) - pos(b) }) {
				t.Errorf("order %v, want the spec's %v", got, specKeys)
			}
		})
	}
}
