package asanatest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// OAuth: one registered client with one refresh token (the authorization
// was granted by "me"). POST /-/oauth_token with grant_type=refresh_token
// issues a new access token that expires after Options.AccessTokenTTL; the
// response carries no refresh_token, as Asana's refresh responses don't.

type oauthState struct {
	mu           sync.Mutex
	clientID     string
	clientSecret string
	refreshToken string
	revoked      bool
	issued       int
	tokens       map[string]accessToken
}

type accessToken struct {
	label   string
	expires time.Time // time.Now based
}

func (o *oauthState) init(s *Sim) {
	o.clientID = strconv.FormatUint(s.newGIDLocked(), 10)
	o.clientSecret = sigHex(s, "client-secret")[:32]
	o.refreshToken = "2/" + s.d.me.gid + "/" + strconv.FormatUint(s.newGIDLocked(), 10) + ":" + sigHex(s, "refresh")[:32]
	o.tokens = map[string]accessToken{}
}

// OAuthClient returns the registered client's credentials and a valid
// refresh token for the account's user.
func (s *Sim) OAuthClient() (clientID, clientSecret, refreshToken string) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	return s.oauth.clientID, s.oauth.clientSecret, s.oauth.refreshToken
}

// RevokeRefreshToken revokes the refresh token: later refresh grants fail
// with 400 {"error":"invalid_grant"}. Access tokens already issued stay
// valid until they expire.
func (s *Sim) RevokeRefreshToken() {
	s.oauth.mu.Lock()
	s.oauth.revoked = true
	s.oauth.mu.Unlock()
}

// authenticate maps a bearer token to its label, or returns "" and the
// 401 message.
func (s *Sim) authenticate(tok string) (label, msg string) {
	if s.patValid(tok) {
		return "pat", ""
	}
	s.oauth.mu.Lock()
	at, ok := s.oauth.tokens[tok]
	s.oauth.mu.Unlock()
	if !ok {
		return "", "Not Authorized"
	}
	if !time.Now().Before(at.expires) || s.accessTokenUsedUp(tok) {
		return "", "The bearer token has expired. If you have a refresh token, please use it to get a new bearer token."
	}
	return at.label, ""
}

func oauthError(w http.ResponseWriter, code, desc string) int {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return writeJSON(w, 400, b, nil)
}

// serveOAuth implements POST /-/oauth_token (form-encoded).
func (s *Sim) serveOAuth(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		return writeJSON(w, 404, errorBody("No matching route for request", ""), nil)
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(w, "invalid_request", "The request body could not be parsed.")
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "refresh_token":
	case "":
		return oauthError(w, "invalid_request", "The grant_type parameter is missing.")
	case "authorization_code":
		return oauthError(w, "invalid_grant", "The authorization code is invalid or expired.")
	default:
		return oauthError(w, "unsupported_grant_type", "The grant type is not supported.")
	}
	o := &s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && id == "" {
		id, secret = u, p
	}
	switch {
	case id != o.clientID || secret != o.clientSecret:
		return oauthError(w, "invalid_grant", "The client credentials are invalid.")
	case f.Get("refresh_token") != o.refreshToken:
		return oauthError(w, "invalid_grant", "The refresh token is invalid or has been revoked.")
	case o.revoked:
		return oauthError(w, "invalid_grant", "The refresh token is invalid or has been revoked.")
	}
	o.issued++
	n := o.issued
	tok := "1/" + s.d.me.gid + ":" + sigHex(s, "access/"+strconv.Itoa(n))[:32]
	o.tokens[tok] = accessToken{label: "oauth-" + strconv.Itoa(n), expires: time.Now().Add(s.opts.AccessTokenTTL)}
	secs := int64(s.opts.AccessTokenTTL / time.Second)
	if secs < 1 {
		secs = 1
	}
	me := s.d.me
	body, _ := json.Marshal(struct {
		AccessToken string            `json:"access_token"`
		ExpiresIn   int64             `json:"expires_in"`
		TokenType   string            `json:"token_type"`
		Data        map[string]string `json:"data"`
	}{tok, secs, "bearer", map[string]string{"id": me.gid, "gid": me.gid, "name": me.name, "email": me.email}})
	return writeJSON(w, 200, body, http.Header{"Cache-Control": {"no-store"}})
}
