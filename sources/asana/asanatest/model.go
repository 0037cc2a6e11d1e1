package asanatest

// The generated account is held in compact Go structs; JSON is rendered on
// demand (see kinds.go and render.go). Timestamps are Unix milliseconds
// (0 = null), dates are days since 1970-01-01 (0 = null).
//
// Entities are never removed from the slices below: Sim.Delete only sets
// the deleted flag, so list positions (and therefore offset tokens) stay
// stable while data disappears from listings.

type workspace struct {
	gid          string
	name         string
	isOrg        bool
	premium      bool
	emailDomains []string
	users        []*user // members, by gid
	usersByName  []*user // members, alphabetical (GET /workspaces/{gid}/users)
	teams        []*team
	projects     []*project
	tags         []*tag
	fields       []*customField
	portfolios   []*portfolio
	exports      []*orgExport
	deleted      bool
}

type user struct {
	gid        string
	name       string
	email      string
	photo      bool
	guest      bool
	workspaces []*workspace
	deleted    bool
}

type team struct {
	gid         string
	name        string
	description string
	org         *workspace
	visibility  string
	endorsed    bool
	adminsOnly  bool // access-level settings restricted to admins
	members     []*teamMembership
	projects    []*project
	deleted     bool
}

type teamMembership struct {
	gid     string
	user    *user
	team    *team
	guest   bool
	admin   bool
	limited bool
	deleted bool
}

type projectStatus struct {
	gid        string
	title      string
	text       string
	color      string
	author     *user
	createdAt  int64
	modifiedAt int64
}

type projectTemplate struct {
	gid  string
	name string
}

type project struct {
	gid         string
	name        string
	ws          *workspace
	team        *team
	archived    bool
	public      bool
	completed   bool
	color       string // "" = null
	icon        string // "" = null
	defaultView string
	privacy     string
	access      string
	createdAt   int64
	modifiedAt  int64
	completedAt int64
	completedBy *user
	dueOn       int32
	startOn     int32
	owner       *user
	members     []*user
	followers   []*user
	notes       textRef
	status      *projectStatus
	template    *projectTemplate
	sections    []*section
	tasks       []*task // tasks listed in the project, section by section
	settings    []*customFieldSetting
	values      []cfValue // project-level custom field values
	attachments []*attachment
	portfolios  []*portfolio
	deleted     bool
}

type section struct {
	gid       string
	name      string
	createdAt int64
	project   *project
	tasks     []*task
	deleted   bool
}

// membership is one (project, section) pair of a task.
type membership struct {
	project *project
	section *section
}

type like struct {
	gid  string
	user *user
}

type external struct {
	gid  string
	data string
}

type task struct {
	gid            string
	name           string
	subtype        string // default_task, milestone, approval
	ws             *workspace
	createdAt      int64
	modifiedAt     int64
	completedAt    int64
	completed      bool
	dueOn          int32
	startOn        int32
	dueAt          int64
	startAt        int64
	assignee       *user
	assignedBy     *user
	completedBy    *user
	createdBy      *user
	assigneeStatus string
	approvalStatus string
	memberships    []membership
	parent         *task
	subtasks       []*task
	stories        []*story
	attachments    []*attachment
	tags           []*tag
	followers      []*user
	likes          []like
	values         []cfValue
	dependencies   []*task
	dependents     []*task
	notes          textRef
	actualMinutes  float64 // <0 = null
	external       *external
	separator      bool
	deleted        bool
}

// Story subtypes used by the generator.
const (
	stComment        = "comment_added"
	stAssigned       = "assigned"
	stNameChanged    = "name_changed"
	stSectionChanged = "section_changed"
	stAddedToProject = "added_to_project"
	stDueDateChanged = "due_date_changed"
	stMarkedComplete = "marked_complete"
	stEnumChanged    = "enum_custom_field_changed"
	stFollower       = "collaborator_added"
	stTaskCreated    = "added_to_task" // on the parent: "added subtask …"
)

type story struct {
	gid       string
	task      *task
	createdAt int64
	createdBy *user // nil for system stories created by Asana
	subtype   string
	text      textRef // comment text
	pinned    bool
	edited    bool
	likes     []like
	source    string
	// Subtype-specific references.
	user    *user    // assigned, collaborator_added
	project *project // added_to_project, section_changed
	oldSec  *section // section_changed
	newSec  *section // section_changed
	oldName string   // name_changed
	newName string   // name_changed
	oldDate int32    // due_date_changed
	newDate int32    // due_date_changed
	field   *customField
	oldEnum *enumOption
	newEnum *enumOption
	sticker string
	deleted bool
	subtask *task // added_to_task: the subtask
}

type attachment struct {
	gid       string
	name      string
	subtype   string // asana, dropbox, gdrive, box, onedrive, external, vimeo, youtube
	host      string
	parentT   *task
	parentP   *project
	createdAt int64
	size      int64
	connected bool
	deleted   bool
}

type tag struct {
	gid       string
	name      string
	color     string // "" = null
	notes     string
	createdAt int64
	ws        *workspace
	followers []*user
	tasks     []*task
	deleted   bool
}

type enumOption struct {
	gid     string
	name    string
	enabled bool
	color   string
}

type customField struct {
	gid           string
	name          string
	typ           string // text, number, enum, multi_enum, date, people
	ws            *workspace
	options       []*enumOption
	description   string
	precision     int
	format        string // none, currency, percentage, custom
	currency      string // "" = null
	label         string // "" = null
	labelPosition string // "" = null
	global        bool
	notify        bool
	createdBy     *user
	privacy       string
	deleted       bool
}

// cfValue is the value of one custom field on a task or project.
type cfValue struct {
	field  *customField
	set    bool
	text   string
	number float64
	enum   *enumOption
	multi  []*enumOption
	date   int32
	people []*user
}

type customFieldSetting struct {
	gid       string
	project   *project   // parent when the setting is on a project
	portfolio *portfolio // parent when the setting is on a portfolio
	field     *customField
	important bool
	deleted   bool
}

type portfolio struct {
	gid         string
	name        string
	ws          *workspace
	owner       *user
	createdBy   *user
	createdAt   int64
	color       string
	startOn     int32
	dueOn       int32
	public      bool
	archived    bool
	items       []*project
	members     []*user
	memberships []*portfolioMembership
	settings    []*customFieldSetting
	deleted     bool
}

type portfolioMembership struct {
	gid       string
	portfolio *portfolio
	user      *user
	access    string
	deleted   bool
}

type orgExport struct {
	gid       string
	org       *workspace
	createdAt int64  // simulated time, ms
	state     string // fixed state for generated exports; "" = derived from age
	deleted   bool
}

// textRef names a deterministic pseudo-random text that is rendered on
// demand instead of being stored: seed selects the words, n the length in
// runes (approximately), style the flavour (latin, unicode, rtl, emoji).
type textRef struct {
	seed  uint32
	n     uint16
	style uint8
	lit   string // a literal text overrides the generated one
}
