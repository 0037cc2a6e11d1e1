package asanatest

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFaultWindow: a window's faults apply between From and Until after
// the first API request, the base faults before and after.
func TestFaultWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 3, FaultWindows: []FaultWindow{
			{From: time.Second, Until: 3 * time.Second, Faults: Faults{Rate429: 1}}}})
		c.get("/users/me").must(t, 200) // starts the clock
		time.Sleep(999 * time.Millisecond)
		c.get("/users/me").must(t, 200)
		time.Sleep(time.Millisecond)
		for range 5 {
			c.get("/users/me").must(t, 429)
		}
		time.Sleep(2 * time.Second)
		c.get("/users/me").must(t, 200)
	})
}

// TestStaleOffsets: the first StaleOffsets valid offset tokens are answered
// as expired, in Asana's words; later ones work.
func TestStaleOffsets(t *testing.T) {
	c := newClient(t, Options{Seed: 9, StaleOffsets: 2})
	p := c.s.Account().Projects(c.s.Account().Organization())[0]
	next := c.get("/projects/"+p+"/tasks?limit=2").must(t, 200).v["next_page"].(map[string]any)["path"].(string)
	for range 2 {
		if r := c.get(next).must(t, 400); r.errMsg() != "offset: Your pagination token has expired." {
			t.Errorf("message %q", r.errMsg())
		}
	}
	c.get(next).must(t, 200)
	// An invalid token is invalid, and does not count.
	c2 := newClient(t, Options{Seed: 9, StaleOffsets: 1})
	if r := c2.get("/projects/"+p+"/tasks?limit=2&offset=nope").must(t, 400); !strings.Contains(r.errMsg(), "invalid") {
		t.Errorf("invalid token: %q", r.errMsg())
	}
	c2.get(next).must(t, 400)
}

// TestAccessTokenRequests: an access token serves AccessTokenRequests API
// requests, then answers 401 expired; a refresh gives a fresh one.
func TestAccessTokenRequests(t *testing.T) {
	c := newClient(t, Options{Seed: 1, AccessTokenRequests: 3})
	id, secret, refresh := c.s.OAuthClient()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {refresh}}
	for round := range 2 {
		r := c.refresh(form).must(t, 200)
		c.token = r.v["access_token"].(string)
		for range 3 {
			c.get("/users/me").must(t, 200)
		}
		if r := c.get("/users/me").must(t, 401); !strings.Contains(r.errMsg(), "expired") {
			t.Errorf("round %d: %q", round, r.errMsg())
		}
	}
	if got := c.s.AccessTokens(); len(got) != 2 || got[0] == got[1] {
		t.Errorf("AccessTokens() = %q, want the two issued", got)
	}
}

// TestRevokePAT: the personal access token stops working at once.
func TestRevokePAT(t *testing.T) {
	c := newClient(t, Options{Seed: 1})
	c.get("/users/me").must(t, 200)
	c.s.RevokePAT()
	if r := c.get("/users/me").must(t, 401); r.errMsg() != "Not Authorized" {
		t.Errorf("message %q", r.errMsg())
	}
}

// TestAfterRequestDeletes: the hook sees each request once it is served,
// and may delete what the response just listed.
func TestAfterRequestDeletes(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var s *Sim
	var victim string
	c := newClient(t, Options{Seed: 9, AfterRequest: func(r Request) {
		mu.Lock()
		seen = append(seen, r.Path)
		mu.Unlock()
		if r.Path == apiPrefix+"/projects" && r.Status == 200 {
			s.Delete(victim)
		}
	}})
	s = c.s
	ws := s.Account().Organization()
	victim = s.Account().Projects(ws)[0]
	listed := gidsOf(c.get("/projects?workspace="+ws).must(t, 200).list())
	if len(listed) == 0 || listed[0] != victim {
		t.Fatalf("the listing %v does not hold %s", listed, victim)
	}
	c.get("/tasks?project="+victim).must(t, 404)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Errorf("hook saw %q, want the two requests", seen)
	}
}

// TestExpectedUnderDeny: with nothing denied it is Expected; a denied
// project is still listed, what hangs below it is not.
func TestExpectedUnderDeny(t *testing.T) {
	for _, sa := range []bool{true, false} {
		a := New(Options{Seed: 42, Size: "small", ServiceAccount: sa}).Account()
		exports := a.OrganizationExports()
		want, got := a.Expected(exports), a.ExpectedUnderDeny(exports)
		for _, m := range []map[string][]string{want, got} {
			for s := range m {
				if diff := cmp.Diff(slices.Sorted(slices.Values(want[s])), slices.Sorted(slices.Values(got[s]))); diff != "" {
					t.Errorf("service account %v, %s (-Expected +ExpectedUnderDeny):\n%s", sa, s, diff)
				}
			}
		}
	}
	a := New(Options{Seed: 42, Size: "small"}).Account()
	p := a.Projects(a.Organization())[0]
	a = New(Options{Seed: 42, Size: "small", Deny: map[string]int{p: 403}}).Account()
	got := a.ExpectedUnderDeny(nil)
	if !slices.Contains(got["projects"], p) {
		t.Errorf("the denied project is not expected in projects")
	}
	for _, sec := range a.Sections(p) {
		if slices.Contains(got["sections"], sec) {
			t.Errorf("section %s of the denied project is expected", sec)
		}
	}
}
