// Command asana-sim serves a simulated Asana account over HTTP: the
// asanatest simulator, standalone.
//
// Usage:
//
//	asana-sim [--addr 127.0.0.1:8089] [--seed N] [--size tiny|small|medium|large]
//	          [--rpm N] [--window 1m] [--max-in-flight N] [--latency 100ms | 100ms-300ms]
//	          [--fault-5xx P] [--fault-drop P] [--fault-truncate P] [--fault-429 P]
//	          [--service-account] [--activity 10s] [--log FILE|-]
//
// On start it prints the base URL, a personal access token, the OAuth
// client credentials and the number of objects per resource type to
// stderr, then serves until interrupted.
//
// Two hooks change the running account, for trying an incremental sync by
// hand (no token needed; the simulator listens on loopback by default):
//
//	POST /_sim/changes?seed=N[&per_kind=K][&kinds=task_created,tag_deleted,…]
//	    applies a batch of changes (asanatest.Sim.ApplyChanges) and answers
//	    its change log as JSON.
//	POST /_sim/expire_sync_tokens[?resource=GID][&older_than=1h]
//	    expires the sync tokens of one resource (or all), or those older
//	    than a duration: their next GET /events answers 412.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

func main() {
	err := run(os.Args[1:], os.Stderr)
	var usage usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0) // --help asked for the usage: not an error
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "asana-sim:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "asana-sim:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr string
	opts asanatest.Options
	log  string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("asana-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{opts: asanatest.Options{DisableRecording: true}}
	var latency string
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8089", "listen address")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "generation and fault seed")
	fs.StringVar(&c.opts.Size, "size", "tiny", "account size: "+strings.Join(asanatest.Sizes(), ", "))
	fs.IntVar(&c.opts.RPM, "rpm", 0, "requests per token per window (0 = unlimited; Asana: 150 free, 1500 paid)")
	fs.DurationVar(&c.opts.Window, "window", time.Minute, "rate-limit window")
	fs.IntVar(&c.opts.MaxInFlight, "max-in-flight", 50, "concurrent GETs per token (negative = unlimited)")
	fs.StringVar(&latency, "latency", "0", "per-request latency: a duration or a range min-max, e.g. 100ms-300ms")
	fs.Float64Var(&c.opts.Faults.Rate5xx, "fault-5xx", 0, "probability of a 500/502/503/504 answer")
	fs.Float64Var(&c.opts.Faults.RateDrop, "fault-drop", 0, "probability of dropping the connection mid-body")
	fs.Float64Var(&c.opts.Faults.RateTruncate, "fault-truncate", 0, "probability of a truncated JSON body")
	fs.Float64Var(&c.opts.Faults.Rate429, "fault-429", 0, "probability of an extra 429")
	fs.BoolVar(&c.opts.ServiceAccount, "service-account", false, "the token belongs to a service account")
	fs.DurationVar(&c.opts.ActivityInterval, "activity", 0, "make one random change every interval (0 = static account)")
	fs.StringVar(&c.log, "log", "", "request log: a file, or - for stdout")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(asanatest.Sizes(), c.opts.Size) {
		return nil, fmt.Errorf("--size %q: want one of %s", c.opts.Size, strings.Join(asanatest.Sizes(), ", "))
	}
	lo, hi, err := parseLatency(latency)
	if err != nil {
		return nil, err
	}
	c.opts.LatencyMin, c.opts.LatencyMax = lo, hi
	for name, p := range map[string]float64{"fault-5xx": c.opts.Faults.Rate5xx, "fault-drop": c.opts.Faults.RateDrop,
		"fault-truncate": c.opts.Faults.RateTruncate, "fault-429": c.opts.Faults.Rate429} {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("--%s %v: want a probability between 0 and 1", name, p)
		}
	}
	if c.opts.RPM < 0 {
		return nil, fmt.Errorf("--rpm %d: want 0 (unlimited) or more", c.opts.RPM)
	}
	if c.opts.Window <= 0 {
		return nil, fmt.Errorf("--window %v: want a positive duration", c.opts.Window)
	}
	if c.opts.MaxInFlight == 0 {
		return nil, errors.New("--max-in-flight 0 would reject every request; use a negative value for unlimited")
	}
	return c, nil
}

// parseLatency accepts "100ms" or "100ms-300ms".
func parseLatency(s string) (time.Duration, time.Duration, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := time.ParseDuration(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, fmt.Errorf("--latency %q: %v", s, err)
	}
	hi := lo
	if isRange {
		if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("--latency %q: %v", s, err)
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("--latency %q: want 0 <= min <= max", s)
	}
	return lo, hi, nil
}

// usageError is a command-line mistake (exit status 2).
type usageError struct{ error }

func run(args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if c.log != "" {
		if c.log == "-" {
			c.opts.Log = os.Stdout
		} else {
			f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			c.opts.Log = f
		}
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	start := time.Now()
	sim := asanatest.New(c.opts)
	base := "http://" + ln.Addr().String()
	id, secret, refresh := sim.OAuthClient()
	fmt.Fprintf(stderr, "asana-sim: serving a %s account (seed %d, generated in %v)\n", c.opts.Size, c.opts.Seed, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stderr, "  base_url:       %s   (the connector's base_url; the API is under %s/api/1.0)\n", base, base)
	fmt.Fprintf(stderr, "  token endpoint: %s/-/oauth_token\n", base)
	fmt.Fprintf(stderr, "  PAT:            %s\n", sim.PAT())
	fmt.Fprintf(stderr, "  OAuth client:   id %s, secret %s, refresh token %s\n", id, secret, refresh)
	fmt.Fprintf(stderr, "  me:             %s; organization %s; personal workspace %s\n",
		sim.Account().Me(), sim.Account().Organization(), sim.Account().PersonalWorkspace())
	counts := sim.Account().Counts()
	for _, t := range asanatest.ResourceTypes() {
		plural := t + "s"
		if t == "story" {
			plural = "stories"
		}
		fmt.Fprintf(stderr, "  %-22s %d\n", plural+":", counts[t])
	}

	fmt.Fprintf(stderr, "  changes:        POST %s/_sim/changes?seed=N, POST %s/_sim/expire_sync_tokens?resource=GID\n", base, base)

	srv := &http.Server{Handler: withHooks(sim), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		fmt.Fprintln(stderr, "asana-sim: shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// withHooks serves the /_sim/ hooks and passes everything else to sim.
func withHooks(sim *asanatest.Sim) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", sim)
	mux.HandleFunc("POST /_sim/changes", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var b asanatest.ChangeBatch
		var err error
		if v := q.Get("seed"); v != "" {
			if b.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
				hookError(w, 400, "seed: "+err.Error())
				return
			}
		}
		if v := q.Get("per_kind"); v != "" {
			if b.PerKind, err = strconv.Atoi(v); err != nil || b.PerKind < 1 || b.PerKind > 1000 {
				hookError(w, 400, "per_kind: want 1 to 1000")
				return
			}
		}
		if v := q.Get("kinds"); v != "" {
			for _, k := range strings.Split(v, ",") {
				b.Kinds = append(b.Kinds, asanatest.ChangeKind(strings.TrimSpace(k)))
			}
		}
		l, err := sim.ApplyChanges(b)
		if l == nil {
			hookError(w, 400, err.Error())
			return
		}
		status := 200
		resp := struct {
			*asanatest.ChangeLog
			Error string `json:"error,omitempty"`
		}{ChangeLog: l}
		if err != nil { // some changes were made: say which, and what failed
			status, resp.Error = 409, err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("POST /_sim/expire_sync_tokens", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if v := q.Get("older_than"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				hookError(w, 400, "older_than: want a duration such as 1h")
				return
			}
			sim.ExpireSyncTokensOlderThan(d)
		} else {
			sim.ExpireSyncTokens(q.Get("resource"))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func hookError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
