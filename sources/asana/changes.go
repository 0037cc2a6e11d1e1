package asana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
)

// The change feed of incremental sync. Asana's events of a project
// (GET /events?resource=<project>&sync=<token>) name what changed below it
// since the token was issued: its tasks and subtasks, their stories and
// attachments, its sections and the project itself. Changes reads them
// all (through has_more) and says, per stream, which records to read again
// and which are deleted; the next sync reads on from Changes.Sync.

// maxEventPages bounds the calls of one feed: 100 events each.
const maxEventPages = 1000

// Changes is what the events of one project since a sync token say.
type Changes struct {
	Project string
	// Sync is the token to read on from at the next sync.
	Sync string
	// Expired is true when the token given had expired (Asana keeps events
	// for a limited time): nothing is known of what happened since it was
	// issued, and Sync is a fresh token.
	Expired bool
	// Live are, per stream, the gids of the records created, changed or
	// undeleted: to read again. Deleted are those whose last event deleted
	// them: tombstones. A gid is in one of them at most.
	Live, Deleted map[string][]string
	// StoriesOf and AttachmentsOf are the tasks that gained stories or
	// attachments: their lists are to read again, for the new ones.
	StoriesOf, AttachmentsOf []string
	// Events counts the events read; Calls the requests made.
	Events, Calls int
	// Raw are the events as Asana sent them (with the opt_fields asked
	// for): the events stream's records.
	Raw []json.RawMessage
}

// event is the part of an event the feed reads.
type event struct {
	Action   string `json:"action"`
	Resource struct {
		GID          string `json:"gid"`
		ResourceType string `json:"resource_type"`
	} `json:"resource"`
	Parent *struct {
		GID          string `json:"gid"`
		ResourceType string `json:"resource_type"`
	} `json:"parent"`
}

// feedStream is the stream whose records a resource type is (Stream.Resource).
var feedStream = func() map[string]string {
	m := map[string]string{}
	for _, st := range table {
		if st.Resource != "" {
			m[st.Resource] = st.Name
		}
	}
	return m
}()

// ProjectChanges reads the events of project since sync, each with
// optFields (beside what the feed reads). An expired sync is not an error:
// Changes.Expired says so.
func (c *Client) ProjectChanges(ctx context.Context, project, sync, optFields string) (*Changes, error) {
	ch := &Changes{Project: project, Live: map[string][]string{}, Deleted: map[string][]string{}}
	if sync == "" {
		return nil, fmt.Errorf("reading the events of project %s: no sync token", project)
	}
	last := map[string]map[string]string{} // stream → gid → last action
	var order []struct{ stream, gid string }
	storiesOf, attachmentsOf := map[string]bool{}, map[string]bool{}
	fields := "action,resource.resource_type,parent.resource_type"
	if optFields != "" {
		fields += "," + optFields
	}
	q := url.Values{"opt_fields": {fields}}
	for range maxEventPages {
		page, err := c.Events(ctx, project, sync, q)
		ch.Calls++
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == KindSyncToken && ae.Sync != "" {
			// Asana forgot the token: a fresh one, and nothing known.
			return &Changes{Project: project, Sync: ae.Sync, Expired: true, Calls: ch.Calls,
				Live: map[string][]string{}, Deleted: map[string][]string{}}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the events of project %s: %w", project, err)
		}
		ch.Raw = append(ch.Raw, page.Events...)
		for _, raw := range page.Events {
			var e event
			if json.Unmarshal(raw, &e) != nil || e.Resource.GID == "" {
				continue // not an event the feed can use: its resource re-read is not needed
			}
			ch.Events++
			stream, ok := feedStream[e.Resource.ResourceType]
			if !ok {
				continue
			}
			if last[stream] == nil {
				last[stream] = map[string]string{}
			}
			if _, seen := last[stream][e.Resource.GID]; !seen {
				order = append(order, struct{ stream, gid string }{stream, e.Resource.GID})
			}
			last[stream][e.Resource.GID] = e.Action
			if e.Action == "added" && e.Parent != nil && e.Parent.ResourceType == "task" {
				switch e.Resource.ResourceType {
				case "story":
					storiesOf[e.Parent.GID] = true
				case "attachment":
					attachmentsOf[e.Parent.GID] = true
				}
			}
		}
		if page.Sync != "" {
			sync = page.Sync
		}
		if !page.HasMore {
			ch.Sync = sync
			for _, o := range order {
				if last[o.stream][o.gid] == "deleted" {
					ch.Deleted[o.stream] = append(ch.Deleted[o.stream], o.gid)
				} else {
					ch.Live[o.stream] = append(ch.Live[o.stream], o.gid)
				}
			}
			for _, m := range []map[string][]string{ch.Live, ch.Deleted} {
				for s := range m {
					slices.Sort(m[s])
				}
			}
			ch.StoriesOf, ch.AttachmentsOf = sortedKeys(storiesOf), sortedKeys(attachmentsOf)
			return ch, nil
		}
	}
	return nil, fmt.Errorf("reading the events of project %s: more than %d calls of events; stopped", project, maxEventPages)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
