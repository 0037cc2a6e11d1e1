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
	// A task whose stories and attachments created since the previous
	// sync are read (incremental sync).
	ParentTaskSince ParentKind = "task_since"
	// Not a parent to expand: a project's sync token (Sync) for the next
	// incremental sync, taken before its records were read.
	ParentCursor ParentKind = "cursor"
	// Not a parent to expand: a record's hash (Sync) for the next
	// incremental sync of a stream diffed whole (Workspace holds the
	// stream and the workspace).
	ParentHash ParentKind = "hash"
)

// Listing is one collection endpoint, listed once per parent of a kind,
// whose records belong to a stream (and, cut from the same responses, to
// its compact Twin). Stream and Twin are filled in from the stream table.
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
	// Subscribe marks the listing that subscribes to a parent's events
	// (Asana answers 412 and a sync token) rather than reading records.
	Subscribe bool
}

// Stream is one of the connector's 20 streams: a row of the stream table.
type Stream struct {
	Name       string
	PrimaryKey []string
	// Listings are the requests that read the stream's records, one
	// listing per kind of parent it is found under.
	Listings []Listing
	// CutFrom, for a compact stream, is the stream whose records, cut to
	// this stream's fields, are its records: read by the same requests.
	CutFrom string
	// MayRepeat is true for streams whose records can be found twice (a
	// user in two workspaces, a project's item in two portfolios, an
	// event of two subscriptions) and need deduplication.
	MayRepeat bool
	// Owned is true for tasks: found several times too (by project,
	// assignee and parent), each is delivered by the one listing that
	// owns it (see Expander.owns), so that its records never wait in a
	// shuffle.
	Owned bool
	// Allowed returns the gids the config allows the stream to read
	// (nil: all).
	Allowed func(*Config) []string
	// OmitArchived: the listing asks Asana to leave archived records out
	// unless the config's include_archived_projects says otherwise.
	OmitArchived bool
	// Cursor is the field by which an incremental sync tells what
	// changed; "" for streams read in full at every sync.
	Cursor string
	// Resource is the resource_type of the stream's records in Asana's
	// events, for streams an incremental sync reads from the change feed.
	Resource string
	// Diffed streams are listed in full at an incremental sync (their
	// listings are small) and compared with the hashes of the previous
	// sync's records: the records that changed are emitted, the records
	// gone get tombstones.
	Diffed bool
	// Note is said once to the user of a sync that reads the stream.
	Note string

	// Deletes is true when an incremental sync emits tombstones of the
	// stream's records (its records, or those it is cut from, have a
	// Resource in the change feed or are Diffed).
	Deletes bool

	// Derived from the schema file schemas/<Name>.json.
	Schema    json.RawMessage
	OptFields string   // what list requests ask for
	Fields    []string // top-level properties, in schema order
}

var (
	keyGID    = []string{"gid"}
	byProject = map[string]string{"project": "{gid}"}
	byParent  = map[string]string{"parent": "{gid}"}
	inWS      = map[string]string{"workspace": "{gid}"}
)

// table is the one place a stream is declared: its name (and schema
// file), key, listings and their parents, twin, deduplication and cursor.
// Everything else reads it: the request plan (Listings), the catalog,
// the expander, the sinks' schemas. Its order is the plan's.
var table = []Stream{
	{Name: "workspaces", PrimaryKey: keyGID, Allowed: func(c *Config) []string { return c.Workspaces },
		Listings: []Listing{{Parent: ParentAccount, Path: "/workspaces", Yields: ParentWorkspace}}},
	{Name: "users", PrimaryKey: keyGID, MayRepeat: true,
		Listings: []Listing{{Parent: ParentWorkspace, Path: "/users", Query: inWS, Yields: ParentAssignee}}},
	{Name: "tags", PrimaryKey: keyGID, Cursor: "created_at", Resource: "tag", Diffed: true,
		Listings: []Listing{{Parent: ParentWorkspace, Path: "/tags", Query: inWS}}},
	{Name: "custom_fields", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentWorkspace, Path: "/workspaces/{gid}/custom_fields"}}},
	{Name: "projects", PrimaryKey: keyGID, Cursor: "modified_at", Resource: "project", Diffed: true, OmitArchived: true, Allowed: func(c *Config) []string { return c.Projects },
		Listings: []Listing{{Parent: ParentWorkspace, Path: "/projects", Query: inWS, Yields: ParentProject}}},
	// Without owner a service account lists every portfolio and anyone else
	// their own (Asana's spec); should Asana insist on owner, owner=me.
	{Name: "portfolios", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentWorkspace, Path: "/portfolios", Query: inWS, Yields: ParentPortfolio, Fallback: map[string]string{"owner": "me"}}}},
	{Name: "portfolios_compact", PrimaryKey: keyGID, CutFrom: "portfolios"},
	{Name: "teams", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentOrganization, Path: "/organizations/{gid}/teams", Yields: ParentTeam}}},
	{Name: "team_memberships", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentTeam, Path: "/teams/{gid}/team_memberships"}}},
	{Name: "sections", PrimaryKey: keyGID, Cursor: "created_at", Resource: "section",
		Listings: []Listing{{Parent: ParentProject, Path: "/projects/{gid}/sections"}}},
	{Name: "sections_compact", PrimaryKey: keyGID, CutFrom: "sections", Cursor: "created_at"},
	{Name: "tasks", PrimaryKey: keyGID, Owned: true, Cursor: "modified_at", Resource: "task", Listings: []Listing{
		{Parent: ParentProject, Path: "/tasks", Query: byProject, Yields: ParentTaskTree},
		{Parent: ParentAssignee, Path: "/tasks", Query: map[string]string{"assignee": "{gid}", "workspace": "{workspace}"}, Yields: ParentTaskTree},
		{Parent: ParentTaskTree, Path: "/tasks/{gid}/subtasks", Yields: ParentTaskTree},
		{Parent: ParentTaskFetch, Path: "/tasks/{gid}", Single: true},
	}},
	{Name: "attachments", PrimaryKey: keyGID, Cursor: "created_at", Resource: "attachment", Listings: []Listing{
		{Parent: ParentProject, Path: "/attachments", Query: byParent},
		{Parent: ParentTask, Path: "/attachments", Query: byParent},
		{Parent: ParentTaskSince, Path: "/attachments", Query: byParent},
	}},
	{Name: "attachments_compact", PrimaryKey: keyGID, CutFrom: "attachments", Cursor: "created_at"},
	// Events: every project is subscribed to early (Asana answers 412 and a
	// sync token), and its events are read at the end of the sync. Events
	// have no gid: as in Airbyte's connector, created_at is their key.
	{Name: "events", PrimaryKey: []string{"created_at"}, MayRepeat: true, Cursor: "created_at",
		Note: "a first sync has no events yet, since Asana reports only what happens after its sync token is issued; this sync subscribes to every project",
		Listings: []Listing{
			{Parent: ParentProject, Path: "/events", Yields: ParentEvents, Subscribe: true},
			{Parent: ParentEvents, Path: "/events"},
		}},
	{Name: "portfolio_items", PrimaryKey: keyGID, MayRepeat: true,
		Listings: []Listing{{Parent: ParentPortfolio, Path: "/portfolios/{gid}/items"}}},
	{Name: "portfolios_memberships", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentPortfolio, Path: "/portfolio_memberships", Query: map[string]string{"portfolio": "{gid}"}}}},
	{Name: "stories", PrimaryKey: keyGID, Cursor: "created_at", Resource: "story", Listings: []Listing{
		{Parent: ParentTask, Path: "/tasks/{gid}/stories"},
		{Parent: ParentTaskSince, Path: "/tasks/{gid}/stories"},
	}},
	{Name: "stories_compact", PrimaryKey: keyGID, CutFrom: "stories", Cursor: "created_at"},
	{Name: "organization_exports", PrimaryKey: keyGID,
		Listings: []Listing{{Parent: ParentExport, Path: "/organization_exports/{gid}", Single: true}}},
}

// Listings is the request plan of a full sync, from the stream table:
// every stream of the connector comes from these listings and no other
// request.
var Listings = func() []Listing {
	twins := map[string]string{}
	for _, st := range table {
		if st.CutFrom != "" {
			twins[st.CutFrom] = st.Name
		}
	}
	var out []Listing
	for _, st := range table {
		for _, l := range st.Listings {
			l.Stream = st.Name
			if !l.Subscribe {
				l.Twin = twins[st.Name]
			}
			out = append(out, l)
		}
	}
	return out
}()

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

// streams are the rows of the table with what their schemas say, sorted
// by name.
var streams = sync.OnceValue(func() []Stream {
	var out []Stream
	deletes := map[string]bool{}
	for _, st := range table {
		deletes[st.Name] = st.Resource != "" && st.Cursor != "" || st.Diffed
	}
	for _, st := range table {
		st.Deletes = deletes[st.Name] || deletes[st.CutFrom]
		raw, ok := schemas.Raw(st.Name)
		if !ok {
			panic(fmt.Sprintf("asana: stream %s has no schema file", st.Name))
		}
		var sch schemaNode
		if err := json.Unmarshal(raw, &sch); err != nil {
			panic(fmt.Sprintf("asana: schema of %s: %v", st.Name, err))
		}
		st.Schema, st.OptFields, st.Fields = raw, strings.Join(optFieldPaths("", &sch), ","), sch.order()
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Stream) int { return strings.Compare(a.Name, b.Name) })
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
