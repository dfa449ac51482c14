package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logitsTolerance bounds |vulkan - reference| of a logit, relative to the largest logit magnitude
// of the sequence: the device accumulates in fp32 in another order than the reference's float64
// sums: on the tiny model they agree to about 3e-7 relative, and 1e-5 leaves room for other devices.
const logitsTolerance = 1e-5

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// The Vulkan logits equal the reference's within logitsTolerance under every mask rule, on random
// sequences of awkward lengths that include the layout's special ids; --out and JSON carry the
// same numbers.
func TestLogitsVulkanMatchesReference(t *testing.T) {
	const vocab = 1367 // testdata/tiny.udvla
	r := rand.New(rand.NewPCG(81, 82))
	dir := t.TempDir()
	for i, mask := range []string{"causal", "paper", "release"} {
		n := 7 + r.IntN(23)
		ids := make([]string, n)
		for j := range ids {
			ids[j] = fmt.Sprint(r.IntN(vocab))
		}
		// BOI ... EOI and BOA (tiny layout: text 1100, BOA 1101, BOI 1109, EOI 1110) exercise the
		// block rules of the paper and release masks.
		ids[1], ids[n/2], ids[n-2] = "1109", "1110", "1101"
		tokens := strings.Join(ids, ",")
		gpuF, refF := filepath.Join(dir, fmt.Sprintf("gpu%d.f32", i)), filepath.Join(dir, fmt.Sprintf("ref%d.f32", i))
		for _, c := range []struct {
			out  string
			args []string
		}{{gpuF, nil}, {refF, []string{"--backend", "reference"}}} {
			args := append([]string{"logits", "--model", tinyPath, "--tokens", tokens, "--mask", mask, "--out", c.out}, c.args...)
			out, e, code := runModelCmd(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, e)
			}
			if want := fmt.Sprintf("[%d, %d]", n, vocab); !strings.Contains(out, want) {
				t.Errorf("summary %q lacks the shape %s", out, want)
			}
		}
		g, ref := readF32(t, gpuF), readF32(t, refF)
		if len(g) != n*vocab || len(ref) != n*vocab {
			t.Fatalf("%s: %d and %d floats, want %d x %d", mask, len(g), len(ref), n, vocab)
		}
		checkLogitsClose(t, fmt.Sprintf("%s mask, %d tokens", mask, n), g, ref)
		if i == 0 { // JSON holds the same values as the raw file
			out, e, code := runModelCmd(t, "logits", "--model", tinyPath, "--tokens", tokens, "--mask", mask)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, e)
			}
			var o logitsOutput
			if err := json.Unmarshal([]byte(out), &o); err != nil {
				t.Fatal(err)
			}
			if len(o.Logits) != n || o.Vocab != vocab || o.Mask != mask || len(o.Tokens) != n {
				t.Fatalf("JSON shape: %d rows, vocab %d, mask %s", len(o.Logits), o.Vocab, o.Mask)
			}
			for p, row := range o.Logits {
				for k, v := range row {
					if v != g[p*vocab+k] {
						t.Fatalf("JSON logit [%d][%d] = %v, the file %v", p, k, v, g[p*vocab+k])
					}
				}
			}
		}
	}
}

// checkLogitsClose demands |vulkan - reference| <= logitsTolerance relative to the largest logit.
func checkLogitsClose(t *testing.T, what string, g, ref []float32) {
	t.Helper()
	var scale, diff float64
	for j := range ref {
		scale = math.Max(scale, math.Abs(float64(ref[j])))
		diff = math.Max(diff, math.Abs(float64(g[j])-float64(ref[j])))
	}
	if scale == 0 || diff > logitsTolerance*scale {
		t.Errorf("%s: max |vulkan - reference| = %g, max |logit| = %g (tolerance %g relative)", what, diff, scale, logitsTolerance)
	}
	t.Logf("%s: max |vulkan - reference| = %.3g, relative %.3g", what, diff, diff/scale)
}

// A plain Llama model takes sequences longer than a control step's buffers (MaxInstruction + BOS)
// on the Vulkan backend, as on the reference, with the same logits.
func TestLogitsPlainLlamaLongSequence(t *testing.T) {
	const vocab = 301
	dir := t.TempDir()
	path := filepath.Join(dir, "plain.udvla")
	if _, e, code := runModelCmd(t, "random", "--no-layout", "--vocab", fmt.Sprint(vocab), "--seed", "5",
		"--layers", "2", "--hidden", "64", "--heads", "4", "--kv-heads", "2", "--ffn", "96", "--out", path); code != 0 {
		t.Fatalf("random: exit %d: %s", code, e)
	}
	r := rand.New(rand.NewPCG(83, 84))
	for _, n := range []int{130, 397} {
		ids := make([]string, n)
		for j := range ids {
			ids[j] = fmt.Sprint(r.IntN(vocab))
		}
		tokens := strings.Join(ids, ",")
		gpuF, refF := filepath.Join(dir, "gpu.f32"), filepath.Join(dir, "ref.f32")
		for _, c := range []struct {
			out  string
			args []string
		}{{gpuF, nil}, {refF, []string{"--backend", "reference"}}} {
			args := append([]string{"logits", "--model", path, "--tokens", tokens, "--out", c.out}, c.args...)
			if _, e, code := runModelCmd(t, args...); code != 0 {
				t.Fatalf("%d tokens, %v: exit %d: %s", n, c.args, code, e)
			}
		}
		g, ref := readF32(t, gpuF), readF32(t, refF)
		if len(g) != n*vocab || len(ref) != n*vocab {
			t.Fatalf("%d tokens: %d and %d floats, want %d x %d", n, len(g), len(ref), n, vocab)
		}
		checkLogitsClose(t, fmt.Sprintf("plain Llama, %d tokens", n), g, ref)
	}
}

func TestLogitsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", tinyPath}, "--tokens IDS"},
		{[]string{"--tokens", "1,2"}, "--model FILE"},
		{[]string{"--model", tinyPath, "--tokens", "1,99999"}, "outside the vocabulary"},
		{[]string{"--model", tinyPath, "--tokens", "1,-2"}, "not a non-negative integer"},
		{[]string{"--model", tinyPath, "--tokens", "1,2", "--mask", "diagonal"}, "unknown mask rule"},
		{[]string{"--model", tinyPath, "--tokens", "1,2", "--out", filepath.Join(t.TempDir(), "no", "dir.f32")}, "no such file"},
	} {
		_, e, code := runModelCmd(t, append([]string{"logits"}, c.args...)...)
		if code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("logits %v: exit %d, stderr %q, want %q", c.args, code, e, c.want)
		}
	}
}
