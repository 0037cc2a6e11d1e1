package asana_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// fuzzClient is a client whose every request h answers, with one retry
// and no waits. (No synctest bubble: bubbles hung the fuzzing workers.)
func fuzzClient(t *testing.T, h http.Handler) *asana.Client {
	t.Helper()
	cfg := &asana.Config{BaseURL: "https://app.asana.com", Credentials: asana.Credentials{PersonalAccessToken: "2/1/2:0123456789abcdef"}}
	cfg.SetDefaults()
	lim, err := asana.NewLimiter(1000, 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := asana.New(cfg, asana.Options{Transport: asanatest.HandlerTransport(h), Limiter: lim, Window: time.Second,
		MaxRetries: 1, RetryWaitMin: time.Nanosecond, RetryWaitMax: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzListPage feeds any body, as the 200 answer to a listing's first page,
// to the paginator (and to Get and Events): it must not panic, must hand
// the caller only JSON objects with a string gid, each gid once, and must
// otherwise fail with an error that says which request.
func FuzzListPage(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"gid":"1","name":"a"},{"gid":"2"}],"next_page":null}`,
		`{"data":[{"gid":"1"},{"gid":"1"}],"next_page":{"offset":"eyJ0","path":"/tasks?offset=eyJ0","uri":"https://app.asana.com/api/1.0/tasks?offset=eyJ0"}}`,
		`{"data":[{"gid":"1"}],"next_page":{"offset":""}}`,
		`{"data":[{"gid":1}]}`,
		`{"data":[{"gid":" "}]}`,
		`{"data":[null,[],"x"]}`,
		`{"data":{"gid":"1"}}`,
		`{"data":null,"next_page":{"offset":"x"}}`,
		`{"data":[],"sync":"s","has_more":true}`,
		`{"data":[{"gid":"1","notes":"\u0000\ud800"}]}`,
		`{"errors":[{"message":"offset: Your pagination token has expired."}]}`,
		`[]`, `null`, `{}`, `{"data":[{"gid":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		{
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Query().Has("offset") {
					w.Write([]byte(`{"data":[],"next_page":null}`))
					return
				}
				w.Write(body)
			})
			c := fuzzClient(t, h)
			ctx := context.Background()
			seen := map[string]bool{}
			_, err := c.List(ctx, "/tasks", url.Values{"project": {"1"}}, func(recs []json.RawMessage) error {
				for _, rec := range recs {
					var r struct {
						GID *string `json:"gid"`
					}
					if err := json.Unmarshal(rec, &r); err != nil || r.GID == nil || strings.TrimSpace(*r.GID) == "" {
						t.Fatalf("handed over %s, not an object with a gid", rec)
					}
					if seen[*r.GID] {
						t.Fatalf("gid %s handed over twice", *r.GID)
					}
					seen[*r.GID] = true
				}
				return nil
			})
			if err != nil && !strings.Contains(err.Error(), "GET /tasks?project=1") {
				t.Fatalf("List error %q does not name the request", err)
			}
			if json.Valid(body) && err != nil {
				// A 200 that is not a page is malformed: retried, then lost,
				// never taken for a configuration problem.
				var ae *asana.Error
				if !errors.As(err, &ae) || ae.Kind != asana.KindTransient {
					t.Fatalf("a 200 with valid JSON that is not a page failed as %v, want a transient asana.Error", err)
				}
			}
			_ = c.Get(ctx, "/users/me", nil, &map[string]any{})
			if _, err := c.Events(ctx, "1", "s", nil); err != nil && !strings.Contains(err.Error(), "/events") {
				t.Fatalf("Events error %q does not name the request", err)
			}
		}
	})
}

// FuzzErrorResponse feeds any status and body to a request: a non-2xx
// answer must come back as an *asana.Error of a known kind with that
// status, whatever the body says.
func FuzzErrorResponse(f *testing.F) {
	for _, s := range []struct {
		status uint16
		body   string
	}{
		{400, `{"errors":[{"message":"offset: Your pagination token has expired.","help":"h"}]}`},
		{400, `{"errors":[{"message":"owner: Missing input"}]}`},
		{401, `{"errors":[{"message":"Not Authorized"}]}`},
		{402, `{"errors":[]}`},
		{403, ``},
		{404, `{"errors":[{"message":5}]}`},
		{412, `{"errors":[{"message":"Sync token invalid or too old"}],"sync":"abc"}`},
		{451, `[`},
		{500, `{"errors":[{"message":"Server Error","phrase":"6 sad squid snuggle softly"}]}`},
		{503, `<html>`},
		{302, ``},
		{200, `{"data":{}}`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 200 + int(status)%400 // 200..599
		if code == http.StatusTooManyRequests {
			code = 400 // a 429's pause is the limiter's business
		}
		{
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(code)
				w.Write(body)
			})
			c := fuzzClient(t, h)
			var out any
			err := c.Get(context.Background(), "/users/me", nil, &out)
			if code/100 == 2 {
				return
			}
			var ae *asana.Error
			if !errors.As(err, &ae) {
				if code/100 == 3 {
					return // a redirect without a Location comes back as is
				}
				t.Fatalf("status %d: %v, not an *asana.Error", code, err)
			}
			if ae.Kind < asana.KindConfig || ae.Kind > asana.KindTransient || ae.Kind.String() == "" {
				t.Fatalf("status %d: kind %v", code, ae.Kind)
			}
			if ae.Status != code || !strings.HasPrefix(ae.Error(), "GET /users/me: "+strconv.Itoa(code)) {
				t.Fatalf("status %d: %+v, %q", code, ae, ae.Error())
			}
		}
	})
}

// FuzzConfigNeverEchoesSecrets: whatever a config file holds, a failure to
// parse it never quotes its credentials (the file names them in the clear),
// and neither does printing the parsed config.
func FuzzConfigNeverEchoesSecrets(f *testing.F) {
	for _, s := range []string{
		`{"credentials":{"option_title":"PAT Credentials","personal_access_token":"pat-s3cr3t-0001"},"num_workers":99}`,
		`{"credentials":{"option_title":"OAuth Credentials","client_id":"id-s3cr3t-0002","client_secret":"cs-s3cr3t-0003","refresh_token":"rt-s3cr3t-0004"},"base_url":"ftp://x"}`,
		`{"credentials":{"option_title":"Basic","personal_access_token":"pat-s3cr3t-0005"}}`,
		`{"credentials":{"personal_access_token":["pat-s3cr3t-0006"]}}`,
		`{"credentials":{"personal_access_token":"pat-s3cr3t-0007`,
		`{"access_token":"pat-s3cr3t-0008","workspaces":["pat-s3cr3t-0008"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc struct {
			Credentials map[string]any `json:"credentials"`
			AccessToken any            `json:"access_token"`
		}
		_ = json.Unmarshal(data, &doc)
		var secrets []string
		for _, k := range []string{"client_id", "client_secret", "refresh_token", "personal_access_token"} {
			if s, ok := doc.Credentials[k].(string); ok && len(strings.TrimSpace(s)) >= 8 {
				secrets = append(secrets, s)
			}
		}
		if s, ok := doc.AccessToken.(string); ok && len(strings.TrimSpace(s)) >= 8 {
			secrets = append(secrets, s)
		}
		c, err := asana.ParseConfig(data)
		out := fmt.Sprintf("%v %+v %#v", err, c, c)
		if c != nil {
			b, _ := json.Marshal(c)
			out += string(b) + c.Credentials.OptionTitle
		}
		for _, s := range secrets {
			if strings.Contains(out, s) && !strings.Contains(stripSecrets(data), s) {
				t.Fatalf("a secret shows in %s", out)
			}
		}
	})
}

// stripSecrets returns the config file's text without its credentials'
// values, so that a secret within some other field's value (a workspace
// gid, the option title) does not count as echoed.
func stripSecrets(data []byte) string {
	var top map[string]any
	if json.Unmarshal(data, &top) != nil {
		return ""
	}
	if cr, ok := top["credentials"].(map[string]any); ok {
		for _, k := range []string{"client_id", "client_secret", "refresh_token", "personal_access_token"} {
			delete(cr, k)
		}
	}
	delete(top, "access_token")
	b, _ := json.Marshal(top)
	return string(b)
}
