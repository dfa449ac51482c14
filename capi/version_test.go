package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine"
)

// engine.Version is the one source of the release: every other place that states it must agree,
// and its major is the ABI version.
func TestVersionHasOneSource(t *testing.T) {
	places := []struct{ file, pattern string }{
		{"c_exports.h", `#define UDVLA_RELEASE "([^"]+)"`},
		{"../CMakeLists.txt", `project\(udvla VERSION ([0-9.]+)`},
		{"../bindings/python/pyproject.toml", `(?m)^version = "([^"]+)"`},
		{"../bindings/python/udvla/__init__.py", `__version__ = "([^"]+)"`},
	}
	for _, p := range places {
		b, err := os.ReadFile(p.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(p.pattern).FindSubmatch(b)
		if m == nil {
			t.Errorf("%s: no version matching %s", p.file, p.pattern)
			continue
		}
		if got := string(m[1]); got != engine.Version {
			t.Errorf("%s says %s, engine.Version is %s", p.file, got, engine.Version)
		}
	}
	if major, _, _ := strings.Cut(engine.Version, "."); major != fmt.Sprint(abiVersion) {
		t.Errorf("engine.Version %s: its major is not the ABI version %d", engine.Version, abiVersion)
	}
}
