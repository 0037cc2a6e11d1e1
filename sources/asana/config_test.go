package asana

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		in   string
		want *Config
		errs []Problem
	}{
		{
			name: "PAT with defaults",
			in:   `{"credentials":{"option_title":"PAT Credentials","personal_access_token":"tok"}}`,
			want: &Config{Credentials: Credentials{OptionTitle: PATCredentials, PersonalAccessToken: "tok"},
				NumWorkers: 10, RequestsPerMinute: 1500, BaseURL: DefaultBaseURL, IncludeArchivedProjects: &yes},
		},
		{
			name: "OAuth, every field, unknown fields allowed",
			in: `{"credentials":{"option_title":"OAuth Credentials","client_id":"a","client_secret":"b","refresh_token":"c"},
				"num_workers":50,"requests_per_minute":150,"base_url":"http://127.0.0.1:8089","test_mode":true,
				"organization_export_ids":["123"],"workspaces":["1","2"],"projects":["3"],"include_archived_projects":true}`,
			want: &Config{Credentials: Credentials{OptionTitle: OAuthCredentials, ClientID: "a", ClientSecret: "b", RefreshToken: "c"},
				NumWorkers: 50, RequestsPerMinute: 150, BaseURL: "http://127.0.0.1:8089", OrganizationExportIDs: []string{"123"},
				Workspaces: []string{"1", "2"}, Projects: []string{"3"}, IncludeArchivedProjects: &yes},
		},
		{
			name: "legacy access_token",
			in:   `{"access_token":"tok"}`,
			want: &Config{Credentials: Credentials{OptionTitle: PATCredentials, PersonalAccessToken: "tok"},
				NumWorkers: 10, RequestsPerMinute: 1500, BaseURL: DefaultBaseURL, IncludeArchivedProjects: &yes},
		},
		{name: "empty file", in: "  \n", errs: []Problem{{"config", "the file is empty; it must be a JSON object"}}},
		{name: "not JSON", in: `{"credentials":`, errs: []Problem{{"config", "not a JSON object: invalid JSON at byte 15"}}},
		{name: "array", in: `[]`, errs: []Problem{{"config", "not a JSON object: found array"}}},
		{name: "no credentials", in: `{}`, errs: []Problem{{"credentials", "required: give personal_access_token, or client_id, client_secret and refresh_token"}}},
		{
			name: "every problem at once",
			in: `{"credentials":{"option_title":"OAuth Credentials","client_id":"a"},"num_workers":51,
				"requests_per_minute":-1,"base_url":"ftp://x","workspaces":["1","1","abc"],"projects":"3"}`,
			errs: []Problem{
				{"base_url", `must be an http or https URL such as https://app.asana.com, got "ftp://x"`},
				{"credentials.client_secret", `required for "OAuth Credentials"`},
				{"credentials.refresh_token", `required for "OAuth Credentials"`},
				{"num_workers", "must be between 1 and 50, got 51"},
				{"projects", "must be an array of strings, got string"},
				{"requests_per_minute", "must be at least 1, got -1"},
				{"workspaces[1]", "duplicate gid 1"},
				{"workspaces[2]", `must be an Asana gid (digits), got "abc"`},
			},
		},
		{
			name: "wrong types",
			in:   `{"credentials":{"personal_access_token":5},"num_workers":"ten","include_archived_projects":"yes"}`,
			errs: []Problem{
				{"credentials.personal_access_token", "must be a string, got number"},
				{"include_archived_projects", "must be a boolean, got string"},
				{"num_workers", "must be an integer, got string"},
			},
		},
		{name: "bad option title", in: `{"credentials":{"option_title":"Basic","personal_access_token":"t"}}`,
			errs: []Problem{{"credentials.option_title", `must be "PAT Credentials" or "OAuth Credentials", got "Basic"`}}},
		{name: "credentials in base_url", in: `{"access_token":"t","base_url":"https://u:p@app.asana.com"}`,
			errs: []Problem{{"base_url", "must not carry credentials"}}},
		{name: "start_date", in: `{"access_token":"t","start_date":"2024-01-01T02:00:00.5+02:00"}`,
			want: &Config{Credentials: Credentials{OptionTitle: PATCredentials, PersonalAccessToken: "t"},
				NumWorkers: 10, RequestsPerMinute: 1500, BaseURL: DefaultBaseURL, IncludeArchivedProjects: &yes,
				StartDate: "2024-01-01T02:00:00.5+02:00"}},
		{name: "start_date a date only", in: `{"access_token":"t","start_date":"2024-01-01"}`,
			errs: []Problem{{"start_date", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "2024-01-01"`}}},
		{name: "start_date not a time", in: `{"access_token":"t","start_date":"2024-02-30T00:00:00Z"}`,
			errs: []Problem{{"start_date", `must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got "2024-02-30T00:00:00Z"`}}},
		{name: "start_date a number", in: `{"access_token":"t","start_date":20240101}`,
			errs: []Problem{{"start_date", "must be a string, got number"}}},
		{name: "num_workers zero means default", in: `{"access_token":"t","num_workers":0}`,
			want: &Config{Credentials: Credentials{OptionTitle: PATCredentials, PersonalAccessToken: "t"},
				NumWorkers: 10, RequestsPerMinute: 1500, BaseURL: DefaultBaseURL, IncludeArchivedProjects: &yes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tc.in))
			checkParsed(t, tc.want, got, tc.errs, err)
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := Credentials{OptionTitle: OAuthCredentials, ClientID: "id-s3cr3t", ClientSecret: "cs-s3cr3t", RefreshToken: "rt-s3cr3t"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := strings.ToLower(sprintf(format, c) + sprintf(format, c.RefreshToken))
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "73336372337") {
			t.Errorf("%s prints a secret: %s", format, out)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"credentials":{"option_title":"PAT Credentials","personal_access_token":"tok"}}`,
		`{"credentials":{"option_title":"OAuth Credentials","client_id":"a","client_secret":"b","refresh_token":"c"},"num_workers":3}`,
		`{"access_token":"x","base_url":"http://127.0.0.1:1","workspaces":["1"]}`,
		`{"num_workers":"x"}`, `[]`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %v is not a *ConfigError with problems", err)
			}
			for _, p := range ce.Problems {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("problem without field or message: %+v", p)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

func TestBaseURLForms(t *testing.T) {
	for _, tc := range []struct{ in, want, problem string }{
		{"https://app.asana.com", "https://app.asana.com", ""},
		{"https://app.asana.com/", "https://app.asana.com", ""},
		{"https://app.asana.com/api/1.0", "https://app.asana.com", ""},
		{"http://127.0.0.1:8080/api/1.0/", "http://127.0.0.1:8080", ""},
		{"http://localhost:8080", "http://localhost:8080", ""},
		{"http://[::1]:8080", "http://[::1]:8080", ""},
		{"http://asana.example.com", "", "base_url: must be https"},
		{"http://10.0.0.1", "", "base_url: must be https"},
	} {
		cfg, err := ParseConfig([]byte(`{"credentials":{"personal_access_token":"0/123:abcdefgh"},"base_url":"` + tc.in + `"}`))
		switch {
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.problem)
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.problem == "" && cfg.BaseURL != tc.want:
			t.Errorf("%s: base_url %q, want %q", tc.in, cfg.BaseURL, tc.want)
		}
	}
}

// TestStartTime: start_date is read in UTC; unset is no bound.
func TestStartTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for unset
	}{
		{"", ""},
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
		{"2024-01-01T02:00:00.25+02:00", "2024-01-01T00:00:00.25Z"},
		{"2024-01-01", ""}, // refused by Validate
	} {
		c := Config{StartDate: tc.in}
		at, ok := c.StartTime()
		got := ""
		if ok {
			got = at.Format(time.RFC3339Nano)
			if at.Location() != time.UTC {
				t.Errorf("%q: StartTime in %v, want UTC", tc.in, at.Location())
			}
		}
		if got != tc.want {
			t.Errorf("StartTime of %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConfigFieldsFromTheStruct(t *testing.T) {
	got := map[string]string{}
	for _, f := range configFields {
		got[f.name] = f.want
	}
	want := map[string]string{
		"credentials": "an object", "organization_export_ids": "an array of strings", "num_workers": "an integer",
		"requests_per_minute": "an integer", "base_url": "a string", "workspaces": "an array of strings",
		"projects": "an array of strings", "include_archived_projects": "a boolean", "start_date": "a string",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config fields (-want +got):\n%s", diff)
	}
}
