package asanatest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handlers for the API routes. They run under the Sim's read lock (except
// POST handlers) and answer through call.page, call.one or call.fail.
//
// Error wordings follow what Asana is documented or observed to answer
// (see asana-api-semantics.md §4); where nothing is known they use the
// same "<param>: <reason>" shape.

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lookupAny resolves a gid given in parameter param. It answers 400 for a
// malformed gid and 404 for an unknown or deleted one.
func (c *call) lookupAny(param, gid string) (any, bool) {
	if gid == "" {
		c.fail(400, param+": Not a Long")
		return nil, false
	}
	if !allDigits(gid) {
		c.fail(400, param+": Not a recognized ID: "+gid)
		return nil, false
	}
	o, ok := c.s.d.byGID[gid]
	if d, isD := o.(deletable); !ok || isD && d.dead() {
		c.fail(404, param+": Unknown object: "+gid)
		return nil, false
	}
	return o, true
}

// lookup resolves a gid of a given type; a gid of another type is unknown.
func lookup[T any](c *call, param, gid string) (T, bool) {
	var zero T
	o, ok := c.lookupAny(param, gid)
	if !ok {
		return zero, false
	}
	t, ok := o.(T)
	if !ok {
		c.fail(404, param+": Unknown object: "+gid)
		return zero, false
	}
	return t, true
}

// pathObj resolves the i-th path parameter.
func pathObj[T any](c *call, i int) (T, bool) {
	return lookup[T](c, c.route.paramName(i), c.params[i])
}

// lookupUser accepts "me", an email or a gid.
func (c *call) lookupUser(param, v string) (*user, bool) {
	switch {
	case v == "me":
		return c.s.d.me, true
	case strings.Contains(v, "@"):
		for _, u := range c.s.d.users {
			if !u.deleted && strings.EqualFold(u.email, v) {
				return u, true
			}
		}
		c.fail(404, param+": Unknown object: "+v)
		return nil, false
	}
	return lookup[*user](c, param, v)
}

// queryObj resolves an optional filter parameter; present reports whether
// it was given.
func queryObj[T any](c *call, param string) (v T, present, ok bool) {
	vs, present := c.q[param]
	if !present {
		return v, false, true
	}
	v, ok = lookup[T](c, param, vs[0])
	return v, true, ok
}

func (c *call) boolParam(name string) (v, present, ok bool) {
	s, present := c.q[name]
	if !present {
		return false, false, true
	}
	switch s[0] {
	case "true":
		return true, true, true
	case "false":
		return false, true, true
	}
	c.fail(400, name+": Not a boolean: "+s[0])
	return false, true, false
}

// timeParam parses a date-time filter (RFC 3339, or a date meaning its
// midnight UTC).
func (c *call) timeParam(name string) (ms int64, present, ok bool) {
	s, present := c.q[name]
	if !present {
		return 0, false, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s[0]); err == nil {
		return t.UnixMilli(), true, true
	}
	if t, err := time.Parse("2006-01-02", s[0]); err == nil {
		return t.UnixMilli(), true, true
	}
	c.fail(400, name+": Not a valid date-time: "+s[0])
	return 0, true, false
}

// ---- users and workspaces ----

func (c *call) getMe() { c.one(kUser, c.s.d.me) }

func (c *call) getUser() {
	if u, ok := c.lookupUser("user", c.params[0]); ok {
		c.one(kUser, u)
	}
}

func (c *call) listUsers() {
	ws, hasWS, ok := queryObj[*workspace](c, "workspace")
	if !ok {
		return
	}
	tm, hasTeam, ok := queryObj[*team](c, "team")
	if !ok {
		return
	}
	switch {
	case hasTeam:
		us := make([]*user, 0, len(tm.members))
		for _, m := range tm.members {
			if !m.dead() {
				us = append(us, m.user)
			}
		}
		c.page(listOf(kUser, us, func(u *user) bool { return !hasWS || slices.Contains(u.workspaces, ws) }))
	case hasWS:
		c.page(listOf(kUser, ws.users, nil))
	default:
		c.page(listOf(kUser, c.s.d.users, nil))
	}
}

func (c *call) listWorkspaces() { c.page(listOf(kWorkspace, c.s.d.me.workspaces, nil)) }

func (c *call) getWorkspace() {
	if ws, ok := pathObj[*workspace](c, 0); ok {
		c.one(kWorkspace, ws)
	}
}

// listWorkspaceUsers: "sorted alphabetically and limited to 2000".
func (c *call) listWorkspaceUsers() {
	if ws, ok := pathObj[*workspace](c, 0); ok {
		l := listOf(kUser, ws.usersByName, nil)
		l.max = 2000
		c.page(l)
	}
}

// ---- teams ----

// listTeams serves both /workspaces/{gid}/teams and the legacy
// /organizations/{gid}/teams. A personal workspace has no teams: the list
// is empty.
func (c *call) listTeams() {
	if ws, ok := pathObj[*workspace](c, 0); ok {
		c.page(listOf(kTeam, ws.teams, nil))
	}
}

func (c *call) getTeam() {
	if t, ok := pathObj[*team](c, 0); ok {
		c.one(kTeam, t)
	}
}

func (c *call) listTeamMembershipsForTeam() {
	if t, ok := pathObj[*team](c, 0); ok {
		c.page(listOf(kTeamMembership, t.members, nil))
	}
}

func (c *call) listTeamMemberships() {
	t, hasTeam, ok := queryObj[*team](c, "team")
	if !ok {
		return
	}
	if hasTeam {
		c.page(listOf(kTeamMembership, t.members, nil))
		return
	}
	uv, hasUser := c.q["user"]
	ws, hasWS, ok := queryObj[*workspace](c, "workspace")
	if !ok {
		return
	}
	switch {
	case !hasUser && !hasWS:
		c.fail(400, "Must specify exactly one of team, or user + workspace")
		return
	case !hasWS:
		c.fail(400, "workspace: Missing input")
		return
	case !hasUser:
		c.fail(400, "user: Missing input")
		return
	}
	u, ok := c.lookupUser("user", uv[0])
	if !ok {
		return
	}
	c.page(listOf(kTeamMembership, c.s.d.teamMembers, func(m *teamMembership) bool {
		return m.user == u && m.team.org == ws
	}))
}

func (c *call) getTeamMembership() {
	if m, ok := pathObj[*teamMembership](c, 0); ok {
		c.one(kTeamMembership, m)
	}
}

// ---- custom fields ----

func fieldListing(fs []*customField) listing {
	return listing{kind: kCustomField, n: len(fs), full: true, at: func(i int) (any, bool) {
		if fs[i].dead() {
			return nil, false
		}
		return &cfValue{field: fs[i]}, true
	}}
}

func (c *call) listCustomFields() {
	ws, ok := pathObj[*workspace](c, 0)
	if !ok {
		return
	}
	if !ws.premium {
		c.fail(402, "Custom Fields are not available for free users or guests.")
		return
	}
	c.page(fieldListing(ws.fields))
}

func (c *call) getCustomField() {
	if f, ok := pathObj[*customField](c, 0); ok {
		c.one(kCustomField, &cfValue{field: f})
	}
}

// ---- projects ----

func (c *call) archivedFilter() (func(*project) bool, bool) {
	a, has, ok := c.boolParam("archived")
	if !ok {
		return nil, false
	}
	if !has {
		return nil, true
	}
	return func(p *project) bool { return p.archived == a }, true
}

func (c *call) listProjects() {
	keep, ok := c.archivedFilter()
	if !ok {
		return
	}
	ws, hasWS, ok := queryObj[*workspace](c, "workspace")
	if !ok {
		return
	}
	t, hasTeam, ok := queryObj[*team](c, "team")
	if !ok {
		return
	}
	switch {
	case hasTeam:
		c.page(listOf(kProject, t.projects, func(p *project) bool {
			return (!hasWS || p.ws == ws) && (keep == nil || keep(p))
		}))
	case hasWS:
		c.page(listOf(kProject, ws.projects, keep))
	default:
		c.page(listOf(kProject, c.s.d.projects, keep))
	}
}

func (c *call) listWorkspaceProjects() {
	ws, ok := pathObj[*workspace](c, 0)
	if !ok {
		return
	}
	if keep, ok := c.archivedFilter(); ok {
		c.page(listOf(kProject, ws.projects, keep))
	}
}

func (c *call) listTeamProjects() {
	t, ok := pathObj[*team](c, 0)
	if !ok {
		return
	}
	if keep, ok := c.archivedFilter(); ok {
		c.page(listOf(kProject, t.projects, keep))
	}
}

func (c *call) getProject() {
	if p, ok := pathObj[*project](c, 0); ok {
		c.one(kProject, p)
	}
}

func (c *call) listCustomFieldSettings() {
	p, ok := pathObj[*project](c, 0)
	if !ok {
		return
	}
	if !p.ws.premium {
		c.fail(402, "Custom Field Settings are not available for free users.")
		return
	}
	l := listOf(kCustomFieldSetting, p.settings, nil)
	l.full = true
	c.page(l)
}

func (c *call) listSections() {
	if p, ok := pathObj[*project](c, 0); ok {
		c.page(listOf(kSection, p.sections, nil))
	}
}

func (c *call) getSection() {
	if s, ok := pathObj[*section](c, 0); ok {
		c.one(kSection, s)
	}
}

// ---- tasks ----

// taskFilter builds the completed_since / modified_since predicate.
// completed_since keeps incomplete tasks and tasks completed at or after
// the time ("now": incomplete only); modified_since keeps tasks whose
// modified_at is at or after the time.
func (c *call) taskFilter(withModified bool) (func(*task) bool, bool) {
	var completedSince int64 = -1
	if vs, ok := c.q["completed_since"]; ok {
		if vs[0] == "now" {
			completedSince = 1 << 62
		} else {
			ms, _, ok := c.timeParam("completed_since")
			if !ok {
				return nil, false
			}
			completedSince = ms
		}
	}
	var modifiedSince int64 = -1
	if withModified {
		ms, has, ok := c.timeParam("modified_since")
		if !ok {
			return nil, false
		}
		if has {
			modifiedSince = ms
		}
	}
	if completedSince < 0 && modifiedSince < 0 {
		return nil, true
	}
	return func(t *task) bool {
		if completedSince >= 0 && t.completed && t.completedAt < completedSince {
			return false
		}
		return modifiedSince < 0 || t.modifiedAt >= modifiedSince
	}, true
}

func (c *call) listProjectTasks() {
	p, ok := pathObj[*project](c, 0)
	if !ok {
		return
	}
	if keep, ok := c.taskFilter(false); ok {
		c.page(listOf(kTask, p.tasks, and(inProject(p), keep)))
	}
}

func (c *call) listSectionTasks() {
	s, ok := pathObj[*section](c, 0)
	if !ok {
		return
	}
	if keep, ok := c.taskFilter(false); ok {
		c.page(listOf(kTask, s.tasks, and(inSection(s), keep)))
	}
}

const tasksFilterMsg = "Must specify exactly one of project, tag, section, user task list, or assignee + workspace"

// listTasks implements GET /tasks and its filter validation.
func (c *call) listTasks() {
	has := func(k string) bool { _, ok := c.q[k]; return ok }
	n := 0
	for _, k := range []string{"project", "section", "tag", "user_task_list"} {
		if has(k) {
			n++
		}
	}
	a, w := has("assignee"), has("workspace")
	switch {
	case n == 0 && !a && !w:
		c.fail(400, "You should specify one of workspace, project, tag, section, user_task_list")
		return
	case a != w:
		c.fail(400, tasksFilterMsg)
		return
	case a && n > 0, n > 1:
		c.fail(400, tasksFilterMsg)
		return
	}
	keep, ok := c.taskFilter(true)
	if !ok {
		return
	}
	switch {
	case has("project"):
		if p, ok := lookup[*project](c, "project", c.q.Get("project")); ok {
			c.page(listOf(kTask, p.tasks, and(inProject(p), keep)))
		}
	case has("section"):
		if s, ok := lookup[*section](c, "section", c.q.Get("section")); ok {
			c.page(listOf(kTask, s.tasks, and(inSection(s), keep)))
		}
	case has("tag"):
		if t, ok := lookup[*tag](c, "tag", c.q.Get("tag")); ok {
			c.page(listOf(kTask, t.tasks, and(hasTag(t), keep)))
		}
	case has("user_task_list"):
		// The simulated account has no user task lists.
		c.fail(404, "user_task_list: Unknown object: "+c.q.Get("user_task_list"))
	default:
		ws, ok := lookup[*workspace](c, "workspace", c.q.Get("workspace"))
		if !ok {
			return
		}
		u, ok := c.lookupUser("assignee", c.q.Get("assignee"))
		if !ok {
			return
		}
		c.page(listOf(kTask, c.s.d.assigned[assignedKey(u, ws)], func(t *task) bool {
			return t.assignee == u && (keep == nil || keep(t))
		}))
	}
}

func (c *call) getTask() {
	if t, ok := pathObj[*task](c, 0); ok {
		c.one(kTask, t)
	}
}

func (c *call) listSubtasks() {
	if t, ok := pathObj[*task](c, 0); ok {
		c.page(listOf(kTask, t.subtasks, nil))
	}
}

func (c *call) listStories() {
	if t, ok := pathObj[*task](c, 0); ok {
		c.page(listOf(kStory, t.stories, nil))
	}
}

func (c *call) listDependencies() { c.listDeps(func(t *task) []*task { return t.dependencies }) }
func (c *call) listDependents()   { c.listDeps(func(t *task) []*task { return t.dependents }) }

func (c *call) listDeps(get func(*task) []*task) {
	t, ok := pathObj[*task](c, 0)
	if !ok {
		return
	}
	if !t.ws.premium {
		c.fail(402, "Dependencies are only available to premium users.")
		return
	}
	c.page(listOf(kTask, get(t), nil))
}

func (c *call) getStory() {
	if s, ok := pathObj[*story](c, 0); ok {
		c.one(kStory, s)
	}
}

// searchTasks is a small implementation of GET /workspaces/{gid}/tasks/search:
// premium only (402), not paginated (limit 1..100, default 20), filters
// text, completed, modified_at/created_at .after/.before, projects.any,
// assignee.any, sorted by sort_by (modified_at, created_at, completed_at,
// due_date, likes) and sort_ascending.
func (c *call) searchTasks() {
	ws, ok := pathObj[*workspace](c, 0)
	if !ok {
		return
	}
	if !ws.premium {
		c.fail(402, "Search is only available to premium users.")
		return
	}
	limit := 20
	if v := c.q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			c.fail(400, "limit: Must be between 1 and 100, got "+v)
			return
		}
		limit = n
	}
	var preds []func(*task) bool
	for _, k := range []string{"modified_at", "created_at"} {
		get := func(t *task) int64 { return t.modifiedAt }
		if k == "created_at" {
			get = func(t *task) int64 { return t.createdAt }
		}
		if ms, has, ok := c.timeParam(k + ".after"); !ok {
			return
		} else if has {
			preds = append(preds, func(t *task) bool { return get(t) > ms })
		}
		if ms, has, ok := c.timeParam(k + ".before"); !ok {
			return
		} else if has {
			preds = append(preds, func(t *task) bool { return get(t) < ms })
		}
	}
	if b, has, ok := c.boolParam("completed"); !ok {
		return
	} else if has {
		preds = append(preds, func(t *task) bool { return t.completed == b })
	}
	if txt := c.q.Get("text"); txt != "" {
		low := strings.ToLower(txt)
		preds = append(preds, func(t *task) bool { return strings.Contains(strings.ToLower(t.name), low) })
	}
	if v := c.q.Get("projects.any"); v != "" {
		ids := strings.Split(v, ",")
		preds = append(preds, func(t *task) bool {
			return slices.ContainsFunc(t.memberships, func(m membership) bool { return slices.Contains(ids, m.project.gid) })
		})
	}
	if v := c.q.Get("assignee.any"); v != "" {
		ids := strings.Split(strings.ReplaceAll(v, "me", c.s.d.me.gid), ",")
		preds = append(preds, func(t *task) bool { return t.assignee != nil && slices.Contains(ids, t.assignee.gid) })
	}
	var found []*task
	for _, t := range c.s.d.tasks {
		if t.ws != ws || t.dead() {
			continue
		}
		keep := true
		for _, p := range preds {
			if !p(t) {
				keep = false
				break
			}
		}
		if keep {
			found = append(found, t)
		}
	}
	key := func(t *task) int64 { return t.modifiedAt }
	switch c.q.Get("sort_by") {
	case "created_at":
		key = func(t *task) int64 { return t.createdAt }
	case "completed_at":
		key = func(t *task) int64 { return t.completedAt }
	case "due_date":
		key = func(t *task) int64 { return int64(t.dueOn) }
	case "likes":
		key = func(t *task) int64 { return int64(len(t.likes)) }
	}
	asc := c.q.Get("sort_ascending") == "true"
	slices.SortStableFunc(found, func(a, b *task) int {
		ka, kb := key(a), key(b)
		if ka == kb {
			return cmpGID(a.gid, b.gid)
		}
		if (ka < kb) == asc {
			return -1
		}
		return 1
	})
	found = found[:min(len(found), limit)]
	c.q.Del("limit") // not paginated: no next_page
	c.page(listOf(kTask, found, nil))
}

// ---- attachments and tags ----

func (c *call) listAttachments() {
	pv, ok := c.q["parent"]
	if !ok {
		c.fail(400, "parent: Missing input")
		return
	}
	o, ok := c.lookupAny("parent", pv[0])
	if !ok {
		return
	}
	switch p := o.(type) {
	case *task:
		c.page(listOf(kAttachment, p.attachments, nil))
	case *project:
		c.page(listOf(kAttachment, p.attachments, nil))
	default:
		c.fail(400, "parent: Must be a task, project or project brief: "+pv[0])
	}
}

func (c *call) getAttachment() {
	if a, ok := pathObj[*attachment](c, 0); ok {
		c.one(kAttachment, a)
	}
}

func (c *call) listTags() {
	ws, hasWS, ok := queryObj[*workspace](c, "workspace")
	if !ok {
		return
	}
	if hasWS {
		c.page(listOf(kTag, ws.tags, nil))
		return
	}
	c.page(listOf(kTag, c.s.d.tags, nil))
}

func (c *call) listWorkspaceTags() {
	if ws, ok := pathObj[*workspace](c, 0); ok {
		c.page(listOf(kTag, ws.tags, nil))
	}
}

func (c *call) getTag() {
	if t, ok := pathObj[*tag](c, 0); ok {
		c.one(kTag, t)
	}
}

func (c *call) listTagTasks() {
	if t, ok := pathObj[*tag](c, 0); ok {
		c.page(listOf(kTask, t.tasks, hasTag(t)))
	}
}

// ---- portfolios ----

// listPortfolios follows getPortfolios: regular users only get the
// portfolios they own (owner must be omitted or themselves; another owner
// is 403); a service account gets all portfolios, or the owner's.
func (c *call) listPortfolios() {
	wv, ok := c.q["workspace"]
	if !ok {
		c.fail(400, "workspace: Missing input")
		return
	}
	ws, ok := lookup[*workspace](c, "workspace", wv[0])
	if !ok {
		return
	}
	if !ws.premium {
		c.fail(402, "Portfolios are only available to premium organizations and workspaces.")
		return
	}
	me := c.s.d.me
	var owner *user
	if ov, has := c.q["owner"]; has {
		if owner, ok = c.lookupUser("owner", ov[0]); !ok {
			return
		}
	}
	if !c.s.opts.ServiceAccount {
		if owner != nil && owner != me {
			c.fail(403, "You do not have access to the portfolios of this user. Only a service account can list portfolios owned by other users.")
			return
		}
		owner = me
	}
	c.page(listOf(kPortfolio, ws.portfolios, func(p *portfolio) bool { return owner == nil || p.owner == owner }))
}

// portfolioAccess: regular users see the portfolios they are members of.
func (c *call) portfolioAccess(p *portfolio) bool {
	if c.s.opts.ServiceAccount || slices.Contains(p.members, c.s.d.me) {
		return true
	}
	c.fail(403, "You do not have access to this portfolio.")
	return false
}

func (c *call) getPortfolio() {
	if p, ok := pathObj[*portfolio](c, 0); ok && c.portfolioAccess(p) {
		c.one(kPortfolio, p)
	}
}

func (c *call) listPortfolioItems() {
	if p, ok := pathObj[*portfolio](c, 0); ok && c.portfolioAccess(p) {
		c.page(listOf(kProject, p.items, nil))
	}
}

func (c *call) listPortfolioMemberships() {
	p, hasP, ok := queryObj[*portfolio](c, "portfolio")
	if !ok {
		return
	}
	if hasP {
		if c.portfolioAccess(p) {
			c.page(listOf(kPortfolioMembership, p.memberships, nil))
		}
		return
	}
	ws, hasWS, ok := queryObj[*workspace](c, "workspace")
	if !ok {
		return
	}
	uv, hasUser := c.q["user"]
	if !hasWS || !hasUser {
		c.fail(400, "Must specify portfolio, or workspace and user")
		return
	}
	u, ok := c.lookupUser("user", uv[0])
	if !ok {
		return
	}
	c.page(listOf(kPortfolioMembership, c.s.d.pmembers, func(m *portfolioMembership) bool {
		return m.user == u && m.portfolio.ws == ws && (c.s.opts.ServiceAccount || slices.Contains(m.portfolio.members, c.s.d.me))
	}))
}

func (c *call) getPortfolioMembership() {
	if m, ok := pathObj[*portfolioMembership](c, 0); ok && c.portfolioAccess(m.portfolio) {
		c.one(kPortfolioMembership, m)
	}
}

// ---- organization exports ----

const exportsForbidden = "Organization exports are only available to Service Accounts of an Enterprise organization."

// exportState is the state of an export: fixed for generated exports,
// derived from the age for created ones (pending for the first third of
// Options.ExportDuration, started until its end, then finished).
func exportState(c *rctx, e *orgExport) string {
	if e.state != "" {
		return e.state
	}
	age := time.Duration(c.now-e.createdAt) * time.Millisecond
	d := c.s.opts.ExportDuration
	switch {
	case age < d/3:
		return "pending"
	case age < d:
		return "started"
	}
	return "finished"
}

func (c *call) getOrgExport() {
	if !c.s.opts.ServiceAccount {
		c.fail(403, exportsForbidden)
		return
	}
	if e, ok := pathObj[*orgExport](c, 0); ok {
		c.one(kOrgExport, e)
	}
}

// createOrgExport implements POST /organization_exports with a JSON body
// {"data":{"organization":"<gid>"}} (or a form field organization).
func (c *call) createOrgExport() {
	if !c.s.opts.ServiceAccount {
		c.fail(403, exportsForbidden)
		return
	}
	org := ""
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := c.r.ParseForm(); err == nil {
			org = c.r.PostForm.Get("organization")
		}
	} else {
		var body struct {
			Data struct {
				Organization string `json:"organization"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(io.LimitReader(c.r.Body, 1<<20))
		if len(b) > 0 && json.Unmarshal(b, &body) != nil {
			c.fail(400, "Could not parse request data, invalid JSON")
			return
		}
		org = body.Data.Organization
	}
	if org == "" {
		c.fail(400, "organization: Missing input")
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := lookup[*workspace](c, "organization", org)
	if !ok {
		return
	}
	if !ws.isOrg {
		c.fail(400, "organization: Must be an organization: "+org)
		return
	}
	e := &orgExport{gid: strconv.FormatUint(s.newGIDLocked(), 10), org: ws, createdAt: c.now.UnixMilli()}
	s.d.byGID[e.gid] = e
	ws.exports = append(ws.exports, e)
	s.d.exports = append(s.d.exports, e)
	c.setHeader("Location", c.baseURL()+"/organization_exports/"+e.gid)
	c.oneWith(kOrgExport, e, http.StatusCreated)
}
