// Package cli holds what asana-beam's commands share: reading the
// connector configuration (or making the demo's), checking the credentials
// before a run, and turning errors into messages a user can act on.
package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/hashicorp/go-cleanhttp"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// PrivateTemp points TMPDIR at a directory of this process's own and
// returns what removes it, to call before the process exits. Beam's runners
// leave temporary files behind (Prism's loopback mode, an empty
// beamloopbackworker-* file per run, never removed), which would otherwise
// pile up in the system's temporary directory, a file per run.
func PrivateTemp() (remove func()) {
	dir, err := os.MkdirTemp("", "asana-beam-*")
	if err != nil {
		return func() {} // the system's, then
	}
	os.Setenv("TMPDIR", dir)
	return func() { os.RemoveAll(dir) }
}

// TokenEnv is the environment variable a personal access token may come
// from instead of a config file.
const TokenEnv = "ASANA_TOKEN"

// LoadConfig reads the configuration file at path. With no path, a
// personal access token in $ASANA_TOKEN makes a configuration with the
// defaults; with neither, the error says how to give credentials.
func LoadConfig(path string) (*asana.Config, error) {
	if path == "" {
		tok := os.Getenv(TokenEnv)
		if tok == "" {
			return nil, errors.New("no Asana credentials: give --config with a config file (as for Airbyte's source-asana), " +
				"or a personal access token in the environment variable " + TokenEnv + " (from https://app.asana.com/0/developer-console); --demo reads a simulated account")
		}
		cfg := asana.NewConfig(asana.Credentials{PersonalAccessToken: asana.Secret(tok)})
		asana.KeepSecrets(cfg.Credentials)
		return cfg, cfg.Validate()
	}
	data, err := ReadFile("config", path)
	if err != nil {
		return nil, err
	}
	cfg, err := asana.ParseConfig(data)
	if cfg != nil {
		asana.KeepSecrets(cfg.Credentials)
	}
	return cfg, err
}

// ReadFile reads one of the command's input files, what names it in the
// error ("reading the catalog: catalog.json: no such file or directory").
func ReadFile(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Path, pe.Err)
		}
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	return data, nil
}

// Me is who the token belongs to.
type Me struct {
	GID   string `json:"gid"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Clock is Asana's time when it answered (its Date header), or the
	// zero time if it gave none: what an incremental sync reads changes
	// since, next time.
	Clock time.Time `json:"-"`
}

// Connect checks the credentials with the cheapest request there is and
// says whose they are. window is the rate-limit window (a minute, unless
// time is scaled against a simulator).
func Connect(ctx context.Context, cfg *asana.Config, window time.Duration) (Me, error) {
	clock := &clockTransport{next: cleanhttp.DefaultPooledTransport()}
	c, err := asana.New(cfg, asana.Options{MaxRetries: 3, Window: window, Transport: clock})
	if err != nil {
		return Me{}, err
	}
	var me Me
	if err := c.Get(ctx, "/users/me", url.Values{"opt_fields": {"gid,name,email"}}, &me); err != nil {
		return Me{}, Explain(err)
	}
	me.Clock = clock.date
	return me, nil
}

// clockTransport keeps the Date of the last response.
type clockTransport struct {
	next http.RoundTripper
	date time.Time
}

func (t *clockTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			t.date = d
		}
	}
	return resp, err
}

// Explain turns a client error into a message a user can act on.
func Explain(err error) error {
	var ae *asana.Error
	if errors.As(err, &ae) {
		switch {
		case ae.Status == 401:
			return &explained{fmt.Sprintf("asana rejected the credentials (%s): check the personal access token, or reconnect the OAuth app", ae.Message), err}
		case ae.Kind == asana.KindTransient:
			return &explained{"asana could not be reached: " + err.Error(), err}
		}
	}
	return err
}

// explained is an error with a message for people, keeping the cause for
// errors.As.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// Logging sets the process's default logger: warnings and errors on
// stderr, and nothing once ctx ends. An interrupted run tears Beam's runner
// down mid-bundle, and its logs of that (stack traces included) would only
// bury the one line the command prints about the interruption.
func Logging(ctx context.Context) {
	h := slog.NewTextHandler(asana.RedactingWriter(os.Stderr), &slog.HandlerOptions{Level: slog.LevelWarn})
	slog.SetDefault(slog.New(&untilDone{Handler: h, ctx: ctx}))
}

// untilDone drops every record once ctx is done.
type untilDone struct {
	slog.Handler
	ctx context.Context
}

func (h *untilDone) Enabled(ctx context.Context, l slog.Level) bool {
	return h.ctx.Err() == nil && h.Handler.Enabled(ctx, l)
}

func (h *untilDone) Handle(ctx context.Context, r slog.Record) error {
	if h.ctx.Err() != nil {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *untilDone) WithAttrs(a []slog.Attr) slog.Handler {
	return &untilDone{Handler: h.Handler.WithAttrs(a), ctx: h.ctx}
}

func (h *untilDone) WithGroup(g string) slog.Handler {
	return &untilDone{Handler: h.Handler.WithGroup(g), ctx: h.ctx}
}
