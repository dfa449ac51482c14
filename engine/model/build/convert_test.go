package build_test

import (
	"bytes"
	"encoding/binary"
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

const testFast = "../../../testdata/fast"

// convertibleOptions is a random model whose FAST tokenizer and statistics come from files, so a
// checkpoint converted with those files must give exactly WriteRandom's model.
func convertibleOptions(t *testing.T, seed uint64, dt quant.DType) (build.RandomOptions, build.ConvertOptions) {
	t.Helper()
	v, n := model.ScaledVocab(1100, 72, 1024)
	cams := []model.Camera{{Name: "main", H: 4, W: 6}, {Name: "wrist", H: 2, W: 3}}
	v.HeaderIDs = v.HeaderIDSet(cams)
	fast, _, err := build.LoadFastTokenizer(filepath.Join(testFast, build.TinyFastDir))
	if err != nil {
		t.Fatal(err)
	}
	fast.Horizon = 10
	if fast.Q01, fast.Q99, _, err = build.LoadNormStats(filepath.Join(testFast, build.TinyNormStats), ""); err != nil {
		t.Fatal(err)
	}
	fast.Dims = len(fast.Q01)
	ro := build.RandomOptions{
		Arch:     model.Arch{Layers: 2, Hidden: 96, Heads: 6, KVHeads: 2, HeadDim: 16, FFN: 224, Vocab: n, RopeTheta: 5e5, RMSEps: 1e-6},
		Vocab:    v,
		Decoding: &model.Decoding{Steps: 9, ActionLen: 13, Cameras: cams, Mask: model.MaskRelease},
		Fast:     fast, DType: dt, Seed: seed,
	}
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout.json")
	lv := *v
	lv.HeaderIDs = nil // derived from the cameras by the converter
	if err := os.WriteFile(layout, build.LayoutJSON(&lv), 0o644); err != nil {
		t.Fatal(err)
	}
	co := build.ConvertOptions{
		Quant: dt, FastDir: filepath.Join(testFast, build.TinyFastDir), Horizon: 10,
		Stats: filepath.Join(testFast, build.TinyNormStats), Layout: layout,
		Cameras: cams, Steps: 9, ActionLen: 13, Mask: model.MaskRelease,
	}
	return ro, co
}

// An f32 checkpoint, whole or in shards, converts to exactly the file WriteRandom writes, for every
// output dtype; a bf16 one to the bf16-rounded tensors.
func TestConvertRandomCheckpoint(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	for _, c := range []struct {
		src    string
		shards int
		dt     quant.DType
	}{{"F32", 1, quant.F32}, {"F32", 3, quant.Q8_0}, {"F32", 2, quant.Q4_0}, {"F32", 1, quant.F16}, {"BF16", 2, quant.F32}} {
		ro, co := convertibleOptions(t, seed, c.dt)
		hf := t.TempDir()
		if err := build.WriteRandomHF(hf, build.HFOptions{Arch: ro.Arch, Seed: seed, DType: c.src, Shards: c.shards, ModelType: "llama"}); err != nil {
			t.Fatal(err)
		}
		co.HFDir, co.Out = hf, filepath.Join(t.TempDir(), "conv.udvla")
		var calls, last int64
		co.Progress = func(done, total int64, name string) {
			if done < last || done > total {
				t.Fatalf("progress %d of %d after %d", done, total, last)
			}
			calls, last = calls+1, done
			if name == model.LMHead && done != total {
				t.Fatalf("progress ends at %d of %d", done, total)
			}
		}
		res, err := build.Convert(co)
		if err != nil {
			t.Fatalf("%s x%d -> %v: %v", c.src, c.shards, c.dt, err)
		}
		if int(calls) != len(ro.Arch.TensorNames()) || len(res.Ignored) != 0 || res.Tied {
			t.Fatalf("%d progress calls, ignored %v", calls, res.Ignored)
		}
		if c.src == "F32" {
			direct := filepath.Join(t.TempDir(), "direct.udvla")
			if err := build.WriteRandom(direct, ro); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(co.Out)
			b, _ := os.ReadFile(direct)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s x%d -> %v: the converted file (%d bytes) differs from the random model written directly (%d bytes)", c.src, c.shards, c.dt, len(a), len(b))
			}
			continue
		}
		f, err := model.Open(co.Out)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := build.RandomConfig(ro)
		if !reflect.DeepEqual(&f.Config, want) {
			t.Fatalf("config %+v, want %+v", f.Config, want)
		}
		for name, x := range build.RandomTensors(ro.Arch, seed) {
			y, err := f.Float32(name)
			if err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if y[i] != build.BF16ToF32(build.BF16(x[i])) {
					t.Fatalf("%s[%d] = %g, want bf16(%g) = %g", name, i, y[i], x[i], build.BF16ToF32(build.BF16(x[i])))
				}
			}
		}
		f.Close()
	}
}

// A plain Llama converts with no layout; an Emu3 checkpoint gets the real layout and the CALVIN
// decoding defaults; tied embeddings give lm_head = embedding.
func TestConvertLlamaAndEmu3(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	a := model.Arch{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 2, HeadDim: 16, FFN: 64, Vocab: 300, RopeTheta: 1e4, RMSEps: 1e-5}
	hf := t.TempDir()
	if err := build.WriteRandomHF(hf, build.HFOptions{Arch: a, Seed: seed, DType: "F16", ModelType: "llama", Tied: true}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "llama.udvla")
	res, err := build.Convert(build.ConvertOptions{HFDir: hf, Out: out, Quant: quant.F16})
	if err != nil {
		t.Fatal(err)
	}
	f, err := model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Config.Vocab != nil || f.Config.Decoding != nil || f.Config.Fast != nil || !res.Tied {
		t.Fatalf("plain Llama got %+v (tied %v)", f.Config, res.Tied)
	}
	_, emb, _ := f.Tensor(model.TokEmbeddings)
	_, head, _ := f.Tensor(model.LMHead)
	if !bytes.Equal(emb, head) {
		t.Fatal("tied lm_head differs from the embedding")
	}
	f.Close()
	if _, err := build.Convert(build.ConvertOptions{HFDir: hf, Out: out, Quant: quant.F16, Steps: 3}); err == nil || !strings.Contains(err.Error(), "layout") {
		t.Fatalf("decoding options on a plain Llama: %v", err)
	}

	a.Vocab = model.Emu3VocabSize
	emu := t.TempDir()
	if err := build.WriteRandomHF(emu, build.HFOptions{Arch: a, Seed: seed, DType: "BF16", ModelType: "Emu3"}); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "emu3.udvla")
	if _, err := build.Convert(build.ConvertOptions{HFDir: emu, Out: out, Quant: quant.Q4_0, FastDir: filepath.Join(testFast, "fast"), Horizon: 10,
		Stats: filepath.Join(testFast, "norm_stats_libero.json")}); err != nil {
		t.Fatal(err)
	}
	f, err = model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := model.Emu3Vocab(2048) // FAST+ has 2048 ids; the default cameras give the real header ids
	if !reflect.DeepEqual(f.Config.Vocab, want) || !reflect.DeepEqual(f.Config.Decoding, &model.Decoding{Steps: 72, ActionLen: 70, Cameras: build.DefaultCameras, Mask: model.MaskCausal}) {
		t.Fatalf("Emu3 layout %+v decoding %+v", f.Config.Vocab, f.Config.Decoding)
	}
	if f.Config.Fast.MinToken != -354 || f.Config.Fast.Scale != 10 || f.Config.Fast.Dims != 7 {
		t.Fatalf("FAST+ %+v", f.Config.Fast)
	}
	if info, _, _ := f.Tensor(model.LMHead); info.DType != quant.Q4_0 {
		t.Fatalf("lm_head %v", info.DType)
	}
	if info, _, _ := f.Tensor(model.FinalNorm); info.DType != quant.F32 {
		t.Fatalf("norm %v", info.DType)
	}
}

func TestConvertRejects(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	a := model.Arch{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: 100, RopeTheta: 1e4, RMSEps: 1e-5}
	fresh := func() string {
		d := t.TempDir()
		if err := build.WriteRandomHF(d, build.HFOptions{Arch: a, Seed: seed, DType: "F32", ModelType: "llama"}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	editConfig := func(d string, edit func(m map[string]any)) {
		raw, _ := os.ReadFile(filepath.Join(d, "config.json"))
		var m map[string]any
		json.Unmarshal(raw, &m)
		edit(m)
		raw, _ = json.Marshal(m)
		os.WriteFile(filepath.Join(d, "config.json"), raw, 0o644)
	}
	editHeader := func(d string, edit func(h map[string]map[string]any)) {
		path := filepath.Join(d, "model.safetensors")
		raw, _ := os.ReadFile(path)
		n := int(raw[0]) | int(raw[1])<<8 | int(raw[2])<<16
		var h map[string]map[string]any
		json.Unmarshal(raw[8:8+n], &h)
		edit(h)
		hb, _ := json.Marshal(h)
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
		out = append(append(out, hb...), raw[8+n:]...)
		os.WriteFile(path, out, 0o644)
	}
	cases := []struct {
		name, want string
		setup      func(d string) build.ConvertOptions
	}{
		{"rope scaling", "rope_scaling", func(d string) build.ConvertOptions {
			editConfig(d, func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "llama3", "factor": 8} })
			return build.ConvertOptions{}
		}},
		{"gelu", "silu", func(d string) build.ConvertOptions {
			editConfig(d, func(m map[string]any) { m["hidden_act"] = "gelu" })
			return build.ConvertOptions{}
		}},
		{"bad arch", "arch", func(d string) build.ConvertOptions {
			editConfig(d, func(m map[string]any) { m["num_key_value_heads"] = 3 })
			return build.ConvertOptions{}
		}},
		{"wrong shape", "shape", func(d string) build.ConvertOptions {
			editConfig(d, func(m map[string]any) { m["intermediate_size"] = 64 })
			return build.ConvertOptions{}
		}},
		{"missing tensor", "no tensor", func(d string) build.ConvertOptions {
			editHeader(d, func(h map[string]map[string]any) {
				h["model.layers.0.mlp.up_projX.weight"] = h["model.layers.0.mlp.up_proj.weight"]
				delete(h, "model.layers.0.mlp.up_proj.weight")
			})
			return build.ConvertOptions{}
		}},
		{"int8 tensor", "dtype", func(d string) build.ConvertOptions {
			editHeader(d, func(h map[string]map[string]any) { h["model.norm.weight"]["dtype"] = "I8" })
			return build.ConvertOptions{}
		}},
		{"lying offsets", "offsets", func(d string) build.ConvertOptions {
			editHeader(d, func(h map[string]map[string]any) { h["lm_head.weight"]["data_offsets"] = []int64{0, 1 << 40} })
			return build.ConvertOptions{}
		}},
		{"bias", "bias", func(d string) build.ConvertOptions {
			editHeader(d, func(h map[string]map[string]any) {
				h["model.layers.0.self_attn.q_proj.bias"] = h["model.norm.weight"]
				delete(h, "__metadata__")
			})
			return build.ConvertOptions{}
		}},
		{"shard outside the directory", "shard", func(d string) build.ConvertOptions {
			os.WriteFile(filepath.Join(d, "model.safetensors.index.json"), []byte(`{"weight_map":{"lm_head.weight":"../x.safetensors"}}`), 0o644)
			return build.ConvertOptions{}
		}},
		{"fast without horizon", "horizon", func(d string) build.ConvertOptions {
			return build.ConvertOptions{FastDir: filepath.Join(testFast, build.TinyFastDir)}
		}},
		{"stats without fast", "FAST", func(d string) build.ConvertOptions {
			return build.ConvertOptions{Stats: filepath.Join(testFast, build.TinyNormStats)}
		}},
		{"bad text vocab", "base64", func(d string) build.ConvertOptions {
			p := filepath.Join(d, "vocab.tiktoken")
			os.WriteFile(p, []byte("IQ== 0\n!!! 1\n"), 0o644)
			return build.ConvertOptions{TextVocab: p}
		}},
		{"layout missing a field", "missing", func(d string) build.ConvertOptions {
			v, _ := model.ScaledVocab(60, 10, 20)
			var m map[string]any
			json.Unmarshal(build.LayoutJSON(v), &m)
			delete(m, "eoa")
			raw, _ := json.Marshal(m)
			p := filepath.Join(d, "layout.json")
			os.WriteFile(p, raw, 0o644)
			return build.ConvertOptions{Layout: p}
		}},
		{"layout too big for the vocab", "vocab", func(d string) build.ConvertOptions {
			v, _ := model.ScaledVocab(60, 100, 20)
			p := filepath.Join(d, "layout.json")
			os.WriteFile(p, build.LayoutJSON(v), 0o644)
			return build.ConvertOptions{Layout: p}
		}},
		{"fast size differs from the layout", "reserves", func(d string) build.ConvertOptions {
			v, _ := model.ScaledVocab(60, 10, 20)
			p := filepath.Join(d, "layout.json")
			os.WriteFile(p, build.LayoutJSON(v), 0o644)
			return build.ConvertOptions{Layout: p, FastDir: filepath.Join(testFast, build.TinyFastDir), Horizon: 10, Dims: 7}
		}},
	}
	for _, c := range cases {
		d := fresh()
		o := c.setup(d)
		o.HFDir, o.Out, o.Quant = d, filepath.Join(d, "out.udvla"), quant.Q8_0
		_, err := build.Convert(o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
		if _, serr := os.Stat(o.Out); serr == nil {
			t.Errorf("%s: a failed conversion left %s", c.name, o.Out)
		}
	}
}
