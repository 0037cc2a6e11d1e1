package asanatest

import (
	"net/http"
	"strings"
)

// route is one API operation: a method and a path pattern relative to
// /api/1.0 whose {name} segments are parameters.
type route struct {
	method  string
	pattern string
	segs    []string
	h       func(c *call)
}

var routes []*route

func init() {
	add := func(method, pattern string, h func(c *call)) {
		routes = append(routes, &route{method: method, pattern: pattern, segs: strings.Split(pattern, "/"), h: h})
	}
	get := func(pattern string, h func(c *call)) { add(http.MethodGet, pattern, h) }

	get("users/me", (*call).getMe)
	get("users", (*call).listUsers)
	get("users/{user_gid}", (*call).getUser)
	get("workspaces", (*call).listWorkspaces)
	get("workspaces/{workspace_gid}", (*call).getWorkspace)
	get("workspaces/{workspace_gid}/users", (*call).listWorkspaceUsers)
	get("workspaces/{workspace_gid}/teams", (*call).listTeams)
	get("organizations/{workspace_gid}/teams", (*call).listTeams)
	get("teams/{team_gid}", (*call).getTeam)
	get("teams/{team_gid}/team_memberships", (*call).listTeamMembershipsForTeam)
	get("team_memberships", (*call).listTeamMemberships)
	get("team_memberships/{team_membership_gid}", (*call).getTeamMembership)
	get("workspaces/{workspace_gid}/custom_fields", (*call).listCustomFields)
	get("custom_fields/{custom_field_gid}", (*call).getCustomField)
	get("projects", (*call).listProjects)
	get("workspaces/{workspace_gid}/projects", (*call).listWorkspaceProjects)
	get("teams/{team_gid}/projects", (*call).listTeamProjects)
	get("projects/{project_gid}", (*call).getProject)
	get("projects/{project_gid}/custom_field_settings", (*call).listCustomFieldSettings)
	get("projects/{project_gid}/sections", (*call).listSections)
	get("projects/{project_gid}/tasks", (*call).listProjectTasks)
	get("sections/{section_gid}", (*call).getSection)
	get("sections/{section_gid}/tasks", (*call).listSectionTasks)
	get("tasks", (*call).listTasks)
	get("tasks/{task_gid}", (*call).getTask)
	get("tasks/{task_gid}/subtasks", (*call).listSubtasks)
	get("tasks/{task_gid}/stories", (*call).listStories)
	get("tasks/{task_gid}/dependencies", (*call).listDependencies)
	get("tasks/{task_gid}/dependents", (*call).listDependents)
	get("stories/{story_gid}", (*call).getStory)
	get("attachments", (*call).listAttachments)
	get("attachments/{attachment_gid}", (*call).getAttachment)
	get("tags", (*call).listTags)
	get("workspaces/{workspace_gid}/tags", (*call).listWorkspaceTags)
	get("tags/{tag_gid}", (*call).getTag)
	get("tags/{tag_gid}/tasks", (*call).listTagTasks)
	get("portfolios", (*call).listPortfolios)
	get("portfolios/{portfolio_gid}", (*call).getPortfolio)
	get("portfolios/{portfolio_gid}/items", (*call).listPortfolioItems)
	get("portfolio_memberships", (*call).listPortfolioMemberships)
	get("portfolio_memberships/{portfolio_membership_gid}", (*call).getPortfolioMembership)
	get("events", (*call).handleEvents)
	get("organization_exports/{organization_export_gid}", (*call).getOrgExport)
	add(http.MethodPost, "organization_exports", (*call).createOrgExport)
	get("workspaces/{workspace_gid}/tasks/search", (*call).searchTasks)
}

// match finds the route for a path relative to /api/1.0. Literal segments
// win over parameters because literal routes are registered first where
// they overlap (users/me before users/{user_gid}).
func match(method, rel string) (*route, []string) {
	rel = strings.Trim(rel, "/")
	segs := strings.Split(rel, "/")
	for _, rt := range routes {
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		var params []string
		ok := true
		for i, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				params = append(params, segs[i])
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// paramName returns the name of the i-th path parameter without "_gid"
// (the resource word used in error messages).
func (r *route) paramName(i int) string {
	n := 0
	for _, s := range r.segs {
		if strings.HasPrefix(s, "{") {
			if n == i {
				return strings.TrimSuffix(strings.Trim(s, "{}"), "_gid")
			}
			n++
		}
	}
	return ""
}

// route dispatches the call: deny list, routing, handler (under the read
// lock; handlers that change data take the write lock themselves).
func (s *Sim) route(c *call) {
	rel := strings.TrimPrefix(c.r.URL.Path, apiPrefix)
	method := c.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	rt, params := match(method, rel)
	if rt == nil {
		c.fail(404, "No matching route for request")
		return
	}
	c.route, c.params = rt, params
	if s.denied(c) {
		return
	}
	if rt.method == http.MethodPost {
		rt.h(c)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rt.h(c)
}

var filterParams = []string{"workspace", "project", "section", "tag", "parent", "resource", "portfolio",
	"team", "assignee", "user", "owner"}

// denied answers Options.Deny for path and filter gids.
func (s *Sim) denied(c *call) bool {
	if len(s.opts.Deny) == 0 {
		return false
	}
	check := func(word, gid string) bool {
		st, ok := s.opts.Deny[gid]
		if !ok {
			return false
		}
		switch st {
		case 402:
			c.fail(402, "This feature is only available to premium organizations and workspaces.")
		case 403:
			c.fail(403, "You do not have access to this "+word+".")
		case 404:
			c.fail(404, word+": Unknown object: "+gid)
		case 451:
			c.fail(451, "This resource is unavailable for legal reasons.")
		default:
			c.fail(st, http.StatusText(st))
		}
		return true
	}
	for i, p := range c.params {
		if check(c.route.paramName(i), p) {
			return true
		}
	}
	for _, f := range filterParams {
		if v := c.q.Get(f); v != "" && check(f, v) {
			return true
		}
	}
	return false
}
