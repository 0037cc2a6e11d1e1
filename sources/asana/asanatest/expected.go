package asanatest

// What a full sync of the account must produce and cost, computed from the
// account itself, independently of the connector's code: tests and
// benchmarks compare the connector's output and request count with these.

func union(dst map[string]bool, gids []string) {
	for _, g := range gids {
		dst[g] = true
	}
}

func keys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

// reachableTasks is every task the token can reach: the tasks of projects
// and of assignees, and their subtasks at every depth.
func (a *Account) reachableTasks() map[string]bool {
	tasks := map[string]bool{}
	for _, ws := range a.GIDs("workspace") {
		for _, p := range a.Projects(ws) {
			union(tasks, a.ProjectTasks(p))
		}
		for _, u := range a.WorkspaceUsers(ws) {
			union(tasks, a.AssignedTasks(u, ws))
		}
	}
	queue := keys(tasks)
	for len(queue) > 0 {
		t := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, s := range a.Subtasks(t) {
			if !tasks[s] {
				tasks[s] = true
				queue = append(queue, s)
			}
		}
	}
	return tasks
}

// Expected returns, per stream of asana-beam's connector, the primary keys
// of the records a full sync by this account's token must produce: what
// the token can see (the free workspace answers 402 for custom fields and
// portfolios), each once. exports are the configured organization export
// ids. Events are not included: they depend on when the sync subscribed.
func (a *Account) Expected(exports []string) map[string][]string {
	sets := map[string]map[string]bool{}
	add := func(stream string, gids []string) {
		if sets[stream] == nil {
			sets[stream] = map[string]bool{}
		}
		union(sets[stream], gids)
	}
	free := a.PersonalWorkspace()
	for _, ws := range a.GIDs("workspace") {
		add("workspaces", []string{ws})
		add("users", a.WorkspaceUsers(ws))
		add("tags", a.Tags(ws))
		add("teams", a.Teams(ws))
		for _, tm := range a.Teams(ws) {
			add("team_memberships", a.TeamMemberships(tm))
		}
		if ws != free { // 402 on the free workspace
			add("custom_fields", a.CustomFields(ws))
			add("portfolios", a.Portfolios(ws, a.portfolioOwner()))
			for _, pf := range a.Portfolios(ws, a.portfolioOwner()) {
				add("portfolio_items", a.PortfolioItems(pf))
				add("portfolios_memberships", a.PortfolioMemberships(pf))
			}
		}
		for _, p := range a.Projects(ws) {
			add("projects", []string{p})
			add("sections", a.Sections(p))
			add("attachments", a.Attachments(p))
		}
	}
	tasks := a.reachableTasks()
	add("tasks", keys(tasks))
	for t := range tasks {
		add("stories", a.Stories(t))
		add("attachments", a.Attachments(t))
	}
	if a.s.opts.ServiceAccount { // exports are for service accounts only
		add("organization_exports", exports)
	}
	out := map[string][]string{}
	for s, set := range sets {
		out[s] = keys(set)
	}
	for full, twin := range map[string]string{"sections": "sections_compact", "stories": "stories_compact",
		"attachments": "attachments_compact", "portfolios": "portfolios_compact"} {
		out[twin] = out[full]
	}
	return out
}

// RequestFloor is the least number of requests a full sync can make: for
// each parent listing one page per 100 children and at least one request
// (one per project for events).
func (a *Account) RequestFloor(exports []string) int {
	pages := func(n int) int { return max(1, (n+99)/100) }
	n := pages(len(a.GIDs("workspace")))
	free := a.PersonalWorkspace()
	for _, ws := range a.GIDs("workspace") {
		n += pages(len(a.WorkspaceUsers(ws))) + pages(len(a.Tags(ws))) + pages(len(a.Projects(ws)))
		n += pages(len(a.CustomFields(ws))) + pages(len(a.Portfolios(ws, a.portfolioOwner())))
		if ws != free {
			n += pages(len(a.Teams(ws)))
			for _, pf := range a.Portfolios(ws, a.portfolioOwner()) {
				n += pages(len(a.PortfolioItems(pf))) + pages(len(a.PortfolioMemberships(pf)))
			}
		}
		for _, tm := range a.Teams(ws) {
			n += pages(len(a.TeamMemberships(tm)))
		}
		for _, p := range a.Projects(ws) {
			n += pages(len(a.Sections(p))) + pages(len(a.ProjectTasks(p))) + pages(len(a.Attachments(p))) + 1 // events
		}
		for _, u := range a.WorkspaceUsers(ws) {
			n += pages(len(a.AssignedTasks(u, ws)))
		}
	}
	for t := range a.reachableTasks() {
		n += pages(len(a.Stories(t))) + pages(len(a.Attachments(t)))
		if subs := len(a.Subtasks(t)); subs > 0 {
			n += pages(subs)
		}
	}
	return n + len(exports)
}

// portfolioOwner is whose portfolios the token lists: a service account
// lists every portfolio (no owner), anyone else their own.
func (a *Account) portfolioOwner() string {
	if a.s.opts.ServiceAccount {
		return ""
	}
	return a.Me()
}
