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
	fields   map[string][]string // top-level fields per compact twin
	opt      map[string]string   // opt_fields per listed stream
	streams  map[string]Stream   // the listed streams
	log      *slog.Logger
}

// NewExpander returns an expander for the selected streams.
func NewExpander(c *Client, cfg *Config, selected []string, log *slog.Logger) (*Expander, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Expander{client: c, cfg: cfg, selected: map[string]bool{}, plan: map[ParentKind][]Listing{},
		fields: map[string][]string{}, opt: map[string]string{}, streams: map[string]Stream{}, log: log}
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
			x.fields[l.Twin] = tw.Fields
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
// It returns the records read so that callers can recurse. With walked
// set (a subtask walk), a record whose gid the walk met before is not
// delivered again: it closes a cycle, which is reported.
func (x *Expander) list(ctx context.Context, l Listing, p Parent, extra url.Values, walked map[string]bool, out Emitter) ([]json.RawMessage, error) {
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
	var got []json.RawMessage
	var repaired int
	var firstRepaired string
	handle := func(recs []json.RawMessage) error {
		for _, rec := range recs {
			if walked != nil {
				gid, _ := gidOf(rec)
				if walked[gid] {
					out.Skipped(Skip{Stream: l.Stream, Parent: p, Note: true, Message: fmt.Sprintf(
						"subtask cycle: task %s is listed among the subtasks of task %s, which is itself below task %s; not walked again (each task is delivered once)", gid, p.GID, gid)})
					continue
				}
				walked[gid] = true
				got = append(got, rec)
			}
			rec, fixed := sanitize(rec)
			if fixed {
				if repaired++; repaired == 1 {
					firstRepaired, _ = gidOf(rec)
				}
			}
			if err := x.emit(l, p, rec, out); err != nil {
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
		var rec json.RawMessage
		out.Pages(l.Stream, 1)
		if err = x.client.Get(ctx, path, url.Values{"opt_fields": q["opt_fields"]}, &rec); err == nil {
			err = handle([]json.RawMessage{rec})
		}
	} else {
		var st ListStats
		st, err = x.client.List(ctx, path, q, handle)
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
func (x *Expander) emit(l Listing, p Parent, rec json.RawMessage, out Emitter) error {
	var head struct {
		GID         string `json:"gid"`
		IsOrg       bool   `json:"is_organization"`
		NumSubtasks int    `json:"num_subtasks"`
		taskHead
	}
	if err := json.Unmarshal(rec, &head); err != nil {
		return fmt.Errorf("decoding a %s record: %w", l.Stream, err)
	}
	if !x.allowed(l, head.GID) {
		return nil
	}
	switch {
	case !x.selected[l.Stream]:
	case !x.streams[l.Stream].Owned || l.Parent == ParentTaskFetch:
		out.Record(l.Stream, head.GID, rec)
	case owns(l, p, head.taskHead):
		out.Record(l.Stream, head.GID, rec)
		out.Parent(Parent{Kind: ParentTaskClaim, GID: head.GID, Owned: true})
	default:
		out.Parent(Parent{Kind: ParentTaskClaim, GID: head.GID})
	}
	if l.Twin != "" && x.selected[l.Twin] {
		twin, err := project(rec, x.fields[l.Twin])
		if err != nil {
			return fmt.Errorf("cutting %s from %s: %w", l.Twin, l.Stream, err)
		}
		out.Record(l.Twin, head.GID, twin)
	}
	switch l.Yields {
	case ParentWorkspace:
		out.Parent(Parent{Kind: ParentWorkspace, GID: head.GID})
		if head.IsOrg {
			out.Parent(Parent{Kind: ParentOrganization, GID: head.GID})
		}
	case ParentAssignee:
		out.Parent(Parent{Kind: ParentAssignee, GID: head.GID, Workspace: p.GID})
	case ParentTaskTree:
		if l.Parent != ParentTaskTree { // subtasks are walked in place
			tree := Parent{Kind: ParentTaskTree, GID: head.GID, NumSubtasks: head.NumSubtasks}
			if head.Parent != nil {
				tree.ParentTask = head.Parent.GID
			}
			out.Parent(tree)
		}
		if len(x.plan[ParentTask]) > 0 {
			out.Parent(Parent{Kind: ParentTask, GID: head.GID})
		}
	case "":
	default:
		out.Parent(Parent{Kind: l.Yields, GID: head.GID})
	}
	return nil
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
func owns(l Listing, p Parent, t taskHead) bool {
	switch {
	case t.Parent != nil:
		return l.Parent == ParentTaskTree
	case t.Assignee != nil && t.Workspace != nil:
		return l.Parent == ParentAssignee && p.GID == t.Assignee.GID && p.Workspace == t.Workspace.GID
	case len(t.Projects) > 0:
		lowest := t.Projects[0].GID
		for _, pr := range t.Projects[1:] {
			if len(pr.GID) < len(lowest) || len(pr.GID) == len(lowest) && pr.GID < lowest {
				lowest = pr.GID
			}
		}
		return l.Parent == ParentProject && p.GID == lowest
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

// project keeps the named top-level fields of a record.
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
		for _, rec := range recs {
			var t struct {
				GID         string `json:"gid"`
				NumSubtasks int    `json:"num_subtasks"`
			}
			if json.Unmarshal(rec, &t) == nil && !x.skip[t.GID] {
				stack = append(stack, Parent{Kind: ParentTaskTree, GID: t.GID, NumSubtasks: t.NumSubtasks})
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
	for range 1000 {
		page, err := x.client.Events(ctx, p.GID, sync, q)
		out.Pages(l.Stream, 1)
		if err != nil {
			return x.report(l, p, err, out)
		}
		repaired := 0
		for _, ev := range page.Events {
			ev, fixed := sanitize(ev)
			if fixed {
				repaired++
			}
			out.Record(l.Stream, EventKey(ev), ev)
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

// EventKey identifies an event, which has no gid: the same change seen
// through two subscriptions (a task in two projects) has the same key.
func EventKey(ev []byte) string {
	var e struct {
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
