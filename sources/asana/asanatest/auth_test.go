package asanatest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUnauthorized(t *testing.T) {
	c := newClient(t, Options{Seed: 1})
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"wrong token", "Bearer 2/123/456:deadbeef"},
		{"empty bearer", "Bearer "},
		{"basic", "Basic " + c.token},
	} {
		req, _ := http.NewRequest("GET", testBase+apiPrefix+"/users/me", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 512)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode != 401 || string(body[:n]) != `{"errors":[{"message":"Not Authorized","help":"`+helpText+`"}]}` {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body[:n])
		}
	}
	// The label never leaks the token.
	c.get("/users/me").must(t, 200)
	for _, rq := range c.s.Requests() {
		if strings.Contains(rq.Token, c.token) {
			t.Errorf("request label contains the token")
		}
	}
	if rq := c.s.Requests(); rq[len(rq)-1].Token != "pat" {
		t.Errorf("label %q, want pat", rq[len(rq)-1].Token)
	}
}

func (c *tclient) refresh(form url.Values) *tresp {
	c.t.Helper()
	req, _ := http.NewRequest("POST", testBase+"/-/oauth_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &tresp{status: resp.StatusCode, header: resp.Header}
	if err := decodeJSON(resp.Body, &r.v); err != nil {
		c.t.Fatal(err)
	}
	return r
}

func TestOAuthRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClient(t, Options{Seed: 1, AccessTokenTTL: 10 * time.Minute})
		id, secret, refresh := c.s.OAuthClient()
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {refresh}}
		r := c.refresh(form)
		if r.status != 200 {
			t.Fatalf("refresh: %d %v", r.status, r.v)
		}
		if _, ok := r.v["refresh_token"]; ok {
			t.Errorf("refresh response carries a refresh_token")
		}
		me := c.s.d.me
		want := map[string]any{"token_type": "bearer", "expires_in": 600.0,
			"data": map[string]any{"id": me.gid, "gid": me.gid, "name": me.name, "email": me.email}}
		got := map[string]any{"token_type": r.v["token_type"], "expires_in": r.v["expires_in"], "data": r.v["data"]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("token response (-want +got):\n%s", diff)
		}
		access := r.v["access_token"].(string)
		c.token = access
		c.get("/users/me").must(t, 200)
		if rq := c.s.Requests(); rq[len(rq)-1].Token != "oauth-1" {
			t.Errorf("label %q, want oauth-1", rq[len(rq)-1].Token)
		}

		time.Sleep(10*time.Minute - time.Second)
		c.get("/users/me").must(t, 200)
		time.Sleep(time.Second)
		if r := c.get("/users/me"); r.status != 401 || !strings.Contains(r.errMsg(), "expired") {
			t.Errorf("expired token: %d %q", r.status, r.errMsg())
		}

		// A second refresh gives a new, working token.
		r2 := c.refresh(form)
		if r2.status != 200 || r2.v["access_token"] == access {
			t.Fatalf("second refresh: %d %v", r2.status, r2.v)
		}
		c.token = r2.v["access_token"].(string)
		c.get("/users/me").must(t, 200)

		// Revocation: refresh fails, issued tokens keep working until expiry.
		c.s.RevokeRefreshToken()
		if r := c.refresh(form); r.status != 400 || r.v["error"] != "invalid_grant" {
			t.Errorf("refresh after revoke: %d %v", r.status, r.v)
		}
		c.get("/users/me").must(t, 200)
	})
}

func TestOAuthErrors(t *testing.T) {
	c := newClient(t, Options{Seed: 1})
	id, secret, refresh := c.s.OAuthClient()
	tests := []struct {
		name string
		form url.Values
		err  string
	}{
		{"wrong secret", url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {"x"}, "refresh_token": {refresh}}, "invalid_grant"},
		{"wrong client", url.Values{"grant_type": {"refresh_token"}, "client_id": {"1"}, "client_secret": {secret}, "refresh_token": {refresh}}, "invalid_grant"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {"2/1/2:x"}}, "invalid_grant"},
		{"no grant type", url.Values{"client_id": {id}}, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		r := c.refresh(tt.form)
		if r.status != 400 || r.v["error"] != tt.err || r.v["error_description"] == "" {
			t.Errorf("%s: %d %v, want 400 %s", tt.name, r.status, r.v, tt.err)
		}
	}
}
