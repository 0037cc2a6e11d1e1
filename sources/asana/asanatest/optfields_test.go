package asanatest

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptFields(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // sorted leaf paths; nil = no projection
		wantErr bool
	}{
		{in: "", want: nil},
		{in: ",, ,", want: nil},
		{in: "name", want: []string{"name"}},
		{in: "name,notes", want: []string{"name", "notes"}},
		{in: " name , notes ", want: []string{"name", "notes"}},
		{in: "this.name", want: []string{"name"}},
		{in: "this", want: nil},
		{in: "assignee.name,assignee.email", want: []string{"assignee.email", "assignee.name"}},
		{in: "this.(followers|assignee).email", want: []string{"assignee.email", "followers.email"}},
		{in: "memberships.(project|section).gid", want: []string{"memberships.project.gid", "memberships.section.gid"}},
		{in: "(a|b).(c|d)", want: []string{"a.c", "a.d", "b.c", "b.d"}},
		{in: "(a.b|c)", want: []string{"a.b", "c"}},
		{in: "((a|b)|c)", want: []string{"a", "b", "c"}},
		{in: "assignee,assignee.name", want: []string{"assignee", "assignee.name"}},
		{in: "custom_fields.enum_value.name", want: []string{"custom_fields.enum_value.name"}},
		{in: "name.", wantErr: true},
		{in: ".name", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: "(a|b", wantErr: true},
		{in: "a|b)", wantErr: true},
		{in: "a)", wantErr: true},
		{in: "()", wantErr: true},
		{in: "a b", wantErr: true},
		{in: "a-b", wantErr: true},
	}
	for _, tt := range tests {
		p, err := parseOptFields(tt.in)
		if tt.wantErr {
			if err == nil || !errors.Is(err, errOptFields) {
				t.Errorf("parseOptFields(%q) error = %v, want an opt_fields error", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseOptFields(%q): %v", tt.in, err)
			continue
		}
		var got []string
		if p != nil {
			got = p.paths()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseOptFields(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestProjection(t *testing.T) {
	c := newClient(t, Options{Seed: 4})
	d := c.s.d
	var tk *task
	for _, x := range d.tasks {
		if x.assignee != nil && len(x.followers) > 1 && len(x.memberships) > 0 && len(x.values) > 0 {
			tk = x
			break
		}
	}
	if tk == nil {
		t.Fatal("no suitable task")
	}
	get := func(opt string) map[string]any {
		return c.get("/tasks/"+tk.gid+"?opt_fields="+opt).must(t, 200).obj()
	}
	u := func(x *user, fields ...string) map[string]any {
		m := map[string]any{"gid": x.gid}
		for _, f := range fields {
			switch f {
			case "name":
				m[f] = x.name
			case "email":
				m[f] = x.email
			case "resource_type":
				m[f] = "user"
			}
		}
		return m
	}
	followers := func(fields ...string) []any {
		var out []any
		for _, f := range tk.followers {
			out = append(out, u(f, fields...))
		}
		return out
	}
	tests := []struct {
		opt  string
		want map[string]any
	}{
		{"name", map[string]any{"gid": tk.gid, "name": tk.name}},
		{"gid", map[string]any{"gid": tk.gid}},
		{"unknown_field", map[string]any{"gid": tk.gid}},
		{"name,unknown.path", map[string]any{"gid": tk.gid, "name": tk.name}},
		{"assignee", map[string]any{"gid": tk.gid, "assignee": u(tk.assignee, "resource_type", "name")}},
		{"assignee.email", map[string]any{"gid": tk.gid, "assignee": u(tk.assignee, "email")}},
		{"this.assignee.email", map[string]any{"gid": tk.gid, "assignee": u(tk.assignee, "email")}},
		{"assignee,assignee.email", map[string]any{"gid": tk.gid, "assignee": u(tk.assignee, "resource_type", "name", "email")}},
		{"followers.email", map[string]any{"gid": tk.gid, "followers": followers("email")}},
		{"this.(followers|assignee).email", map[string]any{"gid": tk.gid, "followers": followers("email"), "assignee": u(tk.assignee, "email")}},
		{"memberships.project.name", map[string]any{"gid": tk.gid, "memberships": func() []any {
			var out []any
			for _, m := range tk.memberships {
				out = append(out, map[string]any{"project": map[string]any{"gid": m.project.gid, "name": m.project.name}})
			}
			return out
		}()}},
		{"name.whatever", map[string]any{"gid": tk.gid, "name": tk.name}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.opt)); diff != "" {
			t.Errorf("opt_fields=%s (-want +got):\n%s", tt.opt, diff)
		}
	}
	// custom_fields.enum_value.name goes through arrays and nullable objects.
	got := get("custom_fields.enum_value.name")
	for i, v := range got["custom_fields"].([]any) {
		m := v.(map[string]any)
		want := map[string]any{"gid": tk.values[i].field.gid, "enum_value": nil}
		if tk.values[i].field.typ == "enum" && tk.values[i].set {
			want["enum_value"] = map[string]any{"gid": tk.values[i].enum.gid, "name": tk.values[i].enum.name}
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("custom_fields[%d] (-want +got):\n%s", i, diff)
		}
	}
	// Malformed opt_fields are rejected.
	if r := c.get("/tasks/" + tk.gid + "?opt_fields=name,(a|b"); r.status != 400 || !strings.HasPrefix(r.errMsg(), "invalid opt_fields") {
		t.Errorf("malformed opt_fields: %d %q", r.status, r.errMsg())
	}
}

// TestCompactVsFull: lists give compact records, single GETs full records
// without [Opt In] fields, which appear when named.
func TestCompactVsFull(t *testing.T) {
	c := newClient(t, Options{Seed: 4})
	p := c.s.Account().Projects(c.s.Account().Organization())[0]
	list := c.get("/projects/"+p+"/tasks").must(t, 200).list()
	if diff := cmp.Diff([]string{"gid", "name", "resource_subtype", "resource_type"}, keysOf(list[0])); diff != "" {
		t.Errorf("compact task keys (-want +got):\n%s", diff)
	}
	full := c.get("/tasks/"+list[0]["gid"].(string)).must(t, 200).obj()
	for _, k := range []string{"html_notes", "num_subtasks", "dependencies", "dependents", "external", "is_rendered_as_separator", "created_by"} {
		if _, ok := full[k]; ok {
			t.Errorf("full task has opt-in field %s", k)
		}
	}
	for _, k := range []string{"notes", "assignee", "memberships", "custom_fields", "workspace", "permalink_url"} {
		if _, ok := full[k]; !ok {
			t.Errorf("full task lacks %s", k)
		}
	}
	opt := c.get("/tasks/"+list[0]["gid"].(string)+"?opt_fields=html_notes,num_subtasks").must(t, 200).obj()
	if !strings.HasPrefix(opt["html_notes"].(string), "<body>") || !strings.HasSuffix(opt["html_notes"].(string), "</body>") {
		t.Errorf("html_notes = %q", opt["html_notes"])
	}
	if _, ok := opt["num_subtasks"].(float64); !ok {
		t.Errorf("num_subtasks = %v", opt["num_subtasks"])
	}
	// opt_pretty indents.
	r := c.get("/users/me?opt_pretty")
	if !strings.Contains(string(r.body), "\n  \"data\"") {
		t.Errorf("opt_pretty did not indent: %.100s", r.body)
	}
}
