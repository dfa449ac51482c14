package build_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// The real configuration has the checkpoint's 495 tensors (spec §7) less the 8 BatchNorm counters
// the loader skips, and 270.7M parameters.
func TestVQRealTensorCount(t *testing.T) {
	ts := model.EmuVQConfig().Tensors()
	var params, enc, dec int64
	for _, x := range ts {
		n := int64(1)
		for _, d := range x.Shape {
			n *= int64(d)
		}
		params += n
		switch {
		case strings.HasPrefix(x.Name, "encoder."):
			enc += n
		case strings.HasPrefix(x.Name, "decoder."):
			dec += n
		}
	}
	bn := 4 * 2 * 2 // BatchNorms: 2 temporal blocks x 2 norms, in encoder and decoder
	if len(ts)+bn/2 != 495 || (params+50000)/100000 != 2707 || (enc+50000)/100000 != 1095 || (dec+50000)/100000 != 1611 {
		t.Fatalf("%d tensors (+%d counters), %d parameters (encoder %d, decoder %d)", len(ts), bn/2, params, enc, dec)
	}
}

func TestTinyVQModelRegenerates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny_vq.udvla")
	if err := build.WriteRandom(path, build.TinyVQOptions()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want, err := os.ReadFile("../../../testdata/tiny_vq.udvla")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("regenerated tiny VQ model (%d bytes) differs from testdata/tiny_vq.udvla (%d bytes): run tools/generate.sh (or go generate ./...)", len(got), len(want))
	}
	f, err := model.Open("../../../testdata/tiny_vq.udvla")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	if f.Config.HasLM() || !reflect.DeepEqual(f.Config.VQ, model.TinyVQConfig()) || f.Size > 600<<10 {
		t.Fatalf("tiny VQ model: LM %v, %+v, %d bytes", f.Config.HasLM(), f.Config.VQ, f.Size)
	}
}

// A language model with a vision tokenizer round-trips: the configuration and every VQ tensor.
func TestVQWithLanguageModelRoundTrip(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	o := modeltest.TinyArchOptions(true)
	o.Seed = seed
	o.VQ = &model.VQConfig{CodebookSize: 37, EmbedDim: 3, ZChannels: 3, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: 2, Ch: 32, ChMult: []int{1, 2, 1}, NumResBlocks: 2, AttnResolutions: []int{0, 2}, Dropout: 0.1}
	path := filepath.Join(t.TempDir(), "m.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	if !f.Config.HasLM() || !reflect.DeepEqual(f.Config.VQ, o.VQ) {
		t.Fatalf("config %+v", f.Config.VQ)
	}
	if len(f.Tensors) != len(o.Arch.TensorNames())+len(o.VQ.Tensors()) {
		t.Fatalf("%d tensors", len(f.Tensors))
	}
	for name, x := range build.RandomVQTensors(o.VQ, seed) {
		y, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("%s differs", name)
		}
	}
	w, _ := f.Float32("encoder.down.0.attn.1.q.weight")
	if len(w) != 32*32 {
		t.Fatalf("attention at level 0 has %d weights", len(w))
	}
}

// A vision-tokenizer checkpoint converts alone and beside a language model, from F32, F16 and build.BF16,
// to the checkpoint's values; the BatchNorm counters are skipped and nothing else is ignored.
func TestConvertVQ(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	c := &model.VQConfig{CodebookSize: 19, EmbedDim: 4, ZChannels: 4, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: 4, Ch: 32, ChMult: []int{1, 2}, NumResBlocks: 1, AttnResolutions: []int{1}}
	want := build.RandomVQTensors(c, seed)
	round := map[string]func(float32) float32{
		"F32":  func(v float32) float32 { return v },
		"F16":  func(v float32) float32 { return quant.F16ToF32(quant.F32ToF16(v)) },
		"BF16": func(v float32) float32 { return build.BF16ToF32(build.BF16(v)) },
	}
	for _, src := range []string{"F32", "F16", "BF16"} {
		for _, withLM := range []bool{false, true} {
			vqDir := t.TempDir()
			if err := build.WriteRandomVQHF(vqDir, c, seed, src); err != nil {
				t.Fatal(err)
			}
			co := build.ConvertOptions{VQDir: vqDir, Out: filepath.Join(t.TempDir(), "v.udvla")}
			if withLM {
				ro, lm := convertibleOptions(t, seed, quant.F32)
				hf := t.TempDir()
				if err := build.WriteRandomHF(hf, build.HFOptions{Arch: ro.Arch, Seed: seed, DType: "F32", ModelType: "llama"}); err != nil {
					t.Fatal(err)
				}
				lm.HFDir, lm.VQDir, lm.Out = hf, vqDir, co.Out
				co = lm
			}
			res, err := build.Convert(co)
			if err != nil {
				t.Fatalf("%s (LM %v): %v", src, withLM, err)
			}
			if len(res.Ignored) != 0 {
				t.Fatalf("ignored %v", res.Ignored)
			}
			f, err := model.Open(co.Out)
			if err != nil {
				t.Fatal(err)
			}
			if f.Config.HasLM() != withLM || !reflect.DeepEqual(f.Config.VQ, c) {
				t.Fatalf("%s: LM %v, %+v", src, f.Config.HasLM(), f.Config.VQ)
			}
			for name, x := range want {
				y, err := f.Float32(name)
				if err != nil {
					t.Fatal(err)
				}
				for i := range x {
					if y[i] != round[src](x[i]) {
						t.Fatalf("%s %s[%d] = %g, want %g", src, name, i, y[i], round[src](x[i]))
					}
				}
			}
			f.Close()
		}
	}
}

// Broken vision-tokenizer checkpoints are refused with a message naming the problem.
func TestConvertVQRejects(t *testing.T) {
	c := model.TinyVQConfig()
	cases := map[string]struct {
		edit func(dir string)
		want string
	}{
		"double_z":    {func(d string) { editJSON(t, d, "double_z", true) }, "double_z"},
		"z != embed":  {func(d string) { editJSON(t, d, "z_channels", 8) }, "z_channels"},
		"ch not /32":  {func(d string) { editJSON(t, d, "ch", 48) }, "multiple of 32"},
		"attn level":  {func(d string) { editJSON(t, d, "attn_resolutions", []int{2}) }, "attn_resolutions"},
		"temporal 3":  {func(d string) { editJSON(t, d, "temporal_downsample_factor", 3) }, "power of 2"},
		"wrong model": {func(d string) { editJSON(t, d, "model_type", "llama") }, "Emu3VisionVQ"},
		"more blocks": {func(d string) { editJSON(t, d, "num_res_blocks", 2) }, "no tensor"},
		"codebook":    {func(d string) { editJSON(t, d, "codebook_size", 300) }, "shape"},
		"no weights":  {func(d string) { os.Remove(filepath.Join(d, "model.safetensors")) }, "model.safetensors"},
	}
	for name, k := range cases {
		dir := t.TempDir()
		if err := build.WriteRandomVQHF(dir, c, 1, "F32"); err != nil {
			t.Fatal(err)
		}
		k.edit(dir)
		out := filepath.Join(t.TempDir(), "v.udvla")
		_, err := build.Convert(build.ConvertOptions{VQDir: dir, Out: out})
		if err == nil || !strings.Contains(err.Error(), k.want) {
			t.Errorf("%s: error %v, want one that says %q", name, err, k.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s: a file was left behind", name)
		}
	}
	dir := t.TempDir()
	build.WriteRandomVQHF(dir, c, 1, "F32")
	_, err := build.Convert(build.ConvertOptions{VQDir: dir, Out: filepath.Join(t.TempDir(), "v.udvla"), Steps: 3})
	if err == nil || !strings.Contains(err.Error(), "vision tokenizer alone") {
		t.Errorf("decoding options without a language model: %v", err)
	}
}

func editJSON(t *testing.T, dir, key string, v any) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	raw, _ := os.ReadFile(p)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	out, _ := json.Marshal(m)
	os.WriteFile(p, out, 0o644)
}
