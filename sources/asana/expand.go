package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Parent is one object whose children a listing reads.
type Parent struct {
	Kind        ParentKind `json:"kind"`
	GID         string     `json:"gid"`
	Workspace   string     `json:"workspace,omitempty"`    // the workspace of an assignee
	NumSubtasks int        `json:"num_subtasks,omitempty"` // of a task tree
	ParentTask  string     `json:"parent_task,omitempty"`  // of a task tree that is a subtask
	Sync        string     `json:"sync,omitempty"`         // of an event stream: the token to read from
	// Owned is set on a task claim by the listing that delivered the
	// task's record.
	Owned bool `json:"owned,omitempty"`
}

func (p Parent) String() string { return string(p.Kind) + " " + p.GID }

// Emitter receives what an expansion finds.
type Emitter interface {
	// Record is one record of a stream; key is its primary key value.
	Record(stream, key string, data []byte)
	// Parent is an object whose children are listed next.
	Parent(p Parent)
	// Skipped reports a resource this token may not read (402, 403, 404,
	// 451): the stream goes on without it.
	Skipped(s Skip)
	// Lost reports readable data lost to an error that retries did not
	// cure: the stream is incomplete.
	Lost(s Skip)
	// Pages counts the pages (requests) a listing of stream took.
	Pages(stream string, n int)
}

// Skip names what could not be read and why.
type Skip struct {
	Stream  string
	Parent  Parent
	Status  int
	Message string
	// Note marks a report of something read but repaired or left out on
	// purpose (a subtask cycle, text that was not UTF-8), reported through
	// Skipped: nothing the token may read was lost.
	Note bool
}

func (s Skip) String() string {
	if s.Status != 0 {
		return fmt.Sprintf("%s of %s: %d %s", s.Stream, s.Parent, s.Status, s.Message)
	}
	return fmt.Sprintf("%s of %s: %s", s.Stream, s.Parent, s.Message)
}

// Expander reads the children of parents according to [Listings], for the
// selected streams only. It is plain Go: the pipeline calls it from DoFns.
type Expander struct {
	skip     map[string]bool // subtasks that are task trees of their own
	client   *Client
	cfg      *Config
	selected map[string]bool
	plan     map[ParentKind][]Listing
	twins    map[string]*twin  // per compact twin: how it is cut
	opt      map[string]string // opt_fields per listed stream
	streams  map[string]Stream // the listed streams
	log      *slog.Logger
}

// NewExpander returns an expander for the selected streams.
func NewExpander(c *Client, cfg *Config, selected []string, log *slog.Logger) (*Expander, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Expander{client: c, cfg: cfg, selected: map[string]bool{}, plan: map[ParentKind][]Listing{},
		twins: map[string]*twin{}, opt: map[string]string{}, streams: map[string]Stream{}, log: log}
	for _, s := range selected {
		st, ok := StreamByName(s)
		if !ok {
			return nil, fmt.Errorf("unknown stream %q", s)
		}
		x.selected[st.Name] = true
	}
	for _, l := range listingsFor(x.selected) {
		x.plan[l.Parent] = append(x.plan[l.Parent], l)
		if st, ok := StreamByName(l.Stream); ok {
			x.opt[l.Stream] = st.OptFields
			x.streams[l.Stream] = st
		}
		if l.Twin != "" {
			tw, _ := StreamByName(l.Twin)
			x.twins[l.Twin] = newTwin(tw.Fields)
		}
	}
	return x, nil
}

// WithSkip returns an expander whose subtask walks do not descend into the
// tasks of skip: subtasks found on their own (assigned to someone, added
// to a project), whose trees are walked from there. Each task's subtasks
// are then listed once, by the walk of its nearest ancestor that is a tree.
func (x *Expander) WithSkip(skip map[string]bool) *Expander {
	y := *x
	y.skip = skip
	return &y
}

// Roots returns the parents a sync starts from.
func (x *Expander) Roots() []Parent {
	roots := []Parent{{Kind: ParentAccount, GID: "me"}}
	if len(x.plan[ParentExport]) > 0 {
		for _, id := range x.cfg.OrganizationExportIDs {
			roots = append(roots, Parent{Kind: ParentExport, GID: id})
		}
	}
	return roots
}

// Expand runs every listing below p. It returns an error only when the run
// must stop: a configuration error, or ctx ended. Everything else is
// reported to out and the expansion goes on.
func (x *Expander) Expand(ctx context.Context, p Parent, out Emitter) error {
	for _, l := range x.plan[p.Kind] {
		var err error
		switch {
		case l.Subscribe:
			err = x.subscribe(ctx, l, p, out)
		case l.Parent == ParentEvents:
			err = x.events(ctx, l, p, out)
		case l.Parent == ParentTaskTree:
			err = x.subtasks(ctx, l, p, out)
		default:
			_, err = x.list(ctx, l, p, nil, nil, out)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// list runs one listing for one parent; extra overrides query parameters.
// It returns what a subtask walk needs of the records read. With walked
// set (a subtask walk), a record whose gid the walk met before is not
// delivered again: it closes a cycle, which is reported.
func (x *Expander) list(ctx context.Context, l Listing, p Parent, extra url.Values, walked map[string]bool, out Emitter) ([]subtask, error) {
	path := strings.ReplaceAll(l.Path, "{gid}", url.PathEscape(p.GID))
	q := url.Values{"opt_fields": {x.opt[l.Stream]}}
	for k, v := range l.Query {
		q.Set(k, strings.NewReplacer("{gid}", p.GID, "{workspace}", p.Workspace).Replace(v))
	}
	if x.streams[l.Stream].OmitArchived && !*x.cfg.IncludeArchivedProjects {
		q.Set("archived", "false")
	}
	for k, v := range extra {
		q[k] = v
	}
	var got []subtask
	var repaired int
	var firstRepaired string
	handle := func(recs []record) error {
		for i := range recs {
			r := &recs[i]
			if walked != nil {
				gid, _ := r.id()
				if walked[gid] {
					out.Skipped(Skip{Stream: l.Stream, Parent: p, Note: true, Message: fmt.Sprintf(
						"subtask cycle: task %s is listed among the subtasks of task %s, which is itself below task %s; not walked again (each task is delivered once)", gid, p.GID, gid)})
					continue
				}
				walked[gid] = true
				got = append(got, r.subtask())
			}
			r, fixed := r.sanitized(&recordFields)
			if fixed {
				if repaired++; repaired == 1 {
					firstRepaired, _ = r.id()
				}
			}
			if err := x.emit(l, p, r, out); err != nil {
				return err
			}
		}
		return nil
	}
	defer func() {
		if repaired > 0 {
			out.Skipped(Skip{Stream: l.Stream, Parent: p, Note: true, Message: fmt.Sprintf(
				"%d records held text that is not UTF-8 (the first: gid %s); each invalid byte sequence was replaced by U+FFFD", repaired, firstRepaired)})
		}
	}()
	var err error
	if l.Single {
		var rec record
		out.Pages(l.Stream, 1)
		if rec, err = x.client.one(ctx, path, url.Values{"opt_fields": q["opt_fields"]}); err == nil {
			err = handle([]record{rec})
		}
	} else {
		var st ListStats
		st, err = x.client.list(ctx, path, q, handle)
		out.Pages(l.Stream, st.Pages)
		if st.BadCount > 0 {
			msg := fmt.Sprintf("%d records without a usable gid were left out (%s)", st.BadCount, strings.Join(st.Bad, "; "))
			x.log.Error("data lost", "stream", l.Stream, "parent", p.String(), "error", msg)
			out.Lost(Skip{Stream: l.Stream, Parent: p, Message: msg})
		}
		if k, v, ok := fallback(l, err); ok && extra == nil {
			x.log.Info("listing again with a parameter Asana asked for", "stream", l.Stream, "parent", p.String(), "param", k+"="+v)
			return x.list(ctx, l, p, url.Values{k: {v}}, walked, out)
		}
	}
	return got, x.report(l, p, err, out)
}

// subtask is what a subtask walk reads of a task: its gid and whether it
// has subtasks; ok is false for a record encoding/json cannot decode so.
type subtask struct {
	gid string
	n   int
	ok  bool
}

// subtask reads r as a subtask walk does.
func (r *record) subtask() subtask {
	if !r.odd && r.read == &recordFields {
		return subtask{r.h.gid, r.h.numSubtasks, true}
	}
	var t struct {
		GID         string `json:"gid"`
		NumSubtasks int    `json:"num_subtasks"`
	}
	err := json.Unmarshal(r.raw, &t)
	return subtask{t.GID, t.NumSubtasks, err == nil}
}

// sanitized returns r fit to write (see sanitize): r itself when it was,
// else the repaired bytes read anew; fixed says that text was repaired.
func (r *record) sanitized(fields *fieldSet) (_ *record, fixed bool) {
	clean, fixed := sanitize(r.raw)
	if !fixed && len(clean) == len(r.raw) && (len(clean) == 0 || &clean[0] == &r.raw[0]) {
		return r, false
	}
	c := parseRecord(clean, fields)
	return &c, fixed
}

// fallback reports the listing's fallback parameter that a 400 asks for.
func fallback(l Listing, err error) (string, string, bool) {
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 400 {
		return "", "", false
	}
	for k, v := range l.Fallback {
		if strings.HasPrefix(ae.Message, k+":") {
			return k, v, true
		}
	}
	return "", "", false
}

// report sorts a listing's error: skipped, lost, or fatal.
func (x *Expander) report(l Listing, p Parent, err error, out Emitter) error {
	if err == nil {
		return nil
	}
	if ctxDone(err) {
		return err
	}
	var ae *Error
	if !errors.As(err, &ae) {
		out.Lost(Skip{Stream: l.Stream, Parent: p, Message: err.Error()})
		return nil
	}
	s := Skip{Stream: l.Stream, Parent: p, Status: ae.Status, Message: ae.Message}
	switch ae.Kind {
	case KindUnreadable:
		x.log.Warn("skipping what this token may not read", "stream", l.Stream, "parent", p.String(), "status", ae.Status, "message", ae.Message)
		out.Skipped(s)
		return nil
	case KindConfig:
		return fmt.Errorf("listing %s of %s: %w", l.Stream, p, err)
	default:
		if s.Message == "" {
			s.Message = ae.Error()
		}
		x.log.Error("data lost", "stream", l.Stream, "parent", p.String(), "error", ae.Error())
		out.Lost(s)
		return nil
	}
}

func ctxDone(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// emit hands a record, its compact twin and the parent it makes to out.
func (x *Expander) emit(l Listing, p Parent, r *record, out Emitter) error {
	head, err := r.head()
	if err != nil {
		return fmt.Errorf("decoding a %s record: %w", l.Stream, err)
	}
	if !x.allowed(l, head.gid) {
		return nil
	}
	switch {
	case !x.selected[l.Stream]:
	case !x.streams[l.Stream].Owned || l.Parent == ParentTaskFetch:
		out.Record(l.Stream, head.gid, r.raw)
	case owns(l, p, &head):
		out.Record(l.Stream, head.gid, r.raw)
		out.Parent(Parent{Kind: ParentTaskClaim, GID: head.gid, Owned: true})
	default:
		out.Parent(Parent{Kind: ParentTaskClaim, GID: head.gid})
	}
	if l.Twin != "" && x.selected[l.Twin] {
		twin, err := x.twins[l.Twin].cut(r)
		if err != nil {
			return fmt.Errorf("cutting %s from %s: %w", l.Twin, l.Stream, err)
		}
		out.Record(l.Twin, head.gid, twin)
	}
	switch l.Yields {
	case ParentWorkspace:
		out.Parent(Parent{Kind: ParentWorkspace, GID: head.gid})
		if head.isOrg {
			out.Parent(Parent{Kind: ParentOrganization, GID: head.gid})
		}
	case ParentAssignee:
		out.Parent(Parent{Kind: ParentAssignee, GID: head.gid, Workspace: p.GID})
	case ParentTaskTree:
		if l.Parent != ParentTaskTree { // subtasks are walked in place
			tree := Parent{Kind: ParentTaskTree, GID: head.gid, NumSubtasks: head.numSubtasks}
			if head.parent.set {
				tree.ParentTask = string(head.parent.gid)
			}
			out.Parent(tree)
		}
		if len(x.plan[ParentTask]) > 0 {
			out.Parent(Parent{Kind: ParentTask, GID: head.gid})
		}
	case "":
	default:
		out.Parent(Parent{Kind: l.Yields, GID: head.gid})
	}
	return nil
}

// head returns what the expander reads of r: as the page's pass read it,
// or, for an odd record, as encoding/json decodes it (refHead).
func (r *record) head() (head, error) {
	if !r.odd && r.read == &recordFields {
		return r.h, nil
	}
	return refHead(r.raw)
}

// refHead decodes the head of a record with encoding/json: the reference
// the page's pass agrees with, and the decoder of records it leaves alone.
func refHead(rec []byte) (head, error) {
	var v headJSON
	err := json.Unmarshal(rec, &v)
	h := head{gid: v.GID, isOrg: v.IsOrg, numSubtasks: v.NumSubtasks}
	for _, rf := range []struct {
		to   *ref
		from *struct {
			GID string `json:"gid"`
		}
	}{{&h.parent, v.Parent}, {&h.assignee, v.Assignee}, {&h.workspace, v.Workspace}} {
		if rf.from != nil {
			*rf.to = ref{set: true, gid: []byte(rf.from.GID)}
		}
	}
	for _, pr := range v.Projects {
		h.projects = append(h.projects, []byte(pr.GID))
	}
	return h, err
}

// headJSON is the head of a record as encoding/json decodes it: the
// reference of the page's pass, which reads the same members
// (recordFields). An alias of an unnamed struct, so that its errors read
// as they always did.
type headJSON = struct {
	GID         string `json:"gid"`
	IsOrg       bool   `json:"is_organization"`
	NumSubtasks int    `json:"num_subtasks"`
	taskHead
}

// taskHead is what decides which listing owns a task.
type taskHead struct {
	Parent *struct {
		GID string `json:"gid"`
	} `json:"parent"`
	Assignee *struct {
		GID string `json:"gid"`
	} `json:"assignee"`
	Workspace *struct {
		GID string `json:"gid"`
	} `json:"workspace"`
	Projects []struct {
		GID string `json:"gid"`
	} `json:"projects"`
}

// owns tells whether listing l of parent p delivers the record of task t.
// A task is found by several listings (each project it is in, its
// assignee's, its parent's subtasks); exactly one of them owns it, decided
// from the record alone, so that each task is delivered once without the
// copies meeting in a shuffle:
//
//   - a subtask: the listing of its parent's subtasks, which runs once
//     (see WithSkip);
//   - else an assigned task: its assignee's listing in its workspace;
//   - else: the listing of its project with the lowest gid.
//
// Every listing claims the tasks it finds; a task that no owner delivered
// (its owner was denied, filtered out by the config, or lost) is fetched
// on its own (ParentTaskFetch).
func owns(l Listing, p Parent, t *head) bool {
	switch {
	case t.parent.set:
		return l.Parent == ParentTaskTree
	case t.assignee.set && t.workspace.set:
		return l.Parent == ParentAssignee && p.GID == string(t.assignee.gid) && p.Workspace == string(t.workspace.gid)
	case len(t.projects) > 0:
		lowest := t.projects[0]
		for _, pr := range t.projects[1:] {
			if len(pr) < len(lowest) || len(pr) == len(lowest) && string(pr) < string(lowest) {
				lowest = pr
			}
		}
		return l.Parent == ParentProject && p.GID == string(lowest)
	}
	return false
}

// allowed applies the config's allow-lists.
func (x *Expander) allowed(l Listing, gid string) bool {
	var list []string
	if f := x.streams[l.Stream].Allowed; f != nil {
		list = f(x.cfg)
	}
	return len(list) == 0 || slices.Contains(list, gid)
}

// twin is how a compact twin is cut from its stream's records: the
// twin's top-level fields kept, as encoding/json marshals a
// map[string]json.RawMessage of them (project): keys sorted, values
// compacted with <, >, & escaped.
type twin struct {
	fields []string       // sorted
	keys   [][]byte       // each field quoted, with its colon
	index  map[string]int // field → its place in fields
}

func newTwin(fields []string) *twin {
	t := &twin{fields: slices.Sorted(slices.Values(fields)), index: map[string]int{}}
	for i, f := range t.fields {
		k, _ := json.Marshal(f)
		t.keys = append(t.keys, append(k, ':'))
		t.index[f] = i
	}
	return t
}

// cut returns the twin of r, from the extents of its members that the
// page's pass noted: the bytes project returns, without parsing r again.
func (t *twin) cut(r *record) ([]byte, error) {
	if r.members == nil {
		return project(r.raw, t.fields)
	}
	var buf [32]int
	at := buf[:0]
	if len(t.fields) > len(buf) {
		at = make([]int, 0, len(t.fields))
	}
	for range t.fields {
		at = append(at, -1)
	}
	for i, m := range r.members {
		name := r.raw[m.k0+1 : m.k1-1]
		if m.esc {
			var s string
			if json.Unmarshal(r.raw[m.k0:m.k1], &s) != nil {
				return project(r.raw, t.fields)
			}
			name = []byte(s)
		}
		if j, ok := t.index[string(name)]; ok {
			at[j] = i // the last of a name twice, as in a map
		}
	}
	size := 2
	for j, i := range at {
		if i >= 0 {
			size += len(t.keys[j]) + 1 + int(r.members[i].v1-r.members[i].v0)
		}
	}
	out := make([]byte, 1, size)
	out[0] = '{'
	for j, i := range at {
		if i < 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, t.keys[j]...)
		out = appendRawValue(out, r.raw[r.members[i].v0:r.members[i].v1])
	}
	return append(out, '}'), nil
}

// appendRawValue appends v, a JSON value, as encoding/json marshals a
// json.RawMessage: compacted, with <, >, &, U+2028 and U+2029 escaped.
func appendRawValue(dst, v []byte) []byte {
	if marshalsAsIs(v) {
		return append(dst, v...)
	}
	var c bytes.Buffer
	if json.Compact(&c, v) != nil {
		return append(dst, v...) // not JSON: the pass read it as JSON
	}
	b := bytes.NewBuffer(dst)
	json.HTMLEscape(b, c.Bytes())
	return b.Bytes()
}

// marshalsAsIs tells whether encoding/json marshals v, a JSON value, as it
// is: no whitespace outside strings, nothing it escapes for HTML.
func marshalsAsIs(v []byte) bool {
	in := false // within a string
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(v) && v[i+1] == 0x80 && v[i+2]&^1 == 0xA8: // U+2028, U+2029
			return false
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// project keeps the named top-level fields of a record, with
// encoding/json: the reference of twin.cut, and what cuts the twin of a
// record that is not an object.
func project(rec json.RawMessage, fields []string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		return nil, err
	}
	keep := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if v, ok := m[f]; ok {
			keep[f] = v
		}
	}
	return json.Marshal(keep)
}

// subtasks walks the subtasks of a task at every depth, depth first,
// listing only tasks that have some.
//
// The walk keeps the gids it met: a subtask that is also an ancestor (a
// cycle, which Asana does not allow but a broken answer may hold) is
// reported and neither delivered nor walked again, so the walk ends.
func (x *Expander) subtasks(ctx context.Context, l Listing, root Parent, out Emitter) error {
	stack := []Parent{root}
	walked := map[string]bool{root.GID: true}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p.NumSubtasks == 0 {
			continue
		}
		recs, err := x.list(ctx, l, p, nil, walked, out)
		if err != nil {
			return err
		}
		for _, t := range recs {
			if t.ok && !x.skip[t.gid] {
				stack = append(stack, Parent{Kind: ParentTaskTree, GID: t.gid, NumSubtasks: t.n})
			}
		}
	}
	return nil
}

// subscribe subscribes to a project's events: Asana answers the first
// call with 412 and a sync token, and reports only what happens after that
// token was issued. The token is read from at the end of the sync (see
// events), so the changes made while the sync ran are caught.
func (x *Expander) subscribe(ctx context.Context, l Listing, p Parent, out Emitter) error {
	_, err := x.client.Events(ctx, p.GID, "", url.Values{"opt_fields": {x.opt[l.Stream]}})
	var ae *Error
	if errors.As(err, &ae) && ae.Kind == KindSyncToken && ae.Sync != "" {
		out.Parent(Parent{Kind: ParentEvents, GID: p.GID, Sync: ae.Sync})
		return nil
	}
	if err == nil {
		err = &Error{Kind: KindTransient, Request: "GET /events?resource=" + p.GID, Message: "no sync token in the answer to a first call"}
	}
	return x.report(l, p, err, out)
}

// events reads the events of a project since its sync token, through
// has_more. Keeping the last token for the next sync comes with
// incremental sync.
func (x *Expander) events(ctx context.Context, l Listing, p Parent, out Emitter) error {
	q := url.Values{"opt_fields": {x.opt[l.Stream]}}
	sync := p.Sync
	var page page
	for range 1000 {
		err := x.client.events(ctx, p.GID, sync, q, &page)
		out.Pages(l.Stream, 1)
		if err != nil {
			return x.report(l, p, err, out)
		}
		repaired := 0
		for i := range page.Data {
			ev, fixed := page.Data[i].sanitized(&eventFields)
			if fixed {
				repaired++
			}
			out.Record(l.Stream, ev.eventKey(), ev.raw)
		}
		if repaired > 0 {
			out.Skipped(Skip{Stream: l.Stream, Parent: p, Note: true, Message: fmt.Sprintf(
				"%d events held text that is not UTF-8; each invalid byte sequence was replaced by U+FFFD", repaired)})
		}
		sync = page.Sync
		if !page.HasMore {
			return nil
		}
	}
	out.Lost(Skip{Stream: l.Stream, Parent: p, Message: "more than 100,000 events at once; stopped paging"})
	return nil
}

// sanitize makes a record fit to write: text that is not UTF-8 repaired
// (each invalid byte sequence becomes U+FFFD; fixed says so), and the
// secrets of this process redacted.
func sanitize(rec []byte) (clean []byte, fixed bool) {
	if !utf8.Valid(rec) {
		rec, fixed = bytes.ToValidUTF8(rec, []byte("\uFFFD")), true
	}
	return RedactBytes(rec), fixed
}

// eventKey is EventKey of the event r, from what the page's pass read.
func (r *record) eventKey() string {
	if r.odd || r.read != &eventFields {
		return EventKey(r.raw)
	}
	h := &r.h
	k := make([]byte, 0, len(h.createdAt)+len(h.action)+len(h.resource.gid)+len(h.user.gid)+len(h.parent.gid)+
		len(h.change.field)+len(h.change.action)+6)
	k = append(append(append(append(append(k, h.createdAt...), '|'), h.action...), '|'), h.resource.gid...)
	for _, rf := range []ref{h.user, h.parent} {
		if rf.set {
			k = append(append(k, '|'), rf.gid...)
		}
	}
	if h.change.set {
		k = append(append(append(append(k, '|'), h.change.field...), '|'), h.change.action...)
	}
	return string(k)
}

// EventKey identifies an event, which has no gid: the same change seen
// through two subscriptions (a task in two projects) has the same key.
func EventKey(ev []byte) string {
	var e eventJSON
	_ = json.Unmarshal(ev, &e)
	k := []string{e.CreatedAt, e.Action, e.Resource.GID}
	if e.User != nil {
		k = append(k, e.User.GID)
	}
	if e.Parent != nil {
		k = append(k, e.Parent.GID)
	}
	if e.Change != nil {
		k = append(k, e.Change.Field, e.Change.Action)
	}
	return strings.Join(k, "|")
}

// eventJSON is what EventKey decodes of an event: the members the page's
// pass reads of one (eventFields).
type eventJSON = struct {
	CreatedAt string `json:"created_at"`
	Action    string `json:"action"`
	Resource  struct {
		GID string `json:"gid"`
	} `json:"resource"`
	User *struct {
		GID string `json:"gid"`
	} `json:"user"`
	Parent *struct {
		GID string `json:"gid"`
	} `json:"parent"`
	Change *struct {
		Field  string `json:"field"`
		Action string `json:"action"`
	} `json:"change"`
}
