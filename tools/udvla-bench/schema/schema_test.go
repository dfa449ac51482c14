package schema

import (
	"os"
	"strings"
	"testing"
)

const testSchema = `{
  "$defs": {"stat": {"type": "object", "required": ["median"], "properties": {"median": {"type": "number", "minimum": 0}}}},
  "type": "object",
  "required": ["name", "count", "stats", "mode"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string"},
    "count": {"type": "integer", "minimum": 1, "maximum": 9},
    "ratio": {"type": ["number", "null"]},
    "mode": {"enum": ["jd3p", "ar", "id"]},
    "schema": {"const": "x/1"},
    "stats": {"$ref": "#/$defs/stat"},
    "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "integer"}},
    "free": {"type": "object", "additionalProperties": {"type": "boolean"}},
    "maybe": {"anyOf": [{"$ref": "#/$defs/stat"}, {"type": "null"}]}
  }
}`

func TestValidate(t *testing.T) {
	s, err := Parse([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	good := `{"name": "a", "count": 3, "ratio": null, "mode": "ar", "schema": "x/1", "stats": {"median": 0.25},
		"list": [1, 2], "free": {"x": true}, "maybe": null}`
	if err := s.Validate([]byte(good)); err != nil {
		t.Fatalf("a valid document: %v", err)
	}
	for _, c := range []struct{ doc, want string }{
		{`{"count": 3, "mode": "ar", "stats": {"median": 1}}`, `lacks required "name"`},
		{`{"name": 1, "count": 3, "mode": "ar", "stats": {"median": 1}}`, "$.name: is integer, want string"},
		{`{"name": "a", "count": 2.5, "mode": "ar", "stats": {"median": 1}}`, "$.count: is number, want integer"},
		{`{"name": "a", "count": 12, "mode": "ar", "stats": {"median": 1}}`, "above the maximum"},
		{`{"name": "a", "count": 0, "mode": "ar", "stats": {"median": 1}}`, "below the minimum"},
		{`{"name": "a", "count": 3, "mode": "nar", "stats": {"median": 1}}`, "not one of"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": -1}}`, "$.stats.median"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {}}`, `$.stats: lacks required "median"`},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "extra": 1}`, `undocumented property "extra"`},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "list": []}`, "at least 1"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "list": [1, 2, 3]}`, "at most 2"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "list": [1, "2"]}`, "$.list[1]"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "ratio": "x"}`, "want number or null"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "schema": "x/2"}`, "is not x/1"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "free": {"y": 3}}`, "$.free.y"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "maybe": {"median": "x"}}`, "$.maybe: matches none of anyOf"},
		{`{"name": "a", "count": 3, "mode": "ar", "stats": {"median": 1}, "maybe": 3}`, "$.maybe: matches none of anyOf"},
		{`[1`, "not JSON"},
	} {
		err := s.Validate([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.doc, err, c.want)
		}
	}
}

// The schema files of docs/ parse and resolve their references on a document that uses them.
func TestDocsSchemasParse(t *testing.T) {
	for _, f := range []string{"../../../docs/bench.schema.json", "../../../docs/run.schema.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// an empty object violates the required fields, and only them
		err = s.Validate([]byte(`{}`))
		if err == nil || !strings.Contains(err.Error(), "lacks required") || strings.Contains(err.Error(), "$ref") {
			t.Errorf("%s: {} gave %v", f, err)
		}
	}
}
