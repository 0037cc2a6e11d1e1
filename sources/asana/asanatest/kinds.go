package asanatest

import (
	"strconv"
	"strings"
)

// Resource kinds, field by field, in the order of the spec's XResponse
// schemas (asana_oas.yaml). C() marks the XCompact fields, Opt() the
// fields documented as [Opt In], Full() nested objects that the spec
// declares as full responses (e.g. a task's custom_fields are
// CustomFieldResponse objects).

var (
	kWorkspace, kUser, kPhoto, kTeam, kTeamMembership             *kind
	kProject, kProjectStatus, kStatusUpdate, kProjectTemplate     *kind
	kSection, kTask, kMembership, kLike, kExternal                *kind
	kStory, kStoryDates, kReaction, kAttachment, kTag             *kind
	kCustomField, kEnumOption, kDateValue, kCustomFieldSetting    *kind
	kPortfolio, kPortfolioMembership, kOrgExport, kEvent, kChange *kind
	kindsByType                                                   map[string]*kind
	emptyArr                                                      = arr(nil)
)

const appURL = "https://app.asana.com"

func resourceType(name string) *field {
	return &field{name: "resource_type", get: func(*rctx, any) val { return str(name) }}
}

func gidField[T any](g func(T) string) *field {
	return fld("gid", func(_ *rctx, o T) val { return str(g(o)) }).C()
}

func constField(name string, v val) *field {
	return &field{name: name, get: func(*rctx, any) val { return v }}
}

func likesVal(ls []like) val {
	a := make([]val, len(ls))
	for i := range ls {
		a[i] = obj(kLike, &ls[i])
	}
	return arr(a)
}

func likedBy(ls []like, u *user) bool {
	for _, l := range ls {
		if l.user == u {
			return true
		}
	}
	return false
}

func cfValues(vs []cfValue) val {
	a := make([]val, len(vs))
	for i := range vs {
		a[i] = obj(kCustomField, &vs[i])
	}
	return arr(a)
}

func accessLevel(adminsOnly bool) val {
	if adminsOnly {
		return str("only_team_admins")
	}
	return str("all_team_members")
}

func init() {
	kWorkspace = newKind("workspace",
		gidField(func(w *workspace) string { return w.gid }),
		resourceType("workspace").C(),
		fld("name", func(_ *rctx, w *workspace) val { return str(w.name) }).C(),
		fld("email_domains", func(_ *rctx, w *workspace) val { return strs(w.emailDomains) }),
		fld("is_organization", func(_ *rctx, w *workspace) val { return boolean(w.isOrg) }),
	)

	kPhoto = newKind("")
	for _, sz := range []string{"21x21", "27x27", "36x36", "60x60", "128x128", "1024x1024"} {
		ext := ".png"
		if sz == "1024x1024" {
			ext = ".jpg"
		}
		kPhoto.fields = append(kPhoto.fields, fld("image_"+sz, func(_ *rctx, u *user) val {
			return str("https://s3.amazonaws.com/profile_photos/" + u.gid + ".avatar_" + sz + ext)
		}).C())
	}
	kPhoto = newKind("", kPhoto.fields...)

	kUser = newKind("user",
		gidField(func(u *user) string { return u.gid }),
		resourceType("user").C(),
		fld("name", func(_ *rctx, u *user) val { return str(u.name) }).C(),
		fld("email", func(_ *rctx, u *user) val { return str(u.email) }),
		fld("photo", func(_ *rctx, u *user) val {
			if !u.photo {
				return null
			}
			return obj(kPhoto, u)
		}),
		fld("workspaces", func(_ *rctx, u *user) val { return objs(kWorkspace, u.workspaces) }),
		constField("custom_fields", emptyArr),
	)

	kTeam = newKind("team",
		gidField(func(t *team) string { return t.gid }),
		resourceType("team").C(),
		fld("name", func(_ *rctx, t *team) val { return str(t.name) }).C(),
		fld("description", func(_ *rctx, t *team) val { return str(t.description) }).Opt(),
		fld("html_description", func(_ *rctx, t *team) val { return str(htmlBody(t.description)) }).Opt(),
		fld("organization", func(_ *rctx, t *team) val { return obj(kWorkspace, t.org) }),
		fld("permalink_url", func(_ *rctx, t *team) val { return str(appURL + "/1/" + t.org.gid + "/team/" + t.gid) }),
		fld("visibility", func(_ *rctx, t *team) val { return str(t.visibility) }),
		fld("edit_team_name_or_description_access_level", func(_ *rctx, t *team) val { return accessLevel(t.adminsOnly) }),
		fld("edit_team_visibility_or_trash_team_access_level", func(_ *rctx, t *team) val { return accessLevel(true) }),
		fld("member_invite_management_access_level", func(_ *rctx, t *team) val { return accessLevel(t.adminsOnly) }),
		fld("guest_invite_management_access_level", func(_ *rctx, t *team) val { return accessLevel(true) }),
		fld("join_request_management_access_level", func(_ *rctx, t *team) val { return accessLevel(t.adminsOnly) }),
		fld("team_member_removal_access_level", func(_ *rctx, t *team) val { return accessLevel(true) }),
		fld("team_content_management_access_level", func(_ *rctx, t *team) val {
			if t.adminsOnly {
				return str("only_team_admins")
			}
			return str("no_restriction")
		}),
		fld("endorsed", func(_ *rctx, t *team) val { return boolean(t.endorsed) }),
		constField("custom_field_settings", emptyArr).Full(),
	)

	kTeamMembership = newKind("team_membership",
		gidField(func(m *teamMembership) string { return m.gid }),
		resourceType("team_membership").C(),
		fld("user", func(_ *rctx, m *teamMembership) val { return obj(kUser, m.user) }).C(),
		fld("team", func(_ *rctx, m *teamMembership) val { return obj(kTeam, m.team) }).C(),
		fld("is_guest", func(_ *rctx, m *teamMembership) val { return boolean(m.guest) }).C(),
		fld("is_limited_access", func(_ *rctx, m *teamMembership) val { return boolean(m.limited) }).C(),
		fld("is_admin", func(_ *rctx, m *teamMembership) val { return boolean(m.admin) }).C(),
	)

	kProjectStatus = newKind("project_status",
		gidField(func(s *projectStatus) string { return s.gid }),
		resourceType("project_status").C(),
		fld("title", func(_ *rctx, s *projectStatus) val { return str(s.title) }).C(),
		fld("text", func(_ *rctx, s *projectStatus) val { return str(s.text) }),
		fld("html_text", func(_ *rctx, s *projectStatus) val { return str(htmlBody(s.text)) }).Opt(),
		fld("color", func(_ *rctx, s *projectStatus) val { return str(s.color) }),
		fld("author", func(_ *rctx, s *projectStatus) val { return ref(kUser, s.author) }),
		fld("created_at", func(_ *rctx, s *projectStatus) val { return ts(s.createdAt) }),
		fld("created_by", func(_ *rctx, s *projectStatus) val { return ref(kUser, s.author) }),
		fld("modified_at", func(_ *rctx, s *projectStatus) val { return ts(s.modifiedAt) }),
	)
	kStatusUpdate = newKind("status_update",
		gidField(func(s *projectStatus) string { return s.gid }),
		resourceType("status_update").C(),
		fld("title", func(_ *rctx, s *projectStatus) val { return str(s.title) }).C(),
		constField("resource_subtype", str("project_status_update")).C(),
	)
	kProjectTemplate = newKind("project_template",
		gidField(func(t *projectTemplate) string { return t.gid }),
		resourceType("project_template").C(),
		fld("name", func(_ *rctx, t *projectTemplate) val { return str(t.name) }).C(),
	)

	kProject = newKind("project",
		gidField(func(p *project) string { return p.gid }),
		resourceType("project").C(),
		fld("name", func(_ *rctx, p *project) val { return str(p.name) }).C(),
		fld("archived", func(_ *rctx, p *project) val { return boolean(p.archived) }),
		fld("color", func(_ *rctx, p *project) val { return strN(p.color) }),
		fld("icon", func(_ *rctx, p *project) val { return strN(p.icon) }),
		fld("created_at", func(_ *rctx, p *project) val { return ts(p.createdAt) }),
		fld("current_status", func(_ *rctx, p *project) val { return ref(kProjectStatus, p.status) }).Full(),
		fld("current_status_update", func(_ *rctx, p *project) val { return ref(kStatusUpdate, p.status) }),
		fld("custom_field_settings", func(_ *rctx, p *project) val { return objs(kCustomFieldSetting, p.settings) }).Full(),
		fld("default_view", func(_ *rctx, p *project) val { return str(p.defaultView) }),
		fld("due_date", func(_ *rctx, p *project) val { return date(p.dueOn) }),
		fld("due_on", func(_ *rctx, p *project) val { return date(p.dueOn) }),
		fld("html_notes", func(c *rctx, p *project) val { return str(c.s.text(p.notes, true)) }).Opt(),
		fld("members", func(_ *rctx, p *project) val { return objs(kUser, p.members) }),
		fld("modified_at", func(_ *rctx, p *project) val { return ts(p.modifiedAt) }),
		fld("notes", func(c *rctx, p *project) val { return str(c.s.text(p.notes, false)) }),
		fld("public", func(_ *rctx, p *project) val { return boolean(p.public) }),
		fld("privacy_setting", func(_ *rctx, p *project) val { return str(p.privacy) }),
		fld("start_on", func(_ *rctx, p *project) val { return date(p.startOn) }),
		fld("default_access_level", func(_ *rctx, p *project) val { return str(p.access) }),
		constField("minimum_access_level_for_customization", str("editor")),
		constField("minimum_access_level_for_sharing", str("editor")),
		fld("custom_fields", func(_ *rctx, p *project) val { return cfValues(p.values) }),
		fld("completed", func(_ *rctx, p *project) val { return boolean(p.completed) }),
		fld("completed_at", func(_ *rctx, p *project) val { return ts(p.completedAt) }),
		fld("completed_by", func(_ *rctx, p *project) val { return ref(kUser, p.completedBy) }),
		fld("followers", func(_ *rctx, p *project) val { return objs(kUser, p.followers) }),
		fld("owner", func(_ *rctx, p *project) val { return ref(kUser, p.owner) }),
		fld("team", func(_ *rctx, p *project) val { return ref(kTeam, p.team) }),
		fld("permalink_url", func(_ *rctx, p *project) val {
			return str(appURL + "/1/" + p.ws.gid + "/project/" + p.gid + "/list")
		}),
		constField("project_brief", null).Opt(),
		fld("created_from_template", func(_ *rctx, p *project) val { return ref(kProjectTemplate, p.template) }).Opt(),
		fld("workspace", func(_ *rctx, p *project) val { return obj(kWorkspace, p.ws) }),
	)

	kSection = newKind("section",
		gidField(func(s *section) string { return s.gid }),
		resourceType("section").C(),
		fld("name", func(_ *rctx, s *section) val { return str(s.name) }).C(),
		fld("created_at", func(_ *rctx, s *section) val { return ts(s.createdAt) }),
		fld("project", func(_ *rctx, s *section) val { return obj(kProject, s.project) }),
		fld("projects", func(_ *rctx, s *section) val { return arr([]val{obj(kProject, s.project)}) }),
	)

	kMembership = newKind("",
		fld("project", func(_ *rctx, m *membership) val { return obj(kProject, m.project) }).C(),
		fld("section", func(_ *rctx, m *membership) val { return ref(kSection, m.section) }).C(),
	)
	kLike = newKind("",
		gidField(func(l *like) string { return l.gid }),
		fld("user", func(_ *rctx, l *like) val { return obj(kUser, l.user) }).C(),
	)
	kExternal = newKind("",
		fld("gid", func(_ *rctx, e *external) val { return str(e.gid) }).C(),
		fld("data", func(_ *rctx, e *external) val { return str(e.data) }).C(),
	)

	kTask = newKind("task",
		gidField(func(t *task) string { return t.gid }),
		resourceType("task").C(),
		fld("name", func(_ *rctx, t *task) val { return str(t.name) }).C(),
		fld("resource_subtype", func(_ *rctx, t *task) val { return str(t.subtype) }).C(),
		fld("created_by", func(_ *rctx, t *task) val {
			if t.createdBy == nil {
				return null
			}
			return obj(kCreatedBy, t.createdBy)
		}).Opt(),
		fld("approval_status", func(_ *rctx, t *task) val { return strN(t.approvalStatus) }),
		fld("assignee_status", func(_ *rctx, t *task) val {
			if t.assigneeStatus == "" {
				return str("inbox")
			}
			return str(t.assigneeStatus)
		}),
		fld("assigned_by", func(_ *rctx, t *task) val { return ref(kUser, t.assignedBy) }),
		fld("completed", func(_ *rctx, t *task) val { return boolean(t.completed) }),
		fld("completed_at", func(_ *rctx, t *task) val { return ts(t.completedAt) }),
		fld("completed_by", func(_ *rctx, t *task) val { return ref(kUser, t.completedBy) }),
		fld("created_at", func(_ *rctx, t *task) val { return ts(t.createdAt) }),
		fld("dependencies", func(_ *rctx, t *task) val { return objs(kTaskRef, t.dependencies) }).Opt(),
		fld("dependents", func(_ *rctx, t *task) val { return objs(kTaskRef, t.dependents) }).Opt(),
		fld("due_at", func(_ *rctx, t *task) val { return ts(t.dueAt) }),
		fld("due_on", func(_ *rctx, t *task) val { return date(t.dueOn) }),
		fld("external", func(_ *rctx, t *task) val { return ref(kExternal, t.external) }).Opt(),
		fld("html_notes", func(c *rctx, t *task) val { return str(c.s.text(t.notes, true)) }).Opt(),
		fld("hearted", func(c *rctx, t *task) val { return boolean(likedBy(t.likes, c.me)) }),
		fld("hearts", func(_ *rctx, t *task) val { return likesVal(t.likes) }),
		fld("is_rendered_as_separator", func(_ *rctx, t *task) val { return boolean(t.separator) }).Opt(),
		fld("liked", func(c *rctx, t *task) val { return boolean(likedBy(t.likes, c.me)) }),
		fld("likes", func(_ *rctx, t *task) val { return likesVal(t.likes) }),
		fld("memberships", func(_ *rctx, t *task) val {
			a := make([]val, len(t.memberships))
			for i := range t.memberships {
				a[i] = obj(kMembership, &t.memberships[i])
			}
			return arr(a)
		}),
		fld("modified_at", func(_ *rctx, t *task) val { return ts(t.modifiedAt) }),
		fld("notes", func(c *rctx, t *task) val { return str(c.s.text(t.notes, false)) }),
		fld("num_hearts", func(_ *rctx, t *task) val { return integer(int64(len(t.likes))) }),
		fld("num_likes", func(_ *rctx, t *task) val { return integer(int64(len(t.likes))) }),
		fld("num_subtasks", func(_ *rctx, t *task) val {
			n := 0
			for _, s := range t.subtasks {
				if !s.deleted {
					n++
				}
			}
			return integer(int64(n))
		}).Opt(),
		fld("start_at", func(_ *rctx, t *task) val { return ts(t.startAt) }),
		fld("start_on", func(_ *rctx, t *task) val { return date(t.startOn) }),
		fld("actual_time_minutes", func(_ *rctx, t *task) val {
			if t.actualMinutes < 0 {
				return null
			}
			return num(t.actualMinutes)
		}),
		fld("assignee", func(_ *rctx, t *task) val { return ref(kUser, t.assignee) }),
		constField("assignee_section", null),
		fld("custom_fields", func(_ *rctx, t *task) val { return cfValues(t.values) }).Full(),
		constField("custom_type", null),
		constField("custom_type_status_option", null),
		fld("followers", func(_ *rctx, t *task) val { return objs(kUser, t.followers) }),
		fld("parent", func(_ *rctx, t *task) val { return ref(kTask, t.parent) }),
		fld("projects", func(_ *rctx, t *task) val {
			a := make([]val, len(t.memberships))
			for i, m := range t.memberships {
				a[i] = obj(kProject, m.project)
			}
			return arr(a)
		}),
		fld("tags", func(_ *rctx, t *task) val { return objs(kTag, t.tags) }),
		fld("workspace", func(_ *rctx, t *task) val { return obj(kWorkspace, t.ws) }),
		fld("permalink_url", func(_ *rctx, t *task) val { return str(taskURL(t)) }),
	)

	kStoryDates = newKind("",
		fld("start_on", func(_ *rctx, d *int32) val { return null }).C(),
		fld("due_at", func(_ *rctx, d *int32) val { return null }).C(),
		fld("due_on", func(_ *rctx, d *int32) val { return date(*d) }).C(),
	)
	kReaction = newKind("",
		constField("emoji_base", str("👍")).C(),
		constField("variant", str("👍")).C(),
		fld("count", func(_ *rctx, s *story) val { return integer(int64(len(s.likes))) }).C(),
		fld("reacted", func(c *rctx, s *story) val { return boolean(likedBy(s.likes, c.me)) }).C(),
	)

	kStory = newKind("story",
		gidField(func(s *story) string { return s.gid }),
		resourceType("story").C(),
		fld("created_at", func(_ *rctx, s *story) val { return ts(s.createdAt) }).C(),
		fld("resource_subtype", func(_ *rctx, s *story) val { return str(s.subtype) }).C(),
		fld("text", func(c *rctx, s *story) val {
			if s.subtype == stComment {
				return str(c.s.text(s.text, false))
			}
			return str(storyText(s))
		}).C(),
		fld("html_text", func(c *rctx, s *story) val {
			if s.subtype != stComment {
				return null
			}
			return str(c.s.text(s.text, true))
		}).Opt(),
		fld("is_pinned", func(_ *rctx, s *story) val { return boolean(s.pinned) }),
		fld("sticker_name", func(_ *rctx, s *story) val { return strN(s.sticker) }),
		fld("created_by", func(_ *rctx, s *story) val { return ref(kUser, s.createdBy) }).C(),
		fld("type", func(_ *rctx, s *story) val {
			if s.subtype == stComment {
				return str("comment")
			}
			return str("system")
		}),
		fld("is_editable", func(c *rctx, s *story) val { return boolean(s.subtype == stComment && s.createdBy == c.me) }),
		fld("is_edited", func(_ *rctx, s *story) val { return boolean(s.edited) }),
		fld("hearted", func(c *rctx, s *story) val { return boolean(likedBy(s.likes, c.me)) }),
		fld("hearts", func(_ *rctx, s *story) val { return likesVal(s.likes) }),
		fld("num_hearts", func(_ *rctx, s *story) val { return integer(int64(len(s.likes))) }),
		fld("liked", func(c *rctx, s *story) val { return boolean(likedBy(s.likes, c.me)) }),
		fld("likes", func(_ *rctx, s *story) val { return likesVal(s.likes) }),
		fld("num_likes", func(_ *rctx, s *story) val { return integer(int64(len(s.likes))) }),
		fld("reaction_summary", func(_ *rctx, s *story) val {
			if len(s.likes) == 0 {
				return emptyArr
			}
			return arr([]val{obj(kReaction, s)})
		}),
		constField("previews", emptyArr),
		fld("old_name", func(_ *rctx, s *story) val { return strN(s.oldName) }),
		fld("new_name", func(_ *rctx, s *story) val { return strN(s.newName) }),
		fld("old_dates", func(_ *rctx, s *story) val {
			if s.subtype != stDueDateChanged || s.oldDate == 0 {
				return null
			}
			return obj(kStoryDates, &s.oldDate)
		}),
		fld("new_dates", func(_ *rctx, s *story) val {
			if s.subtype != stDueDateChanged {
				return null
			}
			return obj(kStoryDates, &s.newDate)
		}),
		constField("old_resource_subtype", null),
		constField("new_resource_subtype", null),
		constField("story", null),
		fld("assignee", func(_ *rctx, s *story) val {
			if s.subtype != stAssigned {
				return null
			}
			return ref(kUser, s.user)
		}),
		fld("follower", func(_ *rctx, s *story) val {
			if s.subtype != stFollower {
				return null
			}
			return ref(kUser, s.user)
		}),
		fld("old_section", func(_ *rctx, s *story) val { return ref(kSection, s.oldSec) }),
		fld("new_section", func(_ *rctx, s *story) val { return ref(kSection, s.newSec) }),
		fld("task", func(_ *rctx, s *story) val {
			if s.subtask != nil {
				return obj(kTask, s.subtask)
			}
			return null
		}),
		fld("project", func(_ *rctx, s *story) val { return ref(kProject, s.project) }),
		constField("tag", null),
		fld("custom_field", func(_ *rctx, s *story) val {
			if s.field == nil {
				return null
			}
			return obj(kCustomField, &cfValue{field: s.field})
		}),
		constField("old_text_value", null),
		constField("new_text_value", null),
		constField("old_number_value", null),
		constField("new_number_value", null),
		fld("old_enum_value", func(_ *rctx, s *story) val { return ref(kEnumOption, s.oldEnum) }),
		fld("new_enum_value", func(_ *rctx, s *story) val { return ref(kEnumOption, s.newEnum) }),
		constField("old_date_value", null),
		constField("new_date_value", null),
		constField("old_people_value", emptyArr),
		constField("new_people_value", emptyArr),
		constField("old_multi_enum_values", emptyArr),
		constField("new_multi_enum_values", emptyArr),
		constField("new_approval_status", null),
		constField("old_approval_status", null),
		constField("duplicate_of", null),
		constField("duplicated_from", null),
		constField("dependency", null),
		fld("source", func(_ *rctx, s *story) val { return str(s.source) }),
		fld("target", func(_ *rctx, s *story) val { return obj(kTask, s.task) }),
	)

	kAttachment = newKind("attachment",
		gidField(func(a *attachment) string { return a.gid }),
		resourceType("attachment").C(),
		fld("name", func(_ *rctx, a *attachment) val { return str(a.name) }).C(),
		fld("resource_subtype", func(_ *rctx, a *attachment) val { return str(a.subtype) }).C(),
		fld("created_at", func(_ *rctx, a *attachment) val { return ts(a.createdAt) }),
		fld("download_url", func(c *rctx, a *attachment) val { return strN(downloadURL(c, a)) }),
		fld("permanent_url", func(_ *rctx, a *attachment) val {
			return str(appURL + "/app/asana/-/get_asset?asset_id=" + a.gid)
		}),
		fld("host", func(_ *rctx, a *attachment) val { return str(a.host) }),
		fld("parent", func(_ *rctx, a *attachment) val {
			if a.parentT != nil {
				return obj(kTask, a.parentT)
			}
			return ref(kProject, a.parentP)
		}),
		fld("size", func(_ *rctx, a *attachment) val {
			if a.host != "asana" {
				return null
			}
			return integer(a.size)
		}),
		fld("view_url", func(_ *rctx, a *attachment) val { return strN(viewURL(a)) }),
		fld("connected_to_app", func(_ *rctx, a *attachment) val { return boolean(a.connected) }),
	)

	kTag = newKind("tag",
		gidField(func(t *tag) string { return t.gid }),
		resourceType("tag").C(),
		fld("name", func(_ *rctx, t *tag) val { return str(t.name) }).C(),
		fld("color", func(_ *rctx, t *tag) val { return strN(t.color) }),
		fld("notes", func(_ *rctx, t *tag) val { return str(t.notes) }),
		fld("created_at", func(_ *rctx, t *tag) val { return ts(t.createdAt) }),
		fld("followers", func(_ *rctx, t *tag) val { return objs(kUser, t.followers) }),
		fld("workspace", func(_ *rctx, t *tag) val { return obj(kWorkspace, t.ws) }),
		fld("permalink_url", func(_ *rctx, t *tag) val { return str(appURL + "/1/" + t.ws.gid + "/tag/" + t.gid + "/list") }),
	)

	kEnumOption = newKind("enum_option",
		gidField(func(o *enumOption) string { return o.gid }),
		resourceType("enum_option").C(),
		fld("name", func(_ *rctx, o *enumOption) val { return str(o.name) }).C(),
		fld("enabled", func(_ *rctx, o *enumOption) val { return boolean(o.enabled) }).C(),
		fld("color", func(_ *rctx, o *enumOption) val { return str(o.color) }).C(),
	)
	kDateValue = newKind("",
		fld("date", func(_ *rctx, v *cfValue) val { return date(v.date) }).C(),
		constField("date_time", null).C(),
	)

	// kCustomField renders a *cfValue: the field definition plus, on tasks
	// and projects, the value (unset values and bare definitions render
	// the value fields as null).
	cf := func(name string, get func(c *rctx, f *customField, v *cfValue) val) *field {
		return fld(name, func(c *rctx, v *cfValue) val { return get(c, v.field, v) })
	}
	kCustomField = newKind("custom_field",
		cf("gid", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.gid) }).C(),
		resourceType("custom_field").C(),
		cf("name", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.name) }).C(),
		cf("type", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.typ) }).C(),
		cf("enum_options", func(_ *rctx, f *customField, _ *cfValue) val { return objs(kEnumOption, f.options) }).C(),
		constField("enabled", boolean(true)).C(),
		cf("representation_type", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.typ) }).C(),
		constField("id_prefix", null).C(),
		constField("input_restrictions", emptyArr).C(),
		constField("is_formula_field", boolean(false)).C(),
		cf("date_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "date" || !v.set {
				return null
			}
			return obj(kDateValue, v)
		}).C(),
		cf("enum_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "enum" || !v.set {
				return null
			}
			return ref(kEnumOption, v.enum)
		}).C(),
		cf("multi_enum_values", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "multi_enum" || !v.set {
				return emptyArr
			}
			return objs(kEnumOption, v.multi)
		}).C(),
		cf("number_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "number" || !v.set {
				return null
			}
			return num(v.number)
		}).C(),
		cf("text_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "text" || !v.set {
				return null
			}
			return str(v.text)
		}).C(),
		cf("display_value", func(_ *rctx, f *customField, v *cfValue) val { return displayValue(v) }).C(),
		cf("description", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.description) }).Opt(),
		cf("precision", func(_ *rctx, f *customField, _ *cfValue) val {
			if f.typ != "number" {
				return null
			}
			return integer(int64(f.precision))
		}),
		cf("format", func(_ *rctx, f *customField, _ *cfValue) val {
			if f.format == "" {
				return str("none")
			}
			return str(f.format)
		}),
		cf("currency_code", func(_ *rctx, f *customField, _ *cfValue) val { return strN(f.currency) }),
		cf("custom_label", func(_ *rctx, f *customField, _ *cfValue) val { return strN(f.label) }),
		cf("custom_label_position", func(_ *rctx, f *customField, _ *cfValue) val { return strN(f.labelPosition) }),
		cf("is_global_to_workspace", func(_ *rctx, f *customField, _ *cfValue) val { return boolean(f.global) }),
		cf("has_notifications_enabled", func(_ *rctx, f *customField, _ *cfValue) val { return boolean(f.notify) }),
		constField("asana_created_field", null),
		constField("is_value_read_only", boolean(false)),
		cf("created_by", func(_ *rctx, f *customField, _ *cfValue) val { return ref(kUser, f.createdBy) }),
		cf("people_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "people" || !v.set {
				return emptyArr
			}
			return objs(kUser, v.people)
		}),
		constField("reference_value", emptyArr),
		cf("html_text_value", func(_ *rctx, f *customField, v *cfValue) val {
			if f.typ != "text" || !v.set {
				return null
			}
			return str(htmlBody(v.text))
		}),
		cf("privacy_setting", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.privacy) }),
		constField("default_access_level", str("editor")),
		cf("resource_subtype", func(_ *rctx, f *customField, _ *cfValue) val { return str(f.typ) }),
	)

	kCustomFieldSetting = newKind("custom_field_setting",
		gidField(func(s *customFieldSetting) string { return s.gid }),
		resourceType("custom_field_setting").C(),
		fld("project", func(_ *rctx, s *customFieldSetting) val { return ref(kProject, s.project) }),
		fld("is_important", func(_ *rctx, s *customFieldSetting) val { return boolean(s.important) }),
		fld("parent", func(_ *rctx, s *customFieldSetting) val {
			if s.project != nil {
				return obj(kProject, s.project)
			}
			return ref(kPortfolio, s.portfolio)
		}),
		fld("custom_field", func(_ *rctx, s *customFieldSetting) val {
			return obj(kCustomField, &cfValue{field: s.field})
		}).Full(),
	)

	kPortfolio = newKind("portfolio",
		gidField(func(p *portfolio) string { return p.gid }),
		resourceType("portfolio").C(),
		fld("name", func(_ *rctx, p *portfolio) val { return str(p.name) }).C(),
		fld("archived", func(_ *rctx, p *portfolio) val { return boolean(p.archived) }).Opt(),
		fld("color", func(_ *rctx, p *portfolio) val { return str(p.color) }),
		fld("start_on", func(_ *rctx, p *portfolio) val { return date(p.startOn) }),
		fld("due_on", func(_ *rctx, p *portfolio) val { return date(p.dueOn) }),
		constField("default_access_level", str("editor")),
		fld("created_at", func(_ *rctx, p *portfolio) val { return ts(p.createdAt) }),
		fld("created_by", func(_ *rctx, p *portfolio) val { return ref(kUser, p.createdBy) }),
		fld("custom_field_settings", func(_ *rctx, p *portfolio) val { return objs(kCustomFieldSetting, p.settings) }).Full(),
		constField("current_status_update", null),
		constField("custom_fields", emptyArr),
		fld("members", func(_ *rctx, p *portfolio) val { return objs(kUser, p.members) }),
		fld("owner", func(_ *rctx, p *portfolio) val { return ref(kUser, p.owner) }),
		fld("workspace", func(_ *rctx, p *portfolio) val { return obj(kWorkspace, p.ws) }),
		fld("permalink_url", func(_ *rctx, p *portfolio) val {
			return str(appURL + "/1/" + p.ws.gid + "/portfolio/" + p.gid + "/list")
		}),
		fld("public", func(_ *rctx, p *portfolio) val { return boolean(p.public) }),
		fld("privacy_setting", func(_ *rctx, p *portfolio) val {
			if p.public {
				return str("public_to_domain")
			}
			return str("members_only")
		}),
		constField("project_templates", emptyArr),
	)

	kPortfolioMembership = newKind("portfolio_membership",
		gidField(func(m *portfolioMembership) string { return m.gid }),
		resourceType("portfolio_membership").C(),
		fld("portfolio", func(_ *rctx, m *portfolioMembership) val { return obj(kPortfolio, m.portfolio) }).Opt(),
		fld("user", func(_ *rctx, m *portfolioMembership) val { return obj(kUser, m.user) }).C(),
		fld("access_level", func(_ *rctx, m *portfolioMembership) val { return str(m.access) }).C(),
	)

	kOrgExport = newKind("organization_export",
		gidField(func(e *orgExport) string { return e.gid }),
		resourceType("organization_export").C(),
		fld("created_at", func(_ *rctx, e *orgExport) val { return ts(e.createdAt) }).C(),
		fld("download_url", func(c *rctx, e *orgExport) val {
			if exportState(c, e) != "finished" {
				return null
			}
			return str("https://asana-export-us-east-1.s3.amazonaws.com/exports/" + e.org.gid + "/" + e.gid +
				"/export.json.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=" + sigHex(c.s, e.gid))
		}).C(),
		fld("state", func(c *rctx, e *orgExport) val { return str(exportState(c, e)) }).C(),
		fld("organization", func(_ *rctx, e *orgExport) val { return obj(kWorkspace, e.org) }).C(),
	)

	kChange = newKind("",
		fld("field", func(_ *rctx, c *change) val { return str(c.field) }).C(),
		fld("action", func(_ *rctx, c *change) val { return str(c.action) }).C(),
		fld("new_value", func(_ *rctx, c *change) val { return c.newValue }).C(),
		fld("added_value", func(_ *rctx, c *change) val { return c.addedValue }).C(),
		fld("removed_value", func(_ *rctx, c *change) val { return c.removedValue }).C(),
	)
	kEvent = newKind("",
		fld("user", func(_ *rctx, e *event) val { return ref(kUser, e.user) }).C(),
		fld("resource", func(_ *rctx, e *event) val { return obj(e.rkind, e.resource) }).C().Sub(projNamed),
		fld("type", func(_ *rctx, e *event) val { return str(e.rkind.name) }).C(),
		fld("action", func(_ *rctx, e *event) val { return str(e.action) }).C(),
		fld("parent", func(_ *rctx, e *event) val {
			if e.parent == nil {
				return null
			}
			return obj(e.pkind, e.parent)
		}).C().Sub(projNamed),
		fld("created_at", func(_ *rctx, e *event) val { return ts(e.createdAt) }).C(),
		fld("change", func(_ *rctx, e *event) val { return ref(kChange, e.change) }).C().Full(),
	)

	// Names of these objects never change at runtime (Activity renames
	// tasks only), so their compact JSON can be cached.
	for _, k := range []*kind{kWorkspace, kUser, kTeam, kProject, kSection, kTag, kEnumOption, kProjectTemplate, kStatusUpdate} {
		k.immutable = true
	}
	kindsByType = map[string]*kind{}
	for _, k := range []*kind{kWorkspace, kUser, kTeam, kTeamMembership, kProject, kSection, kTask, kStory,
		kAttachment, kTag, kCustomField, kCustomFieldSetting, kPortfolio, kPortfolioMembership, kOrgExport} {
		kindsByType[k.name] = k
	}
}

// kTaskRef renders dependencies/dependents ({gid, resource_type}, the spec's
// AsanaResource) and kCreatedBy the compact creator of a task.
var kTaskRef, kCreatedBy *kind

func init() {
	kTaskRef = newKind("task",
		gidField(func(t *task) string { return t.gid }),
		resourceType("task").C(),
		fld("name", func(_ *rctx, t *task) val { return str(t.name) }),
	)
	kCreatedBy = newKind("user",
		gidField(func(u *user) string { return u.gid }),
		resourceType("user").C(),
		fld("name", func(_ *rctx, u *user) val { return str(u.name) }),
	)
}

func taskURL(t *task) string {
	if len(t.memberships) > 0 {
		return appURL + "/1/" + t.ws.gid + "/project/" + t.memberships[0].project.gid + "/task/" + t.gid
	}
	return appURL + "/1/" + t.ws.gid + "/task/" + t.gid
}

func downloadURL(c *rctx, a *attachment) string {
	switch a.host {
	case "asana":
		return "https://asana-user-private-us-east-1.s3.amazonaws.com/assets/" + a.gid + "/" +
			strings.ReplaceAll(urlPathEscape(a.name), "%2F", "_") +
			"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250601T090000Z&X-Amz-Expires=120&X-Amz-SignedHeaders=host&X-Amz-Signature=" + sigHex(c.s, a.gid)
	case "gdrive":
		return "https://drive.google.com/uc?export=download&id=" + a.gid
	case "dropbox":
		return "https://www.dropbox.com/s/" + a.gid + "/file?dl=1"
	case "onedrive":
		return "https://onedrive.live.com/download?resid=" + a.gid
	default: // box, external links and videos have no download
		return ""
	}
}

func viewURL(a *attachment) string {
	switch a.host {
	case "asana":
		return appURL + "/app/asana/-/get_asset?asset_id=" + a.gid
	case "gdrive":
		return "https://drive.google.com/file/d/" + a.gid + "/view"
	case "dropbox":
		return "https://www.dropbox.com/s/" + a.gid + "/file"
	case "onedrive":
		return "https://onedrive.live.com/view?resid=" + a.gid
	case "external":
		return a.name
	case "youtube":
		return "https://www.youtube.com/watch?v=" + a.gid
	default: // box
		return ""
	}
}

// displayValue formats a custom field value the way Asana shows it.
func displayValue(v *cfValue) val {
	if !v.set {
		return null
	}
	f := v.field
	switch f.typ {
	case "text":
		return str(v.text)
	case "number":
		s := strconv.FormatFloat(v.number, 'f', f.precision, 64)
		switch f.format {
		case "currency":
			sym := f.currency + " "
			if f.currency == "USD" {
				sym = "$"
			}
			return str(sym + s)
		case "percentage":
			return str(strconv.FormatFloat(v.number*100, 'f', f.precision, 64) + "%")
		case "custom":
			if f.labelPosition == "prefix" {
				return str(f.label + s)
			}
			return str(s + " " + f.label)
		}
		return str(s)
	case "enum":
		if v.enum == nil {
			return null
		}
		return str(v.enum.name)
	case "multi_enum":
		names := make([]string, len(v.multi))
		for i, o := range v.multi {
			names[i] = o.name
		}
		return str(strings.Join(names, ", "))
	case "date":
		return date(v.date)
	case "people":
		names := make([]string, len(v.people))
		for i, u := range v.people {
			names[i] = u.name
		}
		return str(strings.Join(names, ", "))
	}
	return null
}

// storyText is the text of a story; system stories describe the change.
func storyText(s *story) string {
	switch s.subtype {
	case stComment:
		return genText(s.text)
	case stAssigned:
		return "assigned to " + s.user.name
	case stNameChanged:
		return "changed the name to \"" + s.newName + "\""
	case stSectionChanged:
		return "moved this task from \"" + s.oldSec.name + "\" to \"" + s.newSec.name + "\" in " + s.project.name
	case stAddedToProject:
		return "added to " + s.project.name
	case stDueDateChanged:
		return "changed the due date to " + formatDate(s.newDate)
	case stMarkedComplete:
		return "marked this task complete"
	case stEnumChanged:
		return "changed " + s.field.name + " from \"" + s.oldEnum.name + "\" to \"" + s.newEnum.name + "\""
	case stFollower:
		return "added " + s.user.name + " as a collaborator"
	case stTaskCreated:
		return "added subtask " + s.subtask.name
	}
	return s.subtype
}

func urlPathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
