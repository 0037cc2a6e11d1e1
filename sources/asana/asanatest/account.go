package asanatest

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Account is the ground truth of a Sim's generated account, for computing
// the records a client should extract. Records are rendered by the same
// code that serves the API, so they match responses exactly. Deleted
// objects are left out everywhere. All methods are safe for concurrent use
// with the Sim serving requests.
type Account struct{ s *Sim }

// ResourceTypes lists the resource types Objects accepts.
func ResourceTypes() []string {
	return []string{"workspace", "user", "team", "team_membership", "custom_field", "project",
		"custom_field_setting", "section", "task", "story", "attachment", "tag", "portfolio",
		"portfolio_membership", "organization_export"}
}

// Objects returns the full record of every live object of resourceType
// ("task", "story", …, see ResourceTypes) in gid order, including the
// [Opt In] fields, decoded as encoding/json decodes API responses
// (numbers are float64). Tasks include subtasks and tasks in no project;
// custom_field_setting includes the settings of projects and portfolios.
func (a *Account) Objects(resourceType string) []map[string]any {
	gids := a.GIDs(resourceType)
	out := make([]map[string]any, 0, len(gids))
	for _, g := range gids {
		if m := a.Object(g); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Object returns the full record (with [Opt In] fields) of the live object
// gid, or nil.
func (a *Account) Object(gid string) map[string]any {
	s := a.s
	s.mu.RLock()
	o, ok := s.d.byGID[gid]
	if ok {
		if d, isD := o.(deletable); isD && d.dead() {
			ok = false
		}
	}
	var k *kind
	if ok {
		k = kindOf(o)
		ok = k != nil
	}
	var b []byte
	if ok {
		rc := rctx{s: s, me: s.d.me, now: s.nowMS()}
		w := &jw{c: &rc}
		w.object(k, renderable(o), projAll)
		b = w.b
	}
	s.mu.RUnlock()
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("asanatest: rendered invalid JSON for %s: %v", gid, err))
	}
	return m
}

// GIDs returns the gids of every live object of resourceType, in gid
// order. It panics on an unknown resource type.
func (a *Account) GIDs(resourceType string) []string {
	s := a.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.d
	var out []string
	switch resourceType {
	case "workspace":
		out = gids(d.workspaces, nil)
	case "user":
		out = gids(d.users, nil)
	case "team":
		out = gids(d.teams, nil)
	case "team_membership":
		out = gids(d.teamMembers, nil)
	case "custom_field":
		out = gids(d.fields, nil)
	case "project":
		out = gids(d.projects, nil)
	case "custom_field_setting":
		out = gids(d.settings, nil)
	case "section":
		out = gids(d.sections, nil)
	case "task":
		out = gids(d.tasks, nil)
	case "story":
		out = gids(d.stories, nil)
	case "attachment":
		out = gids(d.attachments, nil)
	case "tag":
		out = gids(d.tags, nil)
	case "portfolio":
		out = gids(d.portfolios, nil)
	case "portfolio_membership":
		out = gids(d.pmembers, nil)
	case "organization_export":
		out = gids(d.exports, nil)
	default:
		panic("asanatest: unknown resource type " + resourceType)
	}
	slices.SortFunc(out, cmpGID)
	return out
}

// Counts returns the number of live objects per resource type.
func (a *Account) Counts() map[string]int {
	m := map[string]int{}
	for _, t := range ResourceTypes() {
		m[t] = len(a.GIDs(t))
	}
	return m
}

func gids[T deletable](xs []T, keep func(T) bool) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !x.dead() && (keep == nil || keep(x)) {
			out = append(out, gidOf(x))
		}
	}
	return out
}

// Me returns the gid of the user the tokens belong to.
func (a *Account) Me() string { return a.s.d.me.gid }

// Organization returns the gid of the premium organization.
func (a *Account) Organization() string { return a.s.d.org.gid }

// PersonalWorkspace returns the gid of the free personal workspace.
func (a *Account) PersonalWorkspace() string { return a.s.d.free.gid }

// index helpers: each returns gids in the order the API lists them, or nil
// if the parent is unknown.

func listGIDs[P any, T deletable](a *Account, parent string, get func(P) []T, keep func(T) bool) []string {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	p, ok := a.s.d.byGID[parent].(P)
	if !ok {
		return nil
	}
	return gids(get(p), keep)
}

// WorkspaceUsers returns the users of a workspace (GET /users?workspace=).
func (a *Account) WorkspaceUsers(workspaceGID string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*user { return w.users }, nil)
}

// Teams returns the teams of an organization.
func (a *Account) Teams(workspaceGID string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*team { return w.teams }, nil)
}

// TeamMemberships returns the memberships of a team.
func (a *Account) TeamMemberships(teamGID string) []string {
	return listGIDs(a, teamGID, func(t *team) []*teamMembership { return t.members }, nil)
}

// Projects returns the projects of a workspace, archived included.
func (a *Account) Projects(workspaceGID string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*project { return w.projects }, nil)
}

// Sections returns the sections of a project.
func (a *Account) Sections(projectGID string) []string {
	return listGIDs(a, projectGID, func(p *project) []*section { return p.sections }, nil)
}

// ProjectTasks returns the tasks listed in a project (GET
// /projects/{gid}/tasks): its top-level tasks and subtasks added to it.
func (a *Account) ProjectTasks(projectGID string) []string {
	a.s.mu.RLock()
	p, _ := a.s.d.byGID[projectGID].(*project)
	a.s.mu.RUnlock()
	if p == nil {
		return nil
	}
	return listGIDs(a, projectGID, func(p *project) []*task { return p.tasks }, inProject(p))
}

// SectionTasks returns the tasks of a section.
func (a *Account) SectionTasks(sectionGID string) []string {
	a.s.mu.RLock()
	s, _ := a.s.d.byGID[sectionGID].(*section)
	a.s.mu.RUnlock()
	if s == nil {
		return nil
	}
	return listGIDs(a, sectionGID, func(s *section) []*task { return s.tasks }, inSection(s))
}

// Subtasks returns the direct subtasks of a task.
func (a *Account) Subtasks(taskGID string) []string {
	return listGIDs(a, taskGID, func(t *task) []*task { return t.subtasks }, nil)
}

// Stories returns the stories of a task.
func (a *Account) Stories(taskGID string) []string {
	return listGIDs(a, taskGID, func(t *task) []*story { return t.stories }, nil)
}

// Attachments returns the attachments of a task or project.
func (a *Account) Attachments(parent string) []string {
	if g := listGIDs(a, parent, func(t *task) []*attachment { return t.attachments }, nil); g != nil {
		return g
	}
	return listGIDs(a, parent, func(p *project) []*attachment { return p.attachments }, nil)
}

// Tags returns the tags of a workspace.
func (a *Account) Tags(workspaceGID string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*tag { return w.tags }, nil)
}

// CustomFields returns the custom fields of a workspace.
func (a *Account) CustomFields(workspaceGID string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*customField { return w.fields }, nil)
}

// CustomFieldSettings returns the custom field settings of a project.
func (a *Account) CustomFieldSettings(projectGID string) []string {
	return listGIDs(a, projectGID, func(p *project) []*customFieldSetting { return p.settings }, nil)
}

// AssignedTasks returns the tasks assigned to a user in a workspace (GET
// /tasks?assignee=&workspace=), in or out of projects, subtasks included.
func (a *Account) AssignedTasks(userGID, workspaceGID string) []string {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	u, ok1 := a.s.d.byGID[userGID].(*user)
	w, ok2 := a.s.d.byGID[workspaceGID].(*workspace)
	if !ok1 || !ok2 {
		return nil
	}
	return gids(a.s.d.assigned[assignedKey(u, w)], func(t *task) bool { return t.assignee == u })
}

// Portfolios returns the portfolios of a workspace, and those owned by
// owner when owner is not "".
func (a *Account) Portfolios(workspaceGID, owner string) []string {
	return listGIDs(a, workspaceGID, func(w *workspace) []*portfolio { return w.portfolios },
		func(p *portfolio) bool { return owner == "" || p.owner.gid == owner })
}

// PortfolioItems returns the projects of a portfolio.
func (a *Account) PortfolioItems(portfolioGID string) []string {
	return listGIDs(a, portfolioGID, func(p *portfolio) []*project { return p.items }, nil)
}

// PortfolioMemberships returns the memberships of a portfolio.
func (a *Account) PortfolioMemberships(portfolioGID string) []string {
	return listGIDs(a, portfolioGID, func(p *portfolio) []*portfolioMembership { return p.memberships }, nil)
}

// OrganizationExports returns the organization exports (generated and
// created).
func (a *Account) OrganizationExports() []string { return a.GIDs("organization_export") }

// TypeOf returns the resource type of a live object, or "".
func (a *Account) TypeOf(gid string) string {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	o, ok := a.s.d.byGID[gid]
	if !ok {
		return ""
	}
	if d, isD := o.(deletable); isD && d.dead() {
		return ""
	}
	if k := kindOf(o); k != nil {
		return k.name
	}
	return ""
}

// Events returns, in order, every event emitted so far that a
// subscription to resourceGID (a task or project) would receive, rendered
// as GET /events renders them.
func (a *Account) Events(resourceGID string) []map[string]any {
	s := a.s
	s.mu.RLock()
	rc := rctx{s: s, me: s.d.me, now: s.nowMS()}
	w := &jw{c: &rc}
	w.b = append(w.b, '[')
	for i, e := range s.events.byTarget[resourceGID] {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.object(kEvent, e, projFull)
	}
	w.b = append(w.b, ']')
	s.mu.RUnlock()
	var out []map[string]any
	if err := json.Unmarshal(w.b, &out); err != nil {
		panic(fmt.Sprintf("asanatest: rendered invalid JSON for events: %v", err))
	}
	return out
}

// LoneTask returns a task of an organization project that is in that
// project alone, with no assignee and no parent (a task whose one owning
// listing is its project's), the project, and another project of the
// organization; "" when the account has none.
func (a *Account) LoneTask() (task, project, other string) {
	projects := a.Projects(a.Organization())
	for _, p := range projects {
		for _, tk := range a.ProjectTasks(p) {
			o := a.Object(tk)
			if pr, _ := o["projects"].([]any); o["assignee"] == nil && o["parent"] == nil && len(pr) == 1 {
				task, project = tk, p
				break
			}
		}
		if task != "" {
			break
		}
	}
	for _, p := range projects {
		if p != project {
			other = p
		}
	}
	if task == "" || other == "" {
		return "", "", ""
	}
	return task, project, other
}
