package asanatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Options configures a Sim. The zero value is a tiny account with no rate
// limit, no latency and no faults.
type Options struct {
	// Seed drives data generation and the fault/latency random stream.
	Seed int64
	// Size is "tiny", "small", "medium" or "large"; "" means "tiny".
	// New panics on any other value (validate user input with Sizes).
	Size string

	// RPM is the number of requests a token may make in any sliding
	// Window; 0 means unlimited. Every arrival counts, rejected ones
	// included, as in Asana. A request over the limit gets 429 with
	// Retry-After set to the time until the window would admit it (the
	// arrival that must leave the window, plus Window, minus now), in
	// whole seconds rounded up and at least 1. Retry-After is always in
	// real seconds, also when Window is shrunk to scale time: a client
	// that honours it never retries too early, but may wait longer than a
	// scaled window needs.
	RPM int
	// Window is the length of the rate-limit window; 0 means time.Minute.
	// Tests shrink it to scale time down.
	Window time.Duration
	// MaxInFlight caps concurrent GETs per token; 0 means 50 (Asana's
	// limit), negative means unlimited. A GET over the cap gets 429 with
	// Retry-After: 1.
	MaxInFlight int

	// LatencyMin and LatencyMax bound a uniform, seeded per-request
	// latency, slept before the response is written.
	LatencyMin, LatencyMax time.Duration

	// Faults injects failures into /api/1.0 responses.
	Faults Faults
	// FaultWindows replace Faults for a while (see FaultWindow).
	FaultWindows []FaultWindow
	// StaleOffsets answers the first StaleOffsets valid offset tokens
	// as expired, as if each had outlived OffsetTTL mid-listing.
	StaleOffsets int
	// AccessTokenRequests, if positive, expires an OAuth access token
	// after it has served this many API requests (401 "The bearer token
	// has expired"), whatever AccessTokenTTL says.
	AccessTokenRequests int
	// AfterRequest, if set, is called after each request is served, with
	// what Requests records for it, from the serving goroutine. It may
	// change the account (Delete, RevokeRefreshToken, RevokePAT): a
	// response that listed an object is complete before the hook can
	// delete it.
	AfterRequest func(Request)

	// OffsetTTL is the lifetime of pagination offset tokens; 0 means 15
	// minutes.
	OffsetTTL time.Duration
	// SyncTTL is the lifetime of event sync tokens; 0 means 24 hours.
	SyncTTL time.Duration
	// AccessTokenTTL is the lifetime of OAuth access tokens; 0 means one
	// hour. The token response reports it in expires_in (whole seconds,
	// at least 1).
	AccessTokenTTL time.Duration

	// ServiceAccount makes the personal access token (and the OAuth
	// grant) belong to a service account: GET /portfolios without owner
	// lists every portfolio of the workspace, and organization exports
	// are readable. Otherwise both are restricted (see the handlers).
	ServiceAccount bool

	// Deny maps a gid to an HTTP status (402, 403, 404 or 451) answered
	// for any request about that object: in the path, or in a filter
	// parameter such as project=, parent=, resource=, portfolio= or
	// workspace=.
	Deny map[string]int

	// Log, if set, receives one line per request: RFC3339Nano time, token
	// label (never the token), method, path?query, status and duration.
	Log io.Writer

	// Epoch is the simulated "now" when the Sim is created; generated
	// timestamps lie before it and the simulated clock advances from it
	// in step with time.Now. Zero means DefaultEpoch. It is part of the
	// generated data: keep it fixed for reproducible output.
	Epoch time.Time

	// ActivityInterval, if positive, makes the account "live": every
	// interval one random change (a comment, a rename, a completion, a
	// reassignment or a new task) happens, with its stories and events.
	// Changes are applied lazily when requests arrive, so no goroutine
	// runs in the background.
	ActivityInterval time.Duration

	// ExportDuration is how long an organization export created with POST
	// takes: pending for the first third, started until the end, then
	// finished. 0 means 3 seconds.
	ExportDuration time.Duration

	// DisableRecording stops Sim.Requests from recording requests (for
	// long benchmarks).
	DisableRecording bool
}

// Faults are probabilities (0..1) of injected failures, drawn per request
// from the seeded random stream. They apply only to authenticated
// /api/1.0 requests that passed the rate limiter.
type Faults struct {
	// Rate5xx answers 500, 502, 503 or 504. A 500 carries an error
	// "phrase" as Asana's do.
	Rate5xx float64
	// RateDrop writes the status, headers (with the full Content-Length)
	// and part of the body, then drops the connection.
	RateDrop float64
	// RateTruncate completes a 200 response whose JSON body is cut short
	// (its Content-Length matches the truncated body).
	RateTruncate float64
	// Rate429 answers an extra 429 with Retry-After: 1, as if another
	// client shared the token. The request still counts in the window.
	Rate429 float64
	// SlowRate is the probability that a response is delayed by Slow on
	// top of the latency.
	SlowRate float64
	Slow     time.Duration
}

// Request is one request seen by the Sim.
type Request struct {
	Time     time.Time // arrival (time.Now)
	Token    string    // token label: "pat", "oauth-1", … ("" when none or invalid)
	Method   string
	Path     string // URL path, e.g. /api/1.0/tasks
	Query    url.Values
	Status   int
	Duration time.Duration
}

// Sim is a simulated Asana API serving a generated account. It is an
// http.Handler and is safe for concurrent use.
type Sim struct {
	opts  Options
	d     *data
	mu    sync.RWMutex // guards the account against runtime changes
	start time.Time
	keys  offsetKeys
	pat   string

	oauth   oauthState
	limiter *limiter
	events  eventLog
	syncExp syncExpiry

	rngMu sync.Mutex
	rng   *rand.Rand

	reqMu sync.Mutex
	reqs  []Request
	logMu sync.Mutex

	// compactCache holds the compact JSON of immutable objects (kinds
	// marked immutable), keyed by object pointer.
	compactCache sync.Map
	textCache    sync.Map // long generated texts (see Sim.text)

	nextGID      uint64 // runtime-created objects
	lastActivity time.Duration
	acct         *Account

	extra extraState // faults_extra.go
}

// New generates the account described by opts and returns its simulator.
// It panics if opts.Size is unknown.
func New(opts Options) *Sim {
	if opts.Size == "" {
		opts.Size = "tiny"
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 50
	}
	if opts.OffsetTTL <= 0 {
		opts.OffsetTTL = 15 * time.Minute
	}
	if opts.SyncTTL <= 0 {
		opts.SyncTTL = 24 * time.Hour
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.ExportDuration <= 0 {
		opts.ExportDuration = 3 * time.Second
	}
	if opts.Epoch.IsZero() {
		opts.Epoch = DefaultEpoch
	}
	if opts.LatencyMax < opts.LatencyMin {
		opts.LatencyMax = opts.LatencyMin
	}
	d, err := generate(opts.Seed, opts.Size, opts.Epoch)
	if err != nil {
		panic(err)
	}
	s := &Sim{
		opts:    opts,
		d:       d,
		start:   time.Now(),
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), 0xfa017)),
		limiter: newLimiter(opts.RPM, opts.Window, opts.MaxInFlight),
	}
	secret := sha256.Sum256([]byte("asanatest/" + strconv.FormatInt(opts.Seed, 10) + "/" + opts.Size))
	s.keys = offsetKeys{secret: secret[:]}
	s.nextGID = 1900000000000000 + uint64(opts.Seed&0xffffff)*1000
	s.pat = "2/" + d.me.gid + "/" + strconv.FormatUint(s.newGIDLocked(), 10) + ":" + sigHex(s, "pat")[:32]
	s.oauth.init(s)
	s.events.init()
	s.acct = &Account{s: s}
	return s
}

// newGIDLocked allocates a gid for an object created at runtime. The
// caller holds s.mu for writing (or is New).
func (s *Sim) newGIDLocked() uint64 {
	s.nextGID += 7
	return s.nextGID
}

// sigHex is a deterministic hex signature of msg under the Sim's secret.
func sigHex(s *Sim, msg string) string {
	m := hmac.New(sha256.New, s.keys.secret)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// Now is the simulated clock: Options.Epoch plus the time elapsed since New.
func (s *Sim) Now() time.Time { return s.opts.Epoch.Add(time.Since(s.start)) }

// Options returns the effective options (defaults filled in).
func (s *Sim) Options() Options { return s.opts }

// PAT returns a valid personal access token of the account's user ("me").
func (s *Sim) PAT() string { return s.pat }

// Account returns the ground truth of the generated account.
func (s *Sim) Account() *Account { return s.acct }

// Requests returns a copy of every request seen so far (unless
// Options.DisableRecording).
func (s *Sim) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	out := make([]Request, len(s.reqs))
	copy(out, s.reqs)
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Sim) ResetRequests() {
	s.reqMu.Lock()
	s.reqs = nil
	s.reqMu.Unlock()
}

func (s *Sim) record(rq Request) {
	defer s.afterRequest(rq)
	if !s.opts.DisableRecording {
		s.reqMu.Lock()
		s.reqs = append(s.reqs, rq)
		s.reqMu.Unlock()
	}
	if s.opts.Log != nil {
		pq := rq.Path
		if len(rq.Query) > 0 {
			pq += "?" + rq.Query.Encode()
		}
		label := rq.Token
		if label == "" {
			label = "-"
		}
		line := fmt.Sprintf("%s %s %s %s %d %s\n", rq.Time.UTC().Format(time.RFC3339Nano), label, rq.Method, pq, rq.Status, rq.Duration)
		s.logMu.Lock()
		io.WriteString(s.opts.Log, line)
		s.logMu.Unlock()
	}
}

// Server is a Sim listening on a loopback socket.
type Server struct {
	*Sim
	// URL is the base URL of the server, e.g. http://127.0.0.1:41234. The
	// API is under URL+"/api/1.0", the token endpoint at URL+"/-/oauth_token".
	URL string
	srv *httptest.Server
}

// NewServer generates the account and starts serving it.
func NewServer(opts Options) *Server {
	s := New(opts)
	ts := httptest.NewServer(s)
	return &Server{Sim: s, URL: ts.URL, srv: ts}
}

// Close shuts the server down, blocking until outstanding requests end.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Delete deletes an object at runtime: it disappears from every listing,
// GET on it answers 404, and a "deleted" event is emitted to the
// subscriptions it belongs to. Deleting a task deletes its subtasks and
// stories with it. It reports whether gid named a live object.
func (s *Sim) Delete(gid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.d.byGID[gid]
	if !ok {
		return false
	}
	if d, ok := o.(deletable); ok && d.dead() {
		return false
	}
	k := kindOf(o)
	if k == nil {
		return false
	}
	targets := s.targetsOf(o)
	switch x := o.(type) {
	case *workspace:
		x.deleted = true
	case *user:
		x.deleted = true
	case *team:
		x.deleted = true
	case *teamMembership:
		x.deleted = true
	case *project:
		x.deleted = true
	case *section:
		x.deleted = true
	case *task:
		x.deleted = true
		x.modifiedAt = s.nowMS()
	case *story:
		x.deleted = true
	case *attachment:
		x.deleted = true
	case *tag:
		x.deleted = true
	case *customField:
		x.deleted = true
	case *customFieldSetting:
		x.deleted = true
	case *portfolio:
		x.deleted = true
	case *portfolioMembership:
		x.deleted = true
	case *orgExport:
		x.deleted = true
	default:
		return false
	}
	s.emitLocked(&event{user: s.d.me, resource: renderable(o), rkind: k, action: "deleted"}, targets)
	return true
}

func (s *Sim) nowMS() int64 { return s.Now().UnixMilli() }

// kindOf returns the kind that renders o as a standalone object.
func kindOf(o any) *kind {
	switch o.(type) {
	case *workspace:
		return kWorkspace
	case *user:
		return kUser
	case *team:
		return kTeam
	case *teamMembership:
		return kTeamMembership
	case *project:
		return kProject
	case *section:
		return kSection
	case *task:
		return kTask
	case *story:
		return kStory
	case *attachment:
		return kAttachment
	case *tag:
		return kTag
	case *customField:
		return kCustomField
	case *customFieldSetting:
		return kCustomFieldSetting
	case *portfolio:
		return kPortfolio
	case *portfolioMembership:
		return kPortfolioMembership
	case *orgExport:
		return kOrgExport
	case *enumOption:
		return kEnumOption
	}
	return nil
}

// renderable adapts objects whose kind renders a different Go type.
func renderable(o any) any {
	if f, ok := o.(*customField); ok {
		return &cfValue{field: f}
	}
	return o
}
