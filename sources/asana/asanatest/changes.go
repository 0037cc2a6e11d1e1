package asanatest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Change batches: what happens to an account between two syncs. A batch
// applies a seeded, deterministic set of changes of every kind an
// incremental sync must handle, updates the data as Asana would (listings,
// memberships, modified_at, the stories Asana writes) and emits the events
// Asana would, to every subscription the change bubbles up to. It returns a
// ChangeLog saying, per stream, which records were created, changed,
// deleted or deleted then undeleted, so that a test can compute what a
// second sync must emit.
//
// Events, per kind (resource, action, parent, change.field; "story added"
// is a story resource, action "added", parent the task):
//
//   - task_created: task added (parent project), task added (parent section).
//   - task_modified: task changed name, task changed due_on, story added
//     (name_changed, due_date_changed).
//   - task_moved_section: task removed (parent old section), task added
//     (parent new section), story added (section_changed).
//   - task_moved_project: task removed (parent old project; seen by the old
//     project's subscription), task added (parent new project), task added
//     (parent new section), story added (added_to_project).
//   - task_completed: task changed completed, story added (marked_complete).
//   - task_reassigned: task changed assignee (new_value the user), story
//     added (assigned).
//   - task_deleted: task deleted. Its stories and attachments go with it
//     (no event of their own).
//   - task_deleted_undeleted: task deleted, then task undeleted.
//   - subtask_created: subtask added (parent the parent task), story added
//     on the parent (added_to_task).
//   - subtask_modified: subtask changed name, story added (name_changed);
//     seen by the projects of its ancestors.
//   - loose_task_modified: a task in no project (reached through its
//     assignee): task changed name, story added. Only the task's own
//     subscription sees it.
//   - comment_added: story added (comment_added).
//   - attachment_added: attachment added (parent task).
//   - project_renamed / project_archived: project changed name / archived.
//     The renamed project is one with the fewest tasks.
//   - project_created: none (no subscription can predate it); it has one
//     section and one task.
//   - section_created: section added (parent project).
//   - section_deleted: the section's tasks first move to another section of
//     the project (as task_moved_section: Asana deletes empty sections
//     only), then section deleted.
//   - tag_deleted: for each task that had the tag, task changed tags
//     (change.action removed, removed_value the tag); the tag deleted (seen
//     only by a subscription to the tag, which Asana does not offer).
//   - user_created: none (users are reported by workspace events only,
//     for service accounts).
//
// Task changes move the task's modified_at to the time of the change
// (every one of them adds a story or changes a property; see
// TaskBase.modified_at and the modified_since parameter of getTasks).

// ChangeKind names one kind of change in a batch.
type ChangeKind string

// The kinds of change ApplyChanges makes, in the order it makes them.
const (
	UserCreated          ChangeKind = "user_created"
	ProjectCreated       ChangeKind = "project_created"
	SectionCreated       ChangeKind = "section_created"
	TaskCreated          ChangeKind = "task_created"
	SubtaskCreated       ChangeKind = "subtask_created"
	TaskModified         ChangeKind = "task_modified"
	SubtaskModified      ChangeKind = "subtask_modified"
	LooseTaskModified    ChangeKind = "loose_task_modified"
	TaskMovedSection     ChangeKind = "task_moved_section"
	TaskMovedProject     ChangeKind = "task_moved_project"
	TaskCompleted        ChangeKind = "task_completed"
	TaskReassigned       ChangeKind = "task_reassigned"
	CommentAdded         ChangeKind = "comment_added"
	AttachmentAdded      ChangeKind = "attachment_added"
	TaskDeleted          ChangeKind = "task_deleted"
	TaskDeletedUndeleted ChangeKind = "task_deleted_undeleted"
	SectionDeleted       ChangeKind = "section_deleted"
	TagDeleted           ChangeKind = "tag_deleted"
	ProjectRenamed       ChangeKind = "project_renamed"
	ProjectArchived      ChangeKind = "project_archived"
)

// ChangeKinds lists every kind, in the order a batch applies them.
func ChangeKinds() []ChangeKind {
	return []ChangeKind{UserCreated, ProjectCreated, SectionCreated, TaskCreated, SubtaskCreated,
		TaskModified, SubtaskModified, LooseTaskModified, TaskMovedSection, TaskMovedProject,
		TaskCompleted, TaskReassigned, CommentAdded, AttachmentAdded, TaskDeleted, TaskDeletedUndeleted,
		SectionDeleted, TagDeleted, ProjectRenamed, ProjectArchived}
}

// ChangeBatch describes a batch of changes.
type ChangeBatch struct {
	// Seed drives every choice: the same seed on the same account makes
	// the same changes (gids of new objects included, if the Sim created
	// no other object since New).
	Seed int64
	// PerKind is the number of changes of each kind; 0 means 1. With every
	// kind, a batch of PerKind 1 is about twenty changes.
	PerKind int
	// Kinds restricts the batch to these kinds (applied in ChangeKinds
	// order); nil means every kind.
	Kinds []ChangeKind
}

// AppliedChange is one change of a batch.
type AppliedChange struct {
	Kind ChangeKind `json:"kind"`
	// GID is the object the change is about: the task (new, changed,
	// moved, deleted), the new story or attachment, the project, section,
	// tag or user.
	GID string `json:"gid"`
	// Related are the other objects involved, by kind: the project and
	// section a task was created in or moved to (moves: old then new), the
	// parent of a new subtask, the task a comment or attachment was added
	// to, the new assignee, the project of a section, the section a
	// deleted section's tasks moved to, the tasks a deleted tag was
	// removed from, the new section and task of a new project.
	Related []string `json:"related,omitempty"`
}

// StreamChanges is the net effect of a batch on one stream, relative to
// the account before the batch. The lists are disjoint and in gid order.
type StreamChanges struct {
	// Created records did not exist before the batch and are live.
	Created []string `json:"created,omitempty"`
	// Changed records were live before and after, and changed (or had a
	// story, attachment, membership … added).
	Changed []string `json:"changed,omitempty"`
	// Deleted records were live before the batch and are deleted: a
	// second sync emits a tombstone for each, never a live record.
	Deleted []string `json:"deleted,omitempty"`
	// Undeleted records were deleted and undeleted during the batch: live
	// before and after, with an "undeleted" event (and a new modified_at).
	Undeleted []string `json:"undeleted,omitempty"`
	// Cascaded records (stories and attachments of a deleted task) were
	// live before and are gone with their task, with no event of their
	// own: a second sync emits a tombstone or nothing, never a live
	// record.
	Cascaded []string `json:"cascaded,omitempty"`
	// Stale records did not change themselves, and no event names them,
	// but render the name of an object that did (a renamed task's stories,
	// attachments and subtasks; a renamed project's tasks, sections,
	// attachments and stories). Asana reports nothing for them either: a
	// connector that did not re-read them still holds the old name.
	Stale []string `json:"stale,omitempty"`
}

// ChangeLog is what ApplyChanges did.
type ChangeLog struct {
	// Before and After bound the simulated time of the changes: every
	// change's modified_at and every event's created_at lie in
	// [Before, After].
	Before time.Time `json:"before"`
	After  time.Time `json:"after"`
	// Changes lists the changes in the order they were applied.
	Changes []AppliedChange `json:"changes"`
	// Streams holds the net effect per stream of asana-beam's connector:
	// "tasks", "stories", "attachments", "sections", "tags", "projects",
	// "users". Streams the batch did not touch are absent.
	Streams map[string]*StreamChanges `json:"streams"`
	// Projects are the projects whose event stream received events, in
	// gid order (new projects are not among them: they have no events).
	Projects []string `json:"projects"`
	// Events is the number of events emitted.
	Events int `json:"events"`
}

// Stream returns the changes of one stream (empty if untouched).
func (l *ChangeLog) Stream(name string) StreamChanges {
	if sc := l.Streams[name]; sc != nil {
		return *sc
	}
	return StreamChanges{}
}

// Of returns the changes of kind k.
func (l *ChangeLog) Of(k ChangeKind) []AppliedChange {
	var out []AppliedChange
	for _, c := range l.Changes {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

// touchRec is what the batch knew of an object when it first touched it.
type touchRec struct {
	stream     string
	o          deletable
	wasLive    bool
	deletedMid bool // deleted at some point during the batch
	cascaded   bool
}

// batch is a ChangeBatch being applied; the Sim's lock is held.
type batch struct {
	s       *Sim
	r       *rand.Rand
	at      int64 // simulated ms of the current change
	touched map[string]*touchRec
	order   []string
	used    map[string]bool // objects a change of this batch already picked
	log     *ChangeLog
	targets map[string]bool // projects that received events
	renamed []any           // renamed tasks and projects (for Stale)
	nEvents int
}

var streamOf = map[string]string{"task": "tasks", "story": "stories", "attachment": "attachments",
	"section": "sections", "tag": "tags", "project": "projects", "user": "users"}

// ApplyChanges applies a batch of changes to the account, as users working
// in Asana between two syncs would, and emits the events Asana would (see
// the kinds above). It fails, changing nothing, on an unknown kind, and
// fails after the changes made so far if the account has no object a kind
// needs (e.g. no task in a project with two sections); tiny accounts may
// lack some, small and larger have all.
func (s *Sim) ApplyChanges(cb ChangeBatch) (*ChangeLog, error) {
	kinds := ChangeKinds()
	if cb.Kinds != nil {
		for _, k := range cb.Kinds {
			if !slices.Contains(kinds, k) {
				return nil, fmt.Errorf("asanatest: unknown change kind %q", k)
			}
		}
		kinds = slices.DeleteFunc(kinds, func(k ChangeKind) bool { return !slices.Contains(cb.Kinds, k) })
	}
	n := cb.PerKind
	if n <= 0 {
		n = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &batch{s: s, r: rand.New(rand.NewPCG(uint64(cb.Seed), 0xc4a96e5)),
		touched: map[string]*touchRec{}, used: map[string]bool{}, targets: map[string]bool{},
		log: &ChangeLog{Streams: map[string]*StreamChanges{}}}
	start := s.nowMS()
	if start <= s.events.last {
		start = s.events.last + 1
	}
	b.log.Before = time.UnixMilli(start).UTC()
	var err error
	for _, k := range kinds {
		for range n {
			b.at = max(s.nowMS(), s.events.last+1)
			if err = b.apply(k); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	b.finish()
	return b.log, err
}

func (b *batch) apply(k ChangeKind) error {
	switch k {
	case UserCreated:
		return b.userCreated()
	case ProjectCreated:
		return b.projectCreated()
	case SectionCreated:
		return b.sectionCreated()
	case TaskCreated:
		return b.taskCreated()
	case SubtaskCreated:
		return b.subtaskCreated()
	case TaskModified:
		return b.taskModified()
	case SubtaskModified:
		return b.renameTask(SubtaskModified, b.isProjectSubtask)
	case LooseTaskModified:
		return b.renameTask(LooseTaskModified, b.isLooseTask)
	case TaskMovedSection:
		return b.taskMovedSection()
	case TaskMovedProject:
		return b.taskMovedProject()
	case TaskCompleted:
		return b.taskCompleted()
	case TaskReassigned:
		return b.taskReassigned()
	case CommentAdded:
		return b.commentAdded()
	case AttachmentAdded:
		return b.attachmentAdded()
	case TaskDeleted:
		return b.taskDeleted(false)
	case TaskDeletedUndeleted:
		return b.taskDeleted(true)
	case SectionDeleted:
		return b.sectionDeleted()
	case TagDeleted:
		return b.tagDeleted()
	case ProjectRenamed:
		return b.projectChanged(ProjectRenamed)
	case ProjectArchived:
		return b.projectChanged(ProjectArchived)
	}
	return fmt.Errorf("asanatest: unknown change kind %q", k)
}

// ---- bookkeeping ----

func (b *batch) touch(o deletable) *touchRec {
	g := gidOf(o)
	if rec, ok := b.touched[g]; ok {
		return rec
	}
	rec := &touchRec{stream: streamOf[kindOf(o).name], o: o, wasLive: !o.dead()}
	b.touched[g] = rec
	b.order = append(b.order, g)
	return rec
}

// created registers an object created by the batch (not live before).
func (b *batch) created(o deletable) {
	g := gidOf(o)
	b.touched[g] = &touchRec{stream: streamOf[kindOf(o).name], o: o}
	b.order = append(b.order, g)
	b.used[g] = true
}

func (b *batch) record(k ChangeKind, gid string, related ...string) {
	b.log.Changes = append(b.log.Changes, AppliedChange{Kind: k, GID: gid, Related: related})
}

func (b *batch) emit(e *event, targets []string) {
	e.createdAt = b.at
	b.s.emitLocked(e, targets)
	b.at = b.s.events.last
	b.nEvents++
	for _, t := range targets {
		if _, ok := b.s.d.byGID[t].(*project); ok {
			b.targets[t] = true
		}
	}
}

func (b *batch) gid() string { return strconv.FormatUint(b.s.newGIDLocked(), 10) }

func (b *batch) actor(ws *workspace) *user {
	for range 20 {
		if u := pick(b.r, ws.users); !u.deleted {
			return u
		}
	}
	return b.s.d.me
}

// pickTask picks a task satisfying ok that the batch has not used yet, and
// marks it used.
func (b *batch) pickTask(k ChangeKind, ok func(*task) bool) (*task, error) {
	var cands []*task
	for _, t := range b.s.d.tasks {
		if !b.used[t.gid] && !t.dead() && ok(t) {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("asanatest: %s: no suitable task in the account", k)
	}
	t := cands[b.r.IntN(len(cands))]
	b.used[t.gid] = true
	return t, nil
}

func (b *batch) pickProject(k ChangeKind, ok func(*project) bool) (*project, error) {
	var cands []*project
	for _, p := range b.s.d.projects {
		if !b.used[p.gid] && !p.dead() && ok(p) {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("asanatest: %s: no suitable project in the account", k)
	}
	p := cands[b.r.IntN(len(cands))]
	b.used[p.gid] = true
	return p, nil
}

func liveSections(p *project) []*section {
	var out []*section
	for _, s := range p.sections {
		if !s.dead() {
			out = append(out, s)
		}
	}
	return out
}

// isProjectTask: a top-level task in live, unarchived projects only.
func (b *batch) isProjectTask(t *task) bool {
	if t.parent != nil || len(t.memberships) == 0 {
		return false
	}
	for _, m := range t.memberships {
		if m.project.dead() || m.project.archived || m.section == nil || m.section.dead() {
			return false
		}
	}
	return true
}

// isProjectSubtask: a subtask in no project whose top-level ancestor is a
// project task.
func (b *batch) isProjectSubtask(t *task) bool {
	if t.parent == nil || len(t.memberships) > 0 {
		return false
	}
	root := t.parent
	for root.parent != nil {
		root = root.parent
	}
	return b.isProjectTask(root)
}

// isLooseTask: a top-level task in no project, reached through its assignee.
func (b *batch) isLooseTask(t *task) bool {
	return t.parent == nil && len(t.memberships) == 0 && t.assignee != nil && !t.assignee.deleted
}

// newStory adds a story to t by actor, emits "story added" and moves the
// task's modified_at.
func (b *batch) newStory(t *task, actor *user, subtype string) *story {
	d := b.s.d
	st := &story{gid: b.gid(), task: t, createdAt: b.at, createdBy: actor, subtype: subtype, source: "web"}
	d.byGID[st.gid] = st
	t.stories = append(t.stories, st)
	d.stories = append(d.stories, st)
	b.created(st)
	b.touch(t)
	t.modifiedAt = b.at
	b.emit(&event{user: actor, resource: st, rkind: kStory, action: "added", parent: t, pkind: kTask}, b.s.targetsOf(st))
	return st
}

// taskChanged emits "task changed" for field; v is the new value if it is
// an Asana resource.
func (b *batch) taskChanged(t *task, actor *user, ch *change) {
	if ch.newValue.t != vObj {
		ch.newValue = val{}
	}
	b.touch(t)
	t.modifiedAt = b.at
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: "changed", change: ch}, b.s.targetsOf(t))
}

func (b *batch) containerEvent(t *task, actor *user, action string, parent any, pk *kind, targets []string) {
	b.touch(t)
	t.modifiedAt = b.at
	if targets == nil {
		targets = b.s.targetsOf(t)
	}
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: action, parent: parent, pkind: pk}, targets)
}

// placeInSection puts t into sec (its project's membership moves or is
// added) and lists it there.
func placeInSection(t *task, sec *section) {
	p := sec.project
	i := slices.IndexFunc(t.memberships, func(m membership) bool { return m.project == p })
	if i >= 0 {
		t.memberships[i].section = sec
	} else {
		t.memberships = append(t.memberships, membership{project: p, section: sec})
	}
	if !slices.Contains(sec.tasks, t) {
		sec.tasks = append(sec.tasks, t)
	}
	if !slices.Contains(p.tasks, t) {
		p.tasks = append(p.tasks, t)
	}
}

// assignLocked makes u the assignee of t and lists t under u.
func (s *Sim) assignLocked(t *task, u *user) {
	t.assignee = u
	if u == nil {
		return
	}
	k := assignedKey(u, t.ws)
	if !slices.Contains(s.d.assigned[k], t) {
		s.d.assigned[k] = append(s.d.assigned[k], t)
	}
}

func (b *batch) newTask(ws *workspace, actor *user) *task {
	d := b.s.d
	t := &task{gid: b.gid(), ws: ws, subtype: "default_task",
		name: pick(b.r, taskVerbs) + " " + pick(b.r, taskObjects), createdAt: b.at, modifiedAt: b.at,
		createdBy: actor, actualMinutes: -1, assigneeStatus: "inbox"}
	t.followers = []*user{actor}
	d.byGID[t.gid] = t
	d.tasks = append(d.tasks, t)
	b.created(t)
	return t
}

// ---- the kinds ----

func (b *batch) userCreated() error {
	d, ws := b.s.d, b.s.d.org
	f, l := pick(b.r, firstNames), pick(b.r, lastNames)
	u := &user{gid: b.gid(), name: f.display + " " + l.display, photo: b.r.IntN(2) == 0, workspaces: []*workspace{ws}}
	u.email = fmt.Sprintf("%s.%s%d@%s", f.ascii, l.ascii, len(d.users)+1, ws.emailDomains[0])
	d.users = append(d.users, u)
	d.byGID[u.gid] = u
	ws.users = append(ws.users, u) // gids grow: stays in gid order
	i, _ := slices.BinarySearchFunc(ws.usersByName, u, func(a, x *user) int {
		if c := strings.Compare(a.name, x.name); c != 0 {
			return c
		}
		return -1 // after users of the same name, as a stable sort would
	})
	ws.usersByName = slices.Insert(ws.usersByName, i, u)
	b.created(u)
	b.record(UserCreated, u.gid)
	return nil
}

func (b *batch) projectCreated() error {
	d, ws := b.s.d, b.s.d.org
	actor := b.actor(ws)
	p := &project{gid: b.gid(), ws: ws, createdAt: b.at, modifiedAt: b.at, public: true,
		defaultView: "list", access: "editor", privacy: "public_to_workspace", owner: actor}
	p.name = pick(b.r, projectNames) + " " + strconv.Itoa(2+b.r.IntN(98))
	if len(ws.teams) > 0 {
		p.team = ws.teams[b.r.IntN(len(ws.teams))]
		p.team.projects = append(p.team.projects, p)
	}
	p.members = appendUser(p.members, actor)
	p.members = appendUser(p.members, d.me)
	p.followers = []*user{actor}
	d.byGID[p.gid] = p
	d.projects = append(d.projects, p)
	ws.projects = append(ws.projects, p)
	b.created(p)
	sec := &section{gid: b.gid(), name: "Untitled section", createdAt: b.at, project: p}
	d.byGID[sec.gid] = sec
	d.sections = append(d.sections, sec)
	p.sections = append(p.sections, sec)
	b.created(sec)
	t := b.newTask(ws, actor)
	placeInSection(t, sec)
	b.record(ProjectCreated, p.gid, sec.gid, t.gid)
	return nil
}

func (b *batch) sectionCreated() error {
	p, err := b.pickProject(SectionCreated, func(p *project) bool { return !p.archived })
	if err != nil {
		return err
	}
	d := b.s.d
	sec := &section{gid: b.gid(), name: pick(b.r, sectionNames) + " (new)", createdAt: b.at, project: p}
	d.byGID[sec.gid] = sec
	d.sections = append(d.sections, sec)
	p.sections = append(p.sections, sec)
	b.created(sec)
	b.emit(&event{user: b.actor(p.ws), resource: sec, rkind: kSection, action: "added", parent: p, pkind: kProject},
		b.s.targetsOf(sec))
	b.record(SectionCreated, sec.gid, p.gid)
	return nil
}

func (b *batch) taskCreated() error {
	p, err := b.pickProject(TaskCreated, func(p *project) bool { return !p.archived && len(liveSections(p)) > 0 })
	if err != nil {
		return err
	}
	delete(b.used, p.gid) // other changes may use the project too
	secs := liveSections(p)
	sec := secs[b.r.IntN(len(secs))]
	actor := b.actor(p.ws)
	t := b.newTask(p.ws, actor)
	if b.r.IntN(2) == 0 {
		b.s.assignLocked(t, b.actor(p.ws))
		t.assignedBy = actor
	}
	for _, st := range p.settings {
		t.values = append(t.values, cfValue{field: st.field})
	}
	placeInSection(t, sec)
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: "added", parent: p, pkind: kProject}, b.s.targetsOf(t))
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: "added", parent: sec, pkind: kSection}, b.s.targetsOf(t))
	b.record(TaskCreated, t.gid, p.gid, sec.gid)
	return nil
}

func (b *batch) subtaskCreated() error {
	parent, err := b.pickTask(SubtaskCreated, b.isProjectTask)
	if err != nil {
		return err
	}
	actor := b.actor(parent.ws)
	t := b.newTask(parent.ws, actor)
	t.parent = parent
	b.s.assignLocked(t, b.actor(parent.ws))
	t.assignedBy = actor
	parent.subtasks = append(parent.subtasks, t)
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: "added", parent: parent, pkind: kTask}, b.s.targetsOf(t))
	st := b.newStory(parent, actor, stTaskCreated)
	st.subtask = t
	b.record(SubtaskCreated, t.gid, parent.gid)
	return nil
}

func (b *batch) rename(t *task, actor *user) {
	old := t.name
	t.name = pick(b.r, taskVerbs) + " " + pick(b.r, taskObjects) + " (v" + strconv.Itoa(2+b.r.IntN(8)) + ")"
	if t.name == old {
		t.name += "!"
	}
	b.renamed = append(b.renamed, t)
	st := b.newStory(t, actor, stNameChanged)
	st.oldName, st.newName = old, t.name
	b.taskChanged(t, actor, &change{field: "name", action: "changed"})
}

func (b *batch) taskModified() error {
	t, err := b.pickTask(TaskModified, b.isProjectTask)
	if err != nil {
		return err
	}
	actor := b.actor(t.ws)
	b.rename(t, actor)
	old := t.dueOn
	t.dueOn = dayOf(b.at) + int32(1+b.r.IntN(30))
	t.dueAt, t.startAt = 0, 0
	if t.startOn >= t.dueOn {
		t.startOn = 0
	}
	st := b.newStory(t, actor, stDueDateChanged)
	st.oldDate, st.newDate = old, t.dueOn
	b.taskChanged(t, actor, &change{field: "due_on", action: "changed"})
	b.record(TaskModified, t.gid)
	return nil
}

func (b *batch) renameTask(k ChangeKind, ok func(*task) bool) error {
	t, err := b.pickTask(k, ok)
	if err != nil {
		return err
	}
	b.rename(t, b.actor(t.ws))
	b.record(k, t.gid)
	return nil
}

// moveSection moves t to sec within sec's project.
func (b *batch) moveSection(t *task, sec *section, actor *user) {
	i := slices.IndexFunc(t.memberships, func(m membership) bool { return m.project == sec.project })
	old := t.memberships[i].section
	placeInSection(t, sec)
	b.containerEvent(t, actor, "removed", old, kSection, nil)
	b.containerEvent(t, actor, "added", sec, kSection, nil)
	st := b.newStory(t, actor, stSectionChanged)
	st.project, st.oldSec, st.newSec = sec.project, old, sec
}

func (b *batch) taskMovedSection() error {
	t, err := b.pickTask(TaskMovedSection, func(t *task) bool {
		return b.isProjectTask(t) && len(liveSections(t.memberships[0].project)) > 1
	})
	if err != nil {
		return err
	}
	m := t.memberships[0]
	secs := slices.DeleteFunc(liveSections(m.project), func(s *section) bool { return s == m.section })
	sec := secs[b.r.IntN(len(secs))]
	b.moveSection(t, sec, b.actor(t.ws))
	b.record(TaskMovedSection, t.gid, m.section.gid, sec.gid)
	return nil
}

func (b *batch) taskMovedProject() error {
	var dest *project
	t, err := b.pickTask(TaskMovedProject, func(t *task) bool {
		if !b.isProjectTask(t) || len(t.memberships) != 1 {
			return false
		}
		// Another live project of the workspace with a section.
		for _, p := range t.ws.projects {
			if p != t.memberships[0].project && !p.dead() && !p.archived && len(liveSections(p)) > 0 {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	from := t.memberships[0].project
	var cands []*project
	for _, p := range t.ws.projects {
		if p != from && !p.dead() && !p.archived && len(liveSections(p)) > 0 {
			cands = append(cands, p)
		}
	}
	dest = cands[b.r.IntN(len(cands))]
	secs := liveSections(dest)
	sec := secs[b.r.IntN(len(secs))]
	actor := b.actor(t.ws)
	before := b.s.targetsOf(t)
	t.memberships = slices.DeleteFunc(t.memberships, func(m membership) bool { return m.project == from })
	b.containerEvent(t, actor, "removed", from, kProject, before)
	placeInSection(t, sec)
	b.containerEvent(t, actor, "added", dest, kProject, nil)
	b.containerEvent(t, actor, "added", sec, kSection, nil)
	st := b.newStory(t, actor, stAddedToProject)
	st.project = dest
	b.record(TaskMovedProject, t.gid, from.gid, dest.gid, sec.gid)
	return nil
}

func (b *batch) taskCompleted() error {
	t, err := b.pickTask(TaskCompleted, func(t *task) bool { return b.isProjectTask(t) && !t.completed })
	if err != nil {
		return err
	}
	actor := b.actor(t.ws)
	t.completed, t.completedAt, t.completedBy = true, b.at, actor
	b.newStory(t, actor, stMarkedComplete)
	b.taskChanged(t, actor, &change{field: "completed", action: "changed"})
	b.record(TaskCompleted, t.gid)
	return nil
}

func (b *batch) taskReassigned() error {
	t, err := b.pickTask(TaskReassigned, func(t *task) bool { return b.isProjectTask(t) && len(t.ws.users) > 1 })
	if err != nil {
		return err
	}
	actor := b.actor(t.ws)
	u := t.assignee
	for u == t.assignee {
		u = b.actor(t.ws)
	}
	b.s.assignLocked(t, u)
	t.assignedBy = actor
	st := b.newStory(t, actor, stAssigned)
	st.user = u
	b.taskChanged(t, actor, &change{field: "assignee", action: "changed", newValue: obj(kUser, u)})
	b.record(TaskReassigned, t.gid, u.gid)
	return nil
}

func (b *batch) commentAdded() error {
	t, err := b.pickTask(CommentAdded, b.isProjectTask)
	if err != nil {
		return err
	}
	st := b.newStory(t, b.actor(t.ws), stComment)
	st.text = textRef{seed: uint32(b.r.Uint64()), n: uint16(10 + b.r.IntN(200)), style: uint8(b.r.IntN(int(numStyles)))}
	b.record(CommentAdded, st.gid, t.gid)
	return nil
}

func (b *batch) attachmentAdded() error {
	t, err := b.pickTask(AttachmentAdded, b.isProjectTask)
	if err != nil {
		return err
	}
	d := b.s.d
	a := &attachment{gid: b.gid(), name: pick(b.r, attachmentNames), subtype: "asana", host: "asana",
		parentT: t, createdAt: b.at, size: int64(1000 + b.r.IntN(5_000_000))}
	d.byGID[a.gid] = a
	d.attachments = append(d.attachments, a)
	t.attachments = append(t.attachments, a)
	b.created(a)
	b.touch(t)
	t.modifiedAt = b.at
	b.emit(&event{user: b.actor(t.ws), resource: a, rkind: kAttachment, action: "added", parent: t, pkind: kTask},
		b.s.targetsOf(a))
	b.record(AttachmentAdded, a.gid, t.gid)
	return nil
}

func (b *batch) taskDeleted(undelete bool) error {
	k := TaskDeleted
	if undelete {
		k = TaskDeletedUndeleted
	}
	// A top-level project task with no live subtask and no dependency
	// (whose records would name it).
	t, err := b.pickTask(k, func(t *task) bool {
		return b.isProjectTask(t) && len(t.dependencies) == 0 && len(t.dependents) == 0 &&
			!slices.ContainsFunc(t.subtasks, func(x *task) bool { return !x.dead() })
	})
	if err != nil {
		return err
	}
	actor := b.actor(t.ws)
	rec := b.touch(t)
	if !undelete {
		for _, st := range t.stories {
			if !st.dead() {
				b.touch(st).cascaded = true
			}
		}
		for _, a := range t.attachments {
			if !a.dead() {
				b.touch(a).cascaded = true
			}
		}
	}
	targets := b.s.targetsOf(t)
	t.deleted = true
	t.modifiedAt = b.at
	rec.deletedMid = true
	b.emit(&event{user: actor, resource: t, rkind: kTask, action: "deleted"}, targets)
	if undelete {
		t.deleted = false
		t.modifiedAt = b.at
		b.emit(&event{user: actor, resource: t, rkind: kTask, action: "undeleted"}, targets)
	}
	b.record(k, t.gid)
	return nil
}

func (b *batch) sectionDeleted() error {
	// The live section with the fewest tasks, of a project with another.
	var best []*section
	bestN := -1
	for _, p := range b.s.d.projects {
		if p.dead() || p.archived || b.used[p.gid] {
			continue
		}
		secs := liveSections(p)
		if len(secs) < 2 {
			continue
		}
		for _, sec := range secs {
			if b.used[sec.gid] {
				continue
			}
			n := len(sectionTasks(sec))
			switch {
			case bestN < 0 || n < bestN:
				best, bestN = []*section{sec}, n
			case n == bestN:
				best = append(best, sec)
			}
		}
	}
	if len(best) == 0 {
		return fmt.Errorf("asanatest: %s: no project with two sections", SectionDeleted)
	}
	sec := best[b.r.IntN(len(best))]
	b.used[sec.gid] = true
	p := sec.project
	others := slices.DeleteFunc(liveSections(p), func(x *section) bool { return x == sec })
	dest := others[b.r.IntN(len(others))]
	actor := b.actor(p.ws)
	related := []string{p.gid, dest.gid}
	for _, t := range sectionTasks(sec) {
		b.moveSection(t, dest, actor)
		related = append(related, t.gid)
	}
	rec := b.touch(sec)
	targets := b.s.targetsOf(sec)
	sec.deleted = true
	rec.deletedMid = true
	b.emit(&event{user: actor, resource: sec, rkind: kSection, action: "deleted"}, targets)
	b.record(SectionDeleted, sec.gid, related...)
	return nil
}

// sectionTasks lists the live tasks whose membership is sec.
func sectionTasks(sec *section) []*task {
	var out []*task
	for _, t := range sec.tasks {
		if !t.dead() && inSection(sec)(t) {
			out = append(out, t)
		}
	}
	return out
}

func (b *batch) tagDeleted() error {
	var best []*tag
	bestN := -1
	for _, tg := range b.s.d.tags {
		if tg.dead() || b.used[tg.gid] {
			continue
		}
		n := 0
		for _, t := range tg.tasks {
			if !t.dead() && slices.Contains(t.tags, tg) {
				n++
			}
		}
		switch {
		case bestN < 0 || n < bestN:
			best, bestN = []*tag{tg}, n
		case n == bestN:
			best = append(best, tg)
		}
	}
	if len(best) == 0 {
		return fmt.Errorf("asanatest: %s: no tag in the account", TagDeleted)
	}
	tg := best[b.r.IntN(len(best))]
	b.used[tg.gid] = true
	actor := b.actor(tg.ws)
	var related []string
	for _, t := range tg.tasks {
		if t.dead() || !slices.Contains(t.tags, tg) {
			continue
		}
		t.tags = slices.DeleteFunc(slices.Clone(t.tags), func(x *tag) bool { return x == tg })
		b.taskChanged(t, actor, &change{field: "tags", action: "removed", removedValue: obj(kTag, tg)})
		related = append(related, t.gid)
	}
	rec := b.touch(tg)
	tg.deleted = true
	rec.deletedMid = true
	b.emit(&event{user: actor, resource: tg, rkind: kTag, action: "deleted"}, []string{tg.gid})
	b.record(TagDeleted, tg.gid, related...)
	return nil
}

func (b *batch) projectChanged(k ChangeKind) error {
	ok := func(p *project) bool { return !p.archived }
	if k == ProjectRenamed {
		// The project with the fewest tasks: every record naming the
		// project goes stale (see StreamChanges.Stale).
		fewest := -1
		for _, p := range b.s.d.projects {
			if !p.dead() && !p.archived && !b.used[p.gid] && (fewest < 0 || len(p.tasks) < fewest) {
				fewest = len(p.tasks)
			}
		}
		ok = func(p *project) bool { return !p.archived && len(p.tasks) == fewest }
	}
	p, err := b.pickProject(k, ok)
	if err != nil {
		return err
	}
	actor := b.actor(p.ws)
	b.touch(p)
	field := "archived"
	if k == ProjectRenamed {
		field = "name"
		p.name += " (renamed)"
		b.s.compactCache.Delete(p) // projects' compact JSON is cached
		b.renamed = append(b.renamed, p)
	} else {
		p.archived = true
	}
	p.modifiedAt = b.at
	b.emit(&event{user: actor, resource: p, rkind: kProject, action: "changed",
		change: &change{field: field, action: "changed"}}, b.s.targetsOf(p))
	b.record(k, p.gid)
	return nil
}

// ---- the log ----

func (b *batch) finish() {
	l := b.log
	stream := func(name string) *StreamChanges {
		sc := l.Streams[name]
		if sc == nil {
			sc = &StreamChanges{}
			l.Streams[name] = sc
		}
		return sc
	}
	for _, g := range b.order {
		rec := b.touched[g]
		live := !rec.o.dead()
		sc := stream(rec.stream)
		switch {
		case !rec.wasLive && live:
			sc.Created = append(sc.Created, g)
		case !rec.wasLive:
			// created and deleted within the batch: never seen
		case rec.cascaded && !live:
			sc.Cascaded = append(sc.Cascaded, g)
		case !live:
			sc.Deleted = append(sc.Deleted, g)
		case rec.deletedMid:
			sc.Undeleted = append(sc.Undeleted, g)
		default:
			sc.Changed = append(sc.Changed, g)
		}
	}
	// Records that render a renamed object's name.
	stale := func(o deletable) {
		g := gidOf(o)
		if _, ok := b.touched[g]; ok || o.dead() {
			return
		}
		sc := stream(streamOf[kindOf(o).name])
		if !slices.Contains(sc.Stale, g) {
			sc.Stale = append(sc.Stale, g)
		}
	}
	d := b.s.d
	for _, r := range b.renamed {
		switch x := r.(type) {
		case *task:
			for _, st := range x.stories {
				stale(st)
			}
			for _, a := range x.attachments {
				stale(a)
			}
			for _, sub := range x.subtasks {
				stale(sub)
			}
			if x.parent != nil { // the parent's "added subtask" story names it
				for _, st := range x.parent.stories {
					if st.subtask == x {
						stale(st)
					}
				}
			}
		case *project:
			for _, t := range x.tasks {
				if inProject(x)(t) {
					stale(t)
				}
			}
			for _, sec := range x.sections {
				stale(sec)
			}
			for _, a := range x.attachments {
				stale(a)
			}
			for _, st := range d.stories {
				if st.project == x {
					stale(st)
				}
			}
		}
	}
	for _, sc := range l.Streams {
		for _, xs := range []*[]string{&sc.Created, &sc.Changed, &sc.Deleted, &sc.Undeleted, &sc.Cascaded, &sc.Stale} {
			slices.SortFunc(*xs, cmpGID)
		}
	}
	for g := range b.targets {
		l.Projects = append(l.Projects, g)
	}
	slices.SortFunc(l.Projects, cmpGID)
	l.Events = b.nEvents
	l.After = time.UnixMilli(max(b.at, l.Before.UnixMilli())).UTC()
}

// Listing filters: tasks stay in the slices of the projects, sections and
// tags they leave (positions, and offset tokens, stay stable), and these
// filters keep a listing to its current members.

func inProject(p *project) func(*task) bool {
	return func(t *task) bool {
		return slices.ContainsFunc(t.memberships, func(m membership) bool { return m.project == p })
	}
}

func inSection(s *section) func(*task) bool {
	return func(t *task) bool {
		return slices.ContainsFunc(t.memberships, func(m membership) bool { return m.section == s })
	}
}

func hasTag(tg *tag) func(*task) bool {
	return func(t *task) bool { return slices.Contains(t.tags, tg) }
}

// and combines two task filters (either may be nil).
func and(a, b func(*task) bool) func(*task) bool {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(t *task) bool { return a(t) && b(t) }
}
