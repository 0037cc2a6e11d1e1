package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strconv"
	"strings"
)

// PageSize is the page size of every listing: Asana's maximum.
const PageSize = 100

// maxRestarts bounds how often one listing starts again after its offset
// token expired.
const maxRestarts = 3

// maxStalledPages bounds the pages in a row that bring no record the
// listing did not have (empty, or records listed before) and still point
// to another page. Asana's offsets are positions in a changing list, so a
// few such pages happen when many records move during a listing (a rule
// that moves completed tasks to the end); a listing that brings nothing
// new for longer is a loop.
const maxStalledPages = 10

// maxBadRecords bounds the records without a usable gid that a listing
// names one by one in ListStats.Bad; the rest are counted.
const maxBadRecords = 10

// ListStats describes one finished listing.
type ListStats struct {
	Pages    int // pages requested, restarts included
	Records  int // records handed to the caller
	Restarts int // times the listing began again after a stale offset
	// Bad names records that were dropped because they have no usable gid
	// (missing, not a string, empty), by page and position; BadCount
	// counts them all.
	Bad      []string
	BadCount int
}

// page is Asana's collection envelope. next_page is null, or absent when
// no limit was sent, on the last page.
type page struct {
	Data     []json.RawMessage
	NextPage string // offset of the next page, "" on the last
}

// decodePage decodes a page in one pass: "data" must be an array of at
// most MaxPageItems elements (the body limit bounds what that pass holds),
// "next_page" null, absent or an object with an offset. The records are
// not parsed beyond their extent.
func decodePage(body []byte, p *page) error {
	var env struct {
		Data     *[]json.RawMessage `json:"data"`
		NextPage json.RawMessage    `json:"next_page"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return envelopeError(err)
	}
	data, err := records(env.Data, body)
	if err != nil {
		return err
	}
	p.Data = data
	p.NextPage = ""
	switch jsonKind(env.NextPage) {
	case "missing", "null":
	case "an object":
		var np struct {
			Offset *string `json:"offset"`
		}
		if json.Unmarshal(env.NextPage, &np) != nil || np.Offset == nil {
			return &errMalformed{"the response's \"next_page\" has no string offset"}
		}
		p.NextPage = *np.Offset
	default:
		return &errMalformed{fmt.Sprintf("the response's \"next_page\" is %s", jsonKind(env.NextPage))}
	}
	return nil
}

// envelopeError describes an answer whose envelope (data, next_page) is
// not what a collection endpoint sends.
func envelopeError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field == "data":
		return &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an array", jsonTypeName(te.Value))}
	case errors.As(err, &te) && strings.HasPrefix(te.Field, "next_page"):
		return &errMalformed{fmt.Sprintf("the response's \"next_page\" is %s", jsonTypeName(te.Value))}
	}
	return &errMalformed{"the response is not an object with \"data\""}
}

// records checks the "data" of a collection answer, decoded as a pointer
// (nil when null or missing), against MaxPageItems.
func records(data *[]json.RawMessage, body []byte) ([]json.RawMessage, error) {
	if data == nil {
		k := "missing"
		if bytes.Contains(body, []byte(`"data"`)) {
			k = "null"
		}
		return nil, &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an array", k)}
	}
	if len(*data) > MaxPageItems {
		return nil, &Error{Kind: KindTransient, Message: fmt.Sprintf("a page holds more than %d records (%d were asked for)", MaxPageItems, PageSize), Err: errGiveUp}
	}
	return *data, nil
}

// jsonTypeName names the JSON type encoding/json reports in an
// UnmarshalTypeError ("object", "number", …) for messages.
func jsonTypeName(v string) string {
	switch v {
	case "object", "array", "array element":
		return "an " + v
	}
	return "a " + v
}

// List walks every page of a collection endpoint, GET path?q with
// limit=100 (less for pages over MaxBodyBytes) and Asana's offset tokens, and calls fn with the records of each
// page in order. Pass opt_fields in q so that the records are full.
//
// When Asana rejects an offset as expired, the listing starts again from
// the first page and records already handed to fn are skipped, so fn sees
// each gid once. A listing that would never end (an offset handed out
// twice, or a page of records all listed before) fails as a lost listing;
// a record without a usable gid is dropped and named in the stats. An
// error from fn stops the listing and is returned as is.
func (c *Client) List(ctx context.Context, path string, q url.Values, fn func([]json.RawMessage) error) (ListStats, error) {
	var st ListStats
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", fmt.Sprint(PageSize))
	q.Del("offset")
	seen := map[string]struct{}{}
	// Of this pass (since the first page or the last restart): the
	// offsets followed and the gids read.
	offsets := map[string]bool{}
	passSeen := map[string]struct{}{}
	var p page
	stalled := 0 // pages in a row without a new record
	loop := func(format string, args ...any) error {
		return &Error{Kind: KindTransient, Request: describe(path, q), Message: fmt.Sprintf(format, args...) + "; the listing would never end", Err: errGiveUp}
	}
	for pageNo := 1; ; pageNo++ {
		st.Pages++
		err := c.get(ctx, path, q, func(body []byte) error { return decodePage(body, &p) })
		if limit := q.Get("limit"); errors.Is(err, errTooLarge) && limit != "1" {
			// Pages of large records (a task with thousands of custom field
			// options): the same page again, with half as many.
			n, _ := strconv.Atoi(limit)
			q.Set("limit", strconv.Itoa(max(1, n/2)))
			c.log.Warn("a page is over the body limit, asking for fewer records", "request", describe(path, q), "limit", q.Get("limit"))
			pageNo--
			continue
		}
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == KindStaleOffset && q.Has("offset") && st.Restarts < maxRestarts {
			st.Restarts++
			c.log.Warn("offset expired, listing again from the first page",
				"request", ae.Request, "message", ae.Message, "restart", st.Restarts)
			q.Del("offset")
			clear(offsets)
			clear(passSeen)
			pageNo, stalled = 0, 0
			continue
		}
		if err != nil {
			return st, err
		}
		records := p.Data[:0:0]
		fresh := 0
		for i, rec := range p.Data {
			gid, err := gidOf(rec)
			if err != nil {
				st.BadCount++
				if len(st.Bad) < maxBadRecords {
					st.Bad = append(st.Bad, fmt.Sprintf("page %d, record %d: %v", pageNo, i+1, err))
				}
				continue
			}
			if _, again := passSeen[gid]; !again {
				fresh++
				passSeen[gid] = struct{}{}
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
		if p.NextPage == "" {
			return st, nil
		}
		if fresh == 0 {
			stalled++
		} else {
			stalled = 0
		}
		if offsets[p.NextPage] {
			return st, loop("page %d points back to a page already read (offset repeated)", pageNo)
		}
		if stalled > maxStalledPages {
			return st, loop("%d pages in a row hold no record that earlier pages did not, and point to another page", stalled)
		}
		offsets[p.NextPage] = true
		q.Set("offset", p.NextPage)
	}
}

// gidOf reads a record's gid. Every Asana object has one, except events,
// which the events API returns without pages.
func gidOf(rec json.RawMessage) (string, error) {
	var r struct {
		GID json.RawMessage `json:"gid"`
	}
	if err := json.Unmarshal(rec, &r); err != nil {
		return "", fmt.Errorf("not a JSON object but %s", jsonKind(rec))
	}
	var gid string
	if err := json.Unmarshal(r.GID, &gid); err != nil || strings.TrimSpace(gid) == "" {
		return "", fmt.Errorf("no usable gid (it is %s)", gidKind(r.GID))
	}
	return gid, nil
}

func gidKind(v json.RawMessage) string {
	if k := jsonKind(v); k != "a string" {
		return k
	}
	return "an empty string"
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
	var ep EventsPage
	err := c.get(ctx, "/events", q, func(body []byte) error {
		var p struct {
			Data    *[]json.RawMessage `json:"data"`
			Sync    string             `json:"sync"`
			HasMore bool               `json:"has_more"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return envelopeError(err)
		}
		events, err := records(p.Data, body)
		if err != nil {
			return err
		}
		ep = EventsPage{Events: events, Sync: p.Sync, HasMore: p.HasMore}
		return nil
	})
	return ep, err
}
