package asana

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// Options tune a Client beyond its Config. The zero value is right for
// production; tests and benchmarks scale time with Window.
type Options struct {
	// Transport sends the requests; default a pooled http.Transport.
	Transport http.RoundTripper
	// Window is the length of Asana's rate-limit window, one minute unless
	// time is scaled against a simulator.
	Window time.Duration
	// Limiter, if set, is used instead of the process-wide limiter of the
	// token.
	Limiter *Limiter
	// Logger receives one line per retry and per restarted listing.
	Logger *slog.Logger
	// MaxRetries bounds the retries of one request (default 10).
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff
	// after 5xx responses and network errors (default 1s and 30s). After a
	// 429 the wait is Retry-After, kept by the limiter for every request.
	RetryWaitMin, RetryWaitMax time.Duration
	// Timeout bounds one attempt, body included (default 60s).
	Timeout time.Duration
	// The defaults of RetryWaitMin, RetryWaitMax and Timeout are for
	// Asana's time: with a Window shorter than a minute (time scaled
	// against a simulator) they shrink by the same factor, so that a
	// simulator's slow responses and failures cost what they would cost
	// against Asana, scaled.
	// UserAgent is sent with every request.
	UserAgent string
	// MaxWait is the longest Retry-After the client honours; a 429 asking
	// for more loses its request at once (default MaxWaitWindows windows).
	MaxWait time.Duration
}

// Limits on what the client accepts from Asana, far above what Asana
// sends (a page of 100 records is rarely above a megabyte): a server that
// sends more is broken or hostile, and the request fails at once, without
// retries, as a lost listing.
const (
	// MaxBodyBytes bounds a response body, after decompression.
	MaxBodyBytes = 32 << 20
	// MaxPageItems bounds the records of one page; the client asks for
	// PageSize.
	MaxPageItems = 10 * PageSize
	// MaxWaitWindows bounds a Retry-After, in rate-limit windows (five
	// minutes against Asana).
	MaxWaitWindows = 5
)

// Client reads the Asana REST API. It is safe for concurrent use.
type Client struct {
	api     string // base URL of the API, ".../api/1.0"
	hc      *retryablehttp.Client
	lim     *Limiter
	log     *slog.Logger
	ua      string
	retries int
	timeout time.Duration
	origin  string
}

// New returns a client for cfg, which must be valid.
func New(cfg *Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, _ := url.Parse(base) // Validate parsed it
	if opts.Transport == nil {
		t := cleanhttp.DefaultPooledTransport()
		t.MaxIdleConnsPerHost = MaxNumWorkers
		opts.Transport = t
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.MaxRetries, 10)
	scaled := func(d time.Duration) time.Duration {
		if opts.Window > 0 && opts.Window < time.Minute {
			return time.Duration(float64(d) * float64(opts.Window) / float64(time.Minute))
		}
		return d
	}
	setDefault(&opts.RetryWaitMin, scaled(time.Second))
	setDefault(&opts.RetryWaitMax, scaled(30*time.Second))
	setDefault(&opts.Timeout, scaled(60*time.Second))
	setDefault(&opts.UserAgent, "asana-beam")
	window := opts.Window
	if window <= 0 {
		window = time.Minute
	}
	setDefault(&opts.MaxWait, MaxWaitWindows*window)
	KeepSecrets(cfg.Credentials)
	origin := u.Scheme + "://" + u.Host

	lim := opts.Limiter
	if lim == nil {
		var err error
		lim, err = sharedLimiter(cfg, opts.Window)
		if err != nil {
			return nil, err
		}
	}
	var auth tokenSource = staticToken(cfg.Credentials.PersonalAccessToken)
	if cfg.Credentials.OAuth() {
		auth = newOAuthToken(base, cfg.Credentials, &http.Client{Transport: opts.Transport, Timeout: opts.Timeout, CheckRedirect: sameOrigin(origin)})
	}
	c := &Client{api: base + "/api/1.0", lim: lim, log: opts.Logger, ua: opts.UserAgent, retries: opts.MaxRetries, timeout: opts.Timeout, origin: origin}
	c.hc = &retryablehttp.Client{
		// No http.Client.Timeout: it would count the time a request waits
		// for the limiter (up to a window on a free plan), and time out
		// requests that were never sent. The transport times each attempt
		// from when it is sent.
		HTTPClient: &http.Client{
			Transport:     &transport{base: opts.Transport, origin: origin, auth: auth, lim: lim, timeout: opts.Timeout, maxWait: opts.MaxWait},
			CheckRedirect: sameOrigin(origin),
		},
		RetryWaitMin: opts.RetryWaitMin,
		RetryWaitMax: opts.RetryWaitMax,
		RetryMax:     opts.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

var limiters sync.Map // key → *Limiter

// sharedLimiter returns the process-wide limiter of cfg's token, so that
// every client of one token in this process (every DoFn instance of a Beam
// worker) shares one budget.
func sharedLimiter(cfg *Config, window time.Duration) (*Limiter, error) {
	h := sha256.New()
	cr := cfg.Credentials
	for _, s := range []Secret{cr.PersonalAccessToken, cr.ClientID, cr.RefreshToken} {
		h.Write([]byte(s.Reveal()))
		h.Write([]byte{0})
	}
	key := fmt.Sprintf("%s %s %d %d %s", cfg.BaseURL, hex.EncodeToString(h.Sum(nil)), cfg.RequestsPerMinute, cfg.NumWorkers, window)
	if l, ok := limiters.Load(key); ok {
		return l.(*Limiter), nil
	}
	l, err := NewLimiter(cfg.RequestsPerMinute, cfg.NumWorkers, window)
	if err != nil {
		return nil, err
	}
	actual, _ := limiters.LoadOrStore(key, l)
	return actual.(*Limiter), nil
}

// SharedLimiterStats sums the stats of every process-wide limiter: what
// this process has sent to Asana, for progress lines.
func SharedLimiterStats() LimiterStats {
	var sum LimiterStats
	limiters.Range(func(_, v any) bool {
		s := v.(*Limiter).Stats()
		sum.Requests += s.Requests
		sum.Throttled += s.Throttled
		sum.Waited += s.Waited
		sum.Limit += s.Limit
		return true
	})
	return sum
}

// Limiter returns the limiter this client's requests go through.
func (c *Client) Limiter() *Limiter { return c.lim }

// transport puts every request to Asana's origin under the limiter and
// gives it the bearer token; requests to any other host (a redirect, an
// attachment's download_url) get neither.
type transport struct {
	base    http.RoundTripper
	origin  string
	auth    tokenSource
	lim     *Limiter
	timeout time.Duration // of one attempt, from its sending to its body's end
	maxWait time.Duration // the longest Retry-After honoured
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme+"://"+req.URL.Host != t.origin {
		r := req.Clone(req.Context())
		r.Header.Del("Authorization")
		return t.base.RoundTrip(r)
	}
	for try := 1; ; try++ {
		release, err := t.lim.Acquire(req.Context())
		if err != nil {
			return nil, err
		}
		tok, err := t.auth.Token(req.Context())
		if err != nil {
			release()
			return nil, err
		}
		// The attempt's clock starts now that it has its slot; it runs
		// until the body is closed.
		ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
		release = func(release func()) func() { return func() { cancel(); release() } }(release)
		r := req.Clone(ctx)
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			release()
			return nil, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait := retryAfter(resp.Header)
			if wait > t.maxWait {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				release()
				return nil, &Error{Kind: KindTransient, Status: resp.StatusCode, Request: describeURL(req.URL),
					Message: fmt.Sprintf("asana asked to wait %s before the next request (Retry-After %q), longer than the longest wait of %s; gave up",
						wait.Round(time.Second), Redact(resp.Header.Get("Retry-After")), t.maxWait), Err: errGiveUp}
			}
			t.lim.Throttled(wait)
		}
		if resp.StatusCode == http.StatusUnauthorized && try < authTries {
			if t.auth.Expire(tok) {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				release()
				continue // again with a fresh access token
			}
			// No fresh token to be had: if that is because refreshing
			// failed (a revoked refresh token), say so, not "expired".
			if _, err := t.auth.Token(req.Context()); err != nil {
				resp.Body.Close()
				release()
				return nil, err
			}
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	}
}

// authTries bounds the tries of one request whose access token Asana
// rejects: each rejection refreshes the token (or takes the one another
// request just refreshed), and the fresh token may itself have lapsed by
// the time the request reaches Asana when many requests share it.
const authTries = 3

// releasingBody gives the limiter slot back when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Without
// one a 429 waits a second.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		if s > float64(100*365*24*time.Hour/time.Second) {
			return 100 * 365 * 24 * time.Hour // beyond any cap, without overflowing
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return time.Second
}

// backoff is the wait before a retry. After a 429 the limiter already holds
// every request of the token for Retry-After, so there is nothing to add;
// otherwise it is exponential with full jitter.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		return 0
	}
	d := hi
	if attempt < 30 && lo<<attempt < hi {
		d = lo << attempt
	}
	return d/2 + rand.N(d/2+1)
}

type requestKey struct{}

// checkRetry decides whether to retry an attempt, and logs why it does.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var ae *Error
	if errors.As(err, &ae) && ae.Kind == KindConfig || errors.Is(err, errGiveUp) {
		return false, err
	}
	retry, rerr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	if retry {
		var reason string
		switch {
		case err != nil:
			reason = err.Error()
		case resp.StatusCode == http.StatusTooManyRequests:
			reason = "429 rate limited, Retry-After " + resp.Header.Get("Retry-After") + "s"
		default:
			reason = resp.Status
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "retrying Asana request",
			slog.String("request", fmt.Sprint(ctx.Value(requestKey{}))), slog.String("reason", reason))
	}
	return retry, rerr
}

// errBadJSON marks a 2xx body that is not JSON: a response cut short.
var errBadJSON = errors.New("response body is not valid JSON (truncated)")

// errGiveUp marks a failure that retrying cannot cure (a body over the
// limit, a Retry-After beyond the longest wait, a redirect refused): the
// request is lost at once.
var errGiveUp = errors.New("not retried")

// errMalformed marks a 2xx body that is JSON but not the answer asked for
// ({"data": null} for a list): retried, as a response cut short is.
type errMalformed struct{ msg string }

func (e *errMalformed) Error() string { return e.msg }

// decodeFunc decodes a 2xx body. An error of type *errMalformed is
// retried; an *Error wrapping errGiveUp is not.
type decodeFunc func(body []byte) error

// get sends GET path?q and hands the body of a 2xx response to decode,
// inside the retry loop, so that a malformed answer is retried like a
// truncated one. A body that is not JSON is errBadJSON before decode sees
// it.
func (c *Client) get(ctx context.Context, path string, q url.Values, decode decodeFunc) error {
	return c.fetch(ctx, path, q, decode, true)
}

// fetch is get; with checkJSON false, decode checks the body's syntax
// itself (a tokenizer does on its way, and returns errBadJSON), and the
// body is read once.
func (c *Client) fetch(ctx context.Context, path string, q url.Values, decode decodeFunc, checkJSON bool) error {
	desc := describe(path, q)
	ctx = context.WithValue(ctx, requestKey{}, desc)
	u := c.api + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &Error{Kind: KindConfig, Request: desc, Message: "cannot build the request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	var body []byte
	// Reading the body inside the retry loop makes a connection dropped
	// mid-body, or a truncated body, one more retryable failure.
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		b, err := readBody(resp.Body)
		if errors.Is(err, errGiveUp) {
			return &Error{Kind: KindTransient, Status: resp.StatusCode, Request: desc, Message: err.Error(), Err: err}
		}
		if err != nil {
			return fmt.Errorf("reading the response body: %w", err)
		}
		if resp.StatusCode/100 == 2 {
			if checkJSON && !json.Valid(b) {
				return errBadJSON
			}
			if err := decode(b); err != nil {
				var ae *Error
				if errors.As(err, &ae) {
					ae.Request, ae.Status = desc, resp.StatusCode
				}
				return err
			}
		}
		body = b
		return nil
	})
	resp, err := c.hc.Do(req)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", desc, ctxErr)
	}
	var ae *Error
	if errors.As(err, &ae) {
		if ae.Request == "" {
			ae.Request = desc
		}
		return ae
	}
	var re *redirectError
	if errors.As(err, &re) {
		// The credentials stayed here; the request is lost, not the run
		// (a wrong base_url is caught by the credentials check first).
		return &Error{Kind: KindTransient, Request: desc, Message: re.Error(), Err: errGiveUp}
	}
	if resp != nil && resp.StatusCode/100 != 2 {
		if body == nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		e := classify(resp.StatusCode, desc, body)
		if e.Kind == KindTransient {
			e.Attempts = c.retries + 1
		}
		return e
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return &Error{Kind: KindTransient, Request: desc, Attempts: c.retries + 1, Err: attemptError(unwrapURL(err), c.timeout)}
	}
	return nil
}

// readBody reads a response body up to MaxBodyBytes.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBodyBytes {
		return nil, errTooLarge
	}
	return b, nil
}

// errTooLarge is a body over MaxBodyBytes: not retried as it is (List
// asks again for fewer records).
var errTooLarge error = tooLarge{}

type tooLarge struct{}

func (tooLarge) Error() string {
	return fmt.Sprintf("the response body is larger than the limit of %d MiB", MaxBodyBytes>>20)
}
func (tooLarge) Unwrap() error { return errGiveUp }

// redirectError is a redirect refused: it would take a request carrying
// credentials (a bearer token, an OAuth client secret and refresh token)
// to another origin.
type redirectError struct {
	from, to string
}

func (e *redirectError) Unwrap() error { return errGiveUp }

func (e *redirectError) Error() string {
	return fmt.Sprintf("asana's answer redirects to another origin (%s, not %s); refused, since the request carries credentials", e.to, e.from)
}

// sameOrigin is the redirect policy of every request to Asana: a redirect
// within the origin is followed (at most 10), one to another origin is
// refused.
func sameOrigin(origin string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if to := req.URL.Scheme + "://" + req.URL.Host; to != origin {
			return &redirectError{from: origin, to: to}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// describeURL names a request by its URL, as describe does.
func describeURL(u *url.URL) string {
	return describe(strings.TrimPrefix(u.Path, "/api/1.0"), u.Query())
}

// unwrapURL drops the *url.Error wrapper, whose text repeats the whole URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// attemptError keeps the text of a failed attempt but not its identity
// with context.DeadlineExceeded or context.Canceled. Callers check the
// caller's context first; an attempt that still failed with a context error
// ran out of its timeout (net/http's timeout errors match
// context.DeadlineExceeded), which is a transient failure of one request,
// not the end of the run that callers take a context error for.
func attemptError(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("no response within the timeout of %s (%s)", timeout, err.Error())
	}
	return err
}

// describe names a request in errors and logs: the path and the query
// parameters that select data, without opt_fields, limit and offset.
func describe(path string, q url.Values) string {
	var keys []string
	for k := range q {
		switch k {
		case "opt_fields", "limit", "offset", "sync":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(path)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + q.Get(k))
	}
	return b.String()
}

// Get fetches one object and decodes the "data" member of the response,
// which must be an object, into out.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	return c.get(ctx, path, q, func(body []byte) error {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return &errMalformed{"the response is not an object with \"data\""}
		}
		if d := bytes.TrimSpace(env.Data); len(d) == 0 || d[0] != '{' {
			return &errMalformed{fmt.Sprintf("the response's \"data\" is %s, not an object", jsonKind(env.Data))}
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			// Valid JSON of the wrong shape: asking again will not change it.
			return &Error{Kind: KindTransient, Message: "decoding the response: " + err.Error(), Err: errGiveUp}
		}
		return nil
	})
}

// jsonKind names the JSON type of a value for messages.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "missing"
	}
	switch v[0] {
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}
