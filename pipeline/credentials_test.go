package pipeline

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// TestCredentialSourceSecretManager reads credentials through the Secret
// Manager client library from a server that answers as Secret Manager's
// REST API does (AccessSecretVersion).
func TestCredentialSourceSecretManager(t *testing.T) {
	secrets := map[string]string{
		"projects/p/secrets/pat/versions/latest":   "1/1234:pat-secret-value\n",
		"projects/p/secrets/oauth/versions/3":      `{"option_title":"OAuth Credentials","client_id":"cid","client_secret":"csecret","refresh_token":"rtoken"}`,
		"projects/p/secrets/garbage/versions/1":    `{"client_id": 5`,
		"projects/p/secrets/notbase64/versions/1":  "",
		"projects/p/secrets/nopayload/versions/1":  "",
		"projects/p/secrets/emptyvalue/versions/1": "   ",
	}
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":access")
		v, known := secrets[name]
		if !ok || !known {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":404,"message":"Secret [` + name + `] not found or has no versions.","status":"NOT_FOUND"}}`))
			return
		}
		body := map[string]any{"name": name, "payload": map[string]string{"data": base64.StdEncoding.EncodeToString([]byte(v))}}
		switch {
		case strings.Contains(name, "notbase64"):
			body["payload"] = map[string]string{"data": "%%%"}
		case strings.Contains(name, "nopayload"):
			delete(body, "payload")
		}
		json.NewEncoder(w).Encode(body)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		secret  string
		want    asana.Credentials
		wantErr string
	}{
		{secret: "projects/p/secrets/pat/versions/latest",
			want: asana.Credentials{OptionTitle: asana.PATCredentials, PersonalAccessToken: "1/1234:pat-secret-value"}},
		{secret: "projects/p/secrets/oauth/versions/3",
			want: asana.Credentials{OptionTitle: "OAuth Credentials", ClientID: "cid", ClientSecret: "csecret", RefreshToken: "rtoken"}},
		{secret: "projects/p/secrets/missing/versions/1", wantErr: "reading the credentials secret projects/p/secrets/missing/versions/1"},
		{secret: "projects/p/secrets/garbage/versions/1", wantErr: "does not hold Asana credentials"},
		{secret: "projects/p/secrets/notbase64/versions/1", wantErr: "not base64"},
		{secret: "projects/p/secrets/nopayload/versions/1", wantErr: "has no payload"},
		{secret: "projects/p/secrets/emptyvalue/versions/1", wantErr: "is empty"},
		{secret: "my-secret", wantErr: `"my-secret" is not a secret version`},
	} {
		t.Run(tc.secret, func(t *testing.T) {
			got, err := CredentialSource{Secret: tc.secret, SecretManagerEndpoint: srv.URL}.Load(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load() error = %v; want one containing %q", err, tc.wantErr)
				}
				for _, s := range []string{"pat-secret-value", "csecret", "rtoken"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want.EnvValue(), got.EnvValue()); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
	if len(paths) == 0 || paths[0] != "GET /v1/projects/p/secrets/pat/versions/latest:access" {
		t.Errorf("requests = %q; want AccessSecretVersion first", paths)
	}
}

func TestCredentialSourceEnv(t *testing.T) {
	t.Setenv("TEST_ASANA_CREDS", "")
	if _, err := (CredentialSource{Env: "TEST_ASANA_CREDS"}).Load(context.Background()); err == nil || !strings.Contains(err.Error(), "TEST_ASANA_CREDS is empty") {
		t.Errorf("empty variable: error = %v", err)
	}
	t.Setenv("TEST_ASANA_CREDS", "tok")
	got, err := CredentialSource{Env: "TEST_ASANA_CREDS"}.Load(context.Background())
	if err != nil || got.PersonalAccessToken.Reveal() != "tok" {
		t.Errorf("Load() = %v, %v; want the token", got.PersonalAccessToken, err)
	}
}
