// Package schemas holds the JSON Schemas (draft-07) of the 20 streams of the
// Asana source, one embedded file per stream (<stream>.json).
//
// The schemas are the single source from which the Airbyte catalog, the Asana
// opt_fields request parameter and the Parquet/BigQuery schemas are derived.
// They keep Airbyte's source-asana stream names, and accept every record that
// Airbyte's schemas accept, except for a few documented fixes of Airbyte's
// defects (each explained in the description of the property). On top of that
// they describe every field of the resource that Asana's API returns.
//
// Conventions the derived code can rely on:
//   - the top level is {"type": "object", "additionalProperties": true};
//   - "gid" is a non-null string and required (events have no gid);
//   - every other type is ["null", T], with T one of string, integer,
//     number, boolean, object or array;
//   - timestamps have "format": "date-time", dates "format": "date";
//   - arrays always have "items";
//   - an object without "properties" is free-form (store it as JSON);
//   - references to other resources are compact objects (gid,
//     resource_type and, where the resource has one, name);
//   - no "enum" keyword is used: known values are listed in descriptions.
package schemas

import (
	"embed"
	"io/fs"
	"strings"
	"sync"
)

//go:embed *.json
var files embed.FS

var names = sync.OnceValue(func() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("schemas: reading embedded files: " + err.Error())
	}
	var out []string
	for _, e := range entries { // fs.ReadDir returns entries sorted by name.
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			out = append(out, n)
		}
	}
	return out
})

// Names returns the 20 stream names sorted.
func Names() []string {
	return append([]string(nil), names()...)
}

// Raw returns the schema of a stream as JSON bytes (ok=false for unknown).
// The returned slice is a fresh copy that the caller may modify.
func Raw(stream string) ([]byte, bool) {
	if stream == "" || strings.ContainsAny(stream, `/\.`) {
		return nil, false
	}
	b, err := files.ReadFile(stream + ".json")
	if err != nil {
		return nil, false
	}
	return b, true
}
