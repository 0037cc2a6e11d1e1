package asanatest

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Activity makes n random changes to the account, as users working in
// Asana would, and returns the gids of the objects changed or created.
// Each change updates the data (new stories and tasks appear in listings,
// modified_at moves to now) and emits the events Asana would:
//
//   - a comment: a new comment story on a task (story "added", parent task);
//   - a rename, a completion or a reassignment of a task: the task
//     "changed" (change.field name/completed/assignee) plus the system story;
//   - a new task in a project section: the task "added" to the project.
//
// The choices come from a stream seeded by Options.Seed, so the same
// sequence of calls produces the same changes.
func (s *Sim) Activity(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, s.activityLocked(s.nowMS()))
	}
	return out
}

// catchUpActivity applies the changes due under Options.ActivityInterval.
func (s *Sim) catchUpActivity() {
	iv := s.opts.ActivityInterval
	if iv <= 0 {
		return
	}
	el := time.Since(s.start)
	s.mu.RLock()
	due := el-s.lastActivity >= iv
	s.mu.RUnlock()
	if !due {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := 0; el-s.lastActivity >= iv && k < 10000; k++ {
		s.lastActivity += iv
		at := s.opts.Epoch.Add(s.lastActivity).UnixMilli()
		s.activityLocked(at)
	}
	if el-s.lastActivity >= iv { // too far behind: skip the rest
		s.lastActivity = el - el%iv
	}
}

func (s *Sim) activityRand() *rand.Rand {
	// Runtime changes use their own stream so that they do not depend on
	// how many fault draws happened.
	return rand.New(rand.NewPCG(uint64(s.opts.Seed), uint64(s.events.seq)*0x9e3779b97f4a7c15+0xac71))
}

// activityLocked makes one change at simulated time at (ms).
func (s *Sim) activityLocked(at int64) string {
	r := s.activityRand()
	d := s.d
	var t *task
	for try := 0; try < 20; try++ {
		c := d.tasks[r.IntN(len(d.tasks))]
		if !c.dead() {
			t = c
			break
		}
	}
	if t == nil {
		return ""
	}
	actor := pick(r, t.ws.users)
	newStory := func(sub string) *story {
		st := &story{gid: strconv.FormatUint(s.newGIDLocked(), 10), task: t, createdAt: at, createdBy: actor,
			subtype: sub, source: "web"}
		d.byGID[st.gid] = st
		t.stories = append(t.stories, st)
		d.stories = append(d.stories, st)
		t.modifiedAt = at
		s.emitLocked(&event{createdAt: at, user: actor, resource: st, rkind: kStory, action: "added", parent: t, pkind: kTask}, s.targetsOf(st))
		return st
	}
	changed := func(field string, v val) {
		if v.t != vObj {
			// The spec: change.new_value "is only present when the value of
			// the event's change.action is changed and the new_value is an
			// Asana resource".
			v = val{}
		}
		s.emitLocked(&event{createdAt: at, user: actor, resource: t, rkind: kTask, action: "changed",
			change: &change{field: field, action: "changed", newValue: v}}, s.targetsOf(t))
	}
	switch r.IntN(5) {
	case 0:
		st := newStory(stComment)
		st.text = textRef{seed: uint32(r.Uint64()), n: uint16(10 + r.IntN(200)), style: uint8(r.IntN(int(numStyles)))}
		return st.gid
	case 1:
		old := t.name
		t.name = pick(r, taskVerbs) + " " + pick(r, taskObjects) + " (v" + strconv.Itoa(1+r.IntN(9)) + ")"
		st := newStory(stNameChanged)
		st.oldName, st.newName = old, t.name
		changed("name", str(t.name))
		return t.gid
	case 2:
		if t.completed {
			t.completed, t.completedAt, t.completedBy = false, 0, nil
			changed("completed", boolean(false))
			t.modifiedAt = at
			return t.gid
		}
		t.completed, t.completedAt, t.completedBy = true, at, actor
		newStory(stMarkedComplete)
		changed("completed", boolean(true))
		return t.gid
	case 3:
		u := pick(r, t.ws.users)
		s.assignLocked(t, u) // listed under u once, even if u had it before
		t.assignedBy = actor
		st := newStory(stAssigned)
		st.user = u
		changed("assignee", obj(kUser, u))
		return t.gid
	default:
		var p *project
		for try := 0; try < 20 && p == nil; try++ {
			if c := d.projects[r.IntN(len(d.projects))]; !c.dead() && !c.archived {
				p = c
			}
		}
		if p == nil {
			return ""
		}
		sec := p.sections[r.IntN(len(p.sections))]
		nt := &task{gid: strconv.FormatUint(s.newGIDLocked(), 10), ws: p.ws, subtype: "default_task",
			name: pick(r, taskVerbs) + " " + pick(r, taskObjects), createdAt: at, modifiedAt: at,
			createdBy: actor, actualMinutes: -1}
		nt.followers = []*user{actor}
		nt.memberships = []membership{{project: p, section: sec}}
		for _, st := range p.settings {
			nt.values = append(nt.values, cfValue{field: st.field})
		}
		d.byGID[nt.gid] = nt
		d.tasks = append(d.tasks, nt)
		sec.tasks = append(sec.tasks, nt)
		p.tasks = append(p.tasks, nt)
		s.emitLocked(&event{createdAt: at, user: actor, resource: nt, rkind: kTask, action: "added", parent: p, pkind: kProject}, s.targetsOf(nt))
		return nt.gid
	}
}
