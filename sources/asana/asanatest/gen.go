package asanatest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sizeSpec sets the shape of a generated account.
type sizeSpec struct {
	orgUsers       int // users of the organization, including "me"
	freeOnlyUsers  int // users only in the personal workspace
	sharedUsers    int // organization users also in the personal workspace (besides me)
	teams          int
	orgProjects    int
	freeProjects   int
	tasks          int // all tasks including subtasks, approximately
	stories        int // approximately
	tags           int
	fields         int
	portfolios     int
	bigProject     int // top-level tasks of the largest project (0 = no special project)
	bigTaskStories int // stories of the most commented task
}

var sizes = map[string]sizeSpec{
	"tiny": {orgUsers: 8, freeOnlyUsers: 2, sharedUsers: 1, teams: 2, orgProjects: 3, freeProjects: 1,
		tasks: 60, stories: 300, tags: 4, fields: 6, portfolios: 2, bigProject: 0, bigTaskStories: 120},
	"small": {orgUsers: 30, freeOnlyUsers: 3, sharedUsers: 2, teams: 3, orgProjects: 4, freeProjects: 1,
		tasks: 1000, stories: 5000, tags: 10, fields: 8, portfolios: 3, bigProject: 250, bigTaskStories: 230},
	"medium": {orgUsers: 150, freeOnlyUsers: 6, sharedUsers: 4, teams: 6, orgProjects: 18, freeProjects: 2,
		tasks: 10000, stories: 50000, tags: 30, fields: 10, portfolios: 6, bigProject: 1200, bigTaskStories: 350},
	"large": {orgUsers: 400, freeOnlyUsers: 12, sharedUsers: 8, teams: 12, orgProjects: 105, freeProjects: 5,
		tasks: 55000, stories: 275000, tags: 60, fields: 12, portfolios: 12, bigProject: 2500, bigTaskStories: 600},
}

// Sizes lists the accepted values of Options.Size.
func Sizes() []string { return []string{"tiny", "small", "medium", "large"} }

// DefaultEpoch is the simulated "now" at which a generated account is
// observed when Options.Epoch is zero. All generated timestamps are before
// it; the simulated clock starts there when the Sim is created.
var DefaultEpoch = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// data is the generated account.
type data struct {
	epoch       int64 // ms
	org, free   *workspace
	workspaces  []*workspace
	me          *user
	users       []*user
	teams       []*team
	teamMembers []*teamMembership
	fields      []*customField
	tags        []*tag
	projects    []*project
	sections    []*section
	settings    []*customFieldSetting
	tasks       []*task
	stories     []*story
	attachments []*attachment
	portfolios  []*portfolio
	pmembers    []*portfolioMembership
	exports     []*orgExport
	byGID       map[string]any
	assigned    map[string][]*task // key: user gid + "/" + workspace gid
}

func assignedKey(u *user, ws *workspace) string { return u.gid + "/" + ws.gid }

type generator struct {
	r       *rand.Rand
	d       *data
	spec    sizeSpec
	next    uint64
	start   int64 // ms: account creation
	end     int64 // ms: epoch minus a little
	textSeq uint32
}

func generate(seed int64, size string, epoch time.Time) (*data, error) {
	spec, ok := sizes[size]
	if !ok {
		return nil, fmt.Errorf("asanatest: unknown size %q (want one of %s)", size, strings.Join(Sizes(), ", "))
	}
	g := &generator{
		r:    rand.New(rand.NewPCG(uint64(seed), 0xa5a4a7e57)),
		spec: spec,
		d:    &data{epoch: epoch.UnixMilli(), byGID: make(map[string]any, spec.tasks+spec.stories+spec.tasks/2), assigned: map[string][]*task{}},
	}
	g.next = 1200000000000000 + uint64(g.r.Int64N(9e12))
	g.end = g.d.epoch - int64(time.Hour/time.Millisecond)
	g.start = g.d.epoch - int64(900*24*time.Hour/time.Millisecond)
	g.workspaces()
	g.users()
	g.teams()
	g.customFields()
	g.tagsGen()
	g.projectsGen()
	g.tasksGen()
	g.storiesGen()
	g.attachmentsGen()
	g.portfoliosGen()
	g.exportsGen()
	g.index()
	return g.d, nil
}

func (g *generator) gid() string {
	g.next += 1 + uint64(g.r.IntN(37))
	return strconv.FormatUint(g.next, 10)
}

func (g *generator) reg(gid string, o any) { g.d.byGID[gid] = o }

// between returns a random millisecond timestamp in [a, b].
func (g *generator) between(a, b int64) int64 {
	if b <= a {
		return a
	}
	return a + g.r.Int64N(b-a+1)
}

func (g *generator) text(minN, maxN int) textRef {
	g.textSeq++
	n := minN
	if maxN > minN {
		n += g.r.IntN(maxN - minN + 1)
	}
	st := styleLatin
	switch x := g.r.IntN(10); {
	case x == 0:
		st = styleUnicode
	case x == 1:
		st = styleRTL
	case x == 2:
		st = styleEmoji
	}
	return textRef{seed: g.textSeq*2654435761 ^ uint32(g.r.Uint64()), n: uint16(n), style: st}
}

func dayOf(ms int64) int32 { return int32(ms / (24 * 3600 * 1000)) }

func (g *generator) workspaces() {
	org := &workspace{gid: g.gid(), name: "Acme Beam Corp", isOrg: true, premium: true,
		emailDomains: []string{"acme-beam.example", "acmebeam.example"}}
	free := &workspace{gid: g.gid(), name: "Personal Projects", emailDomains: []string{}}
	g.d.org, g.d.free = org, free
	g.d.workspaces = []*workspace{org, free}
	g.reg(org.gid, org)
	g.reg(free.gid, free)
}

func (g *generator) newUser(domain string, guest bool) *user {
	f, l := pick(g.r, firstNames), pick(g.r, lastNames)
	u := &user{gid: g.gid(), name: f.display + " " + l.display, guest: guest, photo: g.r.IntN(5) != 0}
	u.email = fmt.Sprintf("%s.%s%d@%s", f.ascii, l.ascii, len(g.d.users)+1, domain)
	g.d.users = append(g.d.users, u)
	g.reg(u.gid, u)
	return u
}

func (g *generator) users() {
	s, org, free := g.spec, g.d.org, g.d.free
	me := g.newUser(org.emailDomains[0], false)
	me.photo = true
	g.d.me = me
	org.users = append(org.users, me)
	for i := 1; i < s.orgUsers; i++ {
		guest := i%9 == 8
		dom := org.emailDomains[i%2]
		if guest {
			dom = "partner.example"
		}
		org.users = append(org.users, g.newUser(dom, guest))
	}
	free.users = append(free.users, me)
	for i := 0; i < s.sharedUsers; i++ {
		free.users = append(free.users, org.users[1+i])
	}
	for i := 0; i < s.freeOnlyUsers; i++ {
		free.users = append(free.users, g.newUser("mail.example", false))
	}
	for _, ws := range g.d.workspaces {
		slices.SortFunc(ws.users, func(a, b *user) int { return cmpGID(a.gid, b.gid) })
		for _, u := range ws.users {
			u.workspaces = append(u.workspaces, ws)
		}
		ws.usersByName = slices.Clone(ws.users)
		slices.SortStableFunc(ws.usersByName, func(a, b *user) int { return strings.Compare(a.name, b.name) })
	}
}

// cmpGID orders gids numerically (they are all 16 digits, but be safe).
func cmpGID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func (g *generator) teams() {
	org := g.d.org
	for i := 0; i < g.spec.teams; i++ {
		name := teamNames[i%len(teamNames)]
		if i >= len(teamNames) {
			name += " " + strconv.Itoa(i/len(teamNames)+1)
		}
		t := &team{gid: g.gid(), name: name, org: org,
			description: genText(g.text(30, 200)),
			visibility:  pick(g.r, []string{"secret", "request_to_join", "public", "public"}),
			endorsed:    g.r.IntN(4) == 0, adminsOnly: g.r.IntN(3) == 0}
		g.reg(t.gid, t)
		org.teams = append(org.teams, t)
		g.d.teams = append(g.d.teams, t)
		for j, u := range org.users {
			in := g.r.IntN(100) < 55
			if u == g.d.me {
				in = i != 1 // me is in every team but the second
			}
			if !in {
				continue
			}
			m := &teamMembership{gid: g.gid(), user: u, team: t, guest: u.guest,
				admin: j == 0 || g.r.IntN(8) == 0, limited: u.guest && g.r.IntN(2) == 0}
			g.reg(m.gid, m)
			t.members = append(t.members, m)
			g.d.teamMembers = append(g.d.teamMembers, m)
		}
	}
}

type fieldTemplate struct {
	name, typ, format, currency, label, labelPos string
	precision                                    int
	options                                      []string
}

var fieldTemplates = []fieldTemplate{
	{name: "Priority", typ: "enum", options: []string{"Low", "Medium", "High", "Critical"}},
	{name: "Notes ✍️", typ: "text"},
	{name: "Estimate (hrs)", typ: "number", precision: 1, format: "none"},
	{name: "Platforms", typ: "multi_enum", options: []string{"iOS", "Android", "Web", "Desktop", "Watch"}},
	{name: "Target date", typ: "date"},
	{name: "Reviewers", typ: "people"},
	{name: "Budget", typ: "number", precision: 2, format: "currency", currency: "USD"},
	{name: "Status", typ: "enum", options: []string{"On track", "At risk", "Off track", "Done ✅"}},
	{name: "Completion", typ: "number", precision: 0, format: "percentage"},
	{name: "Story points", typ: "number", precision: 0, format: "custom", label: "pts", labelPos: "suffix"},
	{name: "שלב", typ: "enum", options: []string{"נמוך", "בינוני", "גבוה"}},
	{name: "Region", typ: "enum", options: []string{"EMEA", "AMER", "APAC", "LATAM", "عالي"}},
}

var optionColors = []string{"none", "red", "orange", "yellow-orange", "yellow", "yellow-green",
	"green", "blue-green", "aqua", "blue", "indigo", "purple", "magenta", "hot-pink", "pink", "cool-gray"}

func (g *generator) customFields() {
	org := g.d.org
	for i := 0; i < g.spec.fields; i++ {
		t := fieldTemplates[i%len(fieldTemplates)]
		name := t.name
		if i >= len(fieldTemplates) {
			name += " " + strconv.Itoa(i/len(fieldTemplates)+1)
		}
		f := &customField{gid: g.gid(), name: name, typ: t.typ, ws: org,
			description: genText(g.text(0, 80)), precision: t.precision, format: t.format,
			currency: t.currency, label: t.label, labelPosition: t.labelPos,
			global: g.r.IntN(3) != 0, notify: g.r.IntN(2) == 0,
			createdBy: pick(g.r, org.users), privacy: pick(g.r, []string{"public_with_guests", "public", "private"})}
		if f.format == "" && f.typ == "number" {
			f.format = "none"
		}
		for j, on := range t.options {
			o := &enumOption{gid: g.gid(), name: on, enabled: j != len(t.options)-1 || g.r.IntN(2) == 0,
				color: optionColors[(j*3+i)%len(optionColors)]}
			g.reg(o.gid, o)
			f.options = append(f.options, o)
		}
		g.reg(f.gid, f)
		org.fields = append(org.fields, f)
		g.d.fields = append(g.d.fields, f)
	}
}

var tagColors = []string{"dark-pink", "dark-green", "dark-blue", "dark-red", "dark-teal", "dark-brown",
	"dark-orange", "dark-purple", "dark-warm-gray", "light-pink", "light-green", "light-blue", "light-red",
	"light-teal", "light-brown", "light-orange", "light-purple", "light-warm-gray"}

func (g *generator) tagsGen() {
	for _, ws := range g.d.workspaces {
		n := g.spec.tags
		if !ws.isOrg {
			n = max(2, n/4)
		}
		for i := 0; i < n; i++ {
			name := tagNames[i%len(tagNames)]
			if i >= len(tagNames) {
				name += "-" + strconv.Itoa(i/len(tagNames)+1)
			}
			t := &tag{gid: g.gid(), name: name, ws: ws, createdAt: g.between(g.start, g.end)}
			if g.r.IntN(4) != 0 {
				t.color = pick(g.r, tagColors)
			}
			if g.r.IntN(2) == 0 {
				t.notes = genText(g.text(10, 80))
			}
			for k := g.r.IntN(3); k > 0; k-- {
				t.followers = appendUser(t.followers, pick(g.r, ws.users))
			}
			g.reg(t.gid, t)
			ws.tags = append(ws.tags, t)
			g.d.tags = append(g.d.tags, t)
		}
	}
}

func appendUser(us []*user, u *user) []*user {
	if u == nil || slices.Contains(us, u) {
		return us
	}
	return append(us, u)
}

var projectColors = append(slices.Clone(tagColors), "none")

var projectIcons = []string{"list", "board", "timeline", "calendar", "rocket", "people", "graph",
	"star", "bug", "light_bulb", "globe", "gear", "notebook", "computer", "check", "target"}

func (g *generator) newProject(ws *workspace, i int) *project {
	name := projectNames[i%len(projectNames)]
	if i >= len(projectNames) {
		name += " " + strconv.Itoa(i/len(projectNames)+1)
	}
	created := g.between(g.start, g.start+(g.end-g.start)/2)
	p := &project{gid: g.gid(), name: name, ws: ws, createdAt: created,
		public: g.r.IntN(3) != 0, defaultView: pick(g.r, []string{"list", "board", "calendar", "timeline"}),
		access: pick(g.r, []string{"admin", "editor", "commenter", "viewer"}), notes: g.text(0, 600)}
	p.modifiedAt = g.between(created, g.end)
	if g.r.IntN(5) != 0 {
		p.color = pick(g.r, projectColors)
	}
	if g.r.IntN(3) != 0 {
		p.icon = pick(g.r, projectIcons)
	}
	if ws.isOrg {
		p.team = ws.teams[g.r.IntN(len(ws.teams))]
		p.privacy = pick(g.r, []string{"public_to_workspace", "private_to_team", "private"})
	} else {
		p.privacy = pick(g.r, []string{"public_to_workspace", "private"})
	}
	p.owner = pick(g.r, ws.users)
	p.members = appendUser(p.members, p.owner)
	p.members = appendUser(p.members, g.d.me)
	for k := g.r.IntN(6); k > 0; k-- {
		p.members = appendUser(p.members, pick(g.r, ws.users))
	}
	for _, u := range p.members {
		if g.r.IntN(2) == 0 {
			p.followers = append(p.followers, u)
		}
	}
	if g.r.IntN(2) == 0 {
		p.dueOn = dayOf(g.between(created, g.d.epoch+int64(90*24*time.Hour/time.Millisecond)))
		if g.r.IntN(2) == 0 {
			p.startOn = p.dueOn - int32(1+g.r.IntN(60))
		}
	}
	if i > 0 && g.r.IntN(7) == 0 {
		p.archived = true
	}
	if i > 0 && g.r.IntN(10) == 0 {
		p.completed = true
		p.completedAt = g.between(p.modifiedAt-int64(24*time.Hour/time.Millisecond), p.modifiedAt)
		p.completedBy = pick(g.r, p.members)
	}
	if g.r.IntN(3) == 0 {
		p.status = &projectStatus{gid: g.gid(), title: "Status update – " + name,
			text: genText(g.text(20, 200)), color: pick(g.r, []string{"green", "yellow", "red", "blue", "complete"}),
			author: pick(g.r, p.members), createdAt: g.between(created, g.end)}
		p.status.modifiedAt = g.between(p.status.createdAt, g.end)
		g.reg(p.status.gid, p.status)
	}
	if g.r.IntN(6) == 0 {
		p.template = &projectTemplate{gid: g.gid(), name: "Template: " + name}
	}
	g.reg(p.gid, p)
	ws.projects = append(ws.projects, p)
	if p.team != nil {
		p.team.projects = append(p.team.projects, p)
	}
	g.d.projects = append(g.d.projects, p)

	ns := 1 + g.r.IntN(5)
	if i == 0 {
		ns = max(ns, 3)
	}
	for k := 0; k < ns; k++ {
		name := sectionNames[(k+i)%len(sectionNames)]
		if k == 0 {
			name = sectionNames[0]
		}
		s := &section{gid: g.gid(), name: name, project: p, createdAt: g.between(created, created+int64(48*time.Hour/time.Millisecond))}
		g.reg(s.gid, s)
		p.sections = append(p.sections, s)
		g.d.sections = append(g.d.sections, s)
	}
	if ws.isOrg && len(ws.fields) > 0 {
		fs := ws.fields
		if i != 0 { // the first project gets every field type
			perm := g.r.Perm(len(fs))
			k := min(len(fs), 2+g.r.IntN(4))
			var sel []*customField
			for _, x := range perm[:k] {
				sel = append(sel, fs[x])
			}
			slices.SortFunc(sel, func(a, b *customField) int { return cmpGID(a.gid, b.gid) })
			fs = sel
		}
		for _, f := range fs {
			st := &customFieldSetting{gid: g.gid(), project: p, field: f, important: g.r.IntN(3) == 0}
			g.reg(st.gid, st)
			p.settings = append(p.settings, st)
			g.d.settings = append(g.d.settings, st)
		}
	}
	return p
}

func (g *generator) projectsGen() {
	for i := 0; i < g.spec.orgProjects; i++ {
		g.newProject(g.d.org, i)
	}
	for i := 0; i < g.spec.freeProjects; i++ {
		g.newProject(g.d.free, i+g.spec.orgProjects)
	}
}

func (g *generator) newTask(ws *workspace, created int64) *task {
	t := &task{gid: g.gid(), ws: ws, subtype: "default_task", createdAt: created, actualMinutes: -1}
	switch x := g.r.IntN(100); {
	case x < 80:
		t.name = pick(g.r, taskVerbs) + " " + pick(g.r, taskObjects)
	case x < 92:
		t.name = pick(g.r, foreignTaskNames)
	case x < 97:
		t.name = pick(g.r, emojis) + " " + pick(g.r, taskVerbs) + " " + pick(g.r, taskObjects)
	case x < 98:
		t.name = "" // Asana allows unnamed tasks
	default:
		o := pick(g.r, taskObjects)
		t.name = strings.Repeat(o+" · ", 19) + o // a long name
	}
	switch x := g.r.IntN(100); {
	case x < 6:
		t.subtype = "milestone"
	case x < 10:
		t.subtype = "approval"
		t.approvalStatus = pick(g.r, []string{"pending", "approved", "rejected", "changes_requested"})
	}
	t.createdBy = pick(g.r, ws.users)
	if g.r.IntN(4) != 0 {
		t.assignee = pick(g.r, ws.users)
		t.assigneeStatus = pick(g.r, []string{"upcoming", "later", "today", "inbox", "new"})
		if g.r.IntN(2) == 0 {
			t.assignedBy = pick(g.r, ws.users)
		}
	}
	if g.r.IntN(100) < 40 {
		t.completed = true
		t.completedAt = g.between(created, g.end)
		t.completedBy = pick(g.r, ws.users)
	}
	switch x := g.r.IntN(100); {
	case x < 10:
		t.dueAt = g.between(created, g.d.epoch+int64(60*24*time.Hour/time.Millisecond)) / 60000 * 60000
		t.dueOn = dayOf(t.dueAt)
		if g.r.IntN(3) == 0 {
			t.startAt = t.dueAt - int64(1+g.r.IntN(72))*3600000
			t.startOn = dayOf(t.startAt)
		}
	case x < 60:
		t.dueOn = dayOf(g.between(created, g.d.epoch+int64(60*24*time.Hour/time.Millisecond)))
		if g.r.IntN(3) == 0 {
			t.startOn = t.dueOn - int32(1+g.r.IntN(20))
		}
	}
	t.followers = appendUser(t.followers, t.createdBy)
	t.followers = appendUser(t.followers, t.assignee)
	for k := g.r.IntN(3); k > 0; k-- {
		t.followers = appendUser(t.followers, pick(g.r, ws.users))
	}
	for k := g.r.IntN(4) - 1; k > 0; k-- {
		u := pick(g.r, ws.users)
		if !slices.ContainsFunc(t.likes, func(l like) bool { return l.user == u }) {
			t.likes = append(t.likes, like{gid: g.gid(), user: u})
		}
	}
	if g.r.IntN(5) == 0 && len(ws.tags) > 0 {
		for k := 1 + g.r.IntN(2); k > 0; k-- {
			tg := pick(g.r, ws.tags)
			if !slices.Contains(t.tags, tg) {
				t.tags = append(t.tags, tg)
			}
		}
	}
	switch x := g.r.IntN(1000); {
	case x < 300:
	case x < 900:
		t.notes = g.text(20, 400)
	case x < 985:
		t.notes = g.text(1000, 3000)
	default:
		t.notes = g.text(10000, 10000)
	}
	if g.r.IntN(5) == 0 {
		t.actualMinutes = float64(g.r.IntN(600)) + float64(g.r.IntN(2))*0.5
	}
	if g.r.IntN(33) == 0 {
		t.external = &external{gid: "ext-" + strconv.Itoa(len(g.d.tasks)), data: `{"source":"jira","key":"BEAM-` + strconv.Itoa(g.r.IntN(9999)) + `"}`}
	}
	if t.subtype == "default_task" && g.r.IntN(100) == 0 {
		t.separator = true
	}
	t.modifiedAt = max(t.createdAt, t.completedAt)
	g.reg(t.gid, t)
	g.d.tasks = append(g.d.tasks, t)
	return t
}

func (g *generator) addMembership(t *task, s *section) {
	for _, m := range t.memberships {
		if m.project == s.project {
			return
		}
	}
	t.memberships = append(t.memberships, membership{project: s.project, section: s})
	s.tasks = append(s.tasks, t)
}

// pickSection favours the later sections a little less.
func (g *generator) pickSection(p *project) *section {
	return p.sections[g.r.IntN(len(p.sections))]
}

func (g *generator) tasksGen() {
	s, d := g.spec, g.d
	nSub := s.tasks * 20 / 100
	nLoose := max(3, s.tasks*4/100)
	nTop := s.tasks - nSub - nLoose

	// Share of top-level tasks per project: the first organization project
	// takes bigProject tasks, the rest is spread with random weights.
	projects := d.projects
	counts := make([]int, len(projects))
	rest := nTop
	if s.bigProject > 0 {
		counts[0] = s.bigProject
		rest -= s.bigProject
	}
	weights := make([]int, len(projects))
	total := 0
	for i := range projects {
		if i == 0 && s.bigProject > 0 {
			continue
		}
		weights[i] = 1 + g.r.IntN(10)
		total += weights[i]
	}
	assigned := 0
	for i := range projects {
		if weights[i] == 0 {
			continue
		}
		counts[i] = rest * weights[i] / total
		assigned += counts[i]
	}
	for i := 0; assigned < rest; i = (i + 1) % len(projects) {
		if weights[i] > 0 {
			counts[i]++
			assigned++
		}
	}
	var top []*task
	for i, p := range projects {
		for k := 0; k < counts[i]; k++ {
			t := g.newTask(p.ws, g.between(p.createdAt, g.end))
			g.addMembership(t, g.pickSection(p))
			top = append(top, t)
		}
	}
	// Multi-homing: some tasks are in a second project of their workspace.
	for _, t := range top {
		if g.r.IntN(100) >= 5 || len(t.ws.projects) < 2 {
			continue
		}
		p := pick(g.r, t.ws.projects)
		g.addMembership(t, g.pickSection(p))
	}
	// Subtasks, several levels deep.
	var subs []*task
	depth := map[*task]int{}
	for i := 0; i < nSub && len(top) > 0; i++ {
		var parent *task
		switch {
		case i < 5: // a guaranteed chain of depth 5 under the first task
			if i == 0 {
				parent = top[0]
			} else {
				parent = subs[i-1]
			}
		case len(subs) > 0 && g.r.IntN(100) < 35:
			parent = subs[g.r.IntN(len(subs))]
			if depth[parent] >= 6 {
				parent = top[g.r.IntN(len(top))]
			}
		default:
			parent = top[g.r.IntN(len(top))]
		}
		t := g.newTask(parent.ws, g.between(parent.createdAt, g.end))
		t.parent = parent
		depth[t] = depth[parent] + 1
		parent.subtasks = append(parent.subtasks, t)
		if parent.memberships != nil && g.r.IntN(100) < 4 {
			// A subtask explicitly added to its parent's project.
			g.addMembership(t, g.pickSection(parent.memberships[0].project))
		}
		subs = append(subs, t)
	}
	// Tasks in no project: only reachable through assignee+workspace.
	for i := 0; i < nLoose; i++ {
		ws := d.org
		if i%3 == 2 {
			ws = d.free
		}
		t := g.newTask(ws, g.between(g.start, g.end))
		if t.assignee == nil || i%2 == 0 {
			t.assignee = d.me
			t.assigneeStatus = "inbox"
		}
		t.followers = appendUser(t.followers, t.assignee)
	}
	// Project listings: section by section.
	for _, p := range projects {
		for _, sec := range p.sections {
			p.tasks = append(p.tasks, sec.tasks...)
		}
	}
	// Tag listings and assignee index, in gid order.
	for _, t := range d.tasks {
		for _, tg := range t.tags {
			tg.tasks = append(tg.tasks, t)
		}
	}
	// Dependencies inside premium projects.
	for _, t := range top {
		if !t.ws.premium || g.r.IntN(100) >= 4 {
			continue
		}
		p := t.memberships[0].project
		o := p.tasks[g.r.IntN(len(p.tasks))]
		if o == t || slices.Contains(t.dependencies, o) || slices.Contains(t.dependents, o) {
			continue
		}
		t.dependencies = append(t.dependencies, o)
		o.dependents = append(o.dependents, t)
	}
	// Custom field values from the projects' settings.
	for _, t := range d.tasks {
		for _, m := range t.memberships {
			for _, st := range m.project.settings {
				if slices.ContainsFunc(t.values, func(v cfValue) bool { return v.field == st.field }) {
					continue
				}
				t.values = append(t.values, g.value(st.field, t.ws, t.createdAt))
			}
		}
	}
}

func (g *generator) value(f *customField, ws *workspace, created int64) cfValue {
	v := cfValue{field: f}
	if g.r.IntN(100) < 15 {
		return v
	}
	v.set = true
	switch f.typ {
	case "text":
		v.text = genText(g.text(3, 60))
	case "number":
		switch f.format {
		case "percentage":
			v.number = float64(g.r.IntN(101)) / 100
		case "currency":
			v.number = float64(g.r.IntN(5000000)) / 100
		default:
			v.number = float64(g.r.IntN(400)) / 4
		}
	case "enum":
		v.enum = pick(g.r, f.options)
	case "multi_enum":
		for _, o := range f.options {
			if g.r.IntN(3) == 0 {
				v.multi = append(v.multi, o)
			}
		}
		if len(v.multi) == 0 {
			v.multi = append(v.multi, f.options[0])
		}
	case "date":
		v.date = dayOf(g.between(created, g.d.epoch+int64(120*24*time.Hour/time.Millisecond)))
	case "people":
		for k := 1 + g.r.IntN(2); k > 0; k-- {
			v.people = appendUser(v.people, pick(g.r, ws.users))
		}
	}
	return v
}

func (g *generator) storiesGen() {
	d := g.d
	mean := float64(g.spec.stories-g.spec.bigTaskStories) / float64(len(d.tasks))
	var big *task
	if len(d.projects[0].tasks) > 0 {
		big = d.projects[0].tasks[0]
	}
	for _, t := range d.tasks {
		n := int(mean*2*g.r.Float64() + 0.5)
		if t == big {
			n = g.spec.bigTaskStories
		}
		if n == 0 {
			continue
		}
		last := g.between(t.createdAt, g.end)
		if n > 20 {
			last = g.end
		}
		step := (last - t.createdAt) / int64(n+1)
		at := t.createdAt
		for i := 0; i < n; i++ {
			at += 1 + g.r.Int64N(max(step, 1))
			g.newStory(t, min(at, g.end))
		}
		if at > t.modifiedAt {
			t.modifiedAt = min(at+int64(g.r.IntN(5000)), g.end)
		}
	}
}

var stickers = []string{"green_checkmark", "people_dancing", "dancing_unicorn", "heart", "party_popper",
	"people_waving_flags", "splashing_narwhal", "trophy", "yeti_riding_unicorn"}

func (g *generator) newStory(t *task, at int64) *story {
	s := &story{gid: g.gid(), task: t, createdAt: at, createdBy: pick(g.r, t.ws.users), subtype: stComment,
		source: pick(g.r, []string{"web", "web", "web", "mobile", "email", "api"})}
	if g.r.IntN(100) >= 55 {
		s.subtype = g.systemSubtype(t, s)
	}
	if s.subtype == stComment {
		s.text = g.text(5, 300)
		if g.r.IntN(40) == 0 {
			s.text = g.text(1500, 4000)
		}
		s.pinned = g.r.IntN(50) == 0
		s.edited = g.r.IntN(10) == 0
		if g.r.IntN(50) == 0 {
			s.sticker = pick(g.r, stickers)
		}
		for k := g.r.IntN(4) - 2; k > 0; k-- {
			u := pick(g.r, t.ws.users)
			if !slices.ContainsFunc(s.likes, func(l like) bool { return l.user == u }) {
				s.likes = append(s.likes, like{gid: g.gid(), user: u})
			}
		}
	} else if g.r.IntN(30) == 0 {
		s.createdBy = nil // created by Asana itself (rules, integrations)
	}
	g.reg(s.gid, s)
	t.stories = append(t.stories, s)
	g.d.stories = append(g.d.stories, s)
	return s
}

// systemSubtype picks a system story that makes sense for the task and
// fills its references.
func (g *generator) systemSubtype(t *task, s *story) string {
	for try := 0; try < 4; try++ {
		switch g.r.IntN(9) {
		case 0:
			if t.assignee != nil {
				s.user = t.assignee
				return stAssigned
			}
		case 1:
			s.oldName, s.newName = pick(g.r, taskVerbs)+" "+pick(g.r, taskObjects), t.name
			return stNameChanged
		case 2:
			if len(t.memberships) > 0 && len(t.memberships[0].project.sections) > 1 {
				p := t.memberships[0].project
				s.project = p
				s.oldSec = p.sections[g.r.IntN(len(p.sections))]
				s.newSec = t.memberships[0].section
				return stSectionChanged
			}
		case 3:
			if len(t.memberships) > 0 {
				s.project = t.memberships[len(t.memberships)-1].project
				return stAddedToProject
			}
		case 4:
			if t.dueOn != 0 {
				s.newDate = t.dueOn
				if g.r.IntN(2) == 0 {
					s.oldDate = t.dueOn - int32(1+g.r.IntN(10))
				}
				return stDueDateChanged
			}
		case 5:
			if t.completed {
				return stMarkedComplete
			}
		case 6:
			for _, v := range t.values {
				if v.field.typ == "enum" && v.enum != nil {
					s.field, s.newEnum = v.field, v.enum
					s.oldEnum = pick(g.r, v.field.options)
					return stEnumChanged
				}
			}
		case 7:
			s.user = pick(g.r, t.ws.users)
			return stFollower
		case 8:
			if len(t.subtasks) > 0 {
				s.subtask = pick(g.r, t.subtasks)
				return stTaskCreated
			}
		}
	}
	s.user = pick(g.r, t.ws.users)
	return stFollower
}

var attachmentNames = []string{
	"Screenshot 2024-03-01 at 12.34.56.png", "Q3 plan (final) v2.pdf", "רשימת משימות.xlsx",
	"spec 📎.docx", "mockup@2x.png", "invoice #4411.pdf", "تقرير.pdf", "données brutes.csv",
	"demo recording.mp4", "architecture diagram.svg", "会議メモ.txt", "logo – dark.ai",
}

func (g *generator) newAttachment(t *task, p *project, created int64) *attachment {
	a := &attachment{gid: g.gid(), name: pick(g.r, attachmentNames), parentT: t, parentP: p, createdAt: created}
	switch x := g.r.IntN(100); {
	case x < 70:
		a.subtype, a.host = "asana", "asana"
		a.size = int64(1000 + g.r.IntN(50_000_000))
	case x < 80:
		a.subtype, a.host = "gdrive", "gdrive"
	case x < 88:
		a.subtype, a.host = "dropbox", "dropbox"
	case x < 93:
		a.subtype, a.host = "box", "box"
	case x < 96:
		a.subtype, a.host = "onedrive", "onedrive"
	case x < 98:
		a.subtype, a.host = "external", "external"
		a.name = "https://example.com/design/" + strconv.Itoa(g.r.IntN(1000))
	default:
		a.subtype, a.host = "youtube", "youtube"
		a.name = "Product walkthrough"
	}
	a.connected = a.host != "asana" && g.r.IntN(4) == 0
	g.reg(a.gid, a)
	g.d.attachments = append(g.d.attachments, a)
	return a
}

func (g *generator) attachmentsGen() {
	for _, t := range g.d.tasks {
		if g.r.IntN(10) != 0 {
			continue
		}
		for k := 1 + g.r.IntN(3); k > 0; k-- {
			a := g.newAttachment(t, nil, g.between(t.createdAt, g.end))
			t.attachments = append(t.attachments, a)
		}
	}
	for _, p := range g.d.projects {
		for k := g.r.IntN(3); k > 0; k-- {
			a := g.newAttachment(nil, p, g.between(p.createdAt, g.end))
			p.attachments = append(p.attachments, a)
		}
	}
}

func (g *generator) portfoliosGen() {
	org := g.d.org
	for i := 0; i < g.spec.portfolios; i++ {
		owner := g.d.me
		if i%2 == 1 {
			owner = org.users[1+g.r.IntN(len(org.users)-1)]
		}
		pf := &portfolio{gid: g.gid(), name: pick(g.r, []string{"Company OKRs", "Launches 2025", "Platform", "Brand 🎨", "תיק פרויקטים", "محفظة"}) + " " + strconv.Itoa(i+1),
			ws: org, owner: owner, createdBy: owner, createdAt: g.between(g.start, g.end), color: pick(g.r, tagColors),
			public: g.r.IntN(2) == 0, archived: g.r.IntN(6) == 0}
		if g.r.IntN(2) == 0 {
			pf.startOn = dayOf(pf.createdAt)
			pf.dueOn = pf.startOn + int32(30+g.r.IntN(200))
		}
		g.reg(pf.gid, pf)
		perm := g.r.Perm(len(org.projects))
		for _, x := range perm[:min(len(perm), 1+g.r.IntN(8))] {
			pf.items = append(pf.items, org.projects[x])
		}
		pf.members = appendUser(pf.members, owner)
		for k := g.r.IntN(4); k > 0; k-- {
			pf.members = appendUser(pf.members, pick(g.r, org.users))
		}
		for j, u := range pf.members {
			acc := "admin"
			if j > 0 {
				acc = pick(g.r, []string{"editor", "viewer", "admin"})
			}
			m := &portfolioMembership{gid: g.gid(), portfolio: pf, user: u, access: acc}
			g.reg(m.gid, m)
			pf.memberships = append(pf.memberships, m)
			g.d.pmembers = append(g.d.pmembers, m)
		}
		if len(org.fields) > 0 {
			for k := 1 + g.r.IntN(2); k > 0; k-- {
				f := pick(g.r, org.fields)
				if slices.ContainsFunc(pf.settings, func(s *customFieldSetting) bool { return s.field == f }) {
					continue
				}
				st := &customFieldSetting{gid: g.gid(), portfolio: pf, field: f}
				g.reg(st.gid, st)
				pf.settings = append(pf.settings, st)
				g.d.settings = append(g.d.settings, st)
			}
		}
		for _, p := range pf.items {
			p.portfolios = append(p.portfolios, pf)
			for _, st := range pf.settings {
				if !slices.ContainsFunc(p.values, func(v cfValue) bool { return v.field == st.field }) {
					p.values = append(p.values, g.value(st.field, org, p.createdAt))
				}
			}
		}
		org.portfolios = append(org.portfolios, pf)
		g.d.portfolios = append(g.d.portfolios, pf)
	}
}

func (g *generator) exportsGen() {
	for _, st := range []string{"finished", "error", "started", "pending"} {
		e := &orgExport{gid: g.gid(), org: g.d.org, state: st,
			createdAt: g.between(g.end-int64(72*time.Hour/time.Millisecond), g.end)}
		g.reg(e.gid, e)
		g.d.org.exports = append(g.d.org.exports, e)
		g.d.exports = append(g.d.exports, e)
	}
}

// index builds the lookup tables that do not follow from the slices.
func (g *generator) index() {
	for _, t := range g.d.tasks {
		if t.assignee != nil {
			k := assignedKey(t.assignee, t.ws)
			g.d.assigned[k] = append(g.d.assigned[k], t)
		}
	}
}
