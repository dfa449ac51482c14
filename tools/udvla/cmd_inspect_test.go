package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model/build"
)

func TestInspect(t *testing.T) {
	out, e, code := runModelCmd(t, "inspect", "--verify", "../../testdata/tiny.udvla")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"2 layers, hidden 64", "FAST 1024 ids", "boa 1101", "image header ids [9 16 18 20]",
		"cameras main:5x5,wrist:3x3", "min_token -158", "layers.1.w_down", "tensors   21", "verify    every tensor",
		"mask release", "preset    none", "gripper > 0 -> +1"} {
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

// `udvla convert --preset bridge` on a checkpoint with use_blockwise_attn_mask writes the Bridge
// settings and FAST files, and `udvla inspect` shows them.
func TestConvertPresetAndInspect(t *testing.T) {
	dir := t.TempDir()
	o, err := build.TinyOptions("../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	hf := filepath.Join(dir, "hf")
	os.Mkdir(hf, 0o755)
	if err := build.WriteRandomHF(hf, build.HFOptions{Arch: o.Arch, Seed: 9, DType: "F32", ModelType: "llama", Blockwise: true}); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "layout.json")
	os.WriteFile(layout, build.LayoutJSON(o.Vocab), 0o644)
	out := filepath.Join(dir, "bridge.udvla")
	stdout, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--quant", "f16", "--layout", layout,
		"--preset", "bridge", "--fast-root", "../../testdata/fast")
	if code != 0 || !strings.Contains(stdout, "preset: bridge") || !strings.Contains(stdout, "mask rule: release") {
		t.Fatalf("exit %d: %s\n%s", code, e, stdout)
	}
	info, e, code := runModelCmd(t, "inspect", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"preset    bridge: cameras main 25x25, L_a 72, T 96, actions 10x7", "gripper > 0.5 -> +1",
		"decoding  96 steps, L_a 72, mask release, cameras main:25x25", "min_token -112", "image header ids [9 15 16 17 18 19 20 21]"} {
		if !strings.Contains(info, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, info)
		}
	}
	if _, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--layout", layout, "--preset", "bridge", "--steps", "5"); code != 1 || !strings.Contains(e, "preset fixes") {
		t.Fatalf("--steps beside --preset: exit %d, %s", code, e)
	}
}
