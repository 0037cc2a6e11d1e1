package asanatest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// opt_fields grammar (Asana "input/output options"):
//
//	list  = item { "," item }
//	item  = path                       (empty items are ignored)
//	path  = term { "." term }          (a leading "this." is dropped)
//	term  = name | "(" path { "|" path } ")"
//	name  = 1*( ALPHA / DIGIT / "_" )
//
// A group expands to every alternative, so "this.(followers|assignee).email"
// names followers.email and assignee.email. Unknown names are not an error:
// fields a resource does not have are silently left out, as Asana does for
// the next_page members offset, path and uri that the spec lists among the
// opt_fields values.

const (
	maxOptPaths = 2000 // expanded paths per request
	maxOptDepth = 16   // segments per path / group nesting
)

var errOptFields = errors.New("invalid opt_fields")

// parseOptFields parses an opt_fields value into an explicit projection.
// It returns (nil, nil) when the value names no field at all.
func parseOptFields(s string) (*proj, error) {
	root := &proj{mode: pExplicit, names: map[string]*proj{}}
	items, err := splitTop(s)
	if err != nil {
		return nil, err
	}
	count := 0
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		p := &optParser{s: it}
		paths, err := p.path(0)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", errOptFields, it, err)
		}
		if p.i != len(p.s) {
			return nil, fmt.Errorf("%w: %q: unexpected %q at %d", errOptFields, it, p.s[p.i], p.i)
		}
		for _, segs := range paths {
			if len(segs) > 0 && segs[0] == "this" {
				segs = segs[1:]
			}
			if len(segs) == 0 {
				continue
			}
			if count++; count > maxOptPaths {
				return nil, fmt.Errorf("%w: more than %d field paths", errOptFields, maxOptPaths)
			}
			root.insert(segs)
		}
	}
	if len(root.names) == 0 {
		return nil, nil
	}
	return root, nil
}

func (p *proj) insert(segs []string) {
	node := p
	for i, seg := range segs {
		child, ok := node.names[seg]
		last := i == len(segs)-1
		switch {
		case last && !ok:
			node.names[seg] = nil
		case last:
			if child != nil {
				child.leaf = true
			}
		default:
			if child == nil {
				child = &proj{mode: pExplicit, names: map[string]*proj{}, leaf: ok}
				node.names[seg] = child
			}
			node = child
		}
	}
}

// splitTop splits at commas outside parentheses.
func splitTop(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("%w: unbalanced ')'", errOptFields)
			}
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unbalanced '('", errOptFields)
	}
	return append(out, s[start:]), nil
}

type optParser struct {
	s string
	i int
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// path parses terms separated by dots and returns the expanded paths.
func (p *optParser) path(depth int) ([][]string, error) {
	if depth > maxOptDepth {
		return nil, errors.New("too deeply nested")
	}
	out := [][]string{nil}
	for {
		alts, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		next := make([][]string, 0, len(out)*len(alts))
		for _, a := range out {
			for _, b := range alts {
				if len(a)+len(b) > maxOptDepth {
					return nil, errors.New("path too long")
				}
				seg := make([]string, 0, len(a)+len(b))
				next = append(next, append(append(seg, a...), b...))
			}
		}
		if len(next) > maxOptPaths {
			return nil, errors.New("too many alternatives")
		}
		out = next
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			continue
		}
		return out, nil
	}
}

func (p *optParser) term(depth int) ([][]string, error) {
	if p.i >= len(p.s) {
		return nil, errors.New("missing field name")
	}
	if p.s[p.i] == '(' {
		p.i++
		var alts [][]string
		for {
			sub, err := p.path(depth + 1)
			if err != nil {
				return nil, err
			}
			alts = append(alts, sub...)
			if len(alts) > maxOptPaths {
				return nil, errors.New("too many alternatives")
			}
			if p.i >= len(p.s) {
				return nil, errors.New("missing ')'")
			}
			switch p.s[p.i] {
			case '|':
				p.i++
			case ')':
				p.i++
				return alts, nil
			default:
				return nil, fmt.Errorf("unexpected %q", p.s[p.i])
			}
		}
	}
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return nil, fmt.Errorf("unexpected %q", p.s[p.i])
	}
	return [][]string{{p.s[start:p.i]}}, nil
}

// paths lists the projection as sorted dotted paths (for tests and fuzzing).
func (p *proj) paths() []string {
	var out []string
	var walk func(prefix string, q *proj)
	walk = func(prefix string, q *proj) {
		for name, c := range q.names {
			full := prefix + name
			if c == nil || c.leaf {
				out = append(out, full)
			}
			if c != nil {
				walk(full+".", c)
			}
		}
	}
	walk("", p)
	slices.Sort(out)
	return out
}
