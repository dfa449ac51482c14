package engine

import (
	"strings"
	"testing"
)

// A file that holds a vision tokenizer alone opens as a model file but not as an engine: the
// error says why, on every backend.
func TestOpenRefusesVQAlone(t *testing.T) {
	for _, b := range []Backend{BackendReference, BackendVulkan} {
		e, err := Open("../testdata/tiny_vq.udvla", Options{Backend: b})
		if err == nil {
			e.Close()
			t.Fatalf("backend %v: a vision tokenizer alone opened as an engine", b)
		}
		if !strings.Contains(err.Error(), "vision tokenizer alone") {
			t.Fatalf("backend %v: %v", b, err)
		}
	}
}
