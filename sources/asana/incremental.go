package asana

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Incremental sync. A first sync reads everything, and subscribes to each
// project's events before it reads the project, so that nothing changed
// during the read is missed (ParentCursor). A later sync starts from what
// the previous one kept (SyncState):
//
//   - a project with a sync token is read from its change feed
//     (ProjectChanges): deleted records get tombstones, changed and new
//     tasks are fetched (claimed, so that an owning listing that delivers
//     them saves the fetch), the tasks that gained stories or attachments
//     have those created since listed, changed sections are listed; the
//     events read are the events stream's records;
//   - a project whose token expired is read again, its tasks by
//     modified_since, and warned about: deletions in it cannot be seen;
//   - a project without a token (new) is read in full;
//   - tasks in no project come from each assignee's listing by
//     modified_since;
//   - diffed streams (projects, tags) are listed whole and compared with
//     the hashes of the previous sync's records.

// SyncState is what an incremental sync starts from: what the previous
// sync kept, merged over the streams being read.
type SyncState struct {
	// Since is when the previous sync began, on Asana's clock: tasks
	// modified, and stories and attachments created, since then are read.
	Since time.Time
	// Projects maps the projects the previous sync read to their sync
	// tokens.
	Projects map[string]string
	// Hashes maps each diffed stream to its records at the previous sync:
	// gid → "<workspace>:<hash>" (see RecordHash).
	Hashes map[string]map[string]string
	// Pending are the parents an interrupted sync had still to expand
	// when it wrote its last checkpoint (see StreamState.Pending): they
	// are expanded in full.
	Pending []Parent
}

// clockMargin is how much earlier than the previous sync's start changes
// are read: Asana's clock is known to the second (its Date header), and a
// change repeated is better than one missed.
const clockMargin = 2 * time.Second

// StateOf merges the states of the streams an incremental sync reads into
// the SyncState it starts from: nil, to read everything, when one of them
// has none. A project that one stream does not follow is read in full;
// one whose streams hold different tokens (a checkpoint holds a stream
// whose records were still on their way at an older one) is read from the
// oldest, so that no stream misses a change. The pending parents of
// checkpoints are merged.
func StateOf(states map[string]*StreamState, streams []string) *SyncState {
	var st *SyncState
	var projects map[string]ProjectState
	pending := map[Parent]bool{}
	for _, name := range streams {
		s := states[name]
		if s == nil {
			return nil
		}
		if st == nil {
			st = &SyncState{Since: s.SyncedAt, Hashes: map[string]map[string]string{}}
			projects = maps.Clone(s.Projects)
		} else {
			if s.SyncedAt.Before(st.Since) {
				st.Since = s.SyncedAt
			}
			for gid, mine := range projects {
				theirs, ok := s.Projects[gid]
				switch {
				case !ok:
					delete(projects, gid)
				case theirs.Sync != mine.Sync && theirs.TakenAt.Before(mine.TakenAt):
					projects[gid] = theirs
				}
			}
		}
		if s.Hashes != nil {
			st.Hashes[name] = s.Hashes
		}
		for kind, gids := range s.Pending {
			for _, g := range gids {
				pending[Parent{Kind: kind, GID: g}] = true
			}
		}
	}
	if st != nil {
		st.Since = st.Since.Add(-clockMargin)
		st.Projects = make(map[string]string, len(projects))
		for gid, p := range projects {
			st.Projects[gid] = p.Sync
		}
		st.Pending = slices.SortedFunc(maps.Keys(pending), func(a, b Parent) int {
			return strings.Compare(string(a.Kind)+"/"+a.GID, string(b.Kind)+"/"+b.GID)
		})
	}
	return st
}

// HashScope is the Workspace of a ParentHash: the stream and the
// workspace of the record; SplitHashScope undoes it.
func HashScope(stream, workspace string) string { return stream + "/" + workspace }

// SplitHashScope splits a ParentHash's Workspace (HashScope).
func SplitHashScope(scope string) (stream, workspace string) {
	stream, workspace, _ = strings.Cut(scope, "/")
	return stream, workspace
}

// Incremental is an expander of an incremental sync: a first one, from an
// empty SyncState, reads everything and keeps what the next needs.
type Incremental struct {
	*Expander
	state *SyncState
}

// WithState returns an expander for an incremental sync from st: every
// project is subscribed to, whether or not events are read.
func (x *Expander) WithState(st *SyncState) *Incremental {
	y := *x
	y.plan = maps.Clone(x.plan)
	// The subscription first: its token predates what the project's
	// listings read, so the next sync misses nothing changed meanwhile.
	project := []Listing{}
	for _, l := range Listings {
		if l.Subscribe {
			project = append(project, l)
		}
	}
	for _, l := range x.plan[ParentProject] {
		if !l.Subscribe {
			project = append(project, l)
		}
	}
	y.plan[ParentProject] = project
	return &Incremental{Expander: &y, state: st}
}

// WithSkip is Expander.WithSkip.
func (x *Incremental) WithSkip(skip map[string]bool) *Incremental {
	return &Incremental{Expander: x.Expander.WithSkip(skip), state: x.state}
}

// Expand expands p as an incremental sync does, or as a full one when the
// state has nothing for it.
func (x *Incremental) Expand(ctx context.Context, p Parent, out Emitter) error {
	if done, err := x.expandIncremental(ctx, p, out); done {
		return err
	}
	return x.Expander.Expand(ctx, p, out)
}

// RecordHash is the hash of a record a diffed stream keeps.
func RecordHash(rec []byte) string {
	h := fnv.New64a()
	h.Write(rec)
	return strconv.FormatUint(h.Sum64(), 36)
}

// Tombstone is the record of a deleted record: its gid and when it was
// deleted, as Airbyte's CDC convention has it.
func Tombstone(gid string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]string{"gid": gid, DeletedAtField: at.UTC().Format(time.RFC3339Nano)})
	return b
}

// DeletedAtField marks a tombstone (Airbyte's CDC convention): the
// destinations that deduplicate drop the record's row.
const DeletedAtField = "_ab_cdc_deleted_at"

// expandIncremental expands p the incremental way when it has one: done
// says whether it did.
func (x *Incremental) expandIncremental(ctx context.Context, p Parent, out Emitter) (done bool, err error) {
	switch p.Kind {
	case ParentProject:
		tok, ok := x.state.Projects[p.GID]
		if !ok {
			return false, nil // new: read in full
		}
		return true, x.feed(ctx, p, tok, out)
	case ParentAssignee:
		if x.state.Since.IsZero() {
			return false, nil // a first sync: every task, every tree
		}
		since := url.Values{"modified_since": {x.state.Since.UTC().Format(time.RFC3339)}}
		for _, l := range x.plan[p.Kind] {
			if _, err := x.list(ctx, l, p, since, nil, sinceEmitter{out}); err != nil {
				return true, err
			}
		}
		return true, nil
	case ParentTaskSince:
		for _, l := range x.plan[p.Kind] {
			keep := newerEmitter{Emitter: out, field: x.streams[l.Stream].Cursor, since: x.state.Since, decided: map[string]bool{}}
			if _, err := x.list(ctx, l, p, nil, nil, keep); err != nil {
				return true, err
			}
		}
		return true, nil
	case ParentWorkspace:
		for _, l := range x.plan[p.Kind] {
			if !x.streams[l.Stream].Diffed {
				if _, err := x.list(ctx, l, p, nil, nil, out); err != nil {
					return true, err
				}
				continue
			}
			if err := x.diff(ctx, l, p, out); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	return false, nil
}

// feed reads project p from its change feed since tok.
func (x *Incremental) feed(ctx context.Context, p Parent, tok string, out Emitter) error {
	events := x.eventsStream()
	ch, err := x.client.ProjectChanges(ctx, p.GID, tok, x.opt[events])
	if err != nil {
		for _, l := range x.plan[ParentProject] {
			if err := x.report(l, p, err, out); err != nil {
				return err
			}
		}
		return nil
	}
	out.Pages(events, ch.Calls)
	out.Parent(Parent{Kind: ParentCursor, GID: p.GID, Sync: ch.Sync})
	if x.selected[events] {
		for _, ev := range ch.Raw {
			ev, _ := sanitize(ev)
			out.Record(events, EventKey(ev), ev)
		}
	}
	if ch.Expired {
		// Nothing is known since the token: the project's tasks modified
		// since, and its other listings whole.
		out.Skipped(Skip{Stream: events, Parent: p, Note: true, Message: fmt.Sprintf(
			"the sync token of project %s had expired (Asana keeps events for a limited time): its tasks modified since %s and its sections were read again; what was deleted in it since cannot be seen",
			p.GID, x.state.Since.UTC().Format(time.RFC3339))})
		since := url.Values{"modified_since": {x.state.Since.UTC().Format(time.RFC3339)}}
		for _, l := range x.plan[ParentProject] {
			var extra url.Values
			if x.streams[l.Stream].Owned {
				extra = since
			}
			if l.Subscribe {
				continue
			}
			if _, err := x.list(ctx, l, p, extra, nil, sinceEmitter{out}); err != nil {
				return err
			}
		}
		return nil
	}
	now := time.Now()
	deleted := map[string]bool{}
	for stream, gids := range ch.Deleted {
		for _, g := range gids {
			deleted[g] = true
			x.tombstone(stream, g, now, out)
		}
	}
	// A story created on a task changes the task's modified_at (Asana's
	// TaskBase.modified_at): the task is read again too.
	changed := map[string]bool{}
	for _, g := range append(ch.Live[x.ownedStream()], ch.StoriesOf...) {
		if !changed[g] && !deleted[g] {
			changed[g] = true
			out.Parent(Parent{Kind: ParentTaskClaim, GID: g})
		}
	}
	for _, g := range append(ch.StoriesOf, ch.AttachmentsOf...) {
		if !deleted[g] {
			out.Parent(Parent{Kind: ParentTaskSince, GID: g})
		}
	}
	// Changed sections: the project's sections, those named kept.
	for _, l := range x.plan[ParentProject] {
		st := x.streams[l.Stream]
		if l.Subscribe || st.Owned || st.Resource == "" || len(ch.Live[l.Stream]) == 0 {
			continue
		}
		keep := map[string]bool{}
		for _, g := range ch.Live[l.Stream] {
			keep[g] = true
		}
		if _, err := x.list(ctx, l, p, nil, nil, keepEmitter{Emitter: out, keep: keep}); err != nil {
			return err
		}
	}
	return nil
}

// tombstone emits the tombstones of a deleted record: in its stream and
// the compact stream cut from it, if selected.
func (x *Expander) tombstone(stream, gid string, at time.Time, out Emitter) {
	if x.selected[stream] {
		out.Record(stream, gid, Tombstone(gid, at))
	}
	for _, st := range table {
		if st.CutFrom == stream && x.selected[st.Name] {
			out.Record(st.Name, gid, Tombstone(gid, at))
		}
	}
}

// diff lists a diffed stream whole and emits the records whose hash
// changed since the previous sync, and tombstones for those gone from p.
func (x *Incremental) diff(ctx context.Context, l Listing, p Parent, out Emitter) error {
	prev := x.state.Hashes[l.Stream]
	seen := map[string]bool{}
	d := diffEmitter{Emitter: out, stream: l.Stream, workspace: p.GID, prev: prev, seen: seen}
	if _, err := x.list(ctx, l, p, nil, nil, d); err != nil {
		return err
	}
	now := time.Now()
	for gid, v := range prev {
		if ws, _, _ := strings.Cut(v, ":"); ws == p.GID && !seen[gid] {
			x.tombstone(l.Stream, gid, now, out)
		}
	}
	return nil
}

// eventsStream is the stream of events (the one the subscriptions are
// listings of), for reports of the change feed.
func (x *Expander) eventsStream() string {
	for _, l := range Listings {
		if l.Subscribe {
			return l.Stream
		}
	}
	return ""
}

// ownedStream is the stream whose records are owned by one listing
// (tasks).
func (x *Expander) ownedStream() string {
	for _, st := range table {
		if st.Owned {
			return st.Name
		}
	}
	return ""
}

// sinceEmitter passes on what an incremental listing of tasks finds but
// the walks of whole trees: a task modified since has its stories and
// attachments created since read, not all of them, and its changed
// subtasks come from the change feed.
type sinceEmitter struct{ Emitter }

func (e sinceEmitter) Parent(p Parent) {
	switch p.Kind {
	case ParentTaskTree:
	case ParentTask:
		p.Kind = ParentTaskSince
		e.Emitter.Parent(p)
	default:
		e.Emitter.Parent(p)
	}
}

// newerEmitter passes on the records whose field is not before since. A
// record without the field (a compact twin, cut from a record just
// emitted with the same key) follows that record's fate.
type newerEmitter struct {
	Emitter
	field   string
	since   time.Time
	decided map[string]bool // key → kept
}

func (e newerEmitter) Record(stream, key string, data []byte) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return
	}
	var ts string
	if json.Unmarshal(m[e.field], &ts) != nil {
		if kept, ok := e.decided[key]; !ok || kept {
			e.Emitter.Record(stream, key, data) // no cursor: kept, rather than lost
		}
		return
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	kept := err != nil || !t.Before(e.since)
	e.decided[key] = kept
	if kept {
		e.Emitter.Record(stream, key, data)
	}
}

// keepEmitter passes on the records whose key is in keep.
type keepEmitter struct {
	Emitter
	keep map[string]bool
}

func (e keepEmitter) Record(stream, key string, data []byte) {
	if e.keep[key] {
		e.Emitter.Record(stream, key, data)
	}
}

// diffEmitter passes on the records of a diffed stream whose hash changed,
// notes every gid seen, and hands on every hash for the next sync.
type diffEmitter struct {
	Emitter
	stream, workspace string
	prev              map[string]string
	seen              map[string]bool
}

func (e diffEmitter) Record(stream, key string, data []byte) {
	if stream != e.stream {
		e.Emitter.Record(stream, key, data) // a compact twin: follows its stream
		return
	}
	e.seen[key] = true
	h := e.workspace + ":" + RecordHash(data)
	e.Emitter.Parent(Parent{Kind: ParentHash, GID: key, Workspace: HashScope(stream, e.workspace), Sync: h})
	if e.prev[key] != h {
		e.Emitter.Record(stream, key, data)
	}
}

// Walker expands parents: an Expander (a full refresh), an Incremental,
// either with a start date. The pipeline's DoFns hold one.
type Walker interface {
	Expand(ctx context.Context, p Parent, out Emitter) error
	// Skipping is WithSkip.
	Skipping(skip map[string]bool) Walker
}

// Walker returns the walker of a sync: x itself for a full refresh, an
// Incremental when st is set (empty for a first incremental sync), and
// either leaving out the records whose cursor is before start, unless
// start is zero.
func (x *Expander) Walker(st *SyncState, start time.Time) Walker {
	var w Walker = x
	if st != nil {
		w = x.WithState(st)
	}
	if !start.IsZero() {
		all := map[string]Stream{}
		for _, st := range Streams() {
			all[st.Name] = st
		}
		w = started{Walker: w, start: start, streams: all}
	}
	return w
}

// Skipping is WithSkip.
func (x *Expander) Skipping(skip map[string]bool) Walker { return x.WithSkip(skip) }

// Skipping is WithSkip.
func (x *Incremental) Skipping(skip map[string]bool) Walker { return x.WithSkip(skip) }

// started is a walker whose records before start are left out (the
// config's start_date).
type started struct {
	Walker
	start   time.Time
	streams map[string]Stream
}

func (s started) Expand(ctx context.Context, p Parent, out Emitter) error {
	return s.Walker.Expand(ctx, p, startEmitter{Emitter: out, start: s.start, streams: s.streams, decided: map[string]bool{}})
}

func (s started) Skipping(skip map[string]bool) Walker {
	return started{Walker: s.Walker.Skipping(skip), start: s.start, streams: s.streams}
}

// startEmitter leaves out the records whose cursor is before start.
type startEmitter struct {
	Emitter
	start   time.Time
	streams map[string]Stream
	decided map[string]bool // see newerEmitter
}

func (e startEmitter) Record(stream, key string, data []byte) {
	if f := e.streams[stream].Cursor; f != "" {
		newerEmitter{Emitter: e.Emitter, field: f, since: e.start, decided: e.decided}.Record(stream, key, data)
		return
	}
	e.Emitter.Record(stream, key, data)
}
