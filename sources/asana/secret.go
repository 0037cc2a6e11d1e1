package asana

import (
	"fmt"
	"log/slog"
)

// Secret is a credential. It prints, logs and marshals as "[redacted]" so
// that no format verb, log attribute or JSON encoding can leak it; the value
// is read only through Reveal, where it is sent to Asana.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format implements fmt.Formatter, so that %x and %q cannot print it either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler: secrets never reach a file
// through JSON. (Decoding is the default string decoding.)
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
