package schemas

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Records shaped like Asana's responses (with opt_fields), checked against
// the schemas with format assertion on.
func TestRecords(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		record string
		valid  bool
	}{
		{"subtask with custom fields", "tasks", `{
			"gid": "1204", "resource_type": "task", "name": "Sub", "resource_subtype": "default_task",
			"created_by": {"gid": "1", "resource_type": "user"},
			"completed": false, "completed_at": null, "due_on": "2024-02-29", "due_at": null,
			"start_on": null, "start_at": "2024-02-01T09:00:00.000Z", "actual_time_minutes": 12.5,
			"dependencies": [{"gid": "1203", "resource_type": "task"}], "dependents": [],
			"external": {"gid": "ext-1", "data": "x"}, "html_notes": "<body>hi</body>",
			"memberships": [{"project": {"gid": "10", "name": "P", "resource_type": "project"},
			                 "section": {"gid": "11", "name": "S", "resource_type": "section"}}],
			"num_subtasks": 0, "is_rendered_as_separator": false,
			"parent": {"gid": "1200", "name": "Parent", "resource_type": "task"},
			"custom_fields": [
				{"gid": "20", "name": "Estimate", "resource_type": "custom_field", "resource_subtype": "number",
				 "type": "number", "number_value": 3.5, "precision": 1, "display_value": "3.5", "enabled": true,
				 "is_formula_field": false, "currency_code": null},
				{"gid": "21", "name": "When", "resource_type": "custom_field", "resource_subtype": "date",
				 "date_value": {"date": "2024-03-01", "date_time": null}},
				{"gid": "22", "name": "Stage", "resource_type": "custom_field", "resource_subtype": "enum",
				 "enum_value": {"gid": "23", "name": "Done", "color": "green", "enabled": true, "resource_type": "enum_option"},
				 "multi_enum_values": [], "people_value": [{"gid": "1", "name": "Ann", "resource_type": "user"}]}
			],
			"tags": [{"gid": "30", "name": "t"}], "workspace": {"gid": "2", "name": "W", "resource_type": "workspace"}
		}`, true},
		{"task due_on as timestamp", "tasks", `{"gid": "1", "due_on": "2024-02-29T00:00:00Z"}`, false},
		{"task without gid", "tasks", `{"name": "x"}`, false},
		{"task with null gid", "tasks", `{"gid": null}`, false},
		{"task with unknown field", "tasks", `{"gid": "1", "new_asana_field": {"a": 1}}`, true},
		{"project custom field text value", "projects", `{
			"gid": "10", "custom_fields": [{"gid": "20", "name": "Note", "text_value": "hello"}],
			"due_on": "2024-01-31", "current_status_update": {"gid": "5", "title": "ok", "resource_subtype": "project_status_update"},
			"custom_field_settings": [{"gid": "6", "is_important": true, "custom_field": {"gid": "20", "name": "Note"}}]
		}`, true},
		{"portfolio with member arrays and dates", "portfolios", `{
			"gid": "40", "name": "PF", "due_on": "2024-12-31", "start_on": "2024-01-01", "archived": false,
			"members": [{"gid": "1", "name": "Ann", "resource_type": "user"}],
			"project_templates": [{"gid": "50", "name": "Tpl", "resource_type": "project_template"}]
		}`, true},
		{"portfolio due_on as Airbyte typed it", "portfolios", `{"gid": "40", "due_on": "2024-12-31T00:00:00Z"}`, false},
		{"custom field definition has a name", "custom_fields", `{
			"gid": "20", "name": "Estimate", "resource_subtype": "number", "precision": 2, "format": "none",
			"created_by": {"gid": "1", "name": "Ann", "resource_type": "user"}, "enum_options": []
		}`, true},
		{"event with resource values", "events", `{
			"user": {"gid": "1", "name": "Ann", "resource_type": "user"},
			"resource": {"gid": "1204", "name": "Sub", "resource_type": "task"},
			"type": "task", "action": "changed", "parent": null, "created_at": "2024-05-06T07:08:09.123Z",
			"change": {"field": "assignee", "action": "changed",
			           "new_value": {"gid": "1", "resource_type": "user", "name": "Ann", "email": "a@example.com"}}
		}`, true},
		{"system event", "events", `{"user": null, "resource": {"gid": "9", "resource_type": "story"}, "action": "added",
			"parent": {"gid": "1204", "resource_type": "task"}, "created_at": "2024-05-06T07:08:09.123Z"}`, true},
		{"story about a date change", "stories", `{
			"gid": "60", "resource_subtype": "due_date_changed", "type": "system", "text": "changed the due date",
			"old_dates": {"start_on": null, "due_at": null, "due_on": "2024-01-01"},
			"new_dates": {"start_on": "2024-01-02", "due_at": "2024-01-05T10:00:00.000Z", "due_on": "2024-01-05"},
			"target": {"gid": "1204", "name": "Sub", "resource_type": "task", "resource_subtype": "default_task"},
			"old_number_value": 1.25, "reaction_summary": [{"emoji_base": "x", "variant": "x", "count": 2, "reacted": false}]
		}`, true},
		{"compact story", "stories_compact", `{"gid": "60", "resource_type": "story", "created_at": "2024-05-06T07:08:09.123Z",
			"created_by": {"gid": "1", "name": "Ann", "resource_type": "user"}, "resource_subtype": "comment_added",
			"text": "hi", "type": "comment"}`, true},
		{"attachment", "attachments", `{"gid": "70", "name": "a.png", "resource_subtype": "asana", "host": "asana",
			"size": 1024, "download_url": null, "parent": {"gid": "1204", "resource_type": "task", "name": "Sub", "resource_subtype": "default_task"}}`, true},
		{"user photo", "users", `{"gid": "1", "photo": {"image_128x128": "https://x/y.png", "image_1024x1024": "https://x/z.jpg"},
			"workspaces": [{"gid": "2", "name": "W", "resource_type": "workspace"}]}`, true},
		{"pending export", "organization_exports", `{"gid": "80", "state": "pending", "download_url": null,
			"created_at": "2024-05-06T07:08:09.123Z", "organization": {"gid": "2", "name": "W", "resource_type": "workspace"}}`, true},
		{"portfolio item", "portfolio_items", `{"gid": "10", "name": "P", "resource_type": "project", "due_on": "2024-01-31",
			"owner": {"gid": "1", "name": "Ann", "resource_type": "user"}}`, true},
		{"membership", "portfolios_memberships", `{"gid": "90", "access_level": "editor",
			"portfolio": {"gid": "40", "name": "PF"}, "user": {"gid": "1", "name": "Ann"}}`, true},
		{"integer where a string is due", "workspaces", `{"gid": "2", "name": 5}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.record))
			if err != nil {
				t.Fatalf("bad test record: %v", err)
			}
			err = compile(t, tt.stream).Validate(inst)
			if (err == nil) != tt.valid {
				t.Errorf("Validate() error = %v, want valid = %v", err, tt.valid)
			}
		})
	}
}
