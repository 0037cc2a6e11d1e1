package asana

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asana-beam/asana-beam/sources/asana/schemas"
)

// TestTableIsTheStreams: the stream table declares every stream that has a
// schema file, and nothing else.
func TestTableIsTheStreams(t *testing.T) {
	var names []string
	for _, st := range table {
		names = append(names, st.Name)
	}
	slices.Sort(names)
	if diff := cmp.Diff(schemas.Names(), names); diff != "" {
		t.Errorf("the table's streams against the schema files (-files +table):\n%s", diff)
	}
	for _, st := range table {
		if len(st.PrimaryKey) == 0 || (st.CutFrom == "") == (len(st.Listings) == 0) {
			t.Errorf("%s: want a key, and either listings or the stream it is cut from", st.Name)
		}
	}
}

// TestStreamsDeclaredNowhereElse: the connector's code (the source, the
// pipeline, the sinks, the commands) reads streams from the table and
// never names one: no string literal outside streams.go is a stream's
// name. A switch on a stream's name is a property missing from the table.
func TestStreamsDeclaredNowhereElse(t *testing.T) {
	isStream := map[string]bool{}
	for _, name := range schemas.Names() {
		isStream[name] = true
	}
	// Literals that are not streams but spell like one.
	exempt := map[string]bool{
		"sources/asana/config.go: workspaces": true, // the config fields workspaces and projects
		"sources/asana/config.go: projects":   true,
		"sources/asana/state.go: projects":    true, // the state field projects (sync tokens by project)
	}
	root := filepath.Join("..", "..")
	var found []string
	for _, dir := range []string{"sources/asana", "pipeline", "sinks", "transforms", "cmd/source-asana", "cmd/asana-export", "cmd/internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || rel == "sources/asana/asanatest" || rel == "sources/asana/schemas") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || rel == "sources/asana/streams.go" {
				return nil
			}
			fset := token.NewFileSet()
			f, err := goparser.ParseFile(fset, p, nil, goparser.SkipObjectResolution)
			if err != nil {
				return err
			}
			tags := map[*ast.BasicLit]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				if fl, ok := n.(*ast.Field); ok && fl.Tag != nil {
					tags[fl.Tag] = true
				}
				return true
			})
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || tags[lit] {
					return true
				}
				v, err := strconv.Unquote(lit.Value)
				if err == nil && isStream[v] && !exempt[rel+": "+v] {
					found = append(found, fset.Position(lit.Pos()).String()+": "+lit.Value)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range found {
		t.Errorf("a stream named outside the stream table (sources/asana/streams.go): %s", f)
	}
}
