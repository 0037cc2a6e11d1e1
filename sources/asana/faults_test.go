package asana_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// Failures the commands' fault matrix found, pinned at the client.

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"message": msg}}})
}

// TestTimeoutIsTransientNotTheCallersDeadline: a request that runs out of
// its per-attempt timeout on every try is a transient failure of that
// request. It must not match context.DeadlineExceeded, which callers take
// for the end of their own context (the Expander stopped the whole run on
// it instead of reporting the listing lost). With a window of a second the
// defaults scale down with it: a 1 s timeout, backoff from 16 ms.
func TestTimeoutIsTransientNotTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		cfg := &asana.Config{BaseURL: "https://app.asana.com", Credentials: asana.Credentials{PersonalAccessToken: "2/1/2:0123456789abcdef"}}
		cfg.SetDefaults()
		lim, _ := asana.NewLimiter(100, 10, time.Second)
		c, err := asana.New(cfg, asana.Options{Transport: asanatest.HandlerTransport(h), Limiter: lim, Window: time.Second, MaxRetries: 2})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = c.Get(context.Background(), "/users/me", nil, &struct{}{})
		took := time.Since(start)
		var ae *asana.Error
		if !errors.As(err, &ae) || ae.Kind != asana.KindTransient || ae.Attempts != 3 {
			t.Fatalf("Get = %v, want a transient *Error after 3 attempts", err)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Errorf("Get = %v, which matches a context error", err)
		}
		if !strings.Contains(err.Error(), "no response within the timeout of 1s") {
			t.Errorf("Get = %v, which does not say it timed out", err)
		}
		// Three attempts of 1 s and two waits of at most 16 and 33 ms.
		if took < 3*time.Second || took > 3100*time.Millisecond {
			t.Errorf("gave up after %v, want about 3 s", took)
		}
	})
}

// oauthServer serves a token endpoint that issues t1, t2, … (or rejects
// refreshes once revoked) and an API that answers with handle.
type oauthServer struct {
	issued  atomic.Int64
	revoked atomic.Bool
	handle  func(w http.ResponseWriter, r *http.Request, token string)
}

func (s *oauthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/-/oauth_token" {
		w.Header().Set("Content-Type", "application/json")
		if s.revoked.Load() {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"The refresh token is invalid or has been revoked."}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"t%d","token_type":"bearer","expires_in":3600}`, s.issued.Add(1))
		return
	}
	s.handle(w, r, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
}

func oauthClient(t *testing.T, srv *oauthServer) *asana.Client {
	t.Helper()
	cfg := &asana.Config{BaseURL: "https://app.asana.com", Credentials: asana.Credentials{OptionTitle: asana.OAuthCredentials,
		ClientID: "1234", ClientSecret: "client-secret", RefreshToken: "refresh-token"}}
	cfg.SetDefaults()
	lim, _ := asana.NewLimiter(100, 10, 0)
	c, err := asana.New(cfg, asana.Options{Transport: asanatest.HandlerTransport(srv), Limiter: lim, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFreshTokenExpiredToo: when many requests share short-lived access
// tokens, the fresh token a rejected request retries with may have lapsed
// too. The request refreshes again (a few times) instead of failing the
// run with a 401.
func TestFreshTokenExpiredToo(t *testing.T) {
	srv := &oauthServer{}
	srv.handle = func(w http.ResponseWriter, r *http.Request, token string) {
		if token == "t1" || token == "t2" {
			apiError(w, 401, "The bearer token has expired.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":{"gid":"1"}}`)
	}
	c := oauthClient(t, srv)
	var me struct{ GID string }
	if err := c.Get(context.Background(), "/users/me", nil, &me); err != nil || me.GID != "1" {
		t.Fatalf("Get = %+v, %v; want gid 1 with the third token", me, err)
	}
	if n := srv.issued.Load(); n != 3 {
		t.Errorf("%d tokens issued, want 3", n)
	}
}

// TestRevokedRefreshTokenSaysSo: a request rejected with 401 after another
// request found the refresh token revoked reports the revocation, not an
// expired access token.
func TestRevokedRefreshTokenSaysSo(t *testing.T) {
	srv := &oauthServer{}
	aDone := make(chan struct{})
	srv.handle = func(w http.ResponseWriter, r *http.Request, token string) {
		if r.URL.Path == "/api/1.0/b" {
			<-aDone
		}
		srv.revoked.Store(true)
		apiError(w, 401, "The bearer token has expired.")
	}
	c := oauthClient(t, srv)
	var wg sync.WaitGroup
	var errB error
	wg.Go(func() { errB = c.Get(context.Background(), "/b", nil, &struct{}{}) })
	for srv.issued.Load() == 0 { // b holds t1
		time.Sleep(time.Millisecond)
	}
	errA := c.Get(context.Background(), "/a", nil, &struct{}{})
	close(aDone)
	wg.Wait()
	for name, err := range map[string]error{"a": errA, "b": errB} {
		var ae *asana.Error
		if !errors.As(err, &ae) || ae.Kind != asana.KindConfig || !strings.Contains(err.Error(), "refresh token") {
			t.Errorf("request %s: %v, want the refresh token's rejection", name, err)
		}
	}
}
