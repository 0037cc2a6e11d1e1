package asana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
)

// PageSize is the page size of every listing: Asana's maximum.
const PageSize = 100

// maxRestarts bounds how often one listing starts again after its offset
// token expired.
const maxRestarts = 3

// ListStats describes one finished listing.
type ListStats struct {
	Pages    int // pages requested, restarts included
	Records  int // records handed to the caller
	Restarts int // times the listing began again after a stale offset
}

// page is Asana's collection envelope. next_page is null, or absent when
// no limit was sent, on the last page.
type page struct {
	Data     []json.RawMessage `json:"data"`
	NextPage *struct {
		Offset string `json:"offset"`
	} `json:"next_page"`
}

// List walks every page of a collection endpoint, GET path?q with
// limit=100 and Asana's offset tokens, and calls fn with the records of each
// page in order. Pass opt_fields in q so that the records are full.
//
// When Asana rejects an offset as expired, the listing starts again from
// the first page and records already handed to fn are skipped, so fn sees
// each gid once. An error from fn stops the listing and is returned as is.
func (c *Client) List(ctx context.Context, path string, q url.Values, fn func([]json.RawMessage) error) (ListStats, error) {
	var st ListStats
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", fmt.Sprint(PageSize))
	q.Del("offset")
	seen := map[string]struct{}{}
	for {
		st.Pages++
		body, err := c.get(ctx, path, q)
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == KindStaleOffset && q.Has("offset") && st.Restarts < maxRestarts {
			st.Restarts++
			c.log.Warn("offset expired, listing again from the first page",
				"request", ae.Request, "message", ae.Message, "restart", st.Restarts)
			q.Del("offset")
			continue
		}
		if err != nil {
			return st, err
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			return st, fmt.Errorf("%s: decoding page %d: %w", describe(path, q), st.Pages, err)
		}
		records := p.Data[:0:0]
		for _, rec := range p.Data {
			gid, err := gidOf(rec)
			if err != nil {
				return st, fmt.Errorf("%s: page %d: %w", describe(path, q), st.Pages, err)
			}
			if _, dup := seen[gid]; dup {
				continue
			}
			seen[gid] = struct{}{}
			records = append(records, rec)
		}
		st.Records += len(records)
		if len(records) > 0 {
			if err := fn(records); err != nil {
				return st, err
			}
		}
		if p.NextPage == nil || p.NextPage.Offset == "" {
			return st, nil
		}
		q.Set("offset", p.NextPage.Offset)
	}
}

// gidOf reads a record's gid. Every Asana object has one, except events,
// which the events API returns without pages.
func gidOf(rec json.RawMessage) (string, error) {
	var r struct {
		GID json.RawMessage `json:"gid"`
	}
	if err := json.Unmarshal(rec, &r); err != nil {
		return "", fmt.Errorf("record is not a JSON object: %w", err)
	}
	var gid string
	if err := json.Unmarshal(r.GID, &gid); err != nil || strings.TrimSpace(gid) == "" {
		return "", errors.New("record without a string gid")
	}
	return gid, nil
}

// EventsPage is one answer of the events API.
type EventsPage struct {
	Events  []json.RawMessage
	Sync    string // token for the next call
	HasMore bool   // call again at once with Sync
}

// Events reads the events of resource (a project or task) since sync. With
// no sync, or an expired one, Asana answers 412 and a fresh token: Events
// returns an *Error of KindSyncToken whose Sync field holds it; events
// begin after that token was issued.
func (c *Client) Events(ctx context.Context, resource, sync string, q url.Values) (EventsPage, error) {
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("resource", resource)
	if sync != "" {
		q.Set("sync", sync)
	}
	body, err := c.get(ctx, "/events", q)
	if err != nil {
		return EventsPage{}, err
	}
	var p struct {
		Data    []json.RawMessage `json:"data"`
		Sync    string            `json:"sync"`
		HasMore bool              `json:"has_more"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return EventsPage{}, fmt.Errorf("%s: decoding events: %w", describe("/events", q), err)
	}
	return EventsPage{Events: p.Data, Sync: p.Sync, HasMore: p.HasMore}, nil
}
