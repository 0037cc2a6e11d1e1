package asana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Kind says what the caller should do about an [Error].
type Kind int

const (
	// KindConfig means the request or the credentials are wrong: a 401
	// after a refresh, a rejected refresh token, or a 400 about the request
	// itself. The run fails with Asana's message.
	KindConfig Kind = iota + 1
	// KindUnreadable means this token may not read the resource (402 on a
	// free plan, 403, 404, 451). The caller skips it and reports it by name.
	KindUnreadable
	// KindStaleOffset means the offset token of a listing expired; the
	// listing must start again. [Client.List] does this itself.
	KindStaleOffset
	// KindSyncToken is the events API's 412: the sync token is missing or
	// too old, and Error.Sync carries a fresh one.
	KindSyncToken
	// KindTransient means retries ran out on 429s, 5xx responses or
	// network failures. Data that was readable has been lost.
	KindTransient
)

func (k Kind) String() string {
	switch k {
	case KindConfig:
		return "config"
	case KindUnreadable:
		return "unreadable"
	case KindStaleOffset:
		return "stale offset"
	case KindSyncToken:
		return "sync token"
	case KindTransient:
		return "transient"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failed Asana request. Check it with errors.As and branch on
// Kind. It never holds a token: Request is the method and path with the
// query parameters that select data, not the headers.
type Error struct {
	Kind     Kind
	Status   int    // HTTP status, 0 when no response arrived
	Request  string // for example "GET /tasks?project=1204"
	Message  string // Asana's errors[0].message, or what went wrong
	Help     string // Asana's errors[0].help, if any
	Sync     string // fresh sync token of a 412 from /events
	Attempts int    // attempts made when retries ran out, else 0
	Err      error  // underlying cause, for transport failures
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Request)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " (gave up after %d attempts)", e.Attempts)
	}
	return Redact(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// errorBody is Asana's error envelope; the events API adds "sync", the OAuth
// endpoint answers with "error" and "error_description".
type errorBody struct {
	Errors []struct {
		Message string `json:"message"`
		Help    string `json:"help"`
	} `json:"errors"`
	Sync string `json:"sync"`
}

// classify turns a non-2xx response into an *Error.
func classify(status int, request string, body []byte) *Error {
	e := &Error{Status: status, Request: request}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		if len(eb.Errors) > 0 {
			// Asana's words, which a broken or hostile server may fill with
			// the bearer token it was sent.
			e.Message = clip(Redact(eb.Errors[0].Message))
			e.Help = clip(Redact(eb.Errors[0].Help))
		}
		e.Sync = eb.Sync
	}
	switch {
	case status == http.StatusBadRequest && strings.HasPrefix(e.Message, "offset:"):
		e.Kind = KindStaleOffset
	case status == http.StatusPaymentRequired, status == http.StatusForbidden,
		status == http.StatusNotFound, status == http.StatusUnavailableForLegalReasons:
		e.Kind = KindUnreadable
	case status == http.StatusPreconditionFailed:
		e.Kind = KindSyncToken
	case status == http.StatusTooManyRequests, status >= 500:
		e.Kind = KindTransient
	default:
		e.Kind = KindConfig
	}
	return e
}

// maxMessage bounds a message taken from a response.
const maxMessage = 500

// clip cuts s to maxMessage bytes, on a rune boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes more)", len(s)-cut)
}
