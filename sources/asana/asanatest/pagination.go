package asanatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Offset tokens look like Asana's: a JWT (HS256) whose payload carries the
// position in the listing ("border_rank"), a hash of the listing it belongs
// to, and its issue and expiry times. They are signed with a per-Sim
// secret, so clients cannot forge them, and are accepted only by the
// listing that issued them.

// Asana's own wording, full stops included.
var (
	//lint:ignore ST1005 Asana's message, verbatim
	errOffsetInvalid = errors.New("offset: Your pagination token is invalid.")
	//lint:ignore ST1005 Asana's message, verbatim
	errOffsetExpired = errors.New("offset: Your pagination token has expired.")
)

const jwtHeader = `{"typ":"JWT","alg":"HS256"}`

var jwtHeaderB64 = base64.RawURLEncoding.EncodeToString([]byte(jwtHeader))

type offsetClaims struct {
	BorderRank string `json:"border_rank"`
	Listing    string `json:"lst"`
	IssuedAt   int64  `json:"iat"` // Unix ms, simulated clock
	Expires    int64  `json:"exp"` // Unix ms, simulated clock
}

func (k offsetKeys) sign(msg string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// offsetKeys holds the signing secret of a Sim.
type offsetKeys struct{ secret []byte }

// encodeOffset issues a token for position pos of listing.
func (k offsetKeys) encodeOffset(pos int, listing uint64, now time.Time, ttl time.Duration) string {
	c := offsetClaims{
		BorderRank: "[" + strconv.Itoa(pos) + "]",
		Listing:    strconv.FormatUint(listing, 16),
		IssuedAt:   now.UnixMilli(),
		Expires:    now.Add(ttl).UnixMilli(),
	}
	payload, _ := json.Marshal(c)
	msg := jwtHeaderB64 + "." + base64.RawURLEncoding.EncodeToString(payload)
	return msg + "." + base64.RawURLEncoding.EncodeToString(k.sign(msg))
}

// decodeOffset checks a token and returns its position. It never panics on
// malformed input.
func (k offsetKeys) decodeOffset(tok string, listing uint64, now time.Time) (int, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != jwtHeaderB64 {
		return 0, errOffsetInvalid
	}
	// The signature must be the canonical encoding (the decoder would
	// skip line breaks and ignore trailing bits).
	want := base64.RawURLEncoding.EncodeToString(k.sign(parts[0] + "." + parts[1]))
	if !hmac.Equal([]byte(parts[2]), []byte(want)) {
		return 0, errOffsetInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, errOffsetInvalid
	}
	var c offsetClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return 0, errOffsetInvalid
	}
	if c.Listing != strconv.FormatUint(listing, 16) {
		return 0, errOffsetInvalid
	}
	r := strings.TrimSuffix(strings.TrimPrefix(c.BorderRank, "["), "]")
	pos, err := strconv.Atoi(r)
	if err != nil || pos < 0 {
		return 0, errOffsetInvalid
	}
	if now.UnixMilli() >= c.Expires {
		return 0, errOffsetExpired
	}
	return pos, nil
}

// listingID identifies a listing: the route pattern, its path parameters
// and every query parameter except the paging and output options.
func listingID(pattern string, params []string, q url.Values) uint64 {
	h := fnv.New64a()
	h.Write([]byte(pattern))
	for _, p := range params {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		switch k {
		case "limit", "offset", "opt_fields", "opt_pretty", "opt_expand":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte{1})
		h.Write([]byte(k))
		for _, v := range q[k] {
			h.Write([]byte{2})
			h.Write([]byte(v))
		}
	}
	return h.Sum64()
}

// listing is a sequence of objects of one kind. Positions are indexes into
// the underlying slice; at reports false for entries that are filtered out
// (deleted, or excluded by a query filter), so positions stay stable when
// objects are deleted between pages.
type listing struct {
	kind *kind
	n    int
	at   func(i int) (any, bool)
	full bool // items are full records (the spec declares XResponse items)
	max  int  // largest unpaginated result; 0 = 1000
}

type deletable interface{ dead() bool }

// listOf makes a listing of xs; keep (optional) filters further.
func listOf[T deletable](k *kind, xs []T, keep func(T) bool) listing {
	return listing{kind: k, n: len(xs), at: func(i int) (any, bool) {
		x := xs[i]
		if x.dead() || keep != nil && !keep(x) {
			return nil, false
		}
		return x, true
	}}
}

func (x *workspace) dead() bool           { return x.deleted }
func (x *user) dead() bool                { return x.deleted }
func (x *team) dead() bool                { return x.deleted || x.org.deleted }
func (x *teamMembership) dead() bool      { return x.deleted || x.team.dead() || x.user.deleted }
func (x *project) dead() bool             { return x.deleted || x.ws.deleted }
func (x *section) dead() bool             { return x.deleted || x.project.dead() }
func (x *task) dead() bool                { return x.deleted || x.parent != nil && x.parent.dead() }
func (x *story) dead() bool               { return x.deleted || x.task.dead() }
func (x *tag) dead() bool                 { return x.deleted }
func (x *customField) dead() bool         { return x.deleted }
func (x *customFieldSetting) dead() bool  { return x.deleted || x.field.deleted }
func (x *portfolio) dead() bool           { return x.deleted }
func (x *portfolioMembership) dead() bool { return x.deleted || x.portfolio.deleted }
func (x *orgExport) dead() bool           { return x.deleted }
func (x *attachment) dead() bool {
	return x.deleted || x.parentT != nil && x.parentT.dead() || x.parentP != nil && x.parentP.dead()
}

const maxUnpaginated = 1000

// page answers a list request: limit/offset validation, the page of data
// and next_page.
func (c *call) page(l listing) {
	lim, hasLimit, err := parseLimit(c.q)
	if err != nil {
		c.fail(400, err.Error())
		return
	}
	id := listingID(c.route.pattern, c.params, c.q)
	start := 0
	if tok := c.q.Get("offset"); tok != "" {
		start, err = c.s.keys.decodeOffset(tok, id, c.now)
		if err == nil && c.s.expireOffset() {
			err = errOffsetExpired
		}
		if err != nil {
			c.fail(400, err.Error())
			return
		}
	}
	p, err := c.projection(l.full)
	if err != nil {
		c.fail(400, err.Error())
		return
	}
	maxN := l.max
	if maxN == 0 {
		maxN = maxUnpaginated
	}
	w := c.writer()
	w.b = append(w.b, `{"data":[`...)
	count := 0
	i := start
	for ; i < l.n; i++ {
		if hasLimit && count == lim {
			break
		}
		o, ok := l.at(i)
		if !ok {
			continue
		}
		if !hasLimit && count == maxN {
			if l.max == 0 {
				c.fail(400, "The result is too large. You should use pagination (may require specifying a workspace)!")
				return
			}
			break
		}
		if count > 0 {
			w.b = append(w.b, ',')
		}
		w.object(l.kind, o, p)
		count++
	}
	w.b = append(w.b, ']')
	if hasLimit {
		more := false
		for j := i; j < l.n; j++ {
			if _, ok := l.at(j); ok {
				more = true
				break
			}
		}
		w.b = append(w.b, `,"next_page":`...)
		if more {
			tok := c.s.keys.encodeOffset(i, id, c.now, c.s.opts.OffsetTTL)
			path := c.nextPath(tok)
			w.b = append(w.b, `{"offset":`...)
			w.str(tok)
			w.b = append(w.b, `,"path":`...)
			w.str(path)
			w.b = append(w.b, `,"uri":`...)
			w.str(c.baseURL() + path)
			w.b = append(w.b, '}')
		} else {
			w.b = append(w.b, "null"...)
		}
	}
	w.b = append(w.b, '}')
	c.done(200, w)
}

func parseLimit(q url.Values) (int, bool, error) {
	vs, ok := q["limit"]
	if !ok {
		return 0, false, nil
	}
	v := vs[len(vs)-1]
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, errors.New("limit: Not an Integer: " + v)
	}
	if n < 1 || n > 100 {
		return 0, false, errors.New("limit: Must be between 1 and 100, got " + v)
	}
	return n, true, nil
}

// nextPath is the request's path relative to /api/1.0 with its original
// query, the offset replaced by tok.
func (c *call) nextPath(tok string) string {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(c.r.URL.EscapedPath(), apiPrefix))
	sep := byte('?')
	for _, kv := range strings.Split(c.r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == "offset" {
			continue
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(kv)
	}
	b.WriteByte(sep)
	b.WriteString("offset=")
	b.WriteString(url.QueryEscape(tok))
	return b.String()
}

// baseURL is the absolute URL of /api/1.0 as the client addressed it.
func (c *call) baseURL() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	host := c.r.Host
	if host == "" {
		host = c.r.URL.Host
	}
	return scheme + "://" + host + apiPrefix
}
