package asanatest

import (
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Events. Every event is appended to a global log with a sequence number
// and indexed under each resource it bubbles up to: the changed object,
// the task it belongs to, that task's ancestors, and the projects of all
// of them. A sync token records a position in the log (and the resource it
// was issued for, and when); a call returns up to 100 events of the
// resource after that position. Because events are stored once, an event
// seen through two subscriptions (a task in two projects) is the same
// object rendered the same way.
//
// Sync tokens look like Asana's ("<32 hex>:<n>"): 8 bytes of signature and
// 8 bytes of issue time, then the log position.

type event struct {
	seq       int64
	createdAt int64 // simulated ms
	user      *user // nil for system events
	resource  any
	rkind     *kind
	action    string
	parent    any
	pkind     *kind
	change    *change
}

type change struct {
	field, action                      string
	newValue, addedValue, removedValue val
}

type eventLog struct {
	seq      int64
	last     int64 // created_at of the latest event
	byTarget map[string][]*event
}

func (l *eventLog) init() { l.byTarget = map[string][]*event{} }

const eventsPerSync = 100

// emitLocked appends e for targets. The caller holds s.mu for writing.
//
// Events have no gid. To give each a stable identity, created_at strictly
// increases along the log (events in the same millisecond are spread over
// the following milliseconds), so created_at alone identifies an event.
func (s *Sim) emitLocked(e *event, targets []string) {
	s.events.seq++
	e.seq = s.events.seq
	if e.createdAt == 0 {
		e.createdAt = s.nowMS()
	}
	if e.createdAt <= s.events.last {
		e.createdAt = s.events.last + 1
	}
	s.events.last = e.createdAt
	for _, t := range targets {
		s.events.byTarget[t] = append(s.events.byTarget[t], e)
	}
}

// targetsOf lists the gids whose subscriptions see events on o.
func (s *Sim) targetsOf(o any) []string {
	seen := map[string]bool{}
	var out []string
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	addTask := func(t *task) {
		for ; t != nil; t = t.parent {
			add(t.gid)
			for _, m := range t.memberships {
				add(m.project.gid)
			}
		}
	}
	switch x := o.(type) {
	case *task:
		addTask(x)
	case *story:
		add(x.gid)
		addTask(x.task)
	case *attachment:
		add(x.gid)
		if x.parentT != nil {
			addTask(x.parentT)
		} else if x.parentP != nil {
			add(x.parentP.gid)
		}
	case *section:
		add(x.gid)
		add(x.project.gid)
	case *project:
		add(x.gid)
	default:
		if g := gidOf(o); g != "" {
			add(g)
		}
	}
	return out
}

func gidOf(o any) string {
	switch x := o.(type) {
	case *workspace:
		return x.gid
	case *user:
		return x.gid
	case *team:
		return x.gid
	case *teamMembership:
		return x.gid
	case *project:
		return x.gid
	case *section:
		return x.gid
	case *task:
		return x.gid
	case *story:
		return x.gid
	case *attachment:
		return x.gid
	case *tag:
		return x.gid
	case *customField:
		return x.gid
	case *customFieldSetting:
		return x.gid
	case *portfolio:
		return x.gid
	case *portfolioMembership:
		return x.gid
	case *orgExport:
		return x.gid
	case *enumOption:
		return x.gid
	}
	return ""
}

// EventSpec describes an event to add with Sim.AddEvent.
type EventSpec struct {
	// Resource is the gid of the object that changed (a task, story,
	// project, section, attachment, tag, …).
	Resource string
	// Action is "changed" (the default), "added", "removed", "deleted" or
	// "undeleted".
	Action string
	// Parent is the gid of the container for "added" and "removed"
	// (e.g. the project a task was added to); optional.
	Parent string
	// User is the gid of the acting user; "" makes a system event whose
	// user is null.
	User string
	// Field names the changed field for "changed" events (default
	// "name"); NewValue optionally gives the gid of the field's new value
	// (rendered compact), otherwise the new value is omitted (null).
	Field    string
	NewValue string
}

// AddEvent records an event as if the change had just happened. It does
// not modify the data, except that a task's modified_at moves to now for
// "changed" events. Subscriptions see it only if their sync token was
// issued before.
func (s *Sim) AddEvent(spec EventSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.d.byGID[spec.Resource]
	if !ok {
		return fmt.Errorf("asanatest: unknown resource %q", spec.Resource)
	}
	k := kindOf(o)
	if k == nil {
		return fmt.Errorf("asanatest: %q cannot be an event resource", spec.Resource)
	}
	e := &event{resource: renderable(o), rkind: k, action: spec.Action}
	switch e.action {
	case "":
		e.action = "changed"
	case "changed", "added", "removed", "deleted", "undeleted":
	default:
		return fmt.Errorf("asanatest: unknown event action %q", spec.Action)
	}
	if spec.User != "" {
		u, ok := s.d.byGID[spec.User].(*user)
		if !ok {
			return fmt.Errorf("asanatest: unknown user %q", spec.User)
		}
		e.user = u
	}
	if spec.Parent != "" {
		p, ok := s.d.byGID[spec.Parent]
		if !ok || kindOf(p) == nil {
			return fmt.Errorf("asanatest: unknown parent %q", spec.Parent)
		}
		e.parent, e.pkind = renderable(p), kindOf(p)
	}
	if e.action == "changed" {
		ch := &change{field: spec.Field, action: "changed"}
		if ch.field == "" {
			ch.field = "name"
		}
		if spec.NewValue != "" {
			v, ok := s.d.byGID[spec.NewValue]
			if !ok || kindOf(v) == nil {
				return fmt.Errorf("asanatest: unknown value %q", spec.NewValue)
			}
			ch.newValue = obj(kindOf(v), renderable(v))
		}
		e.change = ch
		if t, ok := o.(*task); ok {
			t.modifiedAt = s.nowMS()
		}
	}
	s.emitLocked(e, s.targetsOf(o))
	return nil
}

var errSyncInvalid = errors.New("invalid sync token")

// syncExpiry records the sync tokens expired on demand (ExpireSyncTokens,
// ExpireSyncTokensOlderThan). A token's signature covers the expiry
// generation of its resource, so raising the generation invalidates every
// token issued before.
type syncExpiry struct {
	gen       map[string]uint32 // per resource
	all       uint32            // every resource
	notBefore int64             // ms: tokens issued earlier are expired
}

// syncMsg is what a sync token's signature covers. The caller holds s.mu.
func (s *Sim) syncMsg(resource, seq, ts string) string {
	msg := "sync|" + resource + "|" + seq + "|" + ts
	if g := s.syncExp.gen[resource] + s.syncExp.all; g > 0 {
		msg += "|" + strconv.FormatUint(uint64(g), 10)
	}
	return msg
}

func (s *Sim) syncToken(resource string, seq int64, now time.Time) string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(now.UnixMilli()))
	msg := s.syncMsg(resource, strconv.FormatInt(seq, 10), hex.EncodeToString(ts[:]))
	return sigHex(s, msg)[:16] + hex.EncodeToString(ts[:]) + ":" + strconv.FormatInt(seq, 10)
}

// ExpireSyncTokens expires every sync token issued so far for resource (a
// project or task gid), or for every resource if resource is "", as Asana
// does once it no longer holds the events a token points at (it keeps
// them about a day): the next GET /events with such a token answers 412
// with a fresh token, which works from then on. Events since the old
// token are not delivered to the new one.
func (s *Sim) ExpireSyncTokens(resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resource == "" {
		s.syncExp.all++
		return
	}
	if s.syncExp.gen == nil {
		s.syncExp.gen = map[string]uint32{}
	}
	s.syncExp.gen[resource]++
}

// ExpireSyncTokensOlderThan expires every sync token issued more than age
// ago on the simulated clock, whatever Options.SyncTTL says (as if Asana
// had dropped the events older than age).
func (s *Sim) ExpireSyncTokensOlderThan(age time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncExp.notBefore = max(s.syncExp.notBefore, s.Now().Add(-age).UnixMilli())
}

func (s *Sim) parseSyncToken(tok, resource string, now time.Time) (int64, error) {
	h, n, ok := strings.Cut(tok, ":")
	if !ok || len(h) != 32 {
		return 0, errSyncInvalid
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != n {
		return 0, errSyncInvalid
	}
	ts, err := hex.DecodeString(h[16:])
	if err != nil {
		return 0, errSyncInvalid
	}
	msg := s.syncMsg(resource, n, h[16:])
	if !hmac.Equal([]byte(sigHex(s, msg)[:16]), []byte(h[:16])) {
		return 0, errSyncInvalid
	}
	iat := time.UnixMilli(int64(binary.BigEndian.Uint64(ts)))
	if now.Sub(iat) >= s.opts.SyncTTL || iat.UnixMilli() < s.syncExp.notBefore {
		return 0, errSyncInvalid
	}
	return seq, nil
}

const syncTooOld = "Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full dataset for this query now and use the new sync token for the next sync."

// handleEvents implements GET /events?resource=&sync=.
func (c *call) handleEvents() {
	rid := c.q.Get("resource")
	if rid == "" {
		c.fail(400, "resource: Missing input")
		return
	}
	o, ok := c.lookupAny("resource", rid)
	if !ok {
		return
	}
	switch o.(type) {
	case *task, *project:
	default:
		c.fail(400, "resource: Events are only available for tasks, projects and goals.")
		return
	}
	p, err := c.projection(true)
	if err != nil {
		c.fail(400, err.Error())
		return
	}
	s := c.s
	evs := s.events.byTarget[rid]
	latest := s.events.seq
	tok, hasTok := c.q["sync"]
	var from int64
	if hasTok {
		from, err = s.parseSyncToken(tok[0], rid, c.now)
	}
	if !hasTok || err != nil || from > latest {
		w := c.writer()
		w.b = append(w.b, `{"errors":[{"message":`...)
		w.str(syncTooOld)
		w.b = append(w.b, `}],"sync":`...)
		w.str(s.syncToken(rid, latest, c.now))
		w.b = append(w.b, '}')
		c.done(412, w)
		return
	}
	i := sort.Search(len(evs), func(i int) bool { return evs[i].seq > from })
	end := min(len(evs), i+eventsPerSync)
	next := latest
	more := end < len(evs)
	if more {
		next = evs[end-1].seq
	}
	w := c.writer()
	w.b = append(w.b, `{"data":[`...)
	for j, e := range evs[i:end] {
		if j > 0 {
			w.b = append(w.b, ',')
		}
		w.object(kEvent, e, p)
	}
	w.b = append(w.b, `],"sync":`...)
	w.str(s.syncToken(rid, next, c.now))
	w.b = append(w.b, `,"has_more":`...)
	if more {
		w.b = append(w.b, "true"...)
	} else {
		w.b = append(w.b, "false"...)
	}
	w.b = append(w.b, '}')
	c.done(200, w)
}
