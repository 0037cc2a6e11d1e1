package asanatest

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzOptFields: the parser never panics, produces valid names only, and
// its output re-parses to itself.
func FuzzOptFields(f *testing.F) {
	for _, s := range []string{"name", "this.(followers|assignee).email", "memberships.(project|section).gid",
		"a,,b", "((a|b)|c).d", "(a|b", "custom_fields.enum_value.name,assignee"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseOptFields(s)
		if err != nil || p == nil {
			return
		}
		paths := p.paths()
		for _, path := range paths {
			for _, seg := range strings.Split(path, ".") {
				if seg == "" {
					t.Fatalf("%q: empty segment in %q", s, path)
				}
				for i := 0; i < len(seg); i++ {
					if !isNameByte(seg[i]) {
						t.Fatalf("%q: invalid name %q", s, seg)
					}
				}
			}
		}
		p2, err := parseOptFields(strings.Join(paths, ","))
		if err != nil || p2 == nil {
			t.Fatalf("%q: re-parsing %v: %v", s, paths, err)
		}
		if got := p2.paths(); strings.Join(got, ",") != strings.Join(paths, ",") {
			t.Fatalf("%q: re-parse %v != %v", s, got, paths)
		}
	})
}

// FuzzOffsetToken: decoding never panics, accepts issued tokens and
// rejects anything else.
func FuzzOffsetToken(f *testing.F) {
	k := offsetKeys{secret: []byte("fuzz-secret")}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	id := listingID("projects/{project_gid}/tasks", []string{"1"}, url.Values{})
	valid := k.encodeOffset(3, id, now, time.Minute)
	for _, s := range []string{valid, "", "abc", "a.b.c", valid + "x", strings.Replace(valid, ".", "..", 1)} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, tok string, pos int) {
		if got, err := k.decodeOffset(tok, id, now); err == nil && tok != k.encodeOffset(got, id, now, time.Minute) {
			// Only byte-identical re-encodings of an issued token are valid
			// here, since iat/exp are fixed by now and the TTL.
			t.Fatalf("accepted a token that was not issued: %q", tok)
		}
		if pos < 0 {
			pos = -(pos + 1)
		}
		enc := k.encodeOffset(pos, id, now, time.Minute)
		got, err := k.decodeOffset(enc, id, now)
		if err != nil || got != pos {
			t.Fatalf("round trip of %d: %d, %v", pos, got, err)
		}
		if _, err := k.decodeOffset(enc, id+1, now); err != errOffsetInvalid {
			t.Fatalf("token accepted by another listing: %v", err)
		}
		if _, err := k.decodeOffset(enc, id, now.Add(time.Minute)); err != errOffsetExpired {
			t.Fatalf("token not expired after its TTL: %v", err)
		}
	})
}

// FuzzSyncToken: event sync tokens never panic and bind to a resource.
func FuzzSyncToken(f *testing.F) {
	s := New(Options{Seed: 1})
	now := s.Now()
	f.Add(s.syncToken("123", 5, now))
	f.Add("5a888cbba4065641bffe1b44dced2fcf:0")
	f.Add(":")
	f.Fuzz(func(t *testing.T, tok string) {
		seq, err := s.parseSyncToken(tok, "123", now)
		if err == nil && s.syncToken("123", seq, tokIssued(tok)) != tok {
			t.Fatalf("accepted a token that was not issued: %q", tok)
		}
	})
}

// tokIssued extracts the issue time of a well-formed sync token.
func tokIssued(tok string) time.Time {
	h, _, _ := strings.Cut(tok, ":")
	var ms int64
	for _, c := range h[16:] {
		ms = ms*16 + int64(strings.IndexRune("0123456789abcdef", c))
	}
	return time.UnixMilli(ms)
}
