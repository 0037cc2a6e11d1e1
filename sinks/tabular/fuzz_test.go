package tabular

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzRow checks that Row never panics, that its only errors are
// *FieldError, that it accepts only valid JSON, and that the values it
// returns are those encoding/json reads. The seeds are in
// testdata/fuzz/FuzzRow; run with go test -fuzz FuzzRow.
func FuzzRow(f *testing.F) {
	fields := testFields(f)
	d := NewDecoder(fields)
	f.Add([]byte(record(`"name": "Ann", "count": 3, "at": "2024-03-01T12:34:56.789Z", "tags": ["a", null]`)))
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, err := d.Row(rec)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, not a *FieldError", err, err)
			}
			if got != nil {
				t.Fatalf("a row and an error")
			}
			return
		}
		if !json.Valid(rec) {
			t.Fatalf("accepted invalid JSON %q", rec)
		}
		dec := json.NewDecoder(bytes.NewReader(rec))
		dec.UseNumber()
		var ref map[string]any
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		checkRecord(t, "", fields, got, ref)
	})
}

// checkRecord compares a row with what encoding/json read.
func checkRecord(t *testing.T, path string, fields []Field, got, ref map[string]any) {
	t.Helper()
	if len(got) != len(fields) {
		t.Errorf("%s: %d fields, want %d", path, len(got), len(fields))
	}
	for _, f := range fields {
		p := join(path, f.Name)
		g, ok := got[f.Name]
		if !ok {
			t.Errorf("%s: missing from the row", p)
			continue
		}
		r := ref[f.Name]
		if g == nil || r == nil {
			if g != nil || r != nil {
				t.Errorf("%s: %#v, encoding/json read %#v", p, g, r)
			}
			continue
		}
		if !f.Repeated {
			checkValue(t, p, f, g, r)
			continue
		}
		gl, rl := g.([]any), r.([]any)
		if len(gl) != len(rl) {
			t.Errorf("%s: %d elements, encoding/json read %d", p, len(gl), len(rl))
			continue
		}
		for i := range gl {
			if gl[i] == nil || rl[i] == nil {
				if gl[i] != nil || rl[i] != nil {
					t.Errorf("%s[%d]: %#v, encoding/json read %#v", p, i, gl[i], rl[i])
				}
				continue
			}
			checkValue(t, p, f, gl[i], rl[i])
		}
	}
}

func checkValue(t *testing.T, p string, f Field, g, r any) {
	t.Helper()
	switch f.Type {
	case String, Bool:
		if g != r {
			t.Errorf("%s: %#v, encoding/json read %#v", p, g, r)
		}
	case Int64, Double:
		want, ok := new(big.Rat).SetString(string(r.(json.Number)))
		if !ok {
			t.Fatalf("%s: %q", p, r)
		}
		var have *big.Rat
		if i, ok := g.(int64); ok {
			have = big.NewRat(i, 1)
		} else {
			have = new(big.Rat)
			have.SetFloat64(g.(float64))
			// Doubles are rounded: compare as float64.
			w, _ := want.Float64()
			want.SetFloat64(w)
		}
		if have.Cmp(want) != 0 {
			t.Errorf("%s: %v, encoding/json read %v", p, g, r)
		}
	case Timestamp, Date:
		s := r.(string)
		layout := time.RFC3339Nano
		if f.Type == Date {
			layout = time.DateOnly
		}
		want, err := time.Parse(layout, strings.NewReplacer("t", "T", "z", "Z").Replace(s))
		if err != nil {
			return // time.Parse is stricter on some forms (such as year 0000)
		}
		if gt := g.(time.Time); !gt.Equal(want.Truncate(time.Microsecond)) || gt.Location() != time.UTC {
			t.Errorf("%s: %v, time.Parse read %v", p, gt, want)
		}
	case JSON:
		var a, b any
		da := json.NewDecoder(strings.NewReader(g.(string)))
		da.UseNumber()
		if err := da.Decode(&a); err != nil {
			t.Fatalf("%s: invalid JSON %q: %v", p, g, err)
		}
		if c := new(bytes.Buffer); json.Compact(c, []byte(g.(string))) != nil || c.String() != g {
			t.Errorf("%s: %q is not compact", p, g)
		}
		rb, _ := json.Marshal(r)
		db := json.NewDecoder(bytes.NewReader(rb))
		db.UseNumber()
		if err := db.Decode(&b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %s, encoding/json read %s", p, g, rb)
		}
	case Record:
		checkRecord(t, p, f.Fields, g.(map[string]any), r.(map[string]any))
	}
}
