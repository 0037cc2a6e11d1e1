package asana

import "testing"

func TestRedact(t *testing.T) {
	KeepSecrets(Credentials{
		ClientID:     "1209999999999999",
		ClientSecret: "cs-0123456789abcdef",
		// A refresh token that holds the client id: replaced whole.
		RefreshToken: "2/1201000000000000/1209999999999999:0123456789abcdef",
	})
	for _, tc := range []struct{ in, want string }{
		{`token 2/1201000000000000/1209999999999999:0123456789abcdef here`, `token [redacted] here`},
		{`"2\/1201000000000000\/1209999999999999:0123456789abcdef"`, `"[redacted]"`},
		{`?t=2%2F1201000000000000%2F1209999999999999%3A0123456789abcdef`, `?t=[redacted]`},
		{`secret cs-0123456789abcdef`, `secret [redacted]`},
		// The client id is public, and may be a number in a record.
		{`{"number_value":1209999999999999}`, `{"number_value":1209999999999999}`},
		{`nothing here`, `nothing here`},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(RedactBytes([]byte(tc.in))); got != tc.want {
			t.Errorf("RedactBytes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
