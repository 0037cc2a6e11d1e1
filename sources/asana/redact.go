package asana

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// The secrets of this process: every credential of a config a client was
// made for, and every OAuth access token issued during the run. Whatever
// the source of a text (an error body that echoes the bearer token, a
// token endpoint that echoes the refresh token in its "error", a record),
// Redact removes them before it is printed or written.
var secrets struct {
	sync.RWMutex
	forms []string // each secret as it may appear: raw, JSON-escaped, URL-escaped
	bytes [][]byte // the forms as bytes, for RedactBytes
}

// minSecretLen is the shortest value treated as a secret: shorter ones
// (an empty field, a client id of a few digits) would redact ordinary
// text.
const minSecretLen = 8

// KeepSecret adds s to the secrets Redact removes.
func KeepSecret(s string) {
	if len(s) < minSecretLen {
		return
	}
	forms := []string{s}
	if b, err := json.Marshal(s); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	forms = append(forms, strings.ReplaceAll(s, "/", `\/`), url.QueryEscape(s), url.PathEscape(s))
	secrets.Lock()
	defer secrets.Unlock()
	for _, f := range forms {
		known := false
		for _, g := range secrets.forms {
			known = known || g == f
		}
		if !known {
			secrets.forms = append(secrets.forms, f)
		}
	}
	// Longest first: a secret that holds another (a refresh token that
	// ends with a gid-like id) is replaced whole.
	slices.SortStableFunc(secrets.forms, func(a, b string) int { return len(b) - len(a) })
	secrets.bytes = secrets.bytes[:0]
	for _, f := range secrets.forms {
		secrets.bytes = append(secrets.bytes, []byte(f))
	}
}

// KeepSecrets adds the credentials of cr to the secrets Redact removes.
func KeepSecrets(cr Credentials) {
	// Not the client id: it is public (it is in every OAuth URL of the
	// app), and as a number it can stand in a record, which redacting it
	// would corrupt.
	for _, s := range []Secret{cr.PersonalAccessToken, cr.ClientSecret, cr.RefreshToken} {
		KeepSecret(s.Reveal())
	}
}

// Redact replaces every secret of this process in s by "[redacted]".
func Redact(s string) string {
	secrets.RLock()
	defer secrets.RUnlock()
	for _, f := range secrets.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return s
}

// RedactBytes is Redact for bytes; b is returned as is when it holds no
// secret, and is never changed in place.
func RedactBytes(b []byte) []byte {
	secrets.RLock()
	defer secrets.RUnlock()
	for _, f := range secrets.bytes {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(redacted))
		}
	}
	return b
}

// RedactingWriter returns a writer that redacts each Write before passing
// it to w: for loggers, which write one record per call.
func RedactingWriter(w io.Writer) io.Writer { return redactingWriter{w} }

type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := r.w.Write(RedactBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
