package asana

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAffectedBy: a lost listing costs its own stream, its compact twin, and
// every stream below the parents it would have found.
func TestAffectedBy(t *testing.T) {
	for _, tc := range []struct {
		stream string
		want   []string
	}{
		{"workspaces", allBut("organization_exports")},
		{"stories", []string{"stories", "stories_compact"}},
		{"sections_compact", []string{"sections", "sections_compact"}},
		{"team_memberships", []string{"team_memberships"}},
		{"events", []string{"events"}},
		{"organization_exports", []string{"organization_exports"}},
		{"portfolios", []string{"portfolio_items", "portfolios", "portfolios_compact", "portfolios_memberships"}},
		{"teams", []string{"team_memberships", "teams"}},
		{"tasks", []string{"attachments", "attachments_compact", "stories", "stories_compact", "tasks"}},
		{"users", []string{"attachments", "attachments_compact", "stories", "stories_compact", "tasks", "users"}},
		{"projects", []string{"attachments", "attachments_compact", "events", "projects", "sections", "sections_compact",
			"stories", "stories_compact", "tasks"}},
	} {
		if diff := cmp.Diff(tc.want, AffectedBy(tc.stream)); diff != "" {
			t.Errorf("AffectedBy(%s) (-want +got):\n%s", tc.stream, diff)
		}
	}
}

func allBut(name string) []string {
	var out []string
	for _, s := range Streams() {
		if s.Name != name {
			out = append(out, s.Name)
		}
	}
	return out
}
