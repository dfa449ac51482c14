package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	out, e, code := runModelCmd(t, "inspect", "--verify", "../../testdata/tiny.udvla")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"2 layers, hidden 64", "FAST 1024 ids", "boa 1101", "image header ids [9 16 18 20]",
		"cameras main:5x5,wrist:3x3", "min_token -158", "layers.1.w_down", "tensors   21", "verify    every tensor"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	// a flipped bit in a tensor: Open accepts the structure, --verify finds the damage
	b, _ := os.ReadFile("../../testdata/tiny.udvla")
	b[len(b)-3] ^= 4
	bad := filepath.Join(t.TempDir(), "bad.udvla")
	os.WriteFile(bad, b, 0o644)
	if _, e, code := runModelCmd(t, "inspect", bad); code != 0 {
		t.Fatalf("inspect without --verify: exit %d, %s", code, e)
	}
	if _, e, code := runModelCmd(t, "inspect", "--verify", bad); code != 1 || !strings.Contains(e, "lm_head") || !strings.Contains(e, "corrupt") {
		t.Fatalf("inspect --verify of a damaged file: exit %d, %s", code, e)
	}
	if _, e, code := runModelCmd(t, "inspect", "../../testdata/fast/norm_stats_calvin.json"); code != 1 || !strings.Contains(e, "udvla") {
		t.Fatalf("inspect of a JSON file: exit %d, %s", code, e)
	}
}
