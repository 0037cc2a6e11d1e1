package asana

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// tokenSource hands out the bearer token for API requests.
type tokenSource interface {
	// Token returns the current access token, refreshing it if needed.
	Token(ctx context.Context) (string, error)
	// Expire marks tok as rejected (a 401); it reports whether a fresh
	// token can be had, in which case the request is worth one more try.
	Expire(tok string) bool
}

// staticToken is a personal access token: it never changes, so a 401 is
// final.
type staticToken Secret

func (t staticToken) Token(context.Context) (string, error) { return Secret(t).Reveal(), nil }
func (t staticToken) Expire(string) bool                    { return false }

// oauthToken refreshes an OAuth 2.0 access token through golang.org/x/oauth2
// with the refresh-token grant: before it expires, and once more when Asana
// rejects it. Asana's refresh responses carry no new refresh token, so the
// old one is kept (oauth2 does that).
type oauthToken struct {
	cfg  oauth2.Config
	hc   *http.Client // for the token endpoint
	mu   sync.Mutex
	tok  *oauth2.Token
	fail error // a rejected refresh token stays rejected
}

func newOAuthToken(baseURL string, cr Credentials, hc *http.Client) *oauthToken {
	return &oauthToken{
		cfg: oauth2.Config{
			ClientID:     cr.ClientID.Reveal(),
			ClientSecret: cr.ClientSecret.Reveal(),
			Endpoint: oauth2.Endpoint{
				TokenURL:  baseURL + "/-/oauth_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		hc:  hc,
		tok: &oauth2.Token{RefreshToken: cr.RefreshToken.Reveal()},
	}
}

// expiryMargin refreshes this long before the token's stated expiry, so a
// request never leaves with a token about to lapse.
const expiryMargin = time.Minute

func (o *oauthToken) Token(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return "", o.fail
	}
	if o.tok.AccessToken != "" && (o.tok.Expiry.IsZero() || time.Until(o.tok.Expiry) > expiryMargin) {
		return o.tok.AccessToken, nil
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.hc)
	refresh := &oauth2.Token{RefreshToken: o.tok.RefreshToken}
	t, err := o.cfg.TokenSource(ctx, refresh).Token()
	if err != nil {
		return "", o.refreshError(err)
	}
	o.tok = t // oauth2 keeps our refresh token when the response has none
	KeepSecret(t.AccessToken)
	KeepSecret(t.RefreshToken) // should Asana ever rotate it
	return t.AccessToken, nil
}

// refreshError describes a failed refresh without the response body, which
// could echo a credential.
func (o *oauthToken) refreshError(err error) error {
	e := &Error{Kind: KindTransient, Request: "POST /-/oauth_token", Message: "refreshing the OAuth access token failed"}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e.Status = re.Response.StatusCode
		if re.ErrorCode != "" {
			e.Message += ": " + clip(Redact(re.ErrorCode))
		}
		if e.Status < 500 && e.Status != http.StatusTooManyRequests {
			e.Kind = KindConfig
			e.Message += " (the refresh token, client id or client secret was rejected; reconnect the source)"
			o.fail = e
		}
		return e
	}
	var rd *redirectError
	if errors.As(err, &rd) {
		e.Kind = KindConfig
		e.Message += ": " + rd.Error()
		o.fail = e
		return e
	}
	e.Err = attemptError(err, o.hc.Timeout) // a transport error: it names the token URL, never the form body
	return e
}

func (o *oauthToken) Expire(tok string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return false
	}
	if o.tok.AccessToken == tok {
		o.tok = &oauth2.Token{RefreshToken: o.tok.RefreshToken}
	}
	return true
}
