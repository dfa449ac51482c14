package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// A random checkpoint in the HF layout whose config.json sets use_blockwise_attn_mask, converted by
// the command with a layout file and the tiny model's FAST files and no --mask, is the random model
// written directly (testdata/tiny.udvla's options: the release rule), and `udvla run` on it runs
// and reports the release rule by default.
func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	o, err := build.TinyOptions("../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	o.DType, o.Seed = quant.Q8_0, 5
	hf := filepath.Join(dir, "hf")
	os.Mkdir(hf, 0o755)
	if err := build.WriteRandomHF(hf, build.HFOptions{Arch: o.Arch, Seed: o.Seed, DType: "F32", Shards: 2, ModelType: "llama", Blockwise: true}); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "layout.json")
	os.WriteFile(layout, build.LayoutJSON(o.Vocab), 0o644)
	out := filepath.Join(dir, "conv.udvla")
	stdout, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--quant", "q8_0", "--layout", layout,
		"--fast", "../../testdata/fast/"+build.TinyFastDir, "--horizon", "10", "--stats", "../../testdata/fast/"+build.TinyNormStats,
		"--cameras", "main:5x5,wrist:3x3", "--steps", "8", "--action-len", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if !strings.Contains(stdout, "q8_0") || !strings.Contains(stdout, layout) || !strings.Contains(stdout, "mask rule: release") || e != "" {
		t.Fatalf("stdout %q stderr %q (no progress off a terminal)", stdout, e)
	}
	direct := filepath.Join(dir, "direct.udvla")
	if err := build.WriteRandom(direct, o); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(direct)
	if !bytes.Equal(a, b) {
		t.Fatalf("converted %d bytes differ from the direct random model's %d", len(a), len(b))
	}
	run, e, code := runModelCmd(t, "run", "--model", out, "--tokens", "41,97", "--backend", "reference", "--steps", "2")
	if code != 0 || !strings.Contains(run, "jd3p, release mask") {
		t.Fatalf("run on the converted model: exit %d, %s\n%s", code, e, run)
	}
	if _, e, code := runModelCmd(t, "convert", "--out", out); code != 1 || !strings.Contains(e, "--hf") {
		t.Fatalf("no --hf: exit %d, %s", code, e)
	}
	if _, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--quant", "q3_k"); code != 1 || !strings.Contains(e, "dtype") {
		t.Fatalf("bad --quant: exit %d, %s", code, e)
	}
}

// An FFN size that is not a multiple of 32 converts to f32 and f16, and the Vulkan logits of the
// result equal the reference's; q8_0 and q4_0 are refused with the tensor that cannot be stored.
func TestConvertFFNNotWholeBlocks(t *testing.T) {
	dir := t.TempDir()
	arch := model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 100, Vocab: 211, RopeTheta: 1e4, RMSEps: 1e-5}
	hf := filepath.Join(dir, "hf")
	os.Mkdir(hf, 0o755)
	if err := build.WriteRandomHF(hf, build.HFOptions{Arch: arch, Seed: 17, DType: "F32", Shards: 1, ModelType: "llama"}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 23)
	for i := range ids {
		ids[i] = fmt.Sprint((i*37 + 5) % arch.Vocab)
	}
	tokens := strings.Join(ids, ",")
	for _, q := range []string{"f32", "f16"} {
		out := filepath.Join(dir, q+".udvla")
		if _, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--quant", q); code != 0 {
			t.Fatalf("--quant %s: exit %d: %s", q, code, e)
		}
		gpuF, refF := filepath.Join(dir, q+"-gpu.f32"), filepath.Join(dir, q+"-ref.f32")
		for _, c := range []struct {
			out  string
			args []string
		}{{gpuF, nil}, {refF, []string{"--backend", "reference"}}} {
			args := append([]string{"logits", "--model", out, "--tokens", tokens, "--out", c.out}, c.args...)
			if _, e, code := runModelCmd(t, args...); code != 0 {
				t.Fatalf("%s %v: exit %d: %s", q, c.args, code, e)
			}
		}
		checkLogitsClose(t, "ffn 100, "+q, readF32(t, gpuF), readF32(t, refF))
	}
	for _, q := range []string{"q8_0", "q4_0"} {
		out := filepath.Join(dir, q+".udvla")
		_, e, code := runModelCmd(t, "convert", "--hf", hf, "--out", out, "--quant", q)
		if code != 1 || !strings.Contains(e, `"layers.0.w_down"`) || !strings.Contains(e, "100") {
			t.Errorf("--quant %s: exit %d, stderr %q: want the down projection named", q, code, e)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("--quant %s left %s behind", q, out)
		}
	}
}
