package asanatest

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Faults that depend on when or how often something happens, and hooks
// that change the account while a client reads it: what the end-to-end
// fault tests of the commands need beyond the per-request probabilities of
// Faults.

// FaultWindow replaces Options.Faults with Faults for the requests that
// arrive between From and Until after the Sim's first API request (the
// first authenticated request that passed the rate limits): a storm of
// 429s or a burst of 5xx for a while, then calm again. Windows are checked
// in order; the first that holds the arrival applies.
type FaultWindow struct {
	From, Until time.Duration
	Faults      Faults
}

// extraState is the runtime state of the faults and hooks of this file.
type extraState struct {
	firstOnce sync.Once
	first     time.Time // the first API request's draw

	staleMu   sync.Mutex
	staleUsed int // valid offset tokens answered as expired so far

	patRevoked atomic.Bool

	useMu  sync.Mutex
	tokUse map[string]int // API requests per OAuth access token
}

// faultsNow returns the faults that apply to a request arriving now.
func (s *Sim) faultsNow() Faults {
	if len(s.opts.FaultWindows) == 0 {
		return s.opts.Faults
	}
	x := &s.extra
	x.firstOnce.Do(func() { x.first = time.Now() })
	since := time.Since(x.first)
	for _, w := range s.opts.FaultWindows {
		if since >= w.From && since < w.Until {
			return w.Faults
		}
	}
	return s.opts.Faults
}

// expireOffset reports whether a valid offset token is to be answered as
// expired (Options.StaleOffsets).
func (s *Sim) expireOffset() bool {
	if s.opts.StaleOffsets <= 0 {
		return false
	}
	x := &s.extra
	x.staleMu.Lock()
	defer x.staleMu.Unlock()
	if x.staleUsed >= s.opts.StaleOffsets {
		return false
	}
	x.staleUsed++
	return true
}

// RevokePAT revokes the personal access token: every later request with it
// is answered 401 "Not Authorized", as after a user deleted the token in
// Asana's developer console.
func (s *Sim) RevokePAT() { s.extra.patRevoked.Store(true) }

// patValid reports whether tok is the personal access token, unrevoked.
func (s *Sim) patValid(tok string) bool {
	return tok == s.pat && !s.extra.patRevoked.Load()
}

// accessTokenUsedUp counts one API request with an OAuth access token and
// reports whether it is past Options.AccessTokenRequests.
func (s *Sim) accessTokenUsedUp(tok string) bool {
	if s.opts.AccessTokenRequests <= 0 {
		return false
	}
	x := &s.extra
	x.useMu.Lock()
	defer x.useMu.Unlock()
	if x.tokUse == nil {
		x.tokUse = map[string]int{}
	}
	x.tokUse[tok]++
	return x.tokUse[tok] > s.opts.AccessTokenRequests
}

// AccessTokens returns every OAuth access token issued so far, sorted: for
// tests that check that no token reaches a client's output.
func (s *Sim) AccessTokens() []string {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	out := make([]string, 0, len(s.oauth.tokens))
	for t := range s.oauth.tokens {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// afterRequest runs Options.AfterRequest.
func (s *Sim) afterRequest(rq Request) {
	if s.opts.AfterRequest != nil {
		s.opts.AfterRequest(rq)
	}
}

// ExpectedUnderDeny is Expected when Options.Deny answers an error for
// every request about some objects: per stream, the primary keys a full
// sync must produce, walking the connector's listings as Expected does but
// leaving out each listing whose path or filter names a denied object. The
// denied objects themselves are still listed by their parents. With no
// Deny it equals Expected.
func (a *Account) ExpectedUnderDeny(exports []string) map[string][]string {
	deny, serviceAccount := a.s.opts.Deny, a.s.opts.ServiceAccount
	sets := map[string]map[string]bool{}
	add := func(stream string, gids ...string) {
		if sets[stream] == nil {
			sets[stream] = map[string]bool{}
		}
		for _, g := range gids {
			sets[stream][g] = true
		}
	}
	denied := func(gids ...string) bool {
		for _, g := range gids {
			if _, ok := deny[g]; ok {
				return true
			}
		}
		return false
	}
	owner := a.Me()
	if serviceAccount {
		owner = ""
	}
	free := a.PersonalWorkspace()
	tasks := map[string]bool{}
	for _, ws := range a.GIDs("workspace") {
		add("workspaces", ws)
		if denied(ws) {
			continue
		}
		users := a.WorkspaceUsers(ws)
		add("users", users...)
		add("tags", a.Tags(ws)...)
		for _, tm := range a.Teams(ws) {
			add("teams", tm)
			if !denied(tm) {
				add("team_memberships", a.TeamMemberships(tm)...)
			}
		}
		if ws != free { // 402 on the free workspace
			add("custom_fields", a.CustomFields(ws)...)
			for _, pf := range a.Portfolios(ws, owner) {
				add("portfolios", pf)
				if !denied(pf) {
					add("portfolio_items", a.PortfolioItems(pf)...)
					add("portfolios_memberships", a.PortfolioMemberships(pf)...)
				}
			}
		}
		for _, p := range a.Projects(ws) {
			add("projects", p)
			if denied(p) {
				continue
			}
			add("sections", a.Sections(p)...)
			add("attachments", a.Attachments(p)...)
			for _, t := range a.ProjectTasks(p) {
				tasks[t] = true
			}
		}
		for _, u := range users {
			if !denied(u) {
				for _, t := range a.AssignedTasks(u, ws) {
					tasks[t] = true
				}
			}
		}
	}
	var queue []string
	for t := range tasks {
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		t := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if denied(t) {
			continue
		}
		for _, s := range a.Subtasks(t) {
			if !tasks[s] {
				tasks[s] = true
				queue = append(queue, s)
			}
		}
	}
	for t := range tasks {
		add("tasks", t)
		if !denied(t) {
			add("stories", a.Stories(t)...)
			add("attachments", a.Attachments(t)...)
		}
	}
	if serviceAccount {
		for _, id := range exports {
			if !denied(id) {
				add("organization_exports", id)
			}
		}
	}
	out := map[string][]string{}
	for s, set := range sets {
		for g := range set {
			out[s] = append(out[s], g)
		}
	}
	for full, twin := range map[string]string{"sections": "sections_compact", "stories": "stories_compact",
		"attachments": "attachments_compact", "portfolios": "portfolios_compact"} {
		out[twin] = out[full]
	}
	return out
}
