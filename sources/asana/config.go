package asana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credential kinds, as Airbyte's setup form names them in option_title.
const (
	OAuthCredentials = "OAuth Credentials"
	PATCredentials   = "PAT Credentials"
)

// Defaults of the optional fields.
const (
	DefaultBaseURL           = "https://app.asana.com"
	DefaultNumWorkers        = 10
	MaxNumWorkers            = 50 // Asana allows 50 GETs in flight per token
	DefaultRequestsPerMinute = 1500
)

// Config is the connector's configuration: Airbyte source-asana's fields
// (credentials, organization_export_ids, num_workers) and asana-beam's own.
// The struct tags carry the titles, descriptions, order and examples from
// which the Airbyte spec and the README's table are generated.
type Config struct {
	Credentials Credentials `json:"credentials" title:"Authentication mechanism" description:"Choose how to authenticate to Asana." order:"0"`

	OrganizationExportIDs []string `json:"organization_export_ids,omitempty" title:"Organization Export IDs" description:"Globally unique identifiers for the organization exports to read (the organization_exports stream). Asana has no list of exports, so they must be named here." order:"1" examples:"1204567890123456"`

	NumWorkers int `json:"num_workers" title:"Number of concurrent workers" description:"Requests in flight at once for this token, 1 to 50 (Asana answers more than 50 concurrent GETs with 429)." order:"2" default:"10" minimum:"1" maximum:"50" examples:"10"`

	RequestsPerMinute int `json:"requests_per_minute" title:"Requests per minute" description:"The token's rate limit: 1500 on paid Asana plans, 150 on the free plan. Lower it to leave room for other clients of the same token." order:"3" default:"1500" minimum:"1" examples:"1500,150"`

	BaseURL string `json:"base_url" title:"Base URL" description:"Asana's address; the API is under /api/1.0 and OAuth tokens come from /-/oauth_token. Change it only for a proxy or a simulator." order:"4" default:"https://app.asana.com" examples:"https://app.asana.com"`

	Workspaces []string `json:"workspaces,omitempty" title:"Workspaces" description:"Read only these workspace gids; empty reads every workspace the token can see." order:"5" examples:"1204567890123456"`

	Projects []string `json:"projects,omitempty" title:"Projects" description:"Read only these project gids (and what hangs below them); empty reads every project." order:"6" examples:"1204567890123457"`

	IncludeArchivedProjects *bool `json:"include_archived_projects,omitempty" title:"Include archived projects" description:"Read archived projects and their tasks, stories and attachments too." order:"7" default:"true"`

	StartDate string `json:"start_date,omitempty" title:"Start date" description:"Optional. Leave out the records of the streams with a cursor whose cursor is earlier than this time (RFC 3339, in UTC or with an offset): tasks and projects modified, stories, attachments, sections, tags and events created before it, at every sync. Empty reads everything." order:"8" format:"date-time" examples:"2024-01-01T00:00:00Z"`
}

// dateTimePattern is the form of an RFC 3339 date-time the config and
// the state accept: a four-digit year, T, seconds with up to nine
// fractional digits, and Z or an offset. The spec carries it as the
// start_date field's pattern, so that Airbyte's form checks it too.
const dateTimePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`

var dateTimeRE = regexp.MustCompile(dateTimePattern)

// parseDateTime parses an RFC 3339 date-time of dateTimePattern's form,
// in UTC.
func parseDateTime(s string) (time.Time, bool) {
	if !dateTimeRE.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// StartTime returns start_date, in UTC, and whether it is set. Call it
// on a validated configuration: a start_date that does not parse reads as
// unset.
func (c *Config) StartTime() (time.Time, bool) {
	if c.StartDate == "" {
		return time.Time{}, false
	}
	return parseDateTime(c.StartDate)
}

// Credentials holds one of the two ways to authenticate, told apart by
// OptionTitle.
// The variant tag says which credential kind a field belongs to.
type Credentials struct {
	OptionTitle         string `json:"option_title" title:"Credentials title" description:"Which kind of credentials these are."`
	ClientID            Secret `json:"client_id,omitempty" variant:"OAuth Credentials" title:"Client ID" description:"The client ID of your Asana developer app."`
	ClientSecret        Secret `json:"client_secret,omitempty" variant:"OAuth Credentials" title:"Client Secret" description:"The client secret of your Asana developer app."`
	RefreshToken        Secret `json:"refresh_token,omitempty" variant:"OAuth Credentials" title:"Refresh Token" description:"A refresh token the OAuth flow granted; it does not change when access tokens are refreshed."`
	PersonalAccessToken Secret `json:"personal_access_token,omitempty" variant:"PAT Credentials" title:"Personal Access Token" description:"Asana Personal Access Token (generate yours <a href=\"https://app.asana.com/0/developer-console\">here</a>)."`
}

// OAuth reports whether the credentials are an OAuth refresh token.
func (c Credentials) OAuth() bool { return c.OptionTitle == OAuthCredentials }

// ConfigError lists every problem of a configuration, each naming its field.
type ConfigError struct {
	Problems []Problem
}

// Problem is one invalid field.
type Problem struct {
	Field   string // dotted path, e.g. "credentials.personal_access_token"
	Message string
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid config: " + strings.Join(parts, "; ")
}

// has reports whether field, a field inside it or around it has a
// problem already.
func (e *ConfigError) has(field string) bool {
	for _, p := range e.Problems {
		if within(field, p.Field) || within(p.Field, field) {
			return true
		}
	}
	return false
}

// within reports whether field is inner or the same as outer.
func within(field, outer string) bool {
	return field == outer || strings.HasPrefix(field, outer+".") || strings.HasPrefix(field, outer+"[")
}

func (e *ConfigError) sort() {
	sort.SliceStable(e.Problems, func(i, j int) bool { return e.Problems[i].Field < e.Problems[j].Field })
}

func (e *ConfigError) add(field, format string, args ...any) {
	e.Problems = append(e.Problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// ParseConfig decodes a configuration file, fills in the defaults and
// validates it. Unknown fields are allowed, as Airbyte's spec allows them;
// a legacy top-level access_token is read as a personal access token.
func ParseConfig(data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ConfigError{Problems: []Problem{{Field: "config", Message: "the file is empty; it must be a JSON object"}}}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, &ConfigError{Problems: []Problem{{Field: "config", Message: "not a JSON object: " + jsonProblem(err)}}}
	}
	var c Config
	ce := &ConfigError{}
	// Decode field by field so that one wrong type does not hide the others.
	for _, f := range configFields {
		raw, ok := top[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, f.ptr(&c)); err != nil {
			field, msg := typeProblem(err, f.name, f.want)
			ce.add(field, "%s", msg)
		}
	}
	if _, ok := top["credentials"]; !ok {
		if raw, ok := top["access_token"]; ok {
			var tok string
			if json.Unmarshal(raw, &tok) == nil {
				c.Credentials = Credentials{OptionTitle: PATCredentials, PersonalAccessToken: Secret(tok)}
			}
		}
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		var more *ConfigError
		if errors.As(err, &more) {
			// A field of the wrong type is reported once, as such.
			for _, p := range more.Problems {
				if !ce.has(p.Field) {
					ce.Problems = append(ce.Problems, p)
				}
			}
		}
	}
	if len(ce.Problems) > 0 {
		ce.sort()
		return nil, ce
	}
	return &c, nil
}

// configFields are the fields of Config as ParseConfig decodes them, one
// by one: read from the struct, as the spec and the README's table are.
var configFields = func() []configField {
	var out []configField
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, configField{name: name, want: wantOf(f.Type), index: i})
	}
	return out
}()

type configField struct {
	name  string
	want  string // the JSON type, for messages: "an array of strings"
	index int    // in Config
}

// ptr points into c at the field.
func (f configField) ptr(c *Config) any {
	return reflect.ValueOf(c).Elem().Field(f.index).Addr().Interface()
}

// wantOf names the JSON type a field of type t takes, for messages.
func wantOf(t reflect.Type) string {
	if t.Kind() == reflect.Slice {
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(wantOf(t.Elem()), "a "), "an ") + "s"
	}
	switch jsonType(t) {
	case "object":
		return "an object"
	case "integer":
		return "an integer"
	case "boolean":
		return "a boolean"
	}
	return "a string"
}

// typeProblem names the field of a decoding error and what it should be.
func typeProblem(err error, field, want string) (string, string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			field += "." + te.Field
			want = "a " + te.Type.Kind().String()
		}
		return field, fmt.Sprintf("must be %s, got %s", want, te.Value)
	}
	return field, "must be " + want + ": " + jsonProblem(err)
}

// jsonProblem describes a JSON syntax error without quoting the input,
// which may hold a secret.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("found %s", te.Value)
	}
	return "invalid JSON"
}

// quoteClip quotes a value for a message, cut to 64 bytes: the value is
// not a secret, but it may be long.
func quoteClip(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(strings.ToValidUTF8(s[:max], "")) + "…"
	}
	return strconv.Quote(s)
}

// NewConfig returns the configuration of creds with every default: a
// token's configuration without a file. ParseConfig sets the same
// defaults; the commands call no SetDefaults of their own.
func NewConfig(creds Credentials) *Config {
	c := &Config{Credentials: creds}
	c.SetDefaults()
	return c
}

// SetDefaults fills in the optional fields left empty.
func (c *Config) SetDefaults() {
	if c.NumWorkers == 0 {
		c.NumWorkers = DefaultNumWorkers
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	// The API's own address is accepted for Asana's: base_url is where
	// both the API (/api/1.0) and the token endpoint (/-/oauth_token) are.
	c.BaseURL = strings.TrimSuffix(strings.TrimRight(c.BaseURL, "/"), "/api/1.0")
	if c.IncludeArchivedProjects == nil {
		t := true
		c.IncludeArchivedProjects = &t
	}
	if c.Credentials.OptionTitle == "" {
		switch {
		case c.Credentials.PersonalAccessToken != "":
			c.Credentials.OptionTitle = PATCredentials
		case c.Credentials.RefreshToken != "":
			c.Credentials.OptionTitle = OAuthCredentials
		}
	}
}

var gidPattern = regexp.MustCompile(`^[0-9]{1,32}$`)

// Validate reports every problem of the configuration at once, each naming
// its field. Call SetDefaults first.
func (c *Config) Validate() error {
	ce := &ConfigError{}
	cr := c.Credentials
	switch cr.OptionTitle {
	case PATCredentials:
		if strings.TrimSpace(cr.PersonalAccessToken.Reveal()) == "" {
			ce.add("credentials.personal_access_token", "required for %q", PATCredentials)
		}
	case OAuthCredentials:
		for _, f := range []struct {
			name string
			v    Secret
		}{{"client_id", cr.ClientID}, {"client_secret", cr.ClientSecret}, {"refresh_token", cr.RefreshToken}} {
			if strings.TrimSpace(f.v.Reveal()) == "" {
				ce.add("credentials."+f.name, "required for %q", OAuthCredentials)
			}
		}
	case "":
		ce.add("credentials", "required: give personal_access_token, or client_id, client_secret and refresh_token")
	default:
		ce.add("credentials.option_title", "must be %q or %q, got %q", PATCredentials, OAuthCredentials, cr.OptionTitle)
	}
	if c.NumWorkers < 1 || c.NumWorkers > MaxNumWorkers {
		ce.add("num_workers", "must be between 1 and %d, got %d", MaxNumWorkers, c.NumWorkers)
	}
	if c.RequestsPerMinute < 1 {
		ce.add("requests_per_minute", "must be at least 1, got %d", c.RequestsPerMinute)
	}
	switch u, err := url.Parse(c.BaseURL); {
	case err == nil && u.User != nil:
		ce.add("base_url", "must not carry credentials")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		ce.add("base_url", "must be an http or https URL such as %s, got %q", DefaultBaseURL, c.BaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		ce.add("base_url", "must not carry a query or a fragment")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		ce.add("base_url", "must be https: http sends the credentials in the clear, and is allowed only to a loopback address (127.0.0.1, ::1, localhost), got %q", c.BaseURL)
	}
	checkGIDs(ce, "organization_export_ids", c.OrganizationExportIDs)
	checkGIDs(ce, "workspaces", c.Workspaces)
	checkGIDs(ce, "projects", c.Projects)
	if c.StartDate != "" {
		if _, ok := parseDateTime(c.StartDate); !ok {
			ce.add("start_date", "must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got %s", quoteClip(c.StartDate))
		}
	}
	if len(ce.Problems) > 0 {
		ce.sort()
		return ce
	}
	return nil
}

// loopback reports whether host is a loopback address, where http does
// not leave the machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkGIDs(ce *ConfigError, field string, gids []string) {
	seen := map[string]bool{}
	for i, g := range gids {
		switch {
		case !gidPattern.MatchString(g):
			ce.add(fmt.Sprintf("%s[%d]", field, i), "must be an Asana gid (digits), got %q", g)
		case seen[g]:
			ce.add(fmt.Sprintf("%s[%d]", field, i), "duplicate gid %s", g)
		}
		seen[g] = true
	}
}

// EnvValue encodes the credentials for an environment variable of the
// workers; see CredentialsFromEnv. It is the one place where the secrets
// are serialized.
func (c Credentials) EnvValue() string {
	b, _ := json.Marshal(map[string]string{
		"option_title":          c.OptionTitle,
		"personal_access_token": c.PersonalAccessToken.Reveal(),
		"client_id":             c.ClientID.Reveal(),
		"client_secret":         c.ClientSecret.Reveal(),
		"refresh_token":         c.RefreshToken.Reveal(),
	})
	return string(b)
}

// CredentialsFromEnv reads credentials that EnvValue encoded, or a bare
// personal access token, from the environment variable name.
func CredentialsFromEnv(name string) (Credentials, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return Credentials{}, fmt.Errorf("no Asana credentials: the environment variable %s is empty", name)
	}
	return ParseCredentials("the environment variable "+name, v)
}

// ParseCredentials reads credentials that EnvValue encoded, or a bare
// personal access token, from v; from names where v came from.
func ParseCredentials(from, v string) (Credentials, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Credentials{}, fmt.Errorf("no Asana credentials: %s is empty", from)
	}
	if !strings.HasPrefix(v, "{") {
		return Credentials{OptionTitle: PATCredentials, PersonalAccessToken: Secret(v)}, nil
	}
	var c Credentials
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Credentials{}, fmt.Errorf("%s does not hold Asana credentials: %s", from, jsonProblem(err))
	}
	return c, nil
}
