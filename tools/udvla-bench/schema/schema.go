// Package schema checks JSON documents against the JSON Schema files in docs/ (bench.schema.json,
// run.schema.json). It implements the part of JSON Schema (draft 2020-12) those files use: type
// (one or a list), properties, required, additionalProperties (false or a schema), items, enum,
// const, minimum, maximum, minItems, maxItems, anyOf, and $ref to "#/$defs/NAME".
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Schema is a parsed schema document.
type Schema struct {
	root map[string]any
}

// Parse reads a schema.
func Parse(b []byte) (*Schema, error) {
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &Schema{root: root}, nil
}

// Validate checks a JSON document and returns every violation found, joined, or nil.
func (s *Schema) Validate(doc []byte) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var errs []string
	s.check(s.root, v, "$", &errs, 0)
	if len(errs) > 0 {
		return fmt.Errorf("%d schema violation(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return nil
}

func (s *Schema) resolve(node map[string]any) (map[string]any, error) {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node, nil
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	defs, _ := s.root["$defs"].(map[string]any)
	def, found := defs[name].(map[string]any)
	if !ok || !found {
		return nil, fmt.Errorf("unresolvable $ref %q", ref)
	}
	return def, nil
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeMatches(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

func (s *Schema) check(node map[string]any, v any, path string, errs *[]string, depth int) {
	fail := func(format string, a ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, a...)) }
	if depth > 64 {
		fail("schema nests too deep")
		return
	}
	node, err := s.resolve(node)
	if err != nil {
		fail("%v", err)
		return
	}
	if alts, ok := node["anyOf"].([]any); ok {
		var first []string
		matched := false
		for _, alt := range alts {
			sub, _ := alt.(map[string]any)
			var e []string
			s.check(sub, v, path, &e, depth+1)
			if len(e) == 0 {
				matched = true
				break
			}
			if first == nil {
				first = e
			}
		}
		if !matched {
			fail("matches none of anyOf; the first alternative says: %s", strings.Join(first, "; "))
		}
	}
	got := typeOf(v)
	if t, ok := node["type"]; ok {
		var wants []string
		switch x := t.(type) {
		case string:
			wants = []string{x}
		case []any:
			for _, w := range x {
				if ws, ok := w.(string); ok {
					wants = append(wants, ws)
				}
			}
		}
		okType := false
		for _, w := range wants {
			okType = okType || typeMatches(w, got)
		}
		if !okType {
			fail("is %s, want %s", got, strings.Join(wants, " or "))
			return
		}
	}
	if e, ok := node["enum"].([]any); ok && !contains(e, v) {
		fail("%v is not one of %v", v, e)
	}
	if c, ok := node["const"]; ok && !equal(c, v) {
		fail("%v is not %v", v, c)
	}
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		if m, ok := node["minimum"].(float64); ok && f < m {
			fail("%v is below the minimum %v", f, m)
		}
		if m, ok := node["maximum"].(float64); ok && f > m {
			fail("%v is above the maximum %v", f, m)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := node["properties"].(map[string]any)
		if req, ok := node["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" {
					if _, present := x[name]; !present {
						fail("lacks required %q", name)
					}
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k].(map[string]any); ok {
				s.check(p, x[k], path+"."+k, errs, depth+1)
				continue
			}
			switch ap := node["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("has undocumented property %q", k)
				}
			case map[string]any:
				s.check(ap, x[k], path+"."+k, errs, depth+1)
			}
		}
	case []any:
		if m, ok := node["minItems"].(float64); ok && float64(len(x)) < m {
			fail("has %d items, want at least %v", len(x), m)
		}
		if m, ok := node["maxItems"].(float64); ok && float64(len(x)) > m {
			fail("has %d items, want at most %v", len(x), m)
		}
		if it, ok := node["items"].(map[string]any); ok {
			for i, e := range x {
				s.check(it, e, fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
			}
		}
	}
}

func contains(list []any, v any) bool {
	for _, e := range list {
		if equal(e, v) {
			return true
		}
	}
	return false
}

// equal compares a schema value (numbers as float64) with a document value (numbers as
// json.Number).
func equal(a, b any) bool {
	if n, ok := b.(json.Number); ok {
		f, err := n.Float64()
		af, isNum := a.(float64)
		return err == nil && isNum && f == af
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && typeOf(a) == typeOf(b)
}
