package asana

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/asana-beam/asana-beam/sources/asana/schemas"
)

// ParentKind names what a listing lists the children of.
type ParentKind string

// The parents of the request plan. Every listing hangs below one of them.
const (
	ParentAccount      ParentKind = "account"      // the token itself: one listing
	ParentWorkspace    ParentKind = "workspace"    // a workspace or organization
	ParentOrganization ParentKind = "organization" // a workspace that is an organization
	ParentTeam         ParentKind = "team"         //
	ParentProject      ParentKind = "project"      //
	ParentPortfolio    ParentKind = "portfolio"    //
	ParentAssignee     ParentKind = "assignee"     // a user within one workspace
	ParentTaskTree     ParentKind = "task_tree"    // a task whose subtasks are to be found, at every depth
	ParentTask         ParentKind = "task"         // a task (or subtask) whose stories and attachments are listed
	ParentExport       ParentKind = "export"       // an organization export id from the config
	ParentEvents       ParentKind = "events"       // a project's event stream, with its sync token
	// A task that some listing found but whose owning listing (see
	// Expander.owns) did not deliver: it is fetched on its own.
	ParentTaskFetch ParentKind = "task_fetch"
	// Not a parent to expand: the claim a listing makes of a task it
	// found, Owned when it delivered the task's record.
	ParentTaskClaim ParentKind = "task_claim"
)

// Listing is one row of the request plan: a collection endpoint listed
// once per parent of a kind, whose records belong to Stream (and, cut from
// the same responses, to its compact Twin).
type Listing struct {
	Stream string
	Parent ParentKind
	Path   string            // "{gid}" is the parent's gid
	Query  map[string]string // values may hold "{gid}" and "{workspace}"
	Twin   string            // compact stream cut from the same records
	Single bool              // GET one object, not a list
	Yields ParentKind        // records of this listing are parents of this kind too
	// Fallback are query parameters to add, and try once more, when Asana
	// answers 400 about one of them being missing.
	Fallback map[string]string
}

// Listings is the request plan of a full sync: every stream of the
// connector comes from these listings and no other request.
var Listings = []Listing{
	{Stream: "workspaces", Parent: ParentAccount, Path: "/workspaces", Yields: ParentWorkspace},
	{Stream: "users", Parent: ParentWorkspace, Path: "/users", Query: map[string]string{"workspace": "{gid}"}, Yields: ParentAssignee},
	{Stream: "tags", Parent: ParentWorkspace, Path: "/tags", Query: map[string]string{"workspace": "{gid}"}},
	{Stream: "custom_fields", Parent: ParentWorkspace, Path: "/workspaces/{gid}/custom_fields"},
	{Stream: "projects", Parent: ParentWorkspace, Path: "/projects", Query: map[string]string{"workspace": "{gid}"}, Yields: ParentProject},
	// Without owner a service account lists every portfolio and anyone else
	// their own (Asana's spec); should Asana insist on owner, owner=me.
	{Stream: "portfolios", Parent: ParentWorkspace, Path: "/portfolios", Query: map[string]string{"workspace": "{gid}"}, Twin: "portfolios_compact", Yields: ParentPortfolio,
		Fallback: map[string]string{"owner": "me"}},
	{Stream: "teams", Parent: ParentOrganization, Path: "/organizations/{gid}/teams", Yields: ParentTeam},
	{Stream: "team_memberships", Parent: ParentTeam, Path: "/teams/{gid}/team_memberships"},
	{Stream: "sections", Parent: ParentProject, Path: "/projects/{gid}/sections", Twin: "sections_compact"},
	{Stream: "tasks", Parent: ParentProject, Path: "/tasks", Query: map[string]string{"project": "{gid}"}, Yields: ParentTaskTree},
	{Stream: "attachments", Parent: ParentProject, Path: "/attachments", Query: map[string]string{"parent": "{gid}"}, Twin: "attachments_compact"},
	// Events: every project is subscribed to early (Asana answers 412 and a
	// sync token), and its events are read at the end of the sync.
	{Parent: ParentProject, Path: "/events", Yields: ParentEvents},
	{Stream: "portfolio_items", Parent: ParentPortfolio, Path: "/portfolios/{gid}/items"},
	{Stream: "portfolios_memberships", Parent: ParentPortfolio, Path: "/portfolio_memberships", Query: map[string]string{"portfolio": "{gid}"}},
	{Stream: "tasks", Parent: ParentAssignee, Path: "/tasks", Query: map[string]string{"assignee": "{gid}", "workspace": "{workspace}"}, Yields: ParentTaskTree},
	{Stream: "tasks", Parent: ParentTaskTree, Path: "/tasks/{gid}/subtasks", Yields: ParentTaskTree},
	{Stream: "tasks", Parent: ParentTaskFetch, Path: "/tasks/{gid}", Single: true},
	{Stream: "stories", Parent: ParentTask, Path: "/tasks/{gid}/stories", Twin: "stories_compact"},
	{Stream: "attachments", Parent: ParentTask, Path: "/attachments", Query: map[string]string{"parent": "{gid}"}, Twin: "attachments_compact"},
	{Stream: "organization_exports", Parent: ParentExport, Path: "/organization_exports/{gid}", Single: true},
	{Stream: "events", Parent: ParentEvents, Path: "/events"},
}

// Stream describes one of the connector's 20 streams.
type Stream struct {
	Name       string
	PrimaryKey []string
	Schema     json.RawMessage
	OptFields  string   // what list requests ask for, derived from Schema
	Fields     []string // top-level properties, in schema order
	// MayRepeat is true for streams whose records can be found twice (a
	// task in two projects, a user in two workspaces, a project in two
	// portfolios, an event of two subscriptions) and need deduplication.
	MayRepeat bool
}

// Tasks are found several times too (by project, assignee and parent) but
// each is delivered by one owning listing (see Expander.owns), so that
// task records never wait in a shuffle.
var mayRepeat = map[string]bool{"users": true, "events": true, "portfolio_items": true}

// Streams returns the 20 streams, sorted by name.
func Streams() []Stream { return append([]Stream(nil), streams()...) }

// StreamByName returns the stream called name.
func StreamByName(name string) (Stream, bool) {
	for _, s := range streams() {
		if s.Name == name {
			return s, true
		}
	}
	return Stream{}, false
}

var streams = sync.OnceValue(func() []Stream {
	var out []Stream
	for _, name := range schemas.Names() {
		raw, _ := schemas.Raw(name)
		var sch schemaNode
		if err := json.Unmarshal(raw, &sch); err != nil {
			panic(fmt.Sprintf("asana: schema of %s: %v", name, err))
		}
		pk := []string{"gid"}
		if name == "events" {
			pk = []string{"created_at"} // as Airbyte's connector: events have no gid
		}
		out = append(out, Stream{Name: name, PrimaryKey: pk, Schema: raw, MayRepeat: mayRepeat[name],
			OptFields: strings.Join(optFieldPaths("", &sch), ","), Fields: sch.order()})
	}
	return out
})

// schemaNode is the part of a JSON Schema the derivations read; properties
// keep their order, which the schema files set on purpose.
type schemaNode struct {
	Type       any             `json:"type"`
	Properties orderedProps    `json:"properties"`
	Items      *schemaNode     `json:"items"`
	Format     string          `json:"format"`
	Raw        json.RawMessage `json:"-"`
}

type orderedProps struct {
	names []string
	nodes map[string]*schemaNode
}

func (o *orderedProps) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil {
		return err
	}
	o.nodes = map[string]*schemaNode{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name := t.(string)
		var n schemaNode
		if err := dec.Decode(&n); err != nil {
			return err
		}
		o.names = append(o.names, name)
		o.nodes[name] = &n
	}
	return nil
}

func (n *schemaNode) order() []string { return append([]string(nil), n.Properties.names...) }

// optFieldPaths lists the opt_fields paths that return every property of
// the schema: a leaf for each scalar, free-form object or array of
// scalars, and the leaves below each object with properties.
func optFieldPaths(prefix string, n *schemaNode) []string {
	var out []string
	for _, name := range n.Properties.names {
		child := n.Properties.nodes[name]
		path := prefix + name
		switch {
		case len(child.Properties.names) > 0:
			out = append(out, optFieldPaths(path+".", child)...)
		case child.Items != nil && len(child.Items.Properties.names) > 0:
			out = append(out, optFieldPaths(path+".", child.Items)...)
		default:
			out = append(out, path)
		}
	}
	if prefix == "" {
		sort.Strings(out)
	}
	return out
}

// listingsFor returns the listings a sync of the selected streams needs:
// those whose records are selected, and those that find the parents of
// these.
func listingsFor(selected map[string]bool) []Listing {
	need := map[ParentKind]bool{}
	var out []Listing
	want := func(l Listing) bool {
		return selected[l.Stream] || selected[l.Twin] || (l.Yields != "" && need[l.Yields])
	}
	// Walk children before parents until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, l := range Listings {
			if want(l) && !need[l.Parent] {
				need[l.Parent] = true
				changed = true
			}
		}
		// Organizations and task trees come from their wider kinds.
		if need[ParentOrganization] && !need[ParentWorkspace] {
			need[ParentWorkspace], changed = true, true
		}
		if need[ParentTask] && !need[ParentTaskTree] {
			need[ParentTaskTree], changed = true, true
		}
	}
	for _, l := range Listings {
		if want(l) {
			out = append(out, l)
		}
	}
	return out
}

// AffectedBy returns stream and the streams whose records a lost listing of
// stream also loses, from the request plan (Listings): the twins of
// its listings, and the streams of every listing below the parents they
// yield, transitively.
func AffectedBy(stream string) []string {
	out := map[string]bool{stream: true}
	kinds := map[ParentKind]bool{}
	take := func(l Listing) {
		out[l.Stream] = true // "" for the events subscriptions, dropped below
		if l.Twin != "" {
			out[l.Twin] = true
		}
		if l.Yields != "" {
			kinds[l.Yields] = true
		}
	}
	for _, l := range Listings {
		if l.Stream == stream || l.Twin == stream {
			take(l)
		}
	}
	for changed := true; changed; {
		changed = false
		// A workspace is also an organization; a task tree yields tasks.
		if kinds[ParentWorkspace] && !kinds[ParentOrganization] {
			kinds[ParentOrganization], changed = true, true
		}
		if kinds[ParentTaskTree] && !kinds[ParentTask] {
			kinds[ParentTask], changed = true, true
		}
		for _, l := range Listings {
			if kinds[l.Parent] && (l.Yields != "" && !kinds[l.Yields] || !out[l.Stream] || l.Twin != "" && !out[l.Twin]) {
				take(l)
				changed = true
			}
		}
	}
	names := make([]string, 0, len(out))
	for s := range out {
		if s != "" {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	return names
}
