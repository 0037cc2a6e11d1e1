package main

// The requests Airbyte's source-asana would make for a full sync of an
// account, computed from its manifest (airbyte-integrations/connectors/
// source-asana/manifest.yaml, declarative 6.48.15) and the account, for
// comparison with ours. The model, stream by stream:
//
//   - Every stream pages at 100 (CursorPagination, page_size 100): a listing
//     of n children costs max(1, ⌈n/100⌉) requests. A 402 (custom fields and
//     portfolios of a free workspace) costs one request.
//   - A SubstreamPartitionRouter makes one partition per record of its
//     parent, duplicates included (a task in two projects is two records of
//     tasks; a user in two workspaces two records of users).
//   - Streams with use_cache (workspaces, projects, sections_compact, tasks,
//     stories_compact, attachments_compact) answer a repeated request from
//     their HTTP cache: each distinct request is counted once, however often
//     the stream is read as a parent. The other streams make their requests
//     again each time they are read, as a stream or as a parent (users,
//     teams, portfolios_compact, portfolios).
//   - sections, stories, attachments and portfolios GET one record per
//     record of their compact parent.
//   - portfolios_compact crosses workspaces × users (owner=user).
//   - attachments_compact and events cross projects × tasks (a list of two
//     routers, a CartesianProductStreamSlicer, whose shared key parent_gid
//     takes the first router's value): attachments_compact asks for each
//     project's attachments once per task record (cached: counted once per
//     project) and attachments GETs every one of them again for each task
//     record; events asks for each task's events once per project, and
//     every call is a 412 (no sync token), one request each.
//
// The union reading replaces the two products by projects ∪ tasks: the
// attachments of every project and of every task record, and one events
// call per project and per task record. That is what the manifest means;
// the products are a bug of the CDK's semantics.
//
// Airbyte reads less than we do for these requests: no subtasks and no
// task outside a project (tasks lists project tasks only), so none of
// their stories or attachments either.

// airbyteAccount is what the count needs to know of an account.
// *asanatest.Account has these methods.
type airbyteAccount interface {
	GIDs(resourceType string) []string
	PersonalWorkspace() string
	WorkspaceUsers(workspace string) []string
	Tags(workspace string) []string
	Teams(workspace string) []string
	TeamMemberships(team string) []string
	CustomFields(workspace string) []string
	Projects(workspace string) []string
	Sections(project string) []string
	ProjectTasks(project string) []string
	Stories(task string) []string
	Attachments(parent string) []string
	Portfolios(workspace, owner string) []string
	PortfolioItems(portfolio string) []string
	PortfolioMemberships(portfolio string) []string
}

// airbytePageSize is the manifest's page_size (and limit) on every stream.
const airbytePageSize = 100

func airbytePages(n int) int { return max(1, (n+airbytePageSize-1)/airbytePageSize) }

// airbyteRequests returns, per stream of Airbyte's source-asana, the
// requests a full sync of the account makes with exports configured
// organization export ids; union reads the two cross products as unions.
func airbyteRequests(a airbyteAccount, exports int, union bool) map[string]int {
	n := map[string]int{}
	workspaces := a.GIDs("workspace")
	free := a.PersonalWorkspace()

	// Streams read as parents, with their records (duplicates included).
	n["workspaces"] = airbytePages(len(workspaces)) // cached
	var users []string                              // records of users
	usersRequests := 0                              // one read of users
	var projects []string                           // records of projects (cached)
	var teams []string
	teamsRequests := 0
	for _, ws := range workspaces {
		u := a.WorkspaceUsers(ws)
		users = append(users, u...)
		usersRequests += airbytePages(len(u))
		t := a.Teams(ws)
		teams = append(teams, t...)
		teamsRequests += airbytePages(len(t))
		p := a.Projects(ws)
		projects = append(projects, p...)
		n["projects"] += airbytePages(len(p))

		n["tags"] += airbytePages(len(a.Tags(ws)))
		if ws == free {
			n["custom_fields"]++ // 402
		} else {
			n["custom_fields"] += airbytePages(len(a.CustomFields(ws)))
		}
	}
	n["teams"] = teamsRequests
	for _, t := range teams {
		n["team_memberships"] += airbytePages(len(a.TeamMemberships(t)))
	}
	n["team_memberships"] += teamsRequests // teams read again as the parent

	var tasks []string // records of tasks: a task once per project listing it
	for _, p := range projects {
		sections := a.Sections(p)
		n["sections_compact"] += airbytePages(len(sections))
		n["sections"] += len(sections)
		pt := a.ProjectTasks(p)
		n["tasks"] += airbytePages(len(pt))
		tasks = append(tasks, pt...)
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		stories := a.Stories(t)
		if !seen[t] { // cached: a task's second listing is not requested again
			n["stories_compact"] += airbytePages(len(stories))
		}
		n["stories"] += len(stories) // not cached: once per record of stories_compact
		seen[t] = true
	}

	// attachments_compact (cached) and attachments.
	for _, p := range projects {
		at := len(a.Attachments(p))
		if !union && len(tasks) == 0 {
			break // an empty product: no partition
		}
		n["attachments_compact"] += airbytePages(at)
		if union {
			n["attachments"] += at
		} else {
			n["attachments"] += at * len(tasks) // re-read for every task record
		}
	}
	if union {
		clear(seen)
		for _, t := range tasks {
			at := len(a.Attachments(t))
			if !seen[t] {
				n["attachments_compact"] += airbytePages(at)
			}
			n["attachments"] += at
			seen[t] = true
		}
		n["events"] = len(projects) + len(tasks)
	} else {
		n["events"] = len(tasks) * len(projects)
	}

	// portfolios_compact crosses workspaces × users records; it is not
	// cached, nor are users or portfolios, so each read as a parent
	// repeats them.
	compact := 0            // one read of portfolios_compact, without its users
	var portfolios []string // its records
	for _, ws := range workspaces {
		for _, u := range users {
			if ws == free {
				compact++ // 402
				continue
			}
			pf := a.Portfolios(ws, u)
			compact += airbytePages(len(pf))
			portfolios = append(portfolios, pf...)
		}
	}
	readCompact := compact + usersRequests // portfolios_compact with its parent users
	n["users"] = usersRequests
	n["portfolios_compact"] = readCompact
	n["portfolios"] = readCompact + len(portfolios)
	n["portfolios_memberships"] = readCompact
	n["portfolio_items"] = readCompact + len(portfolios) // portfolios read again as the parent
	for _, pf := range portfolios {
		n["portfolios_memberships"] += airbytePages(len(a.PortfolioMemberships(pf)))
		n["portfolio_items"] += airbytePages(len(a.PortfolioItems(pf)))
	}
	n["organization_exports"] = exports
	return n
}

// sumCounts is the total of a per-stream count.
func sumCounts(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}
