package schemas

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fixes are the only places where our schemas accept less than Airbyte's
// (testdata/airbyte): known defects of Airbyte's schemas. Key: stream + ":" +
// path; "*:gid" applies to every stream. The description of the property
// must document the fix: it must mention Airbyte.
var fixes = map[string]string{
	"*:gid":                               "Airbyte declared gid nullable; Asana always returns it",
	"projects:custom_fields[].text_value": "Airbyte typed it boolean; it is the string value of a text custom field",
	"portfolios:members":                  "Airbyte typed it object; Asana returns an array of users",
	"portfolios:project_templates":        "Airbyte typed it object; Asana returns an array of project templates",
	"portfolios:due_on":                   "Airbyte declared format date-time; Asana returns YYYY-MM-DD",
	"portfolios:start_on":                 "Airbyte declared format date-time; Asana returns YYYY-MM-DD",
}

func fixFor(stream, path string) (string, bool) {
	if r, ok := fixes[stream+":"+path]; ok {
		return r, true
	}
	r, ok := fixes["*:"+path]
	return r, ok
}

// superset reports every way in which ours accepts less than ab at path.
func superset(stream, path string, ours, ab *node, errs *[]string) {
	fail := func(format string, args ...any) {
		if _, ok := fixFor(stream, path); !ok {
			*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
		}
	}
	if !ours.Type.covers(ab.Type) {
		fail("type %v does not cover Airbyte's %v", ours.Type, ab.Type)
	}
	if ours.Format != ab.Format && ours.Format != "" {
		fail("format %q, Airbyte has %q", ours.Format, ab.Format)
	}
	if ours.freeForm() {
		return // accepts any object, so anything below ab
	}
	if ab.Properties != nil {
		target := ours
		if !ours.Type.has("object") && ours.Type.has("array") && ours.Items != nil {
			target = ours.Items // only allowed as a fix: Airbyte's object is an array
			fail("Airbyte's object is an array here")
		}
		for _, k := range ab.Properties.names() {
			o := target.Properties.get(k)
			if o == nil {
				if !target.freeForm() {
					*errs = append(*errs, join(path, k)+": missing (Airbyte has it)")
				}
				continue
			}
			superset(stream, join(path, k), o, ab.Properties.m[k], errs)
		}
	}
	if ab.Items != nil {
		if ours.Items == nil {
			*errs = append(*errs, path+"[]: missing items (Airbyte has them)")
			return
		}
		superset(stream, path+"[]", ours.Items, ab.Items, errs)
	}
}

func TestAcceptsWhatAirbyteAccepts(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			var errs []string
			superset(name, "", ours(t, name), airbyte(t, name), &errs)
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// TestFixesDocumented checks that each fix is really needed (Airbyte's schema
// has the defect) and is explained in our description.
func TestFixesDocumented(t *testing.T) {
	for key, reason := range fixes {
		stream, path, _ := strings.Cut(key, ":")
		names := []string{stream}
		if stream == "*" {
			names = slices.DeleteFunc(Names(), func(s string) bool { return s == "events" })
		}
		for _, name := range names {
			o, a := lookup(ours(t, name), path), lookup(airbyte(t, name), path)
			if o == nil || a == nil {
				t.Errorf("%s:%s: fix for a property missing from ours (%v) or Airbyte's (%v)", name, path, o != nil, a != nil)
				continue
			}
			if o.Type.covers(a.Type) && (o.Format == a.Format || o.Format == "") {
				t.Errorf("%s:%s: listed as a fix (%s) but ours accepts what Airbyte's does", name, path, reason)
			}
			if !strings.Contains(o.desc(), "Airbyte") {
				t.Errorf("%s:%s: description %q does not document the fix (%s)", name, path, o.desc(), reason)
			}
		}
	}
}

// lookup finds the schema at a path like "custom_fields[].text_value".
func lookup(n *node, path string) *node {
	for _, part := range strings.Split(path, ".") {
		name, arrays := strings.CutSuffix(part, "[]")
		n = n.Properties.get(name)
		if n == nil {
			return nil
		}
		if arrays {
			if n = n.Items; n == nil {
				return nil
			}
		}
	}
	return n
}

// TestCompactTwins checks that each compact stream holds exactly the fields
// of Airbyte's compact schema plus those of the spec's compact resource, and
// that each is the same schema as in the full stream (both are cut from the
// same responses).
func TestCompactTwins(t *testing.T) {
	spec := loadSpec(t)
	for _, s := range streams {
		if s.full == "" {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			compact, full := rawProps(t, s.name), rawProps(t, s.full)
			want := map[string]bool{}
			for _, k := range airbyte(t, s.name).Properties.names() {
				want[k] = true
			}
			for _, k := range spec.props(s.resource).keys {
				want[k] = true
			}
			for k := range compact {
				if !want[k] {
					t.Errorf("%s: neither in Airbyte's %s nor in %s", k, s.name, s.resource)
				}
				delete(want, k)
			}
			for k := range want {
				t.Errorf("%s: missing", k)
			}
			for k, v := range compact {
				if !reflect.DeepEqual(v, full[k]) {
					t.Errorf("%s: differs from %s.%s", k, s.full, k)
				}
			}
			// Same order as in the full stream.
			co, fo := ours(t, s.name).Properties.names(), ours(t, s.full).Properties.names()
			fo = slices.DeleteFunc(fo, func(k string) bool { return !slices.Contains(co, k) })
			if !slices.Equal(co, fo) {
				t.Errorf("order %v, want %v as in %s", co, fo, s.full)
			}
		})
	}
}

func rawProps(t *testing.T, stream string) map[string]any {
	t.Helper()
	b, _ := Raw(stream)
	var v struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Properties
}

// sample builds a record that Airbyte's schema accepts, with every property
// of it set (first non-null type; arrays of one element). Fixed paths are
// left null, as Airbyte's typing there does not match what Asana returns.
func sample(stream, path string, n *node) any {
	if _, ok := fixFor(stream, path); ok && path != "gid" {
		return nil
	}
	switch nn := n.Type.nonNull(); {
	case len(nn) == 0:
		return nil
	case nn[0] == "object":
		m := map[string]any{}
		for _, k := range n.Properties.names() {
			m[k] = sample(stream, join(path, k), n.Properties.m[k])
		}
		return m
	case nn[0] == "array":
		if n.Items == nil {
			return []any{}
		}
		return []any{sample(stream, path+"[]", n.Items)}
	case nn[0] == "string":
		switch n.Format {
		case "date-time":
			return "2024-05-06T07:08:09.123Z"
		case "date":
			return "2024-05-06"
		}
		if path == "gid" {
			return "1201234567890123"
		}
		return "text"
	case nn[0] == "integer":
		return json.Number("7")
	case nn[0] == "number":
		return json.Number("7.5")
	case nn[0] == "boolean":
		return true
	}
	return nil
}

// nulls builds a record from Airbyte's schema with every property null.
func nulls(n *node) map[string]any {
	m := map[string]any{}
	for _, k := range n.Properties.names() {
		m[k] = nil
	}
	if _, ok := m["gid"]; ok {
		m["gid"] = "1201234567890123"
	}
	return m
}

func TestValidatesAirbyteRecords(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			sch := compile(t, name)
			ab := airbyte(t, name)
			for what, rec := range map[string]any{"full": sample(name, "", ab), "nulls": nulls(ab)} {
				if err := sch.Validate(rec); err != nil {
					t.Errorf("%s record valid for Airbyte rejected: %v", what, err)
				}
			}
		})
	}
}
