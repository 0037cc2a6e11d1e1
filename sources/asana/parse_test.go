package asana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// refPage is a page as encoding/json reads it, record by record: the
// paginator, the expander and EventKey as they were before the page had
// one pass. The pass must agree with it on every body.
type refPage struct {
	Err            string
	NextPage, Sync string
	HasMore        bool
	Records        []refRecord
}

type refRecord struct {
	Raw      string
	GID      string
	GIDErr   string
	Head     string // head, as text, or the error decoding it
	Subtask  subtask
	EventKey string
	Twins    []string
}

// twinFields are the field lists the differential tests cut twins with:
// every compact stream's, and names the bodies below play with.
func twinFields() [][]string {
	out := [][]string{{"gid", "name", "resource_type"}, {"gid", "projects", "parent", "notes", "a<b", "x"}, {}}
	for _, st := range table {
		if st.CutFrom != "" {
			out = append(out, st.Fields)
		}
	}
	return out
}

func headText(h head, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("gid=%q org=%v n=%d parent=%v/%q assignee=%v/%q workspace=%v/%q projects=%q",
		h.gid, h.isOrg, h.numSubtasks, h.parent.set, h.parent.gid, h.assignee.set, h.assignee.gid,
		h.workspace.set, h.workspace.gid, h.projects)
}

func refSubtask(raw []byte) subtask {
	var t struct {
		GID         string `json:"gid"`
		NumSubtasks int    `json:"num_subtasks"`
	}
	err := json.Unmarshal(raw, &t)
	return subtask{t.GID, t.NumSubtasks, err == nil}
}

// reference decodes body the way encoding/json did.
func reference(body []byte, env envelope) refPage {
	var p page
	raws, err := p.envelopeRef(body, env)
	if err != nil {
		return refPage{Err: err.Error()}
	}
	rp := refPage{NextPage: p.NextPage, Sync: p.Sync, HasMore: p.HasMore}
	for _, raw := range raws {
		r := refRecord{Raw: string(raw), Head: headText(refHead(raw)), Subtask: refSubtask(raw), EventKey: EventKey(raw)}
		if gid, err := gidOf(raw); err != nil {
			r.GIDErr = err.Error()
		} else {
			r.GID = gid
		}
		for _, f := range twinFields() {
			tw, err := project(raw, f)
			if err != nil {
				tw = []byte("error: " + err.Error())
			}
			r.Twins = append(r.Twins, string(tw))
		}
		rp.Records = append(rp.Records, r)
	}
	return rp
}

// passed decodes body with the page's pass.
func passed(body []byte, env envelope) refPage {
	var p page
	var rp refPage
	if err := p.decode(body, env); err != nil {
		rp.Err = err.Error()
		return rp
	}
	rp.NextPage, rp.Sync, rp.HasMore = p.NextPage, p.Sync, p.HasMore
	for i := range p.Data {
		r := &p.Data[i]
		rr := refRecord{Raw: string(r.raw), Head: headText(r.head()), Subtask: r.subtask(), EventKey: r.eventKey()}
		if gid, err := r.id(); err != nil {
			rr.GIDErr = err.Error()
		} else {
			rr.GID = gid
		}
		for _, f := range twinFields() {
			tw, err := newTwin(f).cut(r)
			if err != nil {
				tw = []byte("error: " + err.Error())
			}
			rr.Twins = append(rr.Twins, string(tw))
		}
		rp.Records = append(rp.Records, rr)
	}
	return rp
}

// checkAgainstReference fails t if the pass reads body otherwise than
// encoding/json does, as any of the three envelopes.
func checkAgainstReference(t *testing.T, body []byte) {
	t.Helper()
	for _, env := range []envelope{listPage, eventPage, onePage} {
		want, got := reference(body, env), passed(body, env)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(subtask{})); diff != "" {
			t.Fatalf("envelope %d of %q: the pass against encoding/json (-want +got):\n%s", env, body, diff)
		}
	}
}

// parseSeeds are bodies at the edges of the pass: each is decoded by the
// pass, or left to encoding/json, and must come out the same either way.
var parseSeeds = []string{
	`{"data":[{"gid":"1","name":"a"},{"gid":"2"}],"next_page":null}`,
	`{"data":[{"gid":"1"},{"gid":"1"}],"next_page":{"offset":"eyJ0","path":"/tasks?offset=eyJ0","uri":"https://app.asana.com/api/1.0/tasks?offset=eyJ0"}}`,
	`{"data":[{"gid":"1"}],"next_page":{"offset":""}}`,
	`{"data":[{"gid":"1"}],"next_page":{"offset":null}}`,
	`{"data":[{"gid":"1"}],"next_page":{"path":"x"}}`,
	`{"data":[{"gid":"1"}],"next_page":{"offset":"a","Offset":"b"}}`,
	`{"data":[{"gid":"1"}],"next_page":{"offset":"a","offset":"b"}}`,
	`{"data":[{"gid":"1"}],"next_page":{"offset":"\u0061"}}`,
	`{"data":[{"gid":"1"}],"next_page":5}`,
	`{"data":[{"gid":"1"}],"next_page":"x"}`,
	`{"data":[{"gid":1}]}`, `{"data":[{"gid":" "}]}`, `{"data":[{"gid":null}]}`, `{"data":[{"gid":{}}]}`,
	`{"data":[{"GID":"7"}]}`, `{"data":[{"gid":"7","Gid":"8"}]}`, `{"data":[{"gid":"7","gid":"8"}]}`,
	`{"data":[{"g\u0069d":"7"}]}`, `{"data":[{"gid":"\u0037"}]}`, `{"data":[{"gid":"7\u00e9"}]}`,
	`{"data":[{"gid":"7\xff"}]}`, `{"data":[{"gid":"7","notes":"\xff\xfe bad"}]}`,
	`{"data":[null,[],"x",5,true]}`,
	`{"data":{"gid":"1"}}`, `{"data":null,"next_page":{"offset":"x"}}`, `{"next_page":null}`, `{"Data":[{"gid":"1"}]}`,
	`{"data":[{"gid":"1"}],"data":[{"gid":"2"}]}`, `{"data":[],"DATA":null}`, `{"d\u0061ta":[{"gid":"1"}]}`,
	`{"data":[],"sync":"s","has_more":true}`, `{"data":[],"sync":null,"has_more":null}`, `{"data":[],"sync":5}`,
	`{"data":[],"has_more":"yes"}`, `{"data":[],"Sync":"s","HAS_MORE":true}`, `{"data":[],"sync":"a\"b"}`,
	`{"data":[{"gid":"1","notes":"\u0000\ud800"}]}`, `{"data":[{"gid":"1","notes":"\ud800\udc00 \udc00"}]}`,
	`{"errors":[{"message":"offset: Your pagination token has expired."}]}`,
	`[]`, `null`, `{}`, `{"data":[{"gid":"1"}`, `{"data":[]} x`, `{"data":[]} {}`, ` {"data":[]} `, "\ufeff{\"data\":[]}", ``,
	// Head fields of every type.
	`{"data":[{"gid":"1","is_organization":true,"num_subtasks":3,"parent":{"gid":"9","name":"p"},"assignee":null,"workspace":{"gid":"w"},"projects":[{"gid":"22"},{"gid":"3"},null]}]}`,
	`{"data":[{"gid":"1","is_organization":"yes"}]}`, `{"data":[{"gid":"1","is_organization":null}]}`,
	`{"data":[{"gid":"1","num_subtasks":1.0}]}`, `{"data":[{"gid":"1","num_subtasks":1e2}]}`, `{"data":[{"gid":"1","num_subtasks":-0}]}`,
	`{"data":[{"gid":"1","num_subtasks":"3"}]}`, `{"data":[{"gid":"1","num_subtasks":null}]}`, `{"data":[{"gid":"1","num_subtasks":99999999999999999999}]}`,
	`{"data":[{"gid":"1","num_subtasks":2,"num_subtasks":3}]}`, `{"data":[{"gid":"1","Num_Subtasks":2}]}`,
	`{"data":[{"gid":"1","parent":"9"}]}`, `{"data":[{"gid":"1","parent":{"gid":9}}]}`, `{"data":[{"gid":"1","parent":{"gid":null}}]}`,
	`{"data":[{"gid":"1","parent":{"GID":"9"}}]}`, `{"data":[{"gid":"1","parent":{"gid":"9","gid":"8"}}]}`, `{"data":[{"gid":"1","parent":{}}]}`,
	`{"data":[{"gid":"1","parent":{"g\u0069d":"9"}}]}`, `{"data":[{"gid":"1","parent":{"gid":"9"},"parent":null}]}`,
	`{"data":[{"gid":"1","assignee":{"gid":"u"},"workspace":{"gid":"w"},"projects":[]}]}`,
	`{"data":[{"gid":"1","projects":{"gid":"1"}}]}`, `{"data":[{"gid":"1","projects":[1]}]}`, `{"data":[{"gid":"1","projects":null}]}`,
	`{"data":[{"gid":"1","projects":[{"gid":"10"},{"gid":"9"},{"gid":"09"}]}]}`,
	// Twins: member order, names twice, escapes, whitespace and HTML.
	`{"data":[{"resource_type":"story","name":"x","gid":"1"}]}`,
	`{"data":[{"gid":"1","name":"a","name":"b"}]}`,
	`{"data":[{"gid":"1","n\u0061me":"a"}]}`,
	`{"data":[ { "gid" : "1" , "name" : "a b" , "parent" : { "gid" : "2" , "x" : [ 1 , 2 ] } } ]}`,
	"{\"data\":[{\"gid\":\"1\",\"notes\":\"<b>&</b> \u2028 \u2029 \xe2\x80\xa8 \xe2\x80\x94\",\"a<b\":1}]}",
	`{"data":[{"gid":"1","x":{"a":"<"},"name":"\"quoted\\\" \\\\"}]}`,
	// Events.
	`{"data":[{"created_at":"2024-01-01T00:00:00Z","action":"changed","resource":{"gid":"1"},"user":{"gid":"u"},"parent":null,"change":{"field":"name","action":"changed"}}],"sync":"s2","has_more":false}`,
	`{"data":[{"created_at":"t","action":"added","resource":null,"user":null,"change":null}],"sync":"s"}`,
	`{"data":[{"created_at":5,"action":"added","resource":{"gid":"1"}}]}`,
	`{"data":[{"created_at":"t","resource":"x","change":{"field":1}}]}`,
	`{"data":[{"Created_At":"t","action":"a","resource":{"gid":"1"},"change":{"Field":"f"}}]}`,
	`{"data":[{"created_at":"t","action":"a","resource":{"gid":"1"},"change":{"field":"f","field":"g"}}]}`,
	`{"dAtA":[{"action":{}}]}`, `{"data":[{"action":{},"created_at":[],"gid":{},"is_organization":{},"num_subtasks":[]}]}`,
}

// TestPassAgreesWithEncodingJSON: on the edges of its pass and on pages of
// the simulator, the page's pass reads what encoding/json read before it.
func TestPassAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range parseSeeds {
		checkAgainstReference(t, []byte(s))
	}
	many := `{"data":[` + strings.Repeat(`{"gid":"1"},`, MaxPageItems) + `{"gid":"2"}]}`
	checkAgainstReference(t, []byte(many))
	for _, body := range simPages(t) {
		checkAgainstReference(t, body)
	}
}

// simPages are answers of the simulator: pages of the streams the
// expander cuts twins from, of tasks, of events, and one task.
func simPages(t testing.TB) [][]byte {
	sim := asanatest.New(asanatest.Options{Seed: 3, Size: "tiny"})
	acct := sim.Account()
	org := acct.Organization()
	project := acct.Projects(org)[0]
	task := acct.ProjectTasks(project)[0]
	get := func(path string, q url.Values) []byte {
		req := httptest.NewRequest(http.MethodGet, "https://app.asana.com/api/1.0"+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+sim.PAT())
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != 200 && w.Code != 412 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	opt := func(stream string, q url.Values) url.Values {
		st, _ := StreamByName(stream)
		q.Set("opt_fields", st.OptFields)
		return q
	}
	return [][]byte{
		get("/tasks", opt("tasks", url.Values{"project": {project}, "limit": {"100"}})),
		get("/tasks/"+task+"/stories", opt("stories", url.Values{"limit": {"100"}})),
		get("/projects/"+project+"/sections", opt("sections", url.Values{})),
		get("/attachments", opt("attachments", url.Values{"parent": {task}})),
		get("/portfolios", opt("portfolios", url.Values{"workspace": {org}})),
		get("/tasks/"+task, opt("tasks", url.Values{})),
		get("/users", opt("users", url.Values{"workspace": {org}})),
	}
}

// FuzzPagePass: whatever the body, the page's pass reads it as
// encoding/json does (errors, records, gids, heads, twins, event keys).
func FuzzPagePass(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	for _, b := range simPages(f) {
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAgainstReference(t, body)
	})
}

// TestTwinBytes: a twin is what project made of a record, byte for byte,
// also after sanitize changed the record.
func TestTwinBytes(t *testing.T) {
	KeepSecret("s3cr3t-for-the-twin-test")
	body := []byte("{\"data\":[{\"gid\":\"1\",\"text\":\"token s3cr3t-for-the-twin-test \xff\",\"z\":{\"b\": 1},\"a\":\"<x>\"}]}")
	var p page
	if err := p.decode(body, listPage); err != nil {
		t.Fatal(err)
	}
	r, fixed := p.Data[0].sanitized(&recordFields)
	if !fixed || bytes.Contains(r.raw, []byte("s3cr3t-for")) {
		t.Fatalf("sanitized = %s, %v", r.raw, fixed)
	}
	fields := []string{"text", "z", "a", "gid"}
	want, _ := project(r.raw, fields)
	got, err := newTwin(fields).cut(r)
	if err != nil || string(got) != string(want) {
		t.Errorf("twin = %s, %v; want %s", got, err, want)
	}
}
